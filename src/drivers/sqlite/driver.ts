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
import { DatabaseError, ValidationError } from '../../errors.ts';
import type { Candidate, ChannelSnapshot } from '../../channels/scheduler.ts';
import type { JobAttempt, JobProgress, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type {
  CronDef,
  CronFireParams,
  CronFireResult,
  CronRow,
  Driver,
  FinishCommand,
  FinishResult,
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
  TimeoutStatistics,
  WakeTopic,
  ChannelPause,
} from '../driver.ts';
import { rowToJob } from '../rows.ts';
import { DONE_SQL } from './finish-sql.ts';
import { sqliteJobTransaction } from './job-transaction.ts';
import { JOB_COLUMNS } from './sql.ts';
import { SqliteContext, type Database, type SqlValue } from './context.ts';
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

/** `INSERT INTO conveyor_jobs … VALUES (…), (…)` for `rows` rows. */
function insertSql(rows: number): string {
  const one = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  return `INSERT INTO conveyor_jobs (uuid, graph_uuid, model, method, records, args, state, priority, eta,
    channel, max_retries, description, identity_key, context, time_limit_ms, created_at, has_dependants)
    VALUES ${Array(rows).fill(one).join(', ')}`;
}

/** The SQLite implementation of {@link Driver}. */
export class SqliteDriver implements Driver {
  readonly dialect = 'sqlite' as const;
  readonly crossProcessWakeups = false;
  readonly location: string;
  #c: SqliteContext;

  private constructor(c: SqliteContext) {
    this.#c = c;
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
    return sqliteMigrate(this.#c);
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return sqliteSchemaVersion(this.#c);
  }

  async close(): Promise<void> {
    this.#c.close();
  }

  // ---------------------------------------------------------------- enqueue

  async jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]> {
    if (p.tx !== undefined) {
      throw new ValidationError(
        "the 'tx' option is only supported on PostgreSQL (SQLite has no caller transaction to join)",
      );
    }
    const out = this.#c.tx('jobInsertMany', () => this.#insert(p));
    if (out.some((r) => !r.existing)) this.#c.wake('jobs');
    return out;
  }

  #findIdentity(key: string): JobInsertResult | null {
    const row = this.#c.get(
      "SELECT id, uuid, state FROM conveyor_jobs WHERE identity_key = ? AND state IN ('wait_dependencies','pending','enqueued') ORDER BY id LIMIT 1",
      key,
    );
    return row ? { id: Number(row.id), uuid: row.uuid as string, state: row.state as JobState, existing: true } : null;
  }

  #insert(p: JobInsertParams): JobInsertResult[] {
    const edges = p.edges ?? [];
    const hasParent = new Set(edges.map((e) => e[0]));
    const isParent = new Set(edges.map((e) => e[1]));
    // identity keys: lone jobs dedup one by one; a graph is skipped only if every keyed job has a twin
    const twins = p.jobs.map((j) => (j.identityKey ? this.#findIdentity(j.identityKey) : null));
    if (edges.length > 0) {
      const keyed = p.jobs.map((j, i) => (j.identityKey ? i : -1)).filter((i) => i >= 0);
      if (keyed.length > 0 && keyed.every((i) => twins[i])) {
        return p.jobs.map((_, i) => twins[i] ?? { id: 0, uuid: '', state: 'cancelled' as JobState, existing: true });
      }
      twins.fill(null);
    }
    if (!edges.length && p.jobs.every((j) => j.identityKey === null)) return this.#insertPlain(p);
    const insert = this.#c.statement(insertSql(1));
    const seenKeys = new Map<string, JobInsertResult>();
    const results: JobInsertResult[] = [];
    for (let i = 0; i < p.jobs.length; i++) {
      const j = p.jobs[i]!;
      const twin = twins[i] ?? (j.identityKey && edges.length === 0 ? seenKeys.get(j.identityKey) : undefined);
      if (twin) {
        results.push({ ...twin, existing: true });
        continue;
      }
      const state: JobState = hasParent.has(i) ? 'wait_dependencies' : 'pending';
      const r = insert.run(
        j.uuid,
        j.graphUuid,
        j.model,
        j.method,
        j.records,
        j.args,
        state,
        j.priority,
        j.eta,
        j.channel,
        j.maxRetries,
        j.description,
        j.identityKey,
        j.context,
        j.timeLimitMs,
        p.now,
        isParent.has(i) ? 1 : 0,
      );
      const res: JobInsertResult = { id: Number(r.lastInsertRowid), uuid: j.uuid, state, existing: false };
      if (j.identityKey) seenKeys.set(j.identityKey, res);
      results.push(res);
    }
    if (edges.length) {
      const dep = this.#c.statement('INSERT OR IGNORE INTO conveyor_job_deps (job_id, depends_on) VALUES (?, ?)');
      for (const [child, parent] of edges) dep.run(results[child]!.id, results[parent]!.id);
    }
    return results;
  }

  /**
   * The bulk path (no identity keys, no edges): multi-row INSERTs of up to 64 rows, a quarter of the
   * statement executions of one row each. Rowids inside one statement are consecutive, so the ids are
   * derived from the last one.
   */
  #insertPlain(p: JobInsertParams): JobInsertResult[] {
    const results: JobInsertResult[] = [];
    for (let start = 0; start < p.jobs.length; start += 64) {
      const chunk = p.jobs.slice(start, start + 64);
      const params: SqlValue[] = [];
      for (const j of chunk) {
        params.push(
          j.uuid,
          j.graphUuid,
          j.model,
          j.method,
          j.records,
          j.args,
          'pending',
          j.priority,
          j.eta,
          j.channel,
          j.maxRetries,
          j.description,
          null,
          j.context,
          j.timeLimitMs,
          p.now,
          0,
        );
      }
      const last = Number(this.#c.statement(insertSql(chunk.length)).run(...params).lastInsertRowid);
      chunk.forEach((j, i) =>
        results.push({ id: last - chunk.length + 1 + i, uuid: j.uuid, state: 'pending', existing: false }),
      );
    }
    return results;
  }

  // ---------------------------------------------------------------- claim

  #snapshot(now: number, sequential: readonly string[], throttled: readonly string[]): ChannelSnapshot {
    const running = new Map<string, number>();
    for (const r of this.#c.all(
      "SELECT channel, count(*) AS n FROM conveyor_jobs WHERE state IN ('enqueued','started') GROUP BY channel",
    )) {
      running.set(r.channel as string, Number(r.n));
    }
    const sequentialFailed = new Map<string, number>();
    for (const ch of sequential) {
      const r = this.#c.get(
        "SELECT min(id) AS id FROM conveyor_jobs WHERE state = 'failed' AND (channel = ? OR substr(channel, 1, ?) = ?)",
        ch,
        ch.length + 1,
        ch + '.',
      );
      if (r && r.id !== null) sequentialFailed.set(ch, Number(r.id));
    }
    const lastStartedAt = new Map<string, number>();
    if (throttled.length) {
      for (const r of this.#c.all('SELECT channel, last_started_at FROM conveyor_channel_state')) {
        lastStartedAt.set(r.channel as string, Number(r.last_started_at));
      }
    }
    // loose index scan over the pending index: one seek per distinct channel
    const pendingChannels: string[] = [];
    // (INDEXED BY: the planner would otherwise pick the (state, id) index and sort every pending row)
    let r = this.#c.get(
      "SELECT channel FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' ORDER BY channel LIMIT 1",
    );
    while (r) {
      pendingChannels.push(r.channel as string);
      r = this.#c.get(
        "SELECT channel FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel > ? ORDER BY channel LIMIT 1",
        r.channel as string,
      );
    }
    return { now, running, sequentialFailed, lastStartedAt, pendingChannels };
  }

  async channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot> {
    return this.#c.read('channelSnapshot', () => this.#snapshot(p.now, p.sequentialChannels, p.throttledChannels));
  }

  async jobClaim(p: JobClaimParams): Promise<JobClaimResult> {
    return this.#c.tx('jobClaim', () => {
      const snap = this.#snapshot(p.now, p.policy.sequentialChannels, p.policy.throttledChannels);
      const plans = p.policy.planFetch(snap, p.wanted);
      const candidates: Candidate[] = [];
      for (const plan of plans) {
        const rows = plan.includeNotDue
          ? this.#c.all(
              "SELECT id, channel, priority, created_at, eta FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel = ? ORDER BY priority, created_at, id LIMIT ?",
              plan.channel,
              plan.limit,
            )
          : this.#c.all(
              "SELECT id, channel, priority, created_at, eta FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel = ? AND (eta IS NULL OR eta <= ?) ORDER BY priority, created_at, id LIMIT ?",
              plan.channel,
              p.now,
              plan.limit,
            );
        for (const c of rows) {
          candidates.push({
            id: Number(c.id),
            channel: c.channel as string,
            priority: Number(c.priority),
            createdAt: Number(c.created_at),
            eta: c.eta === null ? null : Number(c.eta),
          });
        }
      }
      const pick = p.policy.pickJobs(snap, candidates, p.wanted);
      let wakeAt = pick.wakeAt;
      const next = this.#c.get(
        "SELECT min(eta) AS eta FROM conveyor_jobs INDEXED BY conveyor_jobs_eta WHERE state = 'pending' AND eta > ?",
        p.now,
      );
      if (next && next.eta !== null) wakeAt = wakeAt === null ? Number(next.eta) : Math.min(wakeAt, Number(next.eta));
      for (const [channel, at] of pick.lastStartedAt) {
        this.#c.run(
          'INSERT INTO conveyor_channel_state (channel, last_started_at) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET last_started_at = excluded.last_started_at',
          channel,
          at,
        );
      }
      if (pick.picked.length === 0)
        return { jobs: [], capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
      const ids = JSON.stringify(pick.picked.map((c) => c.id));
      const startIds = JSON.stringify(pick.picked.slice(0, p.startCount ?? 0).map((c) => c.id));
      const rows = this.#c.all(
        `UPDATE conveyor_jobs SET runner_id = ?, enqueued_at = ?, attempt = attempt + 1,
           state = CASE WHEN id IN (SELECT value FROM json_each(?)) THEN 'started' ELSE 'enqueued' END,
           started_at = CASE WHEN id IN (SELECT value FROM json_each(?)) THEN ? ELSE NULL END
         WHERE id IN (SELECT value FROM json_each(?)) AND state = 'pending' RETURNING ${JOB_COLUMNS}`,
        p.runnerId,
        p.now,
        startIds,
        startIds,
        p.now,
        ids,
      );
      const order = new Map(pick.picked.map((c, i) => [c.id, i]));
      const jobs = rows.map(rowToJob).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      return { jobs, capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
    });
  }

  // ---------------------------------------------------------------- finish

  async jobFinishMany(runnerId: string, commands: readonly FinishCommand[]): Promise<FinishResult[]> {
    let freed = false;
    const out = this.#c.tx('jobFinishMany', () => {
      const released: number[] = [];
      const results = commands.map((c): FinishResult => {
        if (c.kind === 'done') {
          // one prepared statement per job: cheaper here than one UPDATE … FROM json_each (the planner scans)
          const r = this.#c.get(DONE_SQL, c.startedAt, c.at, c.at - c.startedAt, c.result, c.id, c.attempt, runnerId);
          if (!r) return 'stale';
          freed = true;
          if (Number(r.deps)) released.push(c.id);
          return 'ok';
        }
        const n = this.#finishOne(runnerId, c);
        if (n === 0) return 'stale';
        if (c.kind !== 'start') freed = true;
        return 'ok';
      });
      if (released.length) this.#releaseDependants(released);
      return results;
    });
    if (freed) this.#c.wake('freed', runnerId);
    return out;
  }

  #finishOne(runnerId: string, c: FinishCommand): number {
    const fence = "id = ? AND attempt = ? AND runner_id = ? AND state IN ('enqueued','started')";
    switch (c.kind) {
      case 'start':
        return this.#c.run(
          `UPDATE conveyor_jobs SET state = 'started', started_at = ? WHERE ${fence} AND state = 'enqueued'`,
          c.at,
          c.id,
          c.attempt,
          runnerId,
        );
      case 'done':
        throw new Error('done commands are handled in jobFinishMany');
      case 'retry': {
        const n = this.#c.run(
          `UPDATE conveyor_jobs SET state = 'pending', eta = ?, attempt = attempt - ?, runner_id = NULL, enqueued_at = NULL,
             started_at = coalesce(?, started_at), exec_time_ms = CASE WHEN ? IS NULL THEN exec_time_ms ELSE ? - ? END,
             exc_name = ?, exc_message = ?, exc_info = ?, result = ?
           WHERE ${fence}`,
          c.eta,
          c.countTry ? 0 : 1,
          c.startedAt,
          c.startedAt,
          c.at,
          c.startedAt,
          c.excName,
          c.excMessage,
          c.excInfo,
          c.excMessage === null ? null : JSON.stringify(c.excMessage),
          c.id,
          c.attempt,
          runnerId,
        );
        if (n)
          this.#attempt(c.id, c.attempt, runnerId, c.startedAt, c.at, c.outcome, c.excName, c.excMessage, c.excInfo);
        return n;
      }
      case 'failed': {
        const n = this.#c.run(
          `UPDATE conveyor_jobs SET state = 'failed', done_at = NULL, started_at = coalesce(?, started_at),
             exec_time_ms = CASE WHEN ? IS NULL THEN exec_time_ms ELSE ? - ? END, exc_name = ?, exc_message = ?, exc_info = ?
           WHERE ${fence}`,
          c.startedAt,
          c.startedAt,
          c.at,
          c.startedAt,
          c.excName,
          c.excMessage,
          c.excInfo,
          c.id,
          c.attempt,
          runnerId,
        );
        if (n)
          this.#attempt(c.id, c.attempt, runnerId, c.startedAt, c.at, c.outcome, c.excName, c.excMessage, c.excInfo);
        return n;
      }
      case 'release':
        return this.#c.run(
          `UPDATE conveyor_jobs SET state = 'pending', attempt = attempt - 1, runner_id = NULL, enqueued_at = NULL, started_at = NULL WHERE ${fence}`,
          c.id,
          c.attempt,
          runnerId,
        );
    }
  }

  #attempt(
    jobId: number,
    attempt: number,
    runnerId: string | null,
    startedAt: number | null,
    endedAt: number,
    outcome: string,
    excName: string | null,
    excMessage: string | null,
    excInfo: string | null,
  ): void {
    this.#c.run(
      'INSERT INTO conveyor_job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message, exc_info) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)',
      jobId,
      attempt,
      runnerId,
      startedAt,
      endedAt,
      outcome,
      excName,
      excMessage,
      excInfo,
    );
  }

  /** Dependants of `doneIds` whose parents are all done become pending. */
  #releaseDependants(doneIds: readonly number[]): number[] {
    const rows = this.#c.all(
      `UPDATE conveyor_jobs SET state = 'pending'
       WHERE state = 'wait_dependencies'
         AND id IN (SELECT job_id FROM conveyor_job_deps WHERE depends_on IN (SELECT value FROM json_each(?)))
         AND NOT EXISTS (SELECT 1 FROM conveyor_job_deps d JOIN conveyor_jobs p ON p.id = d.depends_on
                         WHERE d.job_id = conveyor_jobs.id AND p.state <> 'done')
       RETURNING id`,
      JSON.stringify(doneIds),
    );
    if (rows.length) this.#c.wake('jobs');
    return rows.map((r) => Number(r.id));
  }

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    if (this.#c.closed)
      throw new DatabaseError('SQLite driver is closed (jobTransaction)', { details: { operation: 'jobTransaction' } });
    const out = sqliteJobTransaction(
      {
        db: this.#c.db,
        get: (sql, ...params) => this.#c.get(sql, ...params),
        releaseDependants: (ids) => this.#releaseDependants(ids),
      },
      p,
    );
    if (out.completed) this.#c.wake('freed', p.job!.runnerId);
    return out;
  }

  async jobProgress(p: {
    id: number;
    attempt: number;
    runnerId: string;
    progress: JobProgress;
  }): Promise<FinishResult> {
    const n = this.#c.tx('jobProgress', () =>
      this.#c.run(
        "UPDATE conveyor_jobs SET progress = ? WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ('enqueued','started')",
        JSON.stringify(p.progress),
        p.id,
        p.attempt,
        p.runnerId,
      ),
    );
    return n ? 'ok' : 'stale';
  }

  async jobCheckpoint(p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  }): Promise<FinishResult> {
    const n = this.#c.tx('jobCheckpoint', () =>
      this.#c.run(
        "UPDATE conveyor_jobs SET checkpoint = ? WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ('enqueued','started')",
        p.checkpoint,
        p.id,
        p.attempt,
        p.runnerId,
      ),
    );
    return n ? 'ok' : 'stale';
  }

  // ---------------------------------------------------------------- admin reads

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return sqliteJobGet(this.#c, idOrUuid);
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return sqliteJobList(this.#c, p);
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return sqliteJobCount(this.#c, p);
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return sqliteJobAttempts(this.#c, id);
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return sqliteJobDependencies(this.#c, id);
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return sqliteGraphGet(this.#c, graphUuid);
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return sqliteJobAhead(this.#c, id, now);
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    return sqliteJobRequeue(this.#c, p);
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    return sqliteJobSetDone(this.#c, p, (ids) => this.#releaseDependants(ids));
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    return sqliteJobCancel(this.#c, p);
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    return sqliteJobPrune(this.#c, p);
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    return sqliteRunnerRegister(this.#c, r);
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    return sqliteRunnerHeartbeat(this.#c, p);
  }

  async runnerRemove(id: string): Promise<void> {
    return sqliteRunnerRemove(this.#c, id);
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return sqliteRunnerList(this.#c);
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return sqliteOldestPending(this.#c, p);
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    return sqliteJobRescue(this.#c, p, (...entry) => this.#attempt(...entry));
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    return sqliteSubscribe(this.#c, onWake);
  }

  async wake(topic: WakeTopic): Promise<void> {
    return sqliteWake(this.#c, topic);
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  async channelPauseList(): Promise<ChannelPause[]> {
    return sqliteChannelPauseList(this.#c);
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    return sqliteChannelPauseSet(this.#c, p);
  }

  // ---------------------------------------------------------------- events to other Conveyors (this process)

  async publishEvents(payloads: readonly string[]): Promise<void> {
    return sqlitePublishEvents(this.#c, payloads);
  }

  async listenEvents(onPayload: (payload: string) => void): Promise<{ close(): Promise<void> }> {
    return sqliteListenEvents(this.#c, onPayload);
  }

  async eventListeners(): Promise<boolean> {
    return sqliteEventListeners(this.#c);
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return sqliteJobFunctionList(this.#c);
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    return sqliteJobFunctionSet(this.#c, p);
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return sqliteTimeoutLogInsert(this.#c, e);
  }

  async timeoutLogList(p: {
    since?: number;
    limit: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]> {
    return sqliteTimeoutLogList(this.#c, p);
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return sqliteTimeoutLogStatistics(this.#c, p);
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return sqliteTimeoutLogCleanup(this.#c, p);
  }

  // ---------------------------------------------------------------- scheduled jobs

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return sqliteCronUpsert(this.#c, p);
  }

  async cronList(): Promise<CronRow[]> {
    return sqliteCronList(this.#c);
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return sqliteCronGet(this.#c, name);
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return sqliteCronSetPaused(this.#c, p);
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    return sqliteCronFire(this.#c, p, (q) => this.#insert(q));
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    return sqliteCronAdvance(this.#c, p);
  }

  async cronDelete(name: string): Promise<boolean> {
    return sqliteCronDelete(this.#c, name);
  }
}
