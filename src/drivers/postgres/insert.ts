/**
 * Enqueue on PostgreSQL: one batch of jobs, with their dependency edges and identity keys. The rules the
 * backends share (which keys deduplicate what, which jobs wait for parents) are in drivers/shared/; this
 * file holds the SQL. A plain batch is one statement (insert and NOTIFY together).
 * @module
 */
import { ValidationError } from '../../errors.ts';
import type { JobState } from '../../job/states.ts';
import type { JobInsertParams, JobInsertResult } from '../driver.ts';
import type { RawRow } from '../rows.ts';
import { graphRoles } from '../shared/graph-roles.ts';
import { identityKeysToCheck, identityResults, planIdentityKeys, skippedResults } from '../shared/identity-keys.ts';
import type { PgContext, Queryable } from './context.ts';
import { msTime, paramTime } from './sql.ts';
import { IDENTITY_STATES_SQL } from '../shared/sql.ts';

/**
 * `Driver.jobInsertMany`: in the caller's transaction when it gives one (`tx`); a batch of plain jobs
 * as one autocommit statement; graphs and identity keys in a transaction of their own.
 */
export async function jobInsertMany(ctx: PgContext, p: JobInsertParams): Promise<JobInsertResult[]> {
  if (p.tx !== undefined) {
    const tx = p.tx as Queryable;
    if (!tx || typeof tx.query !== 'function') {
      throw new ValidationError(
        `the 'tx' option must be a pg client (something with query(text, values)), got ${typeof p.tx}`,
      );
    }
    try {
      return await insertJobs(ctx, tx, p);
    } catch (err) {
      return ctx.wrap('jobInsertMany', err);
    }
  }
  const simple = !p.edges?.length && p.jobs.every((j) => j.identityKey === null);
  if (simple) {
    // one autocommit statement: insert + notify, no explicit transaction
    return ctx.read('jobInsertMany', (db) => insertJobs(ctx, db, p));
  }
  return ctx.tx('jobInsertMany', (client) => insertJobs(ctx, client, p));
}

/**
 * Insert a batch on `db` (the caller's client, a transaction's, or the pool for plain jobs): identity keys
 * first (locked, then looked up), then one statement for the jobs and their wake-up, then the edges.
 */
export async function insertJobs(ctx: PgContext, db: Queryable, p: JobInsertParams): Promise<JobInsertResult[]> {
  const edges = p.edges ?? [];
  const keys = identityKeysToCheck(p.jobs);
  const stored = new Map<string, JobInsertResult>();
  if (keys.length) {
    // serialise enqueues of the same identity key (held to the end of the caller's transaction)
    await db.query(
      ctx.named(
        `SELECT pg_advisory_xact_lock(hashtextextended('conveyor:${ctx.schema}:identity:' || k, 0)) FROM unnest($1::text[]) AS k ORDER BY k`,
        [keys],
      ),
    );
    const r = await db.query(
      ctx.named(
        `SELECT DISTINCT ON (identity_key) identity_key, id, uuid, state FROM ${ctx.sqlSchema}.jobs
         WHERE identity_key = ANY($1::text[]) AND state IN ${IDENTITY_STATES_SQL} ORDER BY identity_key, id`,
        [keys],
      ),
    );
    for (const row of r.rows as RawRow[]) {
      stored.set(row.identity_key as string, {
        id: Number(row.id),
        uuid: row.uuid as string,
        state: row.state as JobState,
        existing: true,
      });
    }
  }
  const plan = planIdentityKeys(p.jobs, edges.length > 0, stored);
  if (plan.kind === 'skip') return skippedResults(plan);
  const toInsert = plan.toInsert;
  const roles = graphRoles(edges);
  // One JSON document for the whole batch, a row per job as an array: V8's JSON.stringify and PostgreSQL's
  // jsonb parser are much cheaper than pg's per-element escaping of 16 text arrays, and reading jsonb
  // array positions costs the server less than json_to_recordset's per-object key lookups.
  // records/args/context are JSON already.
  // The names a batch repeats (model, method, channel, description) are quoted once per batch; uuids are
  // hex and dashes, so they need quotes but no escaping.
  const quoted = new Map<string, string>();
  const str = (v: string | null): string => {
    if (v === null) return 'null';
    let q = quoted.get(v);
    if (q === undefined) quoted.set(v, (q = JSON.stringify(v)));
    return q;
  };
  const doc =
    '[' +
    toInsert
      .map((i) => {
        const j = p.jobs[i]!;
        return (
          `["${j.uuid}",${j.graphUuid === null ? 'null' : `"${j.graphUuid}"`},${str(j.model)},${str(j.method)},${j.records},${j.args},` +
          `"${roles.initialState(i)}",${j.priority},${j.eta ?? 'null'},${str(j.channel)},` +
          `${j.maxRetries},${str(j.description)},${j.identityKey === null ? 'null' : JSON.stringify(j.identityKey)},${j.context ?? 'null'},${j.timeLimitMs ?? 'null'},${roles.hasDependants(i)}]`
        );
      })
      .join(',') +
    ']';
  const insertSql = `INSERT INTO ${ctx.sqlSchema}.jobs (uuid, graph_uuid, model, method, records, args, state, priority, eta, channel,
        max_retries, description, identity_key, context, time_limit_ms, has_dependants, created_at)
      SELECT (e->>0)::uuid, (e->>1)::uuid, e->>2, e->>3, e->4, e->5, e->>6, (e->>7)::int,
        ${msTime('(e->>8)::bigint')},
        e->>9, (e->>10)::int, e->>11, e->>12, nullif(e->13, 'null'), (e->>14)::bigint, (e->>15)::bool, ${paramTime(2)}
      FROM jsonb_array_elements($1::jsonb) AS e`;
  const rows = toInsert.length
    ? (
        await db.query(
          ctx.named(
            `WITH ins AS (${insertSql} RETURNING id, uuid, state)
         SELECT ins.id, ins.uuid, ins.state FROM ins LEFT JOIN (SELECT pg_notify($3, '')) AS n ON true`,
            [doc, p.now, ctx.notify.jobs],
          ),
        )
      ).rows
    : [];
  const byUuid = new Map(
    rows.map((r: RawRow) => [
      r.uuid as string,
      { id: Number(r.id), uuid: r.uuid as string, state: r.state as JobState, existing: false },
    ]),
  );
  const results = identityResults(plan, (i) => byUuid.get(p.jobs[i]!.uuid)!);
  if (edges.length) {
    await db.query(
      ctx.named(
        `INSERT INTO ${ctx.sqlSchema}.job_deps (job_id, depends_on) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
        [edges.map((e) => results[e[0]]!.id), edges.map((e) => results[e[1]]!.id)],
      ),
    );
  }
  return results;
}
