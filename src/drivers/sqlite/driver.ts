/**
 * The SQLite driver, on the built-in `node:sqlite` (nothing to install or start).
 *
 * Every write runs in `BEGIN IMMEDIATE`, which serialises writers across processes on the same file,
 * so the claim is exact without extra locks. `node:sqlite` is synchronous: a transaction never spans an
 * `await`. WAL mode with `synchronous=NORMAL` by default (durable against process crashes; use
 * `synchronous: 'full'` to survive power loss too).
 * @module
 */
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { DatabaseError } from '../../errors.ts';
import type { ChannelSnapshot } from '../../channels/scheduler.ts';
import type { JobAttempt, JobProgress, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type {
  CronDef,
  CronFireParams,
  CronFireResult,
  CronRow,
  Driver,
  JobWrite,
  FenceResult,
  JobAdminParams,
  JobClaimParams,
  JobClaimResult,
  JobCountKey,
  JobCountRow,
  JobFilter,
  JobGraph,
  JobInsertParams,
  JobInsertResult,
  JobListParams,
  JobPage,
  JobTransactionParams,
  JobTransactionResult,
  RescuedJob,
  RunnerInfo,
  RunnerRegistration,
  TimeoutLogListParams,
  TimeoutStatistics,
  WakeTopic,
  ChannelPause,
} from '../driver.ts';
import { runJobTransaction } from './job-transaction.ts';
import { jobInsertMany } from './insert.ts';
import { channelSnapshot } from './snapshot.ts';
import { jobClaim } from './claim.ts';
import { jobWriteMany } from './job-writes.ts';
import { jobCheckpoint, jobProgress } from './progress.ts';
import { SqliteContext, type Database } from './context.ts';
import { sqliteChannelPauseList, sqliteChannelPauseSet } from './channel-pauses.ts';
import {
  sqliteCronAdvance,
  sqliteCronDelete,
  sqliteCronFire,
  sqliteCronGet,
  sqliteCronList,
  sqliteCronSetPaused,
  sqliteCronUpsert,
} from './cron.ts';
import { sqliteJobCancel, sqliteJobPrune, sqliteJobRequeue, sqliteJobSetDone } from './job-admin.ts';
import { sqliteJobFunctionList, sqliteJobFunctionSet } from './job-functions.ts';
import {
  sqliteGraphGet,
  sqliteJobAhead,
  sqliteJobAttempts,
  sqliteJobCount,
  sqliteJobDependencies,
  sqliteJobGet,
  sqliteJobList,
} from './job-reads.ts';
import {
  sqliteEventListeners,
  sqliteListenEvents,
  sqlitePublishEvents,
  sqliteSubscribe,
  sqliteWake,
} from './listen.ts';
import {
  sqliteJobRescue,
  sqliteOldestPending,
  sqliteRunnerHeartbeat,
  sqliteRunnerList,
  sqliteRunnerRegister,
  sqliteRunnerRemove,
} from './runners.ts';
import { sqliteMigrate, sqliteSchemaVersion } from './schema.ts';
import {
  sqliteTimeoutLogCleanup,
  sqliteTimeoutLogInsert,
  sqliteTimeoutLogList,
  sqliteTimeoutLogStatistics,
} from './timeout-log.ts';

/** Options of {@link SqliteDriver.open}. */
export interface SqliteDriverOptions {
  /** File path or `:memory:`. */
  filename: string;
  /** `normal` (default) or `full` fsync on every commit. */
  synchronous?: 'normal' | 'full';
  /** How long a writer waits for the file lock (ms). @default 10000 */
  busyTimeoutMs?: number;
}

/** Load `node:sqlite`, hiding Node 22's ExperimentalWarning for it. */
async function loadSqlite(): Promise<{ DatabaseSync: new (file: string, opts?: Record<string, unknown>) => Database }> {
  const original = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === 'string' ? warning : warning.message;
    const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
    if ((type === 'ExperimentalWarning' || (warning as Error).name === 'ExperimentalWarning') && /SQLite/i.test(text))
      return;
    return (original as (...a: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return (await import('node:sqlite')) as never;
  } catch (err) {
    throw new DatabaseError(`SQLite needs Node >= 22.13 (node:sqlite); this is Node ${process.versions.node}`, {
      cause: err,
    });
  } finally {
    process.emitWarning = original;
  }
}

/** The SQLite implementation of {@link Driver}. */
export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly crossProcessWakeups = false;
  readonly location: string;
  #ctx: SqliteContext;

  private constructor(c: SqliteContext) {
    this.#ctx = c;
    this.location = c.location;
  }

  /** Open (creating the file if needed). Does not migrate: call {@link migrate}. */
  static async open(options: SqliteDriverOptions): Promise<SqliteDriver> {
    const { DatabaseSync } = await loadSqlite();
    const memory = options.filename === ':memory:';
    let db: Database;
    try {
      db = new DatabaseSync(options.filename, { timeout: options.busyTimeoutMs ?? 10_000 });
      if (!memory) db.exec('PRAGMA journal_mode = WAL');
      db.exec(`PRAGMA synchronous = ${options.synchronous === 'full' ? 'FULL' : 'NORMAL'}`);
      db.exec('PRAGMA cache_size = -65536'); // 64 MiB of page cache: the queue's indexes stay hot
      db.exec('PRAGMA foreign_keys = OFF');
    } catch (err) {
      throw new DatabaseError(`cannot open SQLite database '${options.filename}': ${(err as Error).message}`, {
        cause: err,
        details: { operation: 'open' },
      });
    }
    const location = memory ? 'sqlite::memory:' : `sqlite:${options.filename}`;
    return new SqliteDriver(
      new SqliteContext(db, location, memory ? `memory:${randomUUID()}` : path.resolve(options.filename)),
    );
  }

  async migrate(): Promise<number[]> {
    return sqliteMigrate(this.#ctx);
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return sqliteSchemaVersion(this.#ctx);
  }

  async close(): Promise<void> {
    this.#ctx.close();
  }

  // ---------------------------------------------------------------- enqueue

  async jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]> {
    return jobInsertMany(this.#ctx, p);
  }

  // ---------------------------------------------------------------- claim

  async channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot> {
    return channelSnapshot(this.#ctx, p);
  }

  async jobClaim(p: JobClaimParams): Promise<JobClaimResult> {
    return jobClaim(this.#ctx, p);
  }

  // ---------------------------------------------------------------- finish

  async jobWriteMany(runnerId: string, commands: readonly JobWrite[]): Promise<FenceResult[]> {
    return jobWriteMany(this.#ctx, runnerId, commands);
  }

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    return runJobTransaction(this.#ctx, p);
  }

  async jobProgress(p: { id: number; attempt: number; runnerId: string; progress: JobProgress }): Promise<FenceResult> {
    return jobProgress(this.#ctx, p);
  }

  async jobCheckpoint(p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  }): Promise<FenceResult> {
    return jobCheckpoint(this.#ctx, p);
  }

  // ---------------------------------------------------------------- admin reads

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return sqliteJobGet(this.#ctx, idOrUuid);
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return sqliteJobList(this.#ctx, p);
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return sqliteJobCount(this.#ctx, p);
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return sqliteJobAttempts(this.#ctx, id);
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return sqliteJobDependencies(this.#ctx, id);
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return sqliteGraphGet(this.#ctx, graphUuid);
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return sqliteJobAhead(this.#ctx, id, now);
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    return sqliteJobRequeue(this.#ctx, p);
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    return sqliteJobSetDone(this.#ctx, p);
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    return sqliteJobCancel(this.#ctx, p);
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    return sqliteJobPrune(this.#ctx, p);
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    return sqliteRunnerRegister(this.#ctx, r);
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    return sqliteRunnerHeartbeat(this.#ctx, p);
  }

  async runnerRemove(id: string): Promise<void> {
    return sqliteRunnerRemove(this.#ctx, id);
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return sqliteRunnerList(this.#ctx);
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return sqliteOldestPending(this.#ctx, p);
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    return sqliteJobRescue(this.#ctx, p);
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    return sqliteSubscribe(this.#ctx, onWake);
  }

  async wake(topic: WakeTopic): Promise<void> {
    return sqliteWake(this.#ctx, topic);
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  async channelPauseList(): Promise<ChannelPause[]> {
    return sqliteChannelPauseList(this.#ctx);
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    return sqliteChannelPauseSet(this.#ctx, p);
  }

  // ---------------------------------------------------------------- events to other Conveyors (this process)

  async publishEvents(payloads: readonly string[]): Promise<void> {
    return sqlitePublishEvents(this.#ctx, payloads);
  }

  async listenEvents(onPayload: (payload: string) => void): Promise<{ close(): Promise<void> }> {
    return sqliteListenEvents(this.#ctx, onPayload);
  }

  async eventListeners(): Promise<boolean> {
    return sqliteEventListeners(this.#ctx);
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return sqliteJobFunctionList(this.#ctx);
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    return sqliteJobFunctionSet(this.#ctx, p);
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return sqliteTimeoutLogInsert(this.#ctx, e);
  }

  async timeoutLogList(p: TimeoutLogListParams): Promise<TimeoutLogEntry[]> {
    return sqliteTimeoutLogList(this.#ctx, p);
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return sqliteTimeoutLogStatistics(this.#ctx, p);
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return sqliteTimeoutLogCleanup(this.#ctx, p);
  }

  // ---------------------------------------------------------------- scheduled jobs

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return sqliteCronUpsert(this.#ctx, p);
  }

  async cronList(): Promise<CronRow[]> {
    return sqliteCronList(this.#ctx);
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return sqliteCronGet(this.#ctx, name);
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return sqliteCronSetPaused(this.#ctx, p);
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    return sqliteCronFire(this.#ctx, p);
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    return sqliteCronAdvance(this.#ctx, p);
  }

  async cronDelete(name: string): Promise<boolean> {
    return sqliteCronDelete(this.#ctx, name);
  }
}
