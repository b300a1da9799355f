/**
 * The runner's options: their types, defaults and checks ({@link resolveRunnerOptions}). The process
 * isolation keys are read by `isolation/options.ts`; this module imports nothing from the runner, so
 * both can use the types without a cycle.
 * @module
 */
import { resolveLimitTimeRealCron } from '../cron/job.ts';
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { checkInt, checkOptions } from '../internal/options.ts';
import { resolveLimitTimeReal } from './time-limits.ts';

/** Runner settings (the `odoo.conf` limits among them). Unknown keys are an error. */
export interface RunnerOptions {
  /** Job slots: jobs running at once in this runner. @default 4 (or `CONVEYOR_WORKERS`) */
  workers?: number;
  /**
   * Extra jobs claimed ahead into a local buffer (they count against channel capacity). By default the
   * runner sizes its buffer itself: about one claim round trip's worth of work, at most 50 ms of it and
   * 500 jobs (see docs/architecture.md, "The adaptive claim"). A number fixes it.
   * @default adaptive
   */
  prefetch?: number;
  /** Polling fallback interval. @default '1s' on SQLite, '5s' on PostgreSQL */
  pollInterval?: Duration;
  /**
   * Lease: a database outage shorter than this never gets this runner declared dead. The runner is
   * declared dead, and its jobs are requeued, once `lease + heartbeat + 1s` pass on the database's clock
   * without a heartbeat landing (41 s by default). @default '30s'
   */
  lease?: Duration;
  /** Heartbeat period (a failed heartbeat is retried every 250 ms until one lands). @default lease / 3 */
  heartbeat?: Duration;
  /** A job whose runner died this many times fails. @default 3 */
  maxCrashes?: number;
  /** Wall-clock limit of one run, unless the job function sets `timeLimit`. @default '1200s' (or `CONVEYOR_LIMIT_TIME_REAL`) */
  limitTimeReal?: Duration;
  /** Wall-clock limit of a run of a job enqueued by a scheduled job (cron), unless its job function sets `timeLimit`. @default '3600s' (or `CONVEYOR_LIMIT_TIME_REAL_CRON`) */
  limitTimeRealCron?: Duration;
  /** On stop, how long running jobs may finish before they are aborted and released. @default '30s' */
  shutdownGrace?: Duration;
  /** Runner id (unique per process). @default `<host>:<pid>:<random>` */
  id?: string;
  /**
   * Where jobs run: `inline` in the event loop (fastest; limits abort the signal and free the slot), or
   * `process` in a pool of child processes that load `module` (hard limits: SIGTERM then SIGKILL).
   * @default 'inline'
   */
  isolation?: 'inline' | 'process';
  /** The module whose default export is this Conveyor with its models (needed by `isolation: 'process'`). */
  module?: string;
  /** CPU seconds one run may use (process isolation). @default '600s' (or `CONVEYOR_LIMIT_TIME_CPU`) */
  limitTimeCpu?: Duration;
  /** A worker process above this RSS (bytes, or '512mb') is recycled after its job. */
  limitMemorySoft?: number | string;
  /** A worker process above this RSS is killed at once. */
  limitMemoryHard?: number | string;
  /**
   * Process isolation: a worker process is recycled (stopped and replaced) after it has run this many
   * jobs, Odoo's `limit_request`; `0` = never. @default 65536 (Odoo's default, or `CONVEYOR_LIMIT_REQUEST`)
   */
  limitRequest?: number;
  /** Process isolation: time between SIGTERM and SIGKILL when a job passes a limit. @default '1500ms' */
  killGrace?: Duration;
  /** Channel capacities for this runner's claims, overriding the Conveyor's (`conveyor run --channels`). */
  channels?: string;
  /**
   * Publish job lifecycle events for `conveyor.events.subscribeRemote()` (one message per completion
   * batch): `'auto'` while some subscriber exists (looked up at start and on every heartbeat), `true`
   * always, `false` never. @default 'auto'
   */
  publishEvents?: boolean | 'auto';
}

