/**
 * The storage driver interface. A driver stores and performs fenced writes; it never decides what
 * runs: the claim transaction calls the pure channel scheduler through {@link ClaimPolicy}.
 * Both backends (SQLite, PostgreSQL) pass one conformance suite (`test/drivers/`).
 * Times are ms since the epoch and are always passed in, so tests control the clock.
 * The parameter and result types live in `types/`, one file per concern, and are re-exported here.
 * @module
 */
import type { ChannelSnapshot } from '../channels/scheduler.ts';
import type { JobAttempt, JobProgress, JobRow } from '../job/row.ts';
import type { JobState } from '../job/states.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { JobClaimParams, JobClaimResult } from './types/claim.ts';
import type { CronDef, CronFireParams, CronFireResult, CronRow } from './types/cron.ts';
import type { JobWrite, FenceResult, JobTransactionParams, JobTransactionResult } from './types/job-writes.ts';
import type { JobInsertParams, JobInsertResult } from './types/insert.ts';
import type { JobAdminParams } from './types/job-admin.ts';
import type { JobCountKey, JobCountRow, JobFilter, JobGraph, JobListParams, JobPage } from './types/job-reads.ts';
import type { RescuedJob, RunnerInfo, RunnerRegistration } from './types/runners.ts';
import type { TimeoutLogListParams, TimeoutStatistics } from './types/timeout-log.ts';
import type { ChannelPause, Listening, WakeTopic } from './types/wake.ts';

export { CRON_SLOT_RETENTION_MS } from './shared/cron-fire.ts';
export type { ClaimPolicy, JobClaimParams, JobClaimResult } from './types/claim.ts';
export type { CronCatchUp, CronDef, CronFireParams, CronFireResult, CronRow } from './types/cron.ts';
export type {
  JobWrite,
  FenceResult,
  JobTransactionJob,
  JobTransactionParams,
  JobTransactionResult,
} from './types/job-writes.ts';
export type { JobInsertParams, JobInsertResult, NewJob } from './types/insert.ts';
export type { JobAdminParams } from './types/job-admin.ts';
export type {
  JobCountKey,
  JobCountRow,
  JobFilter,
  JobGraph,
  JobListParams,
  JobPage,
  JobSortKey,
} from './types/job-reads.ts';
export type { RescuedJob, RunnerInfo, RunnerRegistration } from './types/runners.ts';
export type { TimeoutLogListParams, TimeoutStatistics } from './types/timeout-log.ts';
export type { ChannelPause, Listening, WakeTopic } from './types/wake.ts';

