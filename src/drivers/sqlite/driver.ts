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
import { DatabaseError, MigrationError, SchemaTooNewError } from '../../errors.ts';
import type { ChannelSnapshot } from '../../channels/scheduler.ts';
import type { JobAttempt, JobProgress, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import { CRON_SLOT_RETENTION_MS } from '../driver.ts';
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
import { buildWhere, type Binder } from '../filter-sql.ts';
import {
  COUNT_COLUMNS,
  SORT_COLUMNS,
  decodeCursor,
  encodeCursor,
  rowToAttempt,
  rowToCron,
  rowToJob,
  rowToTimeoutEntry,
  type RawRow,
} from '../rows.ts';
import { timeoutStats } from '../timeout-stats.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';
import { runJobTransaction } from './job-transaction.ts';
import { insertJobs, jobInsertMany } from './insert.ts';
import { channelSnapshot } from './snapshot.ts';
import { jobClaim } from './claim.ts';
import { jobFinishMany, recordAttempt, releaseDependants } from './finish.ts';
import { jobCheckpoint, jobProgress } from './progress.ts';
import { JOB_COLUMNS } from './sql.ts';
import { SqliteContext, type Database, type SqlValue } from './context.ts';
import { sqliteChannelPauseList, sqliteChannelPauseSet, type PauseStatements } from './channel-pauses.ts';

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
    const latest = SQLITE_MIGRATIONS.at(-1)!.version;
    try {
      return this.#migrate(latest);
    } catch (err) {
      if (
        err instanceof DatabaseError &&
        (err.cause instanceof SchemaTooNewError || err.cause instanceof MigrationError)
      )
        throw err.cause;
      throw err;
    }
  }

  #migrate(latest: number): number[] {
    return this.#c.tx('migrate', () => {
      this.#c.db.exec(
        'CREATE TABLE IF NOT EXISTS conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
      );
      const current = Number(this.#c.get('SELECT coalesce(max(version), 0) AS v FROM conveyor_migrations')!.v);
      if (current > latest) {
        throw new SchemaTooNewError(
          `the database at ${this.location} has schema version ${current}, newer than this Conveyor knows (${latest}); upgrade conveyor-queue`,
          { details: { current, latest } },
        );
      }
      const applied: number[] = [];
      for (const m of SQLITE_MIGRATIONS) {
        if (m.version <= current) continue;
        try {
          this.#c.db.exec(m.sql);
        } catch (err) {
          throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
            cause: err,
          });
        }
        this.#c.run(
          'INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, ?)',
          m.version,
          m.name,
          Date.now(),
        );
        applied.push(m.version);
      }
      return applied;
    });
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const latest = SQLITE_MIGRATIONS.at(-1)!.version;
    return this.#c.read('schemaVersion', () => {
      const t = this.#c.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'conveyor_migrations'");
      const current = t ? Number(this.#c.get('SELECT coalesce(max(version), 0) AS v FROM conveyor_migrations')!.v) : 0;
      return { current, latest };
    });
  }

  async close(): Promise<void> {
    this.#c.close();
  }

  // ---------------------------------------------------------------- enqueue

  async jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]> {
    return jobInsertMany(this.#c, p);
  }

  /** Insert a batch inside the caller's transaction (see insert.ts). */
  #insert(p: JobInsertParams): JobInsertResult[] {
    return insertJobs(this.#c, p);
  }

  // ---------------------------------------------------------------- claim

  async channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot> {
    return channelSnapshot(this.#c, p);
  }

  async jobClaim(p: JobClaimParams): Promise<JobClaimResult> {
    return jobClaim(this.#c, p);
  }

  // ---------------------------------------------------------------- finish

  async jobFinishMany(runnerId: string, commands: readonly FinishCommand[]): Promise<FinishResult[]> {
    return jobFinishMany(this.#c, runnerId, commands);
  }

  /** Log one ended attempt (see finish.ts). */
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
    recordAttempt(this.#c, jobId, attempt, runnerId, startedAt, endedAt, outcome, excName, excMessage, excInfo);
  }

  /** Dependants of `doneIds` whose parents are all done become pending (see finish.ts). */
  #releaseDependants(doneIds: readonly number[]): number[] {
    return releaseDependants(this.#c, doneIds);
  }

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    return runJobTransaction(this.#c, p);
  }

  async jobProgress(p: {
    id: number;
    attempt: number;
    runnerId: string;
    progress: JobProgress;
  }): Promise<FinishResult> {
    return jobProgress(this.#c, p);
  }

  async jobCheckpoint(p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  }): Promise<FinishResult> {
    return jobCheckpoint(this.#c, p);
  }

  // ---------------------------------------------------------------- admin reads

  #binder(params: SqlValue[]): Binder {
    return {
      value: (v) => {
        params.push(v as SqlValue);
        return '?';
      },
      inList: (col, values) => {
        params.push(JSON.stringify(values));
        return `${col} IN (SELECT value FROM json_each(?))`;
      },
      ilike: (expr, pattern) => {
        params.push(pattern);
        return `${expr} LIKE ? ESCAPE '\\'`;
      },
      argsText: 'args',
    };
  }

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return this.#c.read('jobGet', () => {
      const row =
        typeof idOrUuid === 'number'
          ? this.#c.get(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE id = ?`, idOrUuid)
          : this.#c.get(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE uuid = ?`, idOrUuid);
      return row ? rowToJob(row) : null;
    });
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return this.#c.read('jobList', () => {
      const params: SqlValue[] = [];
      const sort = SORT_COLUMNS[p.sort ?? 'id'];
      const desc = (p.direction ?? 'desc') === 'desc';
      const extra: string[] = [];
      const cursor = decodeCursor(p.cursor);
      const sortExpr = sort === 'id' ? 'id' : `coalesce(${sort}, -1)`;
      if (cursor) {
        const op = desc ? '<' : '>';
        if (sort === 'id') {
          extra.push(`id ${op} ?`);
          params.push(cursor[1]);
        } else {
          extra.push(`(${sortExpr}, id) ${op} (?, ?)`);
          params.push(cursor[0] ?? -1, cursor[1]);
        }
      }
      const where = buildWhere(p, this.#binder(params), extra);
      const dir = desc ? 'DESC' : 'ASC';
      const order = sort === 'id' ? `id ${dir}` : `${sortExpr} ${dir}, id ${dir}`;
      params.push(p.limit + 1);
      const rows = this.#c.db
        .prepare(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs ${where} ORDER BY ${order} LIMIT ?`)
        .all(...params) as RawRow[];
      const jobs = rows.slice(0, p.limit).map(rowToJob);
      const last = jobs.at(-1);
      const nextCursor =
        rows.length > p.limit && last
          ? encodeCursor(
              sort === 'id' ? last.id : ((last as unknown as Record<string, number | null>)[p.sort!] ?? -1),
              last.id,
            )
          : null;
      return { jobs, nextCursor };
    });
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return this.#c.read('jobCount', () => {
      const params: SqlValue[] = [];
      const where = buildWhere(p, this.#binder(params));
      const cols = p.groupBy.map((k) => COUNT_COLUMNS[k]);
      const select = cols.length ? `${cols.join(', ')}, count(*) AS n` : 'count(*) AS n';
      const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
      const rows = this.#c.db
        .prepare(`SELECT ${select} FROM conveyor_jobs ${where} ${group}`)
        .all(...params) as RawRow[];
      return rows.map((r) => ({
        key: Object.fromEntries(p.groupBy.map((k) => [k, (r[COUNT_COLUMNS[k]] as string | null) ?? null])),
        count: Number(r.n),
      }));
    });
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return this.#c.read('jobAttempts', () =>
      this.#c
        .all('SELECT * FROM conveyor_job_attempts WHERE job_id = ? ORDER BY attempt, ended_at', id)
        .map(rowToAttempt),
    );
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return this.#c.read('jobDependencies', () => ({
      dependsOn: this.#c
        .all('SELECT depends_on AS id FROM conveyor_job_deps WHERE job_id = ? ORDER BY depends_on', id)
        .map((r) => Number(r.id)),
      dependants: this.#c
        .all('SELECT job_id AS id FROM conveyor_job_deps WHERE depends_on = ? ORDER BY job_id', id)
        .map((r) => Number(r.id)),
    }));
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return this.#c.read('graphGet', () => {
      const nodes = this.#c.all(
        'SELECT id, uuid, model, method, description, state, records FROM conveyor_jobs WHERE graph_uuid = ? ORDER BY id',
        graphUuid,
      );
      if (!nodes.length) return null;
      const edges = this.#c.all(
        `SELECT d.depends_on AS parent, d.job_id AS child FROM conveyor_job_deps d JOIN conveyor_jobs j ON j.id = d.job_id
         WHERE j.graph_uuid = ? ORDER BY d.depends_on, d.job_id`,
        graphUuid,
      );
      return {
        graphUuid,
        nodes: nodes.map((n) => ({
          id: Number(n.id),
          uuid: n.uuid as string,
          model: n.model as string,
          method: n.method as string,
          description: n.description as string,
          state: n.state as JobState,
          records: JSON.parse(n.records as string) as unknown[],
        })),
        edges: edges.map((e) => [Number(e.parent), Number(e.child)] as [number, number]),
      };
    });
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return this.#c.read('jobAhead', () => {
      const j = this.#c.get('SELECT channel, priority, created_at FROM conveyor_jobs WHERE id = ?', id);
      if (!j) return 0;
      const r = this.#c.get(
        `SELECT count(*) AS n FROM conveyor_jobs WHERE state = 'pending' AND channel = ? AND (eta IS NULL OR eta <= ?)
           AND (priority, created_at, id) < (?, ?, ?)`,
        j.channel as string,
        now,
        j.priority as number,
        j.created_at as number,
        id,
      );
      return Number(r!.n);
    });
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    const ids = this.#c.tx('jobRequeue', () =>
      this.#c
        .all(
          `UPDATE conveyor_jobs SET
         state = CASE WHEN EXISTS (SELECT 1 FROM conveyor_job_deps d JOIN conveyor_jobs pj ON pj.id = d.depends_on
                                   WHERE d.job_id = conveyor_jobs.id AND pj.state <> 'done') THEN 'wait_dependencies' ELSE 'pending' END,
         attempt = 0, crash_count = 0, eta = NULL, runner_id = NULL, enqueued_at = NULL, started_at = NULL, done_at = NULL,
         cancelled_at = NULL, exc_name = NULL, exc_message = NULL, exc_info = NULL, result = ?
       WHERE id IN (SELECT value FROM json_each(?)) AND state <> 'wait_dependencies' RETURNING id`,
          p.message === undefined ? null : JSON.stringify(p.message),
          JSON.stringify(p.ids),
        )
        .map((r) => Number(r.id)),
    );
    if (ids.length) this.#c.wake('jobs');
    return ids;
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    const ids = this.#c.tx('jobSetDone', () => {
      const changed = this.#c
        .all(
          `UPDATE conveyor_jobs SET state = 'done', done_at = ?, runner_id = NULL, result = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('wait_dependencies','pending','enqueued','failed') RETURNING id`,
          p.now,
          JSON.stringify(p.message ?? 'Manually set to done'),
          JSON.stringify(p.ids),
        )
        .map((r) => Number(r.id));
      if (changed.length) this.#releaseDependants(changed);
      return changed;
    });
    if (ids.length) this.#c.wake('freed');
    return ids;
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    const ids = this.#c.tx('jobCancel', () => {
      const cancel = (ids: readonly number[]) =>
        this.#c
          .all(
            `UPDATE conveyor_jobs SET state = 'cancelled', cancelled_at = ?, runner_id = NULL, result = ?
         WHERE id IN (SELECT value FROM json_each(?)) AND state IN ('wait_dependencies','pending','enqueued','started','failed') RETURNING id`,
            p.now,
            JSON.stringify(p.message ?? 'Cancelled'),
            JSON.stringify(ids),
          )
          .map((r) => Number(r.id));
      const all = cancel(p.ids);
      if (p.cascade) {
        let frontier = all;
        while (frontier.length) {
          const children = this.#c
            .all(
              'SELECT DISTINCT job_id AS id FROM conveyor_job_deps WHERE depends_on IN (SELECT value FROM json_each(?))',
              JSON.stringify(frontier),
            )
            .map((r) => Number(r.id));
          frontier = children.length ? cancel(children) : [];
          all.push(...frontier);
        }
      }
      return all;
    });
    if (ids.length) this.#c.wake('freed');
    return ids;
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    let total = 0;
    const batch = p.batchSize ?? 1000;
    for (;;) {
      const n = this.#c.tx('jobPrune', () => {
        const ids = this.#c
          .all(
            `SELECT id FROM conveyor_jobs WHERE state IN (SELECT value FROM json_each(?)) AND coalesce(done_at, cancelled_at, created_at) < ? LIMIT ?`,
            JSON.stringify(p.states),
            p.before,
            batch,
          )
          .map((r) => Number(r.id));
        if (!ids.length) return 0;
        const list = JSON.stringify(ids);
        this.#c.run(
          'DELETE FROM conveyor_job_deps WHERE job_id IN (SELECT value FROM json_each(?)) OR depends_on IN (SELECT value FROM json_each(?))',
          list,
          list,
        );
        this.#c.run('DELETE FROM conveyor_job_attempts WHERE job_id IN (SELECT value FROM json_each(?))', list);
        return this.#c.run('DELETE FROM conveyor_jobs WHERE id IN (SELECT value FROM json_each(?))', list);
      });
      total += n;
      if (n < batch) return total;
    }
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    // the database's clock of an embedded database is the host's (a fixed `now` only in tests)
    const now = r.now ?? Date.now();
    this.#c.tx('runnerRegister', () =>
      this.#c.run(
        `INSERT INTO conveyor_runners (id, host, pid, workers, started_at, heartbeat_at, lease_until, info) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until, info = excluded.info`,
        r.id,
        r.host,
        r.pid,
        r.workers,
        r.startedAt,
        now,
        now + Math.round(r.leaseMs),
        JSON.stringify(r.info),
      ),
    );
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    const now = p.now ?? Date.now();
    return this.#c.tx(
      'runnerHeartbeat',
      () =>
        this.#c.run(
          'UPDATE conveyor_runners SET heartbeat_at = ?, lease_until = ?, info = ? WHERE id = ?',
          now,
          now + Math.round(p.leaseMs),
          JSON.stringify(p.info),
          p.id,
        ) > 0,
    );
  }

  async runnerRemove(id: string): Promise<void> {
    this.#c.tx('runnerRemove', () => this.#c.run('DELETE FROM conveyor_runners WHERE id = ?', id));
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return this.#c.read('runnerList', () =>
      this.#c.all('SELECT * FROM conveyor_runners ORDER BY started_at').map((r) => ({
        id: r.id as string,
        host: r.host as string,
        pid: Number(r.pid),
        workers: Number(r.workers),
        startedAt: Number(r.started_at),
        heartbeatAt: Number(r.heartbeat_at),
        leaseUntil: Number(r.lease_until),
        info: JSON.parse(r.info as string) as Record<string, unknown>,
      })),
    );
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return this.#c.read('oldestPending', () =>
      this.#c
        .all(
          `SELECT channel, min(CASE WHEN eta IS NULL OR eta < created_at THEN created_at ELSE eta END) AS since
       FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND (eta IS NULL OR eta <= ?) GROUP BY channel ORDER BY channel`,
          p.now,
        )
        .map((r) => ({ channel: r.channel as string, since: Number(r.since) })),
    );
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    const now = p.now ?? Date.now();
    const out = this.#c.tx('jobRescue', () => {
      const rows = this.#c.all(
        `SELECT id, runner_id, state, attempt, crash_count, started_at FROM conveyor_jobs
         WHERE state IN ('enqueued','started')
           AND (runner_id IS NULL OR runner_id NOT IN (SELECT id FROM conveyor_runners WHERE lease_until >= ?))`,
        now,
      );
      const rescued: RescuedJob[] = [];
      for (const r of rows) {
        const id = Number(r.id);
        const runnerId = (r.runner_id as string | null) ?? null;
        if (r.state === 'enqueued') {
          this.#c.run(
            "UPDATE conveyor_jobs SET state = 'pending', attempt = attempt - 1, runner_id = NULL, enqueued_at = NULL WHERE id = ?",
            id,
          );
          rescued.push({ id, runnerId, state: 'pending', wasStarted: false });
          continue;
        }
        const crashes = Number(r.crash_count) + 1;
        const dead = crashes >= p.maxCrashes;
        const msg = `runner ${runnerId ?? '?'} stopped heartbeating while running the job (crash ${crashes} of at most ${p.maxCrashes})`;
        this.#c.run(
          `UPDATE conveyor_jobs SET state = ?, crash_count = ?, runner_id = NULL, enqueued_at = NULL, exc_name = 'JobFoundDead', exc_message = ?, exc_info = NULL WHERE id = ?`,
          dead ? 'failed' : 'pending',
          crashes,
          msg,
          id,
        );
        this.#attempt(
          id,
          Number(r.attempt),
          runnerId,
          r.started_at === null ? null : Number(r.started_at),
          now,
          'crashed',
          'JobFoundDead',
          msg,
          null,
        );
        rescued.push({ id, runnerId, state: dead ? 'failed' : 'pending', wasStarted: true });
      }
      this.#c.run('DELETE FROM conveyor_runners WHERE lease_until < ?', now);
      return rescued;
    });
    if (out.length) this.#c.wake('jobs');
    return out;
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    // a listener of its own per subscription, so that closing one removes only it
    const listener = (topic: WakeTopic, origin: string | null) => onWake(topic, origin);
    this.#c.wakes.on('wake', listener);
    return {
      close: async () => {
        this.#c.wakes.off('wake', listener);
      },
    };
  }

  async wake(topic: WakeTopic): Promise<void> {
    this.#c.wake(topic);
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  #pauseStatements(): PauseStatements {
    return { all: (sql) => this.#c.all(sql), run: (sql, ...params) => this.#c.run(sql, ...params) };
  }

  async channelPauseList(): Promise<ChannelPause[]> {
    return this.#c.read('channelPauseList', () => sqliteChannelPauseList(this.#pauseStatements()));
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    const changed = this.#c.tx('channelPauseSet', () => sqliteChannelPauseSet(this.#pauseStatements(), p));
    this.#c.wake('channels');
    return changed;
  }

  // ---------------------------------------------------------------- events to other Conveyors (this process)

  async publishEvents(payloads: readonly string[]): Promise<void> {
    for (const p of payloads) queueMicrotask(() => this.#c.wakes.emit('events', p));
  }

  async listenEvents(onPayload: (payload: string) => void): Promise<{ close(): Promise<void> }> {
    const listener = (payload: string) => onPayload(payload);
    this.#c.wakes.on('events', listener);
    return {
      close: async () => {
        this.#c.wakes.off('events', listener);
      },
    };
  }

  async eventListeners(): Promise<boolean> {
    return this.#c.wakes.listenerCount('events') > 0;
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return this.#c.read('jobFunctionList', () =>
      this.#c.all('SELECT name, settings, updated_at FROM conveyor_job_functions ORDER BY name').map((r) => ({
        name: r.name as string,
        settings: r.settings as string,
        updatedAt: Number(r.updated_at),
      })),
    );
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    this.#c.tx('jobFunctionSet', () => {
      if (p.settings === null) this.#c.run('DELETE FROM conveyor_job_functions WHERE name = ?', p.name);
      else
        this.#c.run(
          'INSERT INTO conveyor_job_functions (name, settings, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at',
          p.name,
          p.settings,
          p.now,
        );
    });
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return this.#c.tx('timeoutLogInsert', () =>
      Number(
        this.#c
          .statement(
            `INSERT INTO conveyor_timeout_log (at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          )
          .run(
            e.at,
            e.operation,
            e.kind,
            e.model ?? null,
            e.method ?? null,
            e.jobId ?? null,
            Math.round(e.thresholdMs),
            Math.round(e.durationMs),
            e.exceeded ? 1 : 0,
            e.error ?? null,
            e.host,
          ).lastInsertRowid,
      ),
    );
  }

  async timeoutLogList(p: {
    since?: number;
    limit: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]> {
    return this.#c.read('timeoutLogList', () => {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (p.since !== undefined) {
        where.push('at >= ?');
        params.push(p.since);
      }
      if (p.model !== undefined) {
        where.push('model = ?');
        params.push(p.model);
      }
      if (p.method !== undefined) {
        where.push('method = ?');
        params.push(p.method);
      }
      if (p.kind !== undefined) {
        where.push('kind = ?');
        params.push(p.kind);
      }
      if (p.cursor) {
        where.push('id < ?');
        params.push(p.cursor);
      }
      params.push(p.limit);
      const rows = this.#c.db
        .prepare(
          `SELECT * FROM conveyor_timeout_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT ?`,
        )
        .all(...params) as RawRow[];
      return rows.map(rowToTimeoutEntry);
    });
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return this.#c.read('timeoutLogStatistics', () =>
      timeoutStats(
        this.#c.all(
          `SELECT model, method, count(*) AS n, sum(exceeded) AS exceeded, sum(duration_ms) AS total_ms
       FROM conveyor_timeout_log WHERE at >= ? GROUP BY model, method`,
          p.since,
        ),
      ),
    );
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return this.#c.tx('timeoutLogCleanup', () =>
      this.#c.run('DELETE FROM conveyor_timeout_log WHERE at < ?', p.before),
    );
  }

  // ---------------------------------------------------------------- scheduled jobs

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return this.#c.tx('cronUpsert', () =>
      rowToCron(
        this.#c.get(
          `INSERT INTO conveyor_crons (name, schedule, timezone, model, method, records, args, options, catch_up, paused, next_run_at, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
       ON CONFLICT (name) DO UPDATE SET
         next_run_at = CASE WHEN conveyor_crons.schedule IS NOT excluded.schedule OR conveyor_crons.timezone IS NOT excluded.timezone
                              OR conveyor_crons.next_run_at IS NULL THEN excluded.next_run_at ELSE conveyor_crons.next_run_at END,
         schedule = excluded.schedule, timezone = excluded.timezone, model = excluded.model, method = excluded.method,
         records = excluded.records, args = excluded.args, options = excluded.options, catch_up = excluded.catch_up,
         updated_at = excluded.updated_at
       RETURNING ${CRON_FIELDS}`,
          p.name,
          p.schedule,
          p.timezone,
          p.model,
          p.method,
          p.records,
          p.args,
          p.options,
          p.catchUp,
          p.nextRunAt,
          p.now,
          p.now,
        )!,
      ),
    );
  }

  async cronList(): Promise<CronRow[]> {
    return this.#c.read('cronList', () =>
      this.#c.all(`SELECT ${CRON_FIELDS} FROM conveyor_crons ORDER BY name`).map(rowToCron),
    );
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return this.#c.read('cronGet', () => {
      const row = this.#c.get(`SELECT ${CRON_FIELDS} FROM conveyor_crons WHERE name = ?`, name);
      return row ? rowToCron(row) : null;
    });
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return this.#c.tx(
      'cronSetPaused',
      () =>
        this.#c.run(
          'UPDATE conveyor_crons SET paused = ?, next_run_at = CASE WHEN ? THEN ? ELSE next_run_at END, updated_at = ? WHERE name = ?',
          p.paused ? 1 : 0,
          p.nextRunAt === undefined ? 0 : 1,
          p.nextRunAt ?? null,
          p.now,
          p.name,
        ) > 0,
    );
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    const out = this.#c.tx('cronFire', (): CronFireResult => {
      const cron = this.#c.get('SELECT paused FROM conveyor_crons WHERE name = ?', p.name);
      if (!cron || (p.slotAt !== null && Number(cron.paused) === 1)) return { fired: false, jobId: null };
      if (
        p.slotAt !== null &&
        this.#c.run(
          'INSERT OR IGNORE INTO conveyor_cron_slots (name, slot_at, fired_at) VALUES (?, ?, ?)',
          p.name,
          p.slotAt,
          p.now,
        ) === 0
      ) {
        return { fired: false, jobId: null };
      }
      const jobId = this.#insert({ jobs: [p.job], now: p.now })[0]!.id;
      if (p.slotAt !== null) {
        this.#c.run(
          'UPDATE conveyor_cron_slots SET job_id = ? WHERE name = ? AND slot_at = ?',
          jobId,
          p.name,
          p.slotAt,
        );
        this.#c.run(
          'DELETE FROM conveyor_cron_slots WHERE name = ? AND slot_at < ?',
          p.name,
          p.slotAt - CRON_SLOT_RETENTION_MS,
        );
      }
      this.#c.run(
        'UPDATE conveyor_crons SET last_run_at = ?, last_job_id = ?, next_run_at = coalesce(max(next_run_at, ?), ?, next_run_at) WHERE name = ?',
        p.slotAt ?? p.now,
        jobId,
        p.nextRunAt,
        p.nextRunAt,
        p.name,
      );
      return { fired: true, jobId };
    });
    if (out.fired) this.#c.wake('jobs');
    return out;
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    this.#c.tx('cronAdvance', () =>
      this.#c.run(
        'UPDATE conveyor_crons SET next_run_at = coalesce(max(next_run_at, ?), ?) WHERE name = ?',
        p.nextRunAt,
        p.nextRunAt,
        p.name,
      ),
    );
  }

  async cronDelete(name: string): Promise<boolean> {
    return this.#c.tx('cronDelete', () => {
      this.#c.run('DELETE FROM conveyor_cron_slots WHERE name = ?', name);
      return this.#c.run('DELETE FROM conveyor_crons WHERE name = ?', name) > 0;
    });
  }
}

const CRON_FIELDS = `name, schedule, timezone, model, method, records, args, options, catch_up, paused, next_run_at, last_run_at,
  last_job_id, created_at, updated_at`;
