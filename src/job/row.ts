/**
 * The stored job: every field of queue_job's record, in camelCase, with times in ms since the epoch.
 * @module
 */
import type { JobState } from './states.ts';

/** Progress reported by a running job. */
export interface JobProgress {
  /** Units done. */
  done: number;
  /** Units in all, when known. */
  total: number | null;
  /** Last message. */
  message: string | null;
  /** When it was reported (ms epoch). */
  at: number;
}

/** A job as stored. JSON fields are already decoded (Date and bigint restored). */
export interface JobRow {
  id: number;
  uuid: string;
  /** Shared by every job of one dependency graph; null for a lone job. */
  graphUuid: string | null;
  model: string;
  method: string;
  /** Record ids the job works on (`browse(ids)`); empty for a model-level job. */
  records: unknown[];
  /** Positional arguments. */
  args: unknown[];
  state: JobState;
  /** Lower runs first; default 10. */
  priority: number;
  /** Not run before this time (ms epoch); null when due at once. */
  eta: number | null;
  /** Full channel name, e.g. `root.mail`. */
  channel: string;
  /** Runs started so far (1 during the first run). */
  attempt: number;
  /** At most this many runs in all; 0 = infinite. */
  maxRetries: number;
  /** Times a runner died while running it. */
  crashCount: number;
  /** The job's return value (JSON), or a human message (retry reason, who cancelled). */
  result: unknown;
  /** Exception class name of the last failure or retry. */
  excName: string | null;
  excMessage: string | null;
  /** Stack trace of the last failure. */
  excInfo: string | null;
  description: string;
  identityKey: string | null;
  /** Context captured at enqueue (allow-listed keys). */
  context: Record<string, unknown> | null;
  progress: JobProgress | null;
  /** The job's persisted checkpoint (survives retries). */
  checkpoint: unknown;
  /** Per-job real-time limit (ms); null = the function's or the runner's. */
  timeLimitMs: number | null;
  createdAt: number;
  enqueuedAt: number | null;
  startedAt: number | null;
  doneAt: number | null;
  cancelledAt: number | null;
  /** Run time of the last finished run (ms). */
  execTimeMs: number | null;
  /** Runner that claimed it last. */
  runnerId: string | null;
  /** True when other jobs depend on this one. */
  hasDependants: boolean;
}

/** One past run of a job that did not end in `done` (retried, failed, crashed, timed out). */
export interface JobAttempt {
  jobId: number;
  attempt: number;
  runnerId: string | null;
  startedAt: number | null;
  endedAt: number;
  /** `retried`, `failed`, `crashed`, `timed_out`, `cancelled`, `released`. */
  outcome: string;
  excName: string | null;
  excMessage: string | null;
  excInfo: string | null;
}