/** The storage driver. */
export interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Whether wake-ups reach other processes (LISTEN/NOTIFY). Without it runners also poll. */
  readonly crossProcessWakeups: boolean;
  /** A secret-free description of where the data lives (for logs). */
  readonly location: string;

  /** Apply pending migrations; refuses a newer schema. Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /** The schema version in the database (0 when empty) and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; latest: number }>;
  /** Close connections this driver opened. */
  close(): Promise<void>;

  jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]>;
  jobClaim(p: JobClaimParams): Promise<JobClaimResult>;
  jobWriteMany(runnerId: string, commands: readonly JobWrite[]): Promise<FenceResult[]>;
  jobProgress(p: { id: number; attempt: number; runnerId: string; progress: JobProgress }): Promise<FenceResult>;
  jobCheckpoint(p: { id: number; attempt: number; runnerId: string; checkpoint: string | null }): Promise<FenceResult>;
  /**
   * The job's own transaction (`job.transaction()`): in ONE transaction, lock the job row by its fence,
   * run `fn` with the database handle, and record the job as done with `fn`'s value as its result (like a
   * `done` of {@link jobWriteMany}: dependants released, `freed` sent on commit). A lost fence rolls back
   * and throws `JobLeaseLostError`; a throw from `fn` rolls back and is rethrown as it is.
   */
  jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult>;

  /** The channel state the scheduler reads (running counts, sequential blocks, throttles, pending channels). */
  channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot>;

  jobGet(idOrUuid: number | string): Promise<JobRow | null>;
  jobList(p: JobListParams): Promise<JobPage>;
  jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]>;
  jobAttempts(id: number): Promise<JobAttempt[]>;
  jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }>;
  graphGet(graphUuid: string): Promise<JobGraph | null>;
  /** Ahead-in-line count: pending due jobs of the same channel that sort before this one. */
  jobAhead(id: number, now: number): Promise<number>;

  /** Back to `pending` (or `wait_dependencies` when a parent is not done); resets the try count. Returns the ids changed. */
  jobRequeue(p: JobAdminParams): Promise<number[]>;
  /** Set `done` by hand; releases dependants. Returns the ids changed. */
  jobSetDone(p: JobAdminParams): Promise<number[]>;
  /** Cancel (not `done` ones); with `cascade`, dependants too. Returns the ids changed. */
  jobCancel(p: JobAdminParams): Promise<number[]>;
  /** Delete done/cancelled jobs finished before `before`, in batches. Returns the count. */
  jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number>;

  /** Register (or re-register) a runner; its lease runs from the database's clock. */
  runnerRegister(r: RunnerRegistration): Promise<void>;
  /**
   * Renew the lease to `leaseMs` from the database's clock (`now` replaces that clock in tests); false
   * when the row was gone (the runner was declared dead meanwhile).
   */
  runnerHeartbeat(p: { id: string; leaseMs: number; info: Record<string, unknown>; now?: number }): Promise<boolean>;
  runnerRemove(id: string): Promise<void>;
  runnerList(): Promise<RunnerInfo[]>;
  /**
   * Per channel, since when its oldest due pending job has been runnable (the later of its creation and
   * its ETA, epoch ms); channels without a due pending job are left out. Feeds the oldest-pending-age gauge.
   */
  oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]>;
  /**
   * Requeue (or fail after `maxCrashes`) jobs held by runners whose lease expired on the database's
   * clock (`now` replaces it in tests); drops those runners.
   */
  jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]>;

  /**
   * Wake-ups: NOTIFY on PostgreSQL, an in-process emitter on SQLite. `origin` is the id of the runner
   * whose finished jobs freed the capacity (`freed` sent by {@link Driver.jobWriteMany}), else null: a
   * runner ignores its own, since it claims again after its own writes anyway.
   */
  subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<Listening>;
  /** Send a wake-up (used after admin changes). */
  wake(topic: WakeTopic): Promise<void>;

  /** Channels paused at runtime, by name. */
  channelPauseList(): Promise<ChannelPause[]>;
  /**
   * Pause (kept as first paused when it already is) or resume a channel (a full name), then send a
   * `channels` wake-up. True when this call changed the stored state.
   */
  channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean>;

  /**
   * Publish job lifecycle events (each payload a JSON text under 8000 bytes): one NOTIFY per payload,
   * all in one statement, on PostgreSQL; the in-process emitter shared by the drivers of one file on SQLite.
   */
  publishEvents(payloads: readonly string[]): Promise<void>;
  /**
   * Receive published events. PostgreSQL: a dedicated LISTEN connection that reconnects with backoff and
   * calls `onGap` once it is back (what was sent meanwhile is lost). SQLite: this process only.
   */
  listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<Listening>;
  /** Whether any process listens to events now (runners ask on every heartbeat; cheap). */
  eventListeners(): Promise<boolean>;

  /** Stored overrides of job function settings: `model.method` → JSON text. */
  jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]>;
  /** Store (or with `settings: null`, remove) the override of one job function. */
  jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void>;

  timeoutLogInsert(entry: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number>;
  timeoutLogList(p: TimeoutLogListParams): Promise<TimeoutLogEntry[]>;
  timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics>;
  timeoutLogCleanup(p: { before: number }): Promise<number>;

  /**
   * Insert or update a scheduled job from code (the source of truth for schedule, target, args, options).
   * Keeps `paused`, `last_*`, and `next_run_at` unless the schedule or time zone changed (or it was null).
   */
  cronUpsert(p: CronDef & { now: number }): Promise<CronRow>;
  /** Every scheduled job, by name. */
  cronList(): Promise<CronRow[]>;
  cronGet(name: string): Promise<CronRow | null>;
  /** Pause or resume; a resume may set `nextRunAt` (slots while paused are not missed, they are skipped). False when unknown. */
  cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean>;
  /**
   * Fire one slot, exactly once across all runners: in ONE transaction, record `(name, slotAt)` (insert or
   * ignore) and, only if this call inserted it, enqueue `job` and advance `next_run_at`/`last_run_at`.
   */
  cronFire(p: CronFireParams): Promise<CronFireResult>;
  /** Move `next_run_at` forward without firing (missed slots that are not replayed). */
  cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void>;
  /** Delete a scheduled job and its fired slots. False when unknown. */
  cronDelete(name: string): Promise<boolean>;
}
