/**
 * Types of the scheduled jobs (cron entries) and of firing their slots.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */
import type { NewJob } from './insert.ts';

/** How the missed slots of a scheduled job are handled: none replayed, one run for all, or each. */
export type CronCatchUp = 'none' | 'one' | 'all';

/** A scheduled job (cron entry) as stored. JSON fields are encoded text. */
export interface CronRow {
  /** Unique name (the primary key). */
  name: string;
  /** Canonical schedule text (`0 3 * * 0`, `every 1w`), see `cron/schedule.ts`. */
  schedule: string;
  /** IANA time zone of a cron expression; null = UTC. */
  timezone: string | null;
  model: string;
  method: string;
  /** JSON text of the record ids. */
  records: string;
  /** JSON text of the arguments. */
  args: string;
  /** JSON text of the job options (`{ priority?, channel?, maxRetries?, description? }`). */
  options: string;
  catchUp: CronCatchUp;
  paused: boolean;
  /** The next slot to fire (ms); null when none. */
  nextRunAt: number | null;
  /** The slot (or, for a run-now, the moment) of the last job enqueued. */
  lastRunAt: number | null;
  lastJobId: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What `Driver.cronUpsert` stores: the definition from code, plus the first slot. */
export type CronDef = Omit<CronRow, 'paused' | 'lastRunAt' | 'lastJobId' | 'createdAt' | 'updatedAt'>;

/** Parameters of `Driver.cronFire`. */
export interface CronFireParams {
  name: string;
  /** The slot to fire (deduplicated across all runners), or null for a run-now (no slot, no dedup). */
  slotAt: number | null;
  now: number;
  /** The slot after this one: `next_run_at` moves forward to it (never backwards). Null leaves it. */
  nextRunAt: number | null;
  /** The job to enqueue when, and only when, this call records the slot. */
  job: NewJob;
}

/** Result of `Driver.cronFire`. */
export interface CronFireResult {
  /** True when this call recorded the slot and enqueued the job; false when the slot was already fired, or the entry is paused or gone. */
  fired: boolean;
  jobId: number | null;
}
