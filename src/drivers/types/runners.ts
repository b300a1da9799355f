/**
 * Types of the runners table and of the rescue of jobs held by dead runners.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */
import type { JobState } from '../../job/states.ts';

/** A runner's row in the runners table. */
export interface RunnerInfo {
  id: string;
  host: string;
  pid: number;
  workers: number;
  startedAt: number;
  heartbeatAt: number;
  leaseUntil: number;
  /** Free-form live data: memory, running count, channels, isolation. */
  info: Record<string, unknown>;
}

/**
 * A runner's registration: the lease is a duration, turned into `leaseUntil` on the database's clock
 * (PostgreSQL's `clock_timestamp()`, the host clock for SQLite), so every runner judges expiry on one
 * clock whatever the skew between hosts. `now` replaces that clock (tests with fixed times only).
 */
export interface RunnerRegistration {
  id: string;
  host: string;
  pid: number;
  workers: number;
  startedAt: number;
  /** The lease from now: the runner is dead when no heartbeat lands for this long. */
  leaseMs: number;
  info: Record<string, unknown>;
  /** Fixed time instead of the database's clock (tests). */
  now?: number;
}

/** A job a runner died holding, as handled by `Driver.jobRescue`. */
export interface RescuedJob {
  id: number;
  runnerId: string | null;
  /** `pending` again, or `failed` after too many crashes. */
  state: JobState;
  wasStarted: boolean;
}
