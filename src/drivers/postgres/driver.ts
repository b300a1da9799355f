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
import type * as PgTypes from 'pg';
import { ConfigurationError, DatabaseError, MigrationError, SchemaTooNewError } from '../../errors.ts';
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
import { pgChannelPauseList, pgChannelPauseSet } from './channel-pauses.ts';
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
import { PG_MIGRATIONS } from './migrations.ts';
import { runJobTransaction } from './job-transaction.ts';
import { insertJobs, jobInsertMany } from './insert.ts';
import { channelSnapshot } from './snapshot.ts';
import { jobClaim } from './claim.ts';
import { jobFinishMany, releaseDependants } from './finish.ts';
import { jobCheckpoint, jobProgress } from './progress.ts';
import { PgContext, type Pg, type PostgresDriverOptions, type Queryable } from './context.ts';
import { JOB_COLUMNS, columnMs, paramTime } from './sql.ts';

export type { PostgresDriverOptions } from './context.ts';

function isUndefinedTable(err: unknown): boolean {
  return (err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '3F000';
}

/** The PostgreSQL implementation of {@link Driver}. */
export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly crossProcessWakeups = true;
  readonly location: string;
  readonly schema: string;
  #c: PgContext;

  private constructor(c: PgContext) {
    this.#c = c;
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
    const latest = PG_MIGRATIONS.at(-1)!.version;
    const client = await this.#c.pool.connect().catch((err: unknown) => this.#c.wrap('migrate', err));
    client.on('error', () => {
      /* the failing query reports it */
    });
    try {
      await client.query(`SELECT pg_advisory_lock(${this.#c.locks.migrate})`);
      try {
        await client.query(`CREATE SCHEMA IF NOT EXISTS ${this.#c.sqlSchema}`);
        await client.query(
          `CREATE TABLE IF NOT EXISTS ${this.#c.sqlSchema}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
        );
        const current = Number(
          (await client.query(`SELECT coalesce(max(version), 0) AS v FROM ${this.#c.sqlSchema}.migrations`)).rows[0].v,
        );
        if (current > latest) {
          throw new SchemaTooNewError(
            `the schema ${this.schema} at ${this.location} has version ${current}, newer than this Conveyor knows (${latest}); upgrade conveyor-queue`,
            { details: { current, latest } },
          );
        }
        const applied: number[] = [];
        for (const m of PG_MIGRATIONS) {
          if (m.version <= current) continue;
          try {
            await client.query('BEGIN');
            await client.query(m.sql(this.#c.sqlSchema));
            await client.query(`INSERT INTO ${this.#c.sqlSchema}.migrations (version, name) VALUES ($1, $2)`, [
              m.version,
              m.name,
            ]);
            await client.query('COMMIT');
          } catch (err) {
            await client.query('ROLLBACK').catch(() => {});
            throw new MigrationError(`migration ${m.version} (${m.name}) failed: ${(err as Error).message}`, {
              cause: err,
            });
          }
          applied.push(m.version);
        }
        return applied;
      } finally {
        await client.query(`SELECT pg_advisory_unlock(${this.#c.locks.migrate})`).catch(() => {});
      }
    } catch (err) {
      return this.#c.wrap('migrate', err);
    } finally {
      client.release();
    }
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    const latest = PG_MIGRATIONS.at(-1)!.version;
    return this.#c.read('schemaVersion', async (db) => {
      try {
        const r = await db.query(`SELECT coalesce(max(version), 0) AS v FROM ${this.#c.sqlSchema}.migrations`);
        return { current: Number(r.rows[0].v), latest };
      } catch (err) {
        if (isUndefinedTable(err)) return { current: 0, latest };
        throw err;
      }
    });
  }

  /** Drop the whole schema (tests and benchmarks). */
  async dropSchema(): Promise<void> {
    await this.#c.read('dropSchema', (db) => db.query(`DROP SCHEMA IF EXISTS ${this.#c.sqlSchema} CASCADE`));
  }

  async close(): Promise<void> {
    if (this.#c.closed) return;
    this.#c.closed = true;
    for (const l of [...this.#c.listeners]) await l.close();
    await this.#c.pool.end();
  }

  // ---------------------------------------------------------------- enqueue

  async jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]> {
    return jobInsertMany(this.#c, p);
  }

  /** Insert a batch on `db` (see insert.ts). */
  #insert(db: Queryable, p: JobInsertParams): Promise<JobInsertResult[]> {
    return insertJobs(this.#c, db, p);
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

  /** Job columns with timestamps as ms. */
  #fieldsOut(prefix = ''): string {
    return JOB_COLUMNS.split(',')
      .map((f) => f.trim())
      .map((f) => {
        const c = prefix + f;
        return ['eta', 'created_at', 'enqueued_at', 'started_at', 'done_at', 'cancelled_at'].includes(f)
          ? `${columnMs(c)} AS ${f}`
          : c;
      })
      .join(', ');
  }

  // ---------------------------------------------------------------- finish

  async jobFinishMany(runnerId: string, commands: readonly FinishCommand[]): Promise<FinishResult[]> {
    return jobFinishMany(this.#c, runnerId, commands);
  }

  /** Dependants of `doneIds` whose parents are all done become pending (see finish.ts). */
  #releaseDependants(client: Queryable, doneIds: readonly number[]): Promise<number[]> {
    return releaseDependants(this.#c, client, doneIds);
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

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    return runJobTransaction(this.#c, p);
  }

  // ---------------------------------------------------------------- admin reads

  #binder(values: unknown[]): Binder {
    return {
      value: (v) => {
        values.push(v);
        return `$${values.length}`;
      },
      inList: (col, list) => {
        values.push(list);
        return `${col} = ANY($${values.length})`;
      },
      ilike: (expr, pattern) => {
        values.push(pattern);
        return `${expr}::text ILIKE $${values.length}`;
      },
      argsText: 'args',
    };
  }

  /** Filters compare times as ms; rewrite `created_at >= $n` into timestamptz terms. */
  #where(f: JobFilter, values: unknown[], extra: string[] = []): string {
    const where = buildWhere(f, this.#binder(values), extra);
    return where.replace(
      /created_at (>=|<) \$(\d+)/g,
      (_m, op: string, n: string) => `created_at ${op} ${paramTime(Number(n))}`,
    );
  }

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return this.#c.read('jobGet', async (db) => {
      if (typeof idOrUuid === 'string' && !/^[0-9a-f-]{36}$/i.test(idOrUuid)) return null;
      const r =
        typeof idOrUuid === 'number'
          ? await db.query(
              this.#c.named(`SELECT ${this.#fieldsOut()} FROM ${this.#c.sqlSchema}.jobs WHERE id = $1`, [idOrUuid]),
            )
          : await db.query(
              this.#c.named(`SELECT ${this.#fieldsOut()} FROM ${this.#c.sqlSchema}.jobs WHERE uuid = $1`, [idOrUuid]),
            );
      return r.rows.length ? rowToJob(r.rows[0]) : null;
    });
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return this.#c.read('jobList', async (db) => {
      const values: unknown[] = [];
      const sort = SORT_COLUMNS[p.sort ?? 'id'];
      const desc = (p.direction ?? 'desc') === 'desc';
      const sortExpr =
        sort === 'id'
          ? 'id'
          : ['created_at', 'done_at'].includes(sort)
            ? `coalesce(${columnMs(sort)}, -1)`
            : `coalesce(${sort}, -1)`;
      const extra: string[] = [];
      const cursor = decodeCursor(p.cursor);
      if (cursor) {
        const op = desc ? '<' : '>';
        values.push(cursor[1]);
        if (sort === 'id') extra.push(`id ${op} $${values.length}`);
        else {
          values.push(cursor[0] ?? -1);
          extra.push(`(${sortExpr}, id) ${op} ($${values.length}, $${values.length - 1})`);
        }
      }
      const where = this.#where(p, values, extra);
      const dir = desc ? 'DESC' : 'ASC';
      const order = sort === 'id' ? `id ${dir}` : `${sortExpr} ${dir}, id ${dir}`;
      values.push(p.limit + 1);
      const r = await db.query(
        `SELECT ${this.#fieldsOut()} FROM ${this.#c.sqlSchema}.jobs ${where} ORDER BY ${order} LIMIT $${values.length}`,
        values,
      );
      const jobs = (r.rows as RawRow[]).slice(0, p.limit).map(rowToJob);
      const last = jobs.at(-1);
      const nextCursor =
        r.rows.length > p.limit && last
          ? encodeCursor(
              sort === 'id' ? last.id : ((last as unknown as Record<string, number | null>)[p.sort!] ?? -1),
              last.id,
            )
          : null;
      return { jobs, nextCursor };
    });
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return this.#c.read('jobCount', async (db) => {
      const values: unknown[] = [];
      const where = this.#where(p, values);
      const cols = p.groupBy.map((k) => COUNT_COLUMNS[k]);
      const select = cols.length ? `${cols.join(', ')}, count(*) AS n` : 'count(*) AS n';
      const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
      const r = await db.query(`SELECT ${select} FROM ${this.#c.sqlSchema}.jobs ${where} ${group}`, values);
      return (r.rows as RawRow[]).map((row) => ({
        key: Object.fromEntries(p.groupBy.map((k) => [k, (row[COUNT_COLUMNS[k]] as string | null) ?? null])),
        count: Number(row.n),
      }));
    });
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return this.#c.read('jobAttempts', async (db) => {
      const r = await db.query(
        this.#c.named(
          `SELECT job_id, attempt, runner_id, ${columnMs('started_at')} AS started_at, ${columnMs('ended_at')} AS ended_at,
        outcome, exc_name, exc_message, exc_info FROM ${this.#c.sqlSchema}.job_attempts WHERE job_id = $1 ORDER BY attempt, ended_at`,
          [id],
        ),
      );
      return (r.rows as RawRow[]).map(rowToAttempt);
    });
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return this.#c.read('jobDependencies', async (db) => {
      const a = await db.query(
        this.#c.named(
          `SELECT depends_on AS id FROM ${this.#c.sqlSchema}.job_deps WHERE job_id = $1 ORDER BY depends_on`,
          [id],
        ),
      );
      const b = await db.query(
        this.#c.named(`SELECT job_id AS id FROM ${this.#c.sqlSchema}.job_deps WHERE depends_on = $1 ORDER BY job_id`, [
          id,
        ]),
      );
      return {
        dependsOn: (a.rows as RawRow[]).map((r) => Number(r.id)),
        dependants: (b.rows as RawRow[]).map((r) => Number(r.id)),
      };
    });
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return this.#c.read('graphGet', async (db) => {
      const n = await db.query(
        this.#c.named(
          `SELECT id, uuid, model, method, description, state, records FROM ${this.#c.sqlSchema}.jobs WHERE graph_uuid = $1 ORDER BY id`,
          [graphUuid],
        ),
      );
      if (!n.rows.length) return null;
      const e = await db.query(
        this.#c.named(
          `SELECT d.depends_on AS parent, d.job_id AS child FROM ${this.#c.sqlSchema}.job_deps d JOIN ${this.#c.sqlSchema}.jobs j ON j.id = d.job_id
        WHERE j.graph_uuid = $1 ORDER BY d.depends_on, d.job_id`,
          [graphUuid],
        ),
      );
      return {
        graphUuid,
        nodes: (n.rows as RawRow[]).map((r) => ({
          id: Number(r.id),
          uuid: r.uuid as string,
          model: r.model as string,
          method: r.method as string,
          description: r.description as string,
          state: r.state as JobState,
          records: JSON.parse(r.records as string) as unknown[],
        })),
        edges: (e.rows as RawRow[]).map((r) => [Number(r.parent), Number(r.child)] as [number, number]),
      };
    });
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return this.#c.read('jobAhead', async (db) => {
      const r = await db.query(
        this.#c.named(
          `SELECT count(*) AS n FROM ${this.#c.sqlSchema}.jobs o, ${this.#c.sqlSchema}.jobs j WHERE j.id = $1 AND o.state = 'pending' AND o.channel = j.channel
           AND (o.eta IS NULL OR o.eta <= ${paramTime(2)}) AND (o.priority, o.created_at, o.id) < (j.priority, j.created_at, j.id)`,
          [id, now],
        ),
      );
      return Number(r.rows[0].n);
    });
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    const ids = await this.#c.tx('jobRequeue', async (client) => {
      await client.query(this.#c.named(`SELECT pg_advisory_xact_lock(${this.#c.locks.graph})`));
      const r = await client.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.jobs j SET
           state = CASE WHEN EXISTS (SELECT 1 FROM ${this.#c.sqlSchema}.job_deps d JOIN ${this.#c.sqlSchema}.jobs pj ON pj.id = d.depends_on
                                     WHERE d.job_id = j.id AND pj.state <> 'done') THEN 'wait_dependencies' ELSE 'pending' END,
           attempt = 0, crash_count = 0, eta = NULL, runner_id = NULL, enqueued_at = NULL, started_at = NULL, done_at = NULL,
           cancelled_at = NULL, exc_name = NULL, exc_message = NULL, exc_info = NULL, result = $1
         WHERE j.id = ANY($2::bigint[]) AND j.state <> 'wait_dependencies' RETURNING j.id`,
          [p.message === undefined ? null : JSON.stringify(p.message), p.ids],
        ),
      );
      await client.query(this.#c.named("SELECT pg_notify($1, '')", [this.#c.notify.jobs]));
      return (r.rows as RawRow[]).map((x) => Number(x.id));
    });
    return ids;
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    return this.#c.tx('jobSetDone', async (client) => {
      await client.query(
        this.#c.named(
          `SELECT pg_advisory_xact_lock(${this.#c.locks.claim}), pg_advisory_xact_lock(${this.#c.locks.graph})`,
        ),
      );
      const r = await client.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.jobs SET state = 'done', done_at = ${paramTime(1)}, runner_id = NULL, result = $2
         WHERE id = ANY($3::bigint[]) AND state IN ('wait_dependencies','pending','enqueued','failed') RETURNING id`,
          [p.now, JSON.stringify(p.message ?? 'Manually set to done'), p.ids],
        ),
      );
      const ids = (r.rows as RawRow[]).map((x) => Number(x.id));
      await this.#releaseDependants(client, ids);
      await client.query(this.#c.named("SELECT pg_notify($1, '')", [this.#c.notify.freed]));
      return ids;
    });
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    return this.#c.tx('jobCancel', async (client) => {
      await client.query(
        this.#c.named(
          `SELECT pg_advisory_xact_lock(${this.#c.locks.claim}), pg_advisory_xact_lock(${this.#c.locks.graph})`,
        ),
      );
      const cancel = async (ids: readonly number[]) =>
        (
          (
            await client.query(
              this.#c.named(
                `UPDATE ${this.#c.sqlSchema}.jobs SET state = 'cancelled', cancelled_at = ${paramTime(1)}, runner_id = NULL, result = $2
         WHERE id = ANY($3::bigint[]) AND state IN ('wait_dependencies','pending','enqueued','started','failed') RETURNING id`,
                [p.now, JSON.stringify(p.message ?? 'Cancelled'), ids],
              ),
            )
          ).rows as RawRow[]
        ).map((x) => Number(x.id));
      const all = await cancel(p.ids);
      if (p.cascade) {
        let frontier = all;
        while (frontier.length) {
          const children = (
            (
              await client.query(
                this.#c.named(
                  `SELECT DISTINCT job_id AS id FROM ${this.#c.sqlSchema}.job_deps WHERE depends_on = ANY($1::bigint[])`,
                  [frontier],
                ),
              )
            ).rows as RawRow[]
          ).map((x) => Number(x.id));
          frontier = children.length ? await cancel(children) : [];
          all.push(...frontier);
        }
      }
      await client.query(this.#c.named("SELECT pg_notify($1, '')", [this.#c.notify.freed]));
      return all;
    });
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    const batch = p.batchSize ?? 1000;
    let total = 0;
    for (;;) {
      const n = await this.#c.tx('jobPrune', async (client) => {
        const r = await client.query(
          this.#c.named(
            `WITH victims AS (SELECT id FROM ${this.#c.sqlSchema}.jobs WHERE state = ANY($1::text[]) AND coalesce(done_at, cancelled_at, created_at) < ${paramTime(2)} LIMIT $3 FOR UPDATE SKIP LOCKED),
                d1 AS (DELETE FROM ${this.#c.sqlSchema}.job_deps WHERE job_id IN (SELECT id FROM victims) OR depends_on IN (SELECT id FROM victims)),
                d2 AS (DELETE FROM ${this.#c.sqlSchema}.job_attempts WHERE job_id IN (SELECT id FROM victims))
           DELETE FROM ${this.#c.sqlSchema}.jobs WHERE id IN (SELECT id FROM victims)`,
            [p.states, p.before, batch],
          ),
        );
        return r.rowCount ?? 0;
      });
      total += n;
      if (n < batch) return total;
    }
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    // heartbeat and lease on the database's clock (a fixed `now` only in tests): every runner, on any
    // host, judges expiry against the same clock as the heartbeat that set it
    await this.#c.read('runnerRegister', (db) =>
      db.query(
        this.#c.named(
          `INSERT INTO ${this.#c.sqlSchema}.runners (id, host, pid, workers, started_at, heartbeat_at, lease_until, info)
       SELECT $1, $2, $3, $4, ${paramTime(5)}, t.now, t.now + $6::bigint * interval '1 millisecond', $7
       FROM (SELECT coalesce(${paramTime(8)}, clock_timestamp()) AS now) t
       ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until, info = excluded.info`,
          [r.id, r.host, r.pid, r.workers, r.startedAt, Math.round(r.leaseMs), JSON.stringify(r.info), r.now ?? null],
        ),
      ),
    );
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    return this.#c.read('runnerHeartbeat', async (db) => {
      const r = await db.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.runners SET heartbeat_at = t.now, lease_until = t.now + $1::bigint * interval '1 millisecond', info = $2
        FROM (SELECT coalesce(${paramTime(4)}, clock_timestamp()) AS now) t WHERE id = $3`,
          [Math.round(p.leaseMs), JSON.stringify(p.info), p.id, p.now ?? null],
        ),
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  async runnerRemove(id: string): Promise<void> {
    await this.#c.read('runnerRemove', (db) =>
      db.query(this.#c.named(`DELETE FROM ${this.#c.sqlSchema}.runners WHERE id = $1`, [id])),
    );
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return this.#c.read('oldestPending', async (db) => {
      const r = await db.query(
        this.#c.named(
          `SELECT channel, ${columnMs('min(greatest(coalesce(eta, created_at), created_at))')} AS since FROM ${this.#c.sqlSchema}.jobs
        WHERE state = 'pending' AND (eta IS NULL OR eta <= 'epoch'::timestamptz + $1 * interval '1 millisecond') GROUP BY channel ORDER BY channel`,
          [p.now],
        ),
      );
      return (r.rows as RawRow[]).map((x) => ({ channel: x.channel as string, since: Number(x.since) }));
    });
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return this.#c.read('runnerList', async (db) => {
      const r = await db.query(
        this.#c.named(`SELECT id, host, pid, workers, ${columnMs('started_at')} AS started_at, ${columnMs('heartbeat_at')} AS heartbeat_at,
        ${columnMs('lease_until')} AS lease_until, info FROM ${this.#c.sqlSchema}.runners ORDER BY started_at`),
      );
      return (r.rows as RawRow[]).map((x) => ({
        id: x.id as string,
        host: x.host as string,
        pid: Number(x.pid),
        workers: Number(x.workers),
        startedAt: Number(x.started_at),
        heartbeatAt: Number(x.heartbeat_at),
        leaseUntil: Number(x.lease_until),
        info: JSON.parse(x.info as string) as Record<string, unknown>,
      }));
    });
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    return this.#c.tx('jobRescue', async (client) => {
      const s = this.#c.sqlSchema;
      const r = await client.query(
        this.#c.named(
          `WITH clock AS (SELECT coalesce(${paramTime(1)}, clock_timestamp()) AS now),
         dead AS (
           SELECT id, state AS old_state, runner_id AS old_runner, crash_count + CASE WHEN state = 'started' THEN 1 ELSE 0 END AS crashes
           FROM ${s}.jobs j WHERE state IN ('enqueued','started')
             AND NOT EXISTS (SELECT 1 FROM ${s}.runners r WHERE r.id = j.runner_id AND r.lease_until >= (SELECT now FROM clock))
           FOR UPDATE OF j SKIP LOCKED),
         changed AS (
           UPDATE ${s}.jobs j SET
             state = CASE WHEN d.old_state = 'enqueued' THEN 'pending' WHEN d.crashes >= $2 THEN 'failed' ELSE 'pending' END,
             attempt = CASE WHEN d.old_state = 'enqueued' THEN j.attempt - 1 ELSE j.attempt END,
             crash_count = d.crashes, runner_id = NULL, enqueued_at = NULL,
             exc_name = CASE WHEN d.old_state = 'started' THEN 'JobFoundDead' ELSE j.exc_name END,
             exc_message = CASE WHEN d.old_state = 'started'
               THEN 'runner ' || coalesce(d.old_runner, '?') || ' stopped heartbeating while running the job (crash ' || d.crashes || ' of at most ' || $2 || ')'
               ELSE j.exc_message END,
             exc_info = CASE WHEN d.old_state = 'started' THEN NULL ELSE j.exc_info END
           FROM dead d WHERE j.id = d.id
           RETURNING j.id, j.state, j.attempt, ${columnMs('j.started_at')} AS started_at, j.exc_message, d.old_state, d.old_runner),
         logged AS (
           INSERT INTO ${s}.job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message)
           SELECT id, attempt, old_runner, CASE WHEN started_at IS NULL THEN NULL ELSE 'epoch'::timestamptz + started_at * interval '1 millisecond' END,
             (SELECT now FROM clock), 'crashed', 'JobFoundDead', exc_message FROM changed WHERE old_state = 'started'),
         gone AS (DELETE FROM ${s}.runners WHERE lease_until < (SELECT now FROM clock))
         SELECT id, state, old_state, old_runner FROM changed`,
          [p.now ?? null, p.maxCrashes],
        ),
      );
      if (r.rows.length) await client.query(this.#c.named("SELECT pg_notify($1, '')", [this.#c.notify.jobs]));
      return (r.rows as RawRow[]).map((x) => ({
        id: Number(x.id),
        runnerId: (x.old_runner as string | null) ?? null,
        state: x.state as JobState,
        wasStarted: x.old_state === 'started',
      }));
    });
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    const channelsTopic = `${this.schema}:channels`;
    const topics: Record<string, WakeTopic> = {
      [this.#c.notify.jobs]: 'jobs',
      [this.#c.notify.freed]: 'freed',
      [channelsTopic]: 'channels',
    };
    // the payload of a `freed` sent by jobFinishMany is the runner's id
    return this.#listen(
      'subscribe',
      [this.#c.notify.jobs, this.#c.notify.freed, channelsTopic],
      `conveyor:${this.schema}`,
      (channel, payload) => {
        const t = topics[channel];
        if (t) onWake(t, payload || null);
      },
      () => onWake('jobs', null),
    ); // catch up on what was missed while disconnected
  }

  /**
   * LISTEN on `channels` on a dedicated connection (named `appName`, which {@link eventListeners} looks
   * for) that reconnects with backoff and jitter; `onReconnect` runs once it listens again.
   */
  async #listen(
    operation: string,
    channels: readonly string[],
    appName: string,
    onNotify: (channel: string, payload: string) => void,
    onReconnect: (() => void) | undefined,
  ): Promise<{ close(): Promise<void> }> {
    const pg = this.#c.pg;
    let client: PgTypes.Client | null = null;
    let closed = false;
    let attempt = 0;
    let timer: NodeJS.Timeout | null = null;
    const connect = async (): Promise<void> => {
      const c = new pg.Client({
        connectionString: this.#c.connectionString,
        keepAlive: true,
        types: this.#c.types,
        application_name: appName.slice(0, 63),
      });
      c.on('notification', (msg) => onNotify(msg.channel, msg.payload ?? ''));
      c.on('error', () => {
        /* handled by 'end' */
      });
      c.on('end', () => {
        if (closed) return;
        client = null;
        schedule();
      });
      await c.connect();
      await c.query(channels.map((ch) => `LISTEN "${ch}"`).join('; '));
      if (closed) {
        await c.end().catch(() => {});
        return;
      }
      client = c;
      if (attempt > 0) onReconnect?.();
      attempt = 0;
    };
    const schedule = () => {
      if (closed || timer) return;
      // capped at 1 s: wake-ups missed while the listener is down wait for it to come back (a
      // reconnection catches up with one 'jobs' wake-up), and one connection attempt a second is cheap
      const delay = Math.min(1_000, 100 * 2 ** attempt++) * (0.5 + Math.random() / 2);
      timer = setTimeout(() => {
        timer = null;
        connect().catch(() => schedule());
      }, delay);
      timer.unref?.();
    };
    await connect().catch((err: unknown) => this.#c.wrap(operation, err));
    const handle = {
      close: async () => {
        closed = true;
        if (timer) clearTimeout(timer);
        this.#c.listeners.delete(handle);
        const c = client;
        client = null;
        if (c) await c.end().catch(() => {});
      },
    };
    this.#c.listeners.add(handle);
    return handle;
  }

  // ---------------------------------------------------------------- events to other processes

  /** application_name of the connections that listen to events (what eventListeners() looks for). */
  get #eventsAppName(): string {
    return `conveyor-events:${this.schema}`.slice(0, 63);
  }

  async publishEvents(payloads: readonly string[]): Promise<void> {
    if (!payloads.length) return;
    await this.#c.read('publishEvents', (db) =>
      db.query(
        this.#c.named('SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p', [this.#c.notify.events, payloads]),
      ),
    );
  }

  async listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<{ close(): Promise<void> }> {
    return this.#listen(
      'listenEvents',
      [this.#c.notify.events],
      this.#eventsAppName,
      (channel, payload) => {
        if (channel === this.#c.notify.events) onPayload(payload);
      },
      onGap,
    );
  }

  async eventListeners(): Promise<boolean> {
    // a LISTEN of another session cannot be seen, its connection's name can (same role or pg_read_all_stats)
    return this.#c.read('eventListeners', async (db) => {
      const r = await db.query(
        this.#c.named(
          'SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1) AS e',
          [this.#eventsAppName],
        ),
      );
      return Boolean((r.rows[0] as RawRow | undefined)?.e);
    });
  }

  async wake(topic: WakeTopic): Promise<void> {
    const channel =
      topic === 'jobs' ? this.#c.notify.jobs : topic === 'freed' ? this.#c.notify.freed : `${this.schema}:channels`;
    await this.#c.read('wake', (db) => db.query(this.#c.named("SELECT pg_notify($1, '')", [channel])));
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  async channelPauseList(): Promise<ChannelPause[]> {
    return this.#c.read('channelPauseList', (db) => pgChannelPauseList(db, this.#c.sqlSchema));
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    return this.#c.read('channelPauseSet', (db) =>
      pgChannelPauseSet(db, this.#c.sqlSchema, `${this.schema}:channels`, p),
    );
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return this.#c.read('jobFunctionList', async (db) => {
      const r = await db.query(
        this.#c.named(
          `SELECT name, settings, ${columnMs('updated_at')} AS updated_at FROM ${this.#c.sqlSchema}.job_functions ORDER BY name`,
        ),
      );
      return (r.rows as RawRow[]).map((x) => ({
        name: x.name as string,
        settings: x.settings as string,
        updatedAt: Number(x.updated_at),
      }));
    });
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    await this.#c.read('jobFunctionSet', (db) =>
      p.settings === null
        ? db.query(this.#c.named(`DELETE FROM ${this.#c.sqlSchema}.job_functions WHERE name = $1`, [p.name]))
        : db.query(
            this.#c.named(
              `INSERT INTO ${this.#c.sqlSchema}.job_functions (name, settings, updated_at) VALUES ($1, $2, ${paramTime(3)})
          ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
              [p.name, p.settings, p.now],
            ),
          ),
    );
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return this.#c.read('timeoutLogInsert', async (db) => {
      const r = await db.query(
        this.#c.named(
          `INSERT INTO ${this.#c.sqlSchema}.timeout_log (at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host)
         VALUES (${paramTime(1)}, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
          [
            e.at,
            e.operation,
            e.kind,
            e.model ?? null,
            e.method ?? null,
            e.jobId ?? null,
            Math.round(e.thresholdMs),
            Math.round(e.durationMs),
            e.exceeded,
            e.error ?? null,
            e.host,
          ],
        ),
      );
      return Number(r.rows[0].id);
    });
  }

  async timeoutLogList(p: {
    since?: number;
    limit: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]> {
    return this.#c.read('timeoutLogList', async (db) => {
      const where: string[] = [];
      const values: unknown[] = [];
      if (p.since !== undefined) {
        values.push(p.since);
        where.push(`at >= ${paramTime(values.length)}`);
      }
      if (p.model !== undefined) {
        values.push(p.model);
        where.push(`model = $${values.length}`);
      }
      if (p.method !== undefined) {
        values.push(p.method);
        where.push(`method = $${values.length}`);
      }
      if (p.kind !== undefined) {
        values.push(p.kind);
        where.push(`kind = $${values.length}`);
      }
      if (p.cursor) {
        values.push(p.cursor);
        where.push(`id < $${values.length}`);
      }
      values.push(p.limit);
      const r = await db.query(
        `SELECT id, ${columnMs('at')} AS at, operation, kind, model, method, job_id, threshold_ms, duration_ms, exceeded, error, host
        FROM ${this.#c.sqlSchema}.timeout_log ${where.length ? 'WHERE ' + where.join(' AND ') : ''} ORDER BY id DESC LIMIT $${values.length}`,
        values,
      );
      return (r.rows as RawRow[]).map(rowToTimeoutEntry);
    });
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return this.#c.read('timeoutLogStatistics', async (db) => {
      const r = await db.query(
        this.#c.named(
          `SELECT model, method, count(*) AS n, count(*) FILTER (WHERE exceeded) AS exceeded, sum(duration_ms) AS total_ms
        FROM ${this.#c.sqlSchema}.timeout_log WHERE at >= ${paramTime(1)} GROUP BY model, method`,
          [p.since],
        ),
      );
      return timeoutStats(r.rows as RawRow[]);
    });
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return this.#c.read('timeoutLogCleanup', async (db) => {
      const r = await db.query(
        this.#c.named(`DELETE FROM ${this.#c.sqlSchema}.timeout_log WHERE at < ${paramTime(1)}`, [p.before]),
      );
      return r.rowCount ?? 0;
    });
  }

  // ---------------------------------------------------------------- scheduled jobs

  #cronFields(): string {
    return `name, schedule, timezone, model, method, records, args, options, catch_up, paused, ${columnMs('next_run_at')} AS next_run_at,
      ${columnMs('last_run_at')} AS last_run_at, last_job_id, ${columnMs('created_at')} AS created_at, ${columnMs('updated_at')} AS updated_at`;
  }

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return this.#c.read('cronUpsert', async (db) => {
      const r = await db.query(
        this.#c.named(
          `INSERT INTO ${this.#c.sqlSchema}.crons AS c (name, schedule, timezone, model, method, records, args, options, catch_up, next_run_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ${paramTime(10)}, ${paramTime(11)}, ${paramTime(11)})
         ON CONFLICT (name) DO UPDATE SET
           next_run_at = CASE WHEN c.schedule IS DISTINCT FROM excluded.schedule OR c.timezone IS DISTINCT FROM excluded.timezone
                                OR c.next_run_at IS NULL THEN excluded.next_run_at ELSE c.next_run_at END,
           schedule = excluded.schedule, timezone = excluded.timezone, model = excluded.model, method = excluded.method,
           records = excluded.records, args = excluded.args, options = excluded.options, catch_up = excluded.catch_up,
           updated_at = excluded.updated_at
         RETURNING ${this.#cronFields()}`,
          [
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
          ],
        ),
      );
      return rowToCron(r.rows[0]);
    });
  }

  async cronList(): Promise<CronRow[]> {
    return this.#c.read('cronList', async (db) => {
      const r = await db.query(
        this.#c.named(`SELECT ${this.#cronFields()} FROM ${this.#c.sqlSchema}.crons ORDER BY name`),
      );
      return (r.rows as RawRow[]).map(rowToCron);
    });
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return this.#c.read('cronGet', async (db) => {
      const r = await db.query(
        this.#c.named(`SELECT ${this.#cronFields()} FROM ${this.#c.sqlSchema}.crons WHERE name = $1`, [name]),
      );
      return r.rows.length ? rowToCron(r.rows[0]) : null;
    });
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return this.#c.read('cronSetPaused', async (db) => {
      const r = await db.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.crons SET paused = $2, next_run_at = CASE WHEN $3::boolean THEN ${paramTime(4)} ELSE next_run_at END, updated_at = ${paramTime(5)}
         WHERE name = $1`,
          [p.name, p.paused, p.nextRunAt !== undefined, p.nextRunAt ?? null, p.now],
        ),
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    return this.#c.tx('cronFire', async (client): Promise<CronFireResult> => {
      const s = this.#c.sqlSchema;
      const cron = await client.query(
        this.#c.named(`SELECT paused FROM ${s}.crons WHERE name = $1 FOR UPDATE`, [p.name]),
      );
      if (!cron.rows.length || (p.slotAt !== null && cron.rows[0].paused === true))
        return { fired: false, jobId: null };
      if (p.slotAt !== null) {
        const ins = await client.query(
          this.#c.named(
            `INSERT INTO ${s}.cron_slots (name, slot_at, fired_at) VALUES ($1, ${paramTime(2)}, ${paramTime(3)}) ON CONFLICT DO NOTHING`,
            [p.name, p.slotAt, p.now],
          ),
        );
        if (!ins.rowCount) return { fired: false, jobId: null };
      }
      const [job] = await this.#insert(client, { jobs: [p.job], now: p.now });
      const jobId = job!.id;
      if (p.slotAt !== null) {
        await client.query(
          this.#c.named(`UPDATE ${s}.cron_slots SET job_id = $3 WHERE name = $1 AND slot_at = ${paramTime(2)}`, [
            p.name,
            p.slotAt,
            jobId,
          ]),
        );
        await client.query(
          this.#c.named(`DELETE FROM ${s}.cron_slots WHERE name = $1 AND slot_at < ${paramTime(2)}`, [
            p.name,
            p.slotAt - CRON_SLOT_RETENTION_MS,
          ]),
        );
      }
      await client.query(
        this.#c.named(
          `UPDATE ${s}.crons SET last_run_at = ${paramTime(2)}, last_job_id = $3, next_run_at = greatest(next_run_at, ${paramTime(4)}) WHERE name = $1`,
          [p.name, p.slotAt ?? p.now, jobId, p.nextRunAt],
        ),
      );
      return { fired: true, jobId };
    });
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    await this.#c.read('cronAdvance', (db) =>
      db.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.crons SET next_run_at = greatest(next_run_at, ${paramTime(2)}) WHERE name = $1`,
          [p.name, p.nextRunAt],
        ),
      ),
    );
  }

  async cronDelete(name: string): Promise<boolean> {
    return this.#c.tx('cronDelete', async (client) => {
      await client.query(this.#c.named(`DELETE FROM ${this.#c.sqlSchema}.cron_slots WHERE name = $1`, [name]));
      const r = await client.query(this.#c.named(`DELETE FROM ${this.#c.sqlSchema}.crons WHERE name = $1`, [name]));
      return (r.rowCount ?? 0) > 0;
    });
  }
}
