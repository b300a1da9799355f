/**
 * The SQLite admin reads: one job, pages and counts under a filter, attempts, dependencies, graphs,
 * the place in line.
 * @module
 */
import type { JobAttempt, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import { buildWhere, COUNT_COLUMNS, type Binder } from '../shared/filter-sql.ts';
import { rowToAttempt, rowToJob, type RawRow } from '../rows.ts';
import { keysetOrder, keysetPage, keysetPlan } from '../shared/keyset-page.ts';
import type { JobCountKey, JobCountRow, JobFilter, JobGraph, JobListParams, JobPage } from '../types/job-reads.ts';
import type { SqliteContext, SqlValue } from './context.ts';
import { JOB_COLUMNS } from './sql.ts';

/** Binds values as `?` parameters in order, lists as JSON arrays read by `json_each`. */
function binder(params: SqlValue[]): Binder {
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

/** One job by id or uuid; null when there is none. */
export async function sqliteJobGet(c: SqliteContext, idOrUuid: number | string): Promise<JobRow | null> {
  return c.read('jobGet', () => {
    const row =
      typeof idOrUuid === 'number'
        ? c.get(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE id = ?`, idOrUuid)
        : c.get(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs WHERE uuid = ?`, idOrUuid);
    return row ? rowToJob(row) : null;
  });
}

/** A page of jobs matching a filter, in keyset order (shared/keyset-page.ts). */
export async function sqliteJobList(c: SqliteContext, p: JobListParams): Promise<JobPage> {
  return c.read('jobList', () => {
    const params: SqlValue[] = [];
    const plan = keysetPlan(p);
    const extra: string[] = [];
    const sortExpr = plan.sort === 'id' ? 'id' : `coalesce(${plan.sort}, -1)`;
    if (plan.after) {
      if (plan.sort === 'id') {
        extra.push(`id ${plan.op} ?`);
        params.push(plan.after.id);
      } else {
        extra.push(`(${sortExpr}, id) ${plan.op} (?, ?)`);
        params.push(plan.after.value, plan.after.id);
      }
    }
    const where = buildWhere(p, binder(params), extra);
    params.push(p.limit + 1);
    // prepared each time, not cached: the text varies with the filter
    const rows = c.db
      .prepare(`SELECT ${JOB_COLUMNS} FROM conveyor_jobs ${where} ORDER BY ${keysetOrder(plan, sortExpr)} LIMIT ?`)
      .all(...params) as RawRow[];
    return keysetPage(rows, p, rowToJob);
  });
}

/** Counts of the jobs matching a filter, grouped by the given keys. */
export async function sqliteJobCount(
  c: SqliteContext,
  p: JobFilter & { groupBy: readonly JobCountKey[] },
): Promise<JobCountRow[]> {
  return c.read('jobCount', () => {
    const params: SqlValue[] = [];
    const where = buildWhere(p, binder(params));
    const cols = p.groupBy.map((k) => COUNT_COLUMNS[k]);
    const select = cols.length ? `${cols.join(', ')}, count(*) AS n` : 'count(*) AS n';
    const group = cols.length ? `GROUP BY ${cols.join(', ')} ORDER BY ${cols.join(', ')}` : '';
    const rows = c.db.prepare(`SELECT ${select} FROM conveyor_jobs ${where} ${group}`).all(...params) as RawRow[];
    return rows.map((r) => ({
      key: Object.fromEntries(p.groupBy.map((k) => [k, (r[COUNT_COLUMNS[k]] as string | null) ?? null])),
      count: Number(r.n),
    }));
  });
}

/** The logged attempts of a job, oldest first. */
export async function sqliteJobAttempts(c: SqliteContext, id: number): Promise<JobAttempt[]> {
  return c.read('jobAttempts', () =>
    c.all('SELECT * FROM conveyor_job_attempts WHERE job_id = ? ORDER BY attempt, ended_at', id).map(rowToAttempt),
  );
}

/** The jobs this one depends on and the jobs that depend on it. */
export async function sqliteJobDependencies(
  c: SqliteContext,
  id: number,
): Promise<{ dependsOn: number[]; dependants: number[] }> {
  return c.read('jobDependencies', () => ({
    dependsOn: c
      .all('SELECT depends_on AS id FROM conveyor_job_deps WHERE job_id = ? ORDER BY depends_on', id)
      .map((r) => Number(r.id)),
    dependants: c
      .all('SELECT job_id AS id FROM conveyor_job_deps WHERE depends_on = ? ORDER BY job_id', id)
      .map((r) => Number(r.id)),
  }));
}

/** The nodes and edges of a graph; null when no job has this graph uuid. */
export async function sqliteGraphGet(c: SqliteContext, graphUuid: string): Promise<JobGraph | null> {
  return c.read('graphGet', () => {
    const nodes = c.all(
      'SELECT id, uuid, model, method, description, state, records FROM conveyor_jobs WHERE graph_uuid = ? ORDER BY id',
      graphUuid,
    );
    if (!nodes.length) return null;
    const edges = c.all(
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

/** Pending due jobs of the same channel that sort before this one (dispatch order). */
export async function sqliteJobAhead(c: SqliteContext, id: number, now: number): Promise<number> {
  return c.read('jobAhead', () => {
    const j = c.get('SELECT channel, priority, created_at FROM conveyor_jobs WHERE id = ?', id);
    if (!j) return 0;
    const r = c.get(
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
