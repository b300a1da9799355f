/**
 * The PostgreSQL admin reads: one job, pages and counts under a filter, attempts, dependencies, graphs,
 * the place in line.
 * @module
 */
import type { JobAttempt, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import { buildWhere, COUNT_COLUMNS, type Binder } from '../shared/filter-sql.ts';
import { rowToAttempt, rowToJob, type RawRow } from '../rows.ts';
import { keysetOrder, keysetPage, keysetPlan } from '../shared/keyset-page.ts';
import type { JobCountKey, JobCountRow, JobFilter, JobGraph, JobListParams, JobPage } from '../types/job-reads.ts';
import type { PgContext } from './context.ts';
import { JOB_COLUMNS_MS, columnMs, paramTime } from './sql.ts';

/** Binds values as `$n` parameters, lists as arrays. */
function binder(values: unknown[]): Binder {
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
function where(f: JobFilter, values: unknown[], extra: string[] = []): string {
  const clause = buildWhere(f, binder(values), extra);
  return clause.replace(
    /created_at (>=|<) \$(\d+)/g,
    (_m, op: string, n: string) => `created_at ${op} ${paramTime(Number(n))}`,
  );
}

/**
 * One job by id or uuid; null when there is none (or the text is not a uuid).
 */
export async function pgJobGet(c: PgContext, idOrUuid: number | string): Promise<JobRow | null> {
  return c.read('jobGet', async (db) => {
    if (typeof idOrUuid === 'string' && !/^[0-9a-f-]{36}$/i.test(idOrUuid)) return null;
    const r =
      typeof idOrUuid === 'number'
        ? await db.query(c.named(`SELECT ${JOB_COLUMNS_MS} FROM ${c.sqlSchema}.jobs WHERE id = $1`, [idOrUuid]))
        : await db.query(c.named(`SELECT ${JOB_COLUMNS_MS} FROM ${c.sqlSchema}.jobs WHERE uuid = $1`, [idOrUuid]));
    return r.rows.length ? rowToJob(r.rows[0]) : null;
  });
}

/**
 * A page of jobs matching a filter, in keyset order (shared/keyset-page.ts).
 */
export async function pgJobList(c: PgContext, p: JobListParams): Promise<JobPage> {
  return c.read('jobList', async (db) => {
    const values: unknown[] = [];
    const plan = keysetPlan(p);
    const sort = plan.sort;
    const sortExpr =
      sort === 'id'
        ? 'id'
        : ['created_at', 'done_at'].includes(sort)
          ? `coalesce(${columnMs(sort)}, -1)`
          : `coalesce(${sort}, -1)`;
    const extra: string[] = [];
    if (plan.after) {
      values.push(plan.after.id);
      if (sort === 'id') extra.push(`id ${plan.op} $${values.length}`);
      else {
        values.push(plan.after.value);
        extra.push(`(${sortExpr}, id) ${plan.op} ($${values.length}, $${values.length - 1})`);
      }
    }
    const clause = where(p, values, extra);
    values.push(p.limit + 1);
    const r = await db.query(
      `SELECT ${JOB_COLUMNS_MS} FROM ${c.sqlSchema}.jobs ${clause} ORDER BY ${keysetOrder(plan, sortExpr)} LIMIT $${values.length}`,
      values,
    );
    return keysetPage(r.rows as RawRow[], p, rowToJob);
  });
}

/** Counts of the jobs matching a filter, grouped by the given keys. */
export async function pgJobCount(
  c: PgContext,
  p: JobFilter & { groupBy: readonly JobCountKey[] },
): Promise<JobCountRow[]> {
  return c.read('jobCount', async (db) => {
    const values: unknown[] = [];
    const clause = where(p, values);
    const cols = p.groupBy.map((k) => COUNT_COLUMNS[k]);
    const select = cols.length ? `${cols.join(', ')}, count(*) AS n` : 'count(*) AS n';
    const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
    const r = await db.query(`SELECT ${select} FROM ${c.sqlSchema}.jobs ${clause} ${group}`, values);
    return (r.rows as RawRow[]).map((row) => ({
      key: Object.fromEntries(p.groupBy.map((k) => [k, (row[COUNT_COLUMNS[k]] as string | null) ?? null])),
      count: Number(row.n),
    }));
  });
}

/** The logged attempts of a job, oldest first. */
export async function pgJobAttempts(c: PgContext, id: number): Promise<JobAttempt[]> {
  return c.read('jobAttempts', async (db) => {
    const r = await db.query(
      c.named(
        `SELECT job_id, attempt, runner_id, ${columnMs('started_at')} AS started_at, ${columnMs('ended_at')} AS ended_at,
      outcome, exc_name, exc_message, exc_info FROM ${c.sqlSchema}.job_attempts WHERE job_id = $1 ORDER BY attempt, ended_at`,
        [id],
      ),
    );
    return (r.rows as RawRow[]).map(rowToAttempt);
  });
}

/** The jobs this one depends on and the jobs that depend on it. */
export async function pgJobDependencies(
  c: PgContext,
  id: number,
): Promise<{ dependsOn: number[]; dependants: number[] }> {
  return c.read('jobDependencies', async (db) => {
    const a = await db.query(
      c.named(`SELECT depends_on AS id FROM ${c.sqlSchema}.job_deps WHERE job_id = $1 ORDER BY depends_on`, [id]),
    );
    const b = await db.query(
      c.named(`SELECT job_id AS id FROM ${c.sqlSchema}.job_deps WHERE depends_on = $1 ORDER BY job_id`, [id]),
    );
    return {
      dependsOn: (a.rows as RawRow[]).map((r) => Number(r.id)),
      dependants: (b.rows as RawRow[]).map((r) => Number(r.id)),
    };
  });
}

/** The nodes and edges of a graph; null when no job has this graph uuid. */
export async function pgGraphGet(c: PgContext, graphUuid: string): Promise<JobGraph | null> {
  return c.read('graphGet', async (db) => {
    const n = await db.query(
      c.named(
        `SELECT id, uuid, model, method, description, state, records FROM ${c.sqlSchema}.jobs WHERE graph_uuid = $1 ORDER BY id`,
        [graphUuid],
      ),
    );
    if (!n.rows.length) return null;
    const e = await db.query(
      c.named(
        `SELECT d.depends_on AS parent, d.job_id AS child FROM ${c.sqlSchema}.job_deps d JOIN ${c.sqlSchema}.jobs j ON j.id = d.job_id
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

/** Pending due jobs of the same channel that sort before this one (dispatch order). */
export async function pgJobAhead(c: PgContext, id: number, now: number): Promise<number> {
  return c.read('jobAhead', async (db) => {
    const r = await db.query(
      c.named(
        `SELECT count(*) AS n FROM ${c.sqlSchema}.jobs o, ${c.sqlSchema}.jobs j WHERE j.id = $1 AND o.state = 'pending' AND o.channel = j.channel
         AND (o.eta IS NULL OR o.eta <= ${paramTime(2)}) AND (o.priority, o.created_at, o.id) < (j.priority, j.created_at, j.id)`,
        [id, now],
      ),
    );
    return Number(r.rows[0].n);
  });
}
