/**
 * The PostgreSQL driver, on `pg`.
 *
 * - Claims are serialised by a transaction-scoped advisory lock, so channel capacities hold exactly
 *   across every runner process on every host; inside the lock the pure scheduler decides.
 * - Hot statements are named (prepared once per connection) and pipelined (`pipeline: true`): a claim
 *   is three round trips whatever its size, a batch of completions one.
 * - Wake-ups by LISTEN/NOTIFY on a dedicated connection that reconnects with backoff and jitter, and
 *   reports a wake-up after reconnecting so runners catch up on what they missed.
 * - Times are `timestamptz`; parameters are converted exactly from ms (`'epoch' + n * 1 ms`).
 * @module
 */
import { ConfigurationError, DatabaseError } from '../../errors.ts';
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
import { pgChannelPauseList, pgChannelPauseSet } from './channel-pauses.ts';
import { runJobTransaction } from './job-transaction.ts';
import { jobInsertMany } from './insert.ts';
import { channelSnapshot } from './snapshot.ts';
import { jobClaim } from './claim.ts';
import { jobWriteMany } from './job-writes.ts';
import { jobCheckpoint, jobProgress } from './progress.ts';
import { PgContext, type Pg, type PostgresDriverOptions } from './context.ts';
import {
  pgCronAdvance,
  pgCronDelete,
  pgCronFire,
  pgCronGet,
  pgCronList,
  pgCronSetPaused,
  pgCronUpsert,
} from './cron.ts';
import { pgJobCancel, pgJobPrune, pgJobRequeue, pgJobSetDone } from './job-admin.ts';
import { pgJobFunctionList, pgJobFunctionSet } from './job-functions.ts';
import {
  pgGraphGet,
  pgJobAhead,
  pgJobAttempts,
  pgJobCount,
  pgJobDependencies,
  pgJobGet,
  pgJobList,
} from './job-reads.ts';
import { pgEventListeners, pgListenEvents, pgPublishEvents, pgSubscribe, pgWake } from './listen.ts';
import {
  pgJobRescue,
  pgOldestPending,
  pgRunnerHeartbeat,
  pgRunnerList,
  pgRunnerRegister,
  pgRunnerRemove,
} from './runners.ts';
import { pgDropSchema, pgMigrate, pgSchemaVersion } from './schema.ts';
import { pgTimeoutLogCleanup, pgTimeoutLogInsert, pgTimeoutLogList, pgTimeoutLogStatistics } from './timeout-log.ts';

export type { PostgresDriverOptions } from './context.ts';

/** The PostgreSQL implementation of {@link Driver}. */
export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly crossProcessWakeups = true;
  readonly location: string;
  readonly schema: string;
  #ctx: PgContext;

  private constructor(c: PgContext) {
    this.#ctx = c;
    this.location = c.location;
    this.schema = c.schema;
  }

  /** Connect (checks the server answers). Does not migrate: call {@link migrate}. */
  static async open(options: PostgresDriverOptions): Promise<PostgresDriver> {
    let pg: Pg;
    try {
      pg = ((await import('pg')) as unknown as { default: Pg }).default;
    } catch (err) {
      throw new ConfigurationError("PostgreSQL needs the 'pg' package: npm install pg", { cause: err });
    }
    let c: PgContext;
    try {
      c = new PgContext(pg, options);
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      throw new ConfigurationError(`invalid PostgreSQL URL: ${(err as Error).message}`, { cause: err });
    }
    try {
      await c.pool.query('SELECT 1');
    } catch (err) {
      await c.pool.end().catch(() => {});
      throw new DatabaseError(`cannot connect to PostgreSQL at ${c.location}: ${(err as Error).message}`, {
        cause: err,
        details: { operation: 'open' },
      });
    }
    return new PostgresDriver(c);
  }

  // ---------------------------------------------------------------- schema

  async migrate(): Promise<number[]> {
    return pgMigrate(this.#ctx);
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return pgSchemaVersion(this.#ctx);
  }

  async dropSchema(): Promise<void> {
    return pgDropSchema(this.#ctx);
  }

  async close(): Promise<void> {
    if (this.#ctx.closed) return;
    this.#ctx.closed = true;
    for (const l of [...this.#ctx.listeners]) await l.close();
    await this.#ctx.pool.end();
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

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    return runJobTransaction(this.#ctx, p);
  }

  // ---------------------------------------------------------------- admin reads

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return pgJobGet(this.#ctx, idOrUuid);
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return pgJobList(this.#ctx, p);
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return pgJobCount(this.#ctx, p);
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return pgJobAttempts(this.#ctx, id);
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return pgJobDependencies(this.#ctx, id);
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return pgGraphGet(this.#ctx, graphUuid);
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return pgJobAhead(this.#ctx, id, now);
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    return pgJobRequeue(this.#ctx, p);
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    return pgJobSetDone(this.#ctx, p);
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    return pgJobCancel(this.#ctx, p);
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    return pgJobPrune(this.#ctx, p);
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    return pgRunnerRegister(this.#ctx, r);
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    return pgRunnerHeartbeat(this.#ctx, p);
  }

  async runnerRemove(id: string): Promise<void> {
    return pgRunnerRemove(this.#ctx, id);
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return pgOldestPending(this.#ctx, p);
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return pgRunnerList(this.#ctx);
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    return pgJobRescue(this.#ctx, p);
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    return pgSubscribe(this.#ctx, onWake);
  }

  // ---------------------------------------------------------------- events to other processes

  async publishEvents(payloads: readonly string[]): Promise<void> {
    return pgPublishEvents(this.#ctx, payloads);
  }

  async listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<{ close(): Promise<void> }> {
    return pgListenEvents(this.#ctx, onPayload, onGap);
  }

  async eventListeners(): Promise<boolean> {
    return pgEventListeners(this.#ctx);
  }

  async wake(topic: WakeTopic): Promise<void> {
    return pgWake(this.#ctx, topic);
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  async channelPauseList(): Promise<ChannelPause[]> {
    return pgChannelPauseList(this.#ctx);
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    return pgChannelPauseSet(this.#ctx, p);
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return pgJobFunctionList(this.#ctx);
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    return pgJobFunctionSet(this.#ctx, p);
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return pgTimeoutLogInsert(this.#ctx, e);
  }

  async timeoutLogList(p: TimeoutLogListParams): Promise<TimeoutLogEntry[]> {
    return pgTimeoutLogList(this.#ctx, p);
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return pgTimeoutLogStatistics(this.#ctx, p);
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return pgTimeoutLogCleanup(this.#ctx, p);
  }

  // ---------------------------------------------------------------- scheduled jobs

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return pgCronUpsert(this.#ctx, p);
  }

  async cronList(): Promise<CronRow[]> {
    return pgCronList(this.#ctx);
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return pgCronGet(this.#ctx, name);
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return pgCronSetPaused(this.#ctx, p);
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    return pgCronFire(this.#ctx, p);
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    return pgCronAdvance(this.#ctx, p);
  }

  async cronDelete(name: string): Promise<boolean> {
    return pgCronDelete(this.#ctx, name);
  }
}