/** Every key of {@link RunnerOptions} (an unknown key is an error). */
export const RUNNER_KEYS: readonly string[] = [
  'workers',
  'prefetch',
  'pollInterval',
  'lease',
  'heartbeat',
  'maxCrashes',
  'limitTimeReal',
  'shutdownGrace',
  'id',
  'isolation',
  'channels',
  'module',
  'limitTimeCpu',
  'limitMemorySoft',
  'limitMemoryHard',
  'limitTimeRealCron',
  'killGrace',
  'limitRequest',
  'publishEvents',
];

/** The checked values of {@link RunnerOptions} that the runner itself reads (isolation and channels aside). */
export interface RunnerSettings {
  workers: number;
  /** `prefetch` when given; else null and the runner sizes its buffer itself. */
  fixedPrefetch: number | null;
  pollMs: number;
  leaseMs: number;
  heartbeatMs: number;
  maxCrashes: number;
  /** `limitTimeReal`, ms (see time-limits.ts). */
  limitMs: number;
  /** `limitTimeRealCron`, ms (see time-limits.ts). */
  limitCronMs: number;
  graceMs: number;
  publishMode: boolean | 'auto';
}

/**
 * Check the options and apply their defaults (and environment fallbacks), in the order of their
 * documentation, so a bad option is reported the same way each time.
 * @param crossProcessWakeups whether the driver's wake-ups reach other processes (the poll default).
 * @throws ConfigurationError on an unknown key or a bad value
 */
export function resolveRunnerOptions(options: RunnerOptions, crossProcessWakeups: boolean): RunnerSettings {
  checkOptions(options, RUNNER_KEYS, 'runner options');
  const env = process.env;
  const workers = checkInt(
    options.workers ?? (env.CONVEYOR_WORKERS ? Number(env.CONVEYOR_WORKERS) : 4),
    'runner option workers',
    1,
    10_000,
  );
  const fixedPrefetch =
    options.prefetch === undefined ? null : checkInt(options.prefetch, 'runner option prefetch', 0, 100_000);
  const pollMs = parseDuration(
    options.pollInterval ?? (crossProcessWakeups ? '5s' : '1s'),
    'runner option pollInterval',
  );
  const leaseMs = parseDuration(options.lease ?? '30s', 'runner option lease');
  const heartbeatMs = parseDuration(
    options.heartbeat ?? Math.max(10, Math.floor(leaseMs / 3)),
    'runner option heartbeat',
  );
  if (heartbeatMs >= leaseMs)
    throw new ConfigurationError(
      `runner options: heartbeat (${heartbeatMs} ms) must be shorter than lease (${leaseMs} ms)`,
    );
  const maxCrashes = checkInt(options.maxCrashes ?? 3, 'runner option maxCrashes', 1);
  const limitMs = resolveLimitTimeReal(options.limitTimeReal);
  const limitCronMs = resolveLimitTimeRealCron(options.limitTimeRealCron);
  const graceMs = parseDuration(options.shutdownGrace ?? '30s', 'runner option shutdownGrace');
  if (options.isolation !== undefined && options.isolation !== 'inline' && options.isolation !== 'process') {
    throw new ConfigurationError(
      `runner option isolation: expected 'inline' or 'process', got ${describeValue(options.isolation)}`,
    );
  }
  if (
    options.publishEvents !== undefined &&
    typeof options.publishEvents !== 'boolean' &&
    options.publishEvents !== 'auto'
  ) {
    throw new ConfigurationError(
      `runner option publishEvents: expected true, false or 'auto', got ${describeValue(options.publishEvents)}`,
    );
  }
  return {
    workers,
    fixedPrefetch,
    pollMs,
    leaseMs,
    heartbeatMs,
    maxCrashes,
    limitMs,
    limitCronMs,
    graceMs,
    publishMode: options.publishEvents ?? 'auto',
  };
}
