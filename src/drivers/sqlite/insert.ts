/**
 * Enqueue on SQLite: one batch of jobs, with their dependency edges and identity keys, inside the
 * caller's `BEGIN IMMEDIATE` (which serialises enqueues of the same key across processes). The rules the
 * backends share (which keys deduplicate what, which jobs wait for parents) are in drivers/shared/; this
 * file holds the SQL.
 * @module
 */
import { ValidationError } from '../../errors.ts';
import type { JobState } from '../../job/states.ts';
import type { JobInsertParams, JobInsertResult } from '../driver.ts';
import { graphRoles } from '../shared/graph-roles.ts';
import { identityKeysToCheck, identityResults, planIdentityKeys, skippedResults } from '../shared/identity-keys.ts';
import type { SqliteContext, SqlValue } from './context.ts';
import { IDENTITY_STATES_SQL } from '../shared/sql.ts';

/** `INSERT INTO conveyor_jobs … VALUES (…), (…)` for `rows` rows. */
function insertSql(rows: number): string {
  const one = '(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';
  return `INSERT INTO conveyor_jobs (uuid, graph_uuid, model, method, records, args, state, priority, eta,
    channel, max_retries, description, identity_key, context, time_limit_ms, created_at, has_dependants)
    VALUES ${Array(rows).fill(one).join(', ')}`;
}

/** `Driver.jobInsertMany`: the batch in one transaction, then a wake-up when a job was inserted. */
export async function jobInsertMany(ctx: SqliteContext, p: JobInsertParams): Promise<JobInsertResult[]> {
  if (p.tx !== undefined) {
    throw new ValidationError(
      "the 'tx' option is only supported on PostgreSQL (SQLite has no caller transaction to join)",
    );
  }
  const out = ctx.tx('jobInsertMany', () => insertJobs(ctx, p));
  if (out.some((r) => !r.existing)) ctx.wake('jobs');
  return out;
}

/** The oldest stored job with identity key `key` in an identity state, if any. */
function findIdentity(ctx: SqliteContext, key: string): JobInsertResult | null {
  const row = ctx.get(
    `SELECT id, uuid, state FROM conveyor_jobs WHERE identity_key = ? AND state IN ${IDENTITY_STATES_SQL} ORDER BY id LIMIT 1`,
    key,
  );
  return row ? { id: Number(row.id), uuid: row.uuid as string, state: row.state as JobState, existing: true } : null;
}

/** Insert a batch (inside the caller's transaction): its jobs, then its edges. */
export function insertJobs(ctx: SqliteContext, p: JobInsertParams): JobInsertResult[] {
  const edges = p.edges ?? [];
  if (!edges.length && p.jobs.every((j) => j.identityKey === null)) return insertPlain(ctx, p);
  const stored = new Map<string, JobInsertResult>();
  for (const key of identityKeysToCheck(p.jobs)) {
    const twin = findIdentity(ctx, key);
    if (twin) stored.set(key, twin);
  }
  const plan = planIdentityKeys(p.jobs, edges.length > 0, stored);
  if (plan.kind === 'skip') return skippedResults(plan);
  const roles = graphRoles(edges);
  const insert = ctx.statement(insertSql(1));
  const inserted: JobInsertResult[] = [];
  for (const i of plan.toInsert) {
    const j = p.jobs[i]!;
    const state = roles.initialState(i);
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
      roles.hasDependants(i) ? 1 : 0,
    );
    inserted[i] = { id: Number(r.lastInsertRowid), uuid: j.uuid, state, existing: false };
  }
  const results = identityResults(plan, (i) => inserted[i]!);
  if (edges.length) {
    const dep = ctx.statement('INSERT OR IGNORE INTO conveyor_job_deps (job_id, depends_on) VALUES (?, ?)');
    for (const [child, parent] of edges) dep.run(results[child]!.id, results[parent]!.id);
  }
  return results;
}

/**
 * The bulk path (no identity keys, no edges): multi-row INSERTs of up to 64 rows, a quarter of the
 * statement executions of one row each. Rowids inside one statement are consecutive, so the ids are
 * derived from the last one.
 */
function insertPlain(ctx: SqliteContext, p: JobInsertParams): JobInsertResult[] {
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
    const last = Number(ctx.statement(insertSql(chunk.length)).run(...params).lastInsertRowid);
    chunk.forEach((j, i) =>
      results.push({ id: last - chunk.length + 1 + i, uuid: j.uuid, state: 'pending', existing: false }),
    );
  }
  return results;
}
