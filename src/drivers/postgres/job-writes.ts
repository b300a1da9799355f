/**
 * The runner's fenced writes on PostgreSQL: start, done, retry, failed and release commands, batched
 * (`jobWriteMany`), and the release of the dependants of completed jobs. The completion SQL is shared
 * with the job's own transaction (`job-transaction.ts`), so that a job recorded as done looks the same
 * whichever path wrote it.
 * @module
 */
import type { JobWrite, FenceResult } from '../driver.ts';
import type { RawRow } from '../rows.ts';
import { DEPENDANTS_RELEASE, STATE_AFTER, freesCapacity, mayHaveDependants } from '../shared/write-rules.ts';
import type { PgContext, Queryable } from './context.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';
import { msTime } from './sql.ts';

/**
 * Settings for the prepared completion statement's transaction (see jobWriteMany): a generic plan, made
 * with sequential and bitmap scans off, so that it is the same index lookup per job on any table.
 */
const WRITE_SETUP = `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
  set_config('plan_cache_mode', 'force_generic_plan', true)`;

/**
 * The fence of the unnamed batch statements: `j.id = ANY($2)` gives their custom plans the primary key
 * to walk (a join on unnest() alone was planned as a scan of the whole table). `$1` is the runner id,
 * `u` the unnested commands.
 */
export const WRITE_FENCE = `j.id = ANY($2::bigint[]) AND j.id = u.id AND j.attempt = u.attempt AND j.runner_id = $1 AND j.state IN ${RUNNING_STATES_SQL}`;

/**
 * The completion update of `done` commands, fenced by `where`. Parameters: `$1` runner id, then arrays
 * `$2` ids, `$3` attempts, `$4` start times (ms), `$5` completion times (ms), `$6` results (JSON text).
 * @param s The quoted schema.
 */
export function doneUpdateSql(s: string, where: string, returning: string): string {
  return `UPDATE ${s}.jobs j SET state = '${STATE_AFTER.done}',
               started_at = ${msTime('u.started')},
               done_at = ${msTime('u.at')}, exec_time_ms = u.at - u.started, result = u.result,
               exc_name = NULL, exc_message = NULL, exc_info = NULL
             FROM unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::jsonb[]) AS u(id, attempt, started, at, result)
             WHERE ${where} RETURNING ${returning}`;
}

/**
 * `Driver.jobWriteMany`: a batch of fenced commands of one runner, in one transaction. Each command
 * applies only while the runner still holds the job (same attempt, its runner id, running state); the
 * others are `stale`.
 */
export async function jobWriteMany(
  ctx: PgContext,
  runnerId: string,
  commands: readonly JobWrite[],
): Promise<FenceResult[]> {
  const s = ctx.sqlSchema;
  const fence = WRITE_FENCE;
  const by = <K extends JobWrite['kind']>(k: K) =>
    commands.filter((c): c is Extract<JobWrite, { kind: K }> => c.kind === k);
  const starts = by('start'),
    dones = by('done'),
    retries = by('retry'),
    fails = by('failed'),
    releases = by('release');
  const ok = new Set<number>();
  let dependants = false;
  /** The completion update of the batch's `done` commands (parameters: doneValues()), fenced by `where`. */
  const doneUpdate = (where: string, returning: string) => doneUpdateSql(s, where, returning);
  const doneValues = () => [
    runnerId,
    dones.map((c) => c.id),
    dones.map((c) => c.attempt),
    dones.map((c) => c.startedAt),
    dones.map((c) => c.at),
    dones.map((c) => c.result),
  ];
  // no job of the batch can have dependants: nothing to release after the completions
  const noDependants = !dones.some(mayHaveDependants);
  if (dones.length === commands.length && noDependants) {
    // The common batch (jobs that ended well, none with dependants): one prepared statement with the
    // wake-up in it, planned once per connection. Its generic plan must look each job up by primary key
    // whatever the table held when it was planned: the runner and state checks go through coalesce() so
    // that no other index can serve them, and WRITE_SETUP turns off the scans that a small table would
    // make look cheaper. The result is one index lookup per job of the batch, never a scan. BEGIN, the
    // setup, the statement and the COMMIT leave in one write: one round trip, as an autocommit statement
    // would be, without planning each batch (~0.3 ms of server time per batch).
    const rows = await ctx.tx(
      'jobWriteMany',
      async (client, commitNow) => {
        const r = client.query(
          ctx.named(
            `WITH d AS (${doneUpdate(
              `j.id = u.id AND j.attempt = u.attempt AND coalesce(j.runner_id, '') = $1
               AND coalesce(j.state, '') IN ${RUNNING_STATES_SQL}`,
              'j.id',
            )})
           SELECT d.id FROM d LEFT JOIN (SELECT pg_notify($7, $1)) AS n ON true`,
            [...doneValues(), ctx.notify.freed],
          ),
        );
        void commitNow();
        return (await r).rows as RawRow[];
      },
      ['BEGIN', ctx.named(WRITE_SETUP)],
    );
    for (const row of rows) ok.add(Number(row.id));
    return commands.map((c) => (ok.has(c.id) ? 'ok' : 'stale'));
  }
  await ctx.tx('jobWriteMany', async (client, commitNow) => {
    const pending: Promise<void>[] = [];
    // unnamed statements: a cached generic plan joins unnest() by a nested loop (quadratic in the batch);
    // a custom plan, made with the batch in hand, hash-joins it (planning costs ~1 ms per batch)
    const run = (sql: string, values: unknown[], each?: (r: RawRow) => void) => {
      pending.push(
        client.query({ text: sql, values }).then((r) => {
          for (const row of r.rows as RawRow[]) {
            ok.add(Number(row.id));
            each?.(row);
          }
        }),
      );
    };
    if (starts.length) {
      run(
        `UPDATE ${s}.jobs j SET state = '${STATE_AFTER.start}', started_at = ${msTime('u.at')}
             FROM unnest($2::bigint[], $3::int[], $4::bigint[]) AS u(id, attempt, at) WHERE ${fence} AND j.state = 'enqueued' RETURNING j.id`,
        [runnerId, starts.map((c) => c.id), starts.map((c) => c.attempt), starts.map((c) => c.at)],
      );
    }
    if (dones.length)
      run(doneUpdate(fence, 'j.id, j.has_dependants'), doneValues(), (row) => {
        if (row.has_dependants) dependants = true;
      });
    const attemptCols = (list: readonly Extract<JobWrite, { kind: 'retry' | 'failed' }>[]) => [
      list.map((c) => c.id),
      list.map((c) => c.attempt),
      list.map((c) => c.startedAt),
      list.map((c) => c.at),
      list.map((c) => c.outcome),
      list.map((c) => c.excName),
      list.map((c) => c.excMessage),
      list.map((c) => c.excInfo),
    ];
    const unnestAttempts = (
      more = '',
      moreCols = '',
    ) => `unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[]${more})
        AS u(id, attempt, started, at, outcome, exc_name, exc_message, exc_info${moreCols})`;
    const logAttempts = `INSERT INTO ${s}.job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message, exc_info)
        SELECT u.id, u.attempt, $1, CASE WHEN u.started IS NULL THEN NULL ELSE ${msTime('u.started')} END,
          ${msTime('u.at')}, u.outcome, u.exc_name, u.exc_message, u.exc_info FROM changed c JOIN u ON u.id = c.id`;
    if (retries.length) {
      run(
        `WITH u AS (SELECT * FROM ${unnestAttempts(', $10::bigint[], $11::bool[]', ', eta, count_try')}),
             changed AS (UPDATE ${s}.jobs j SET state = '${STATE_AFTER.retry}', eta = ${msTime('u.eta')},
               attempt = j.attempt - CASE WHEN u.count_try THEN 0 ELSE 1 END, runner_id = NULL, enqueued_at = NULL,
               started_at = coalesce(${msTime('u.started')}, j.started_at),
               exec_time_ms = coalesce(u.at - u.started, j.exec_time_ms),
               exc_name = u.exc_name, exc_message = u.exc_message, exc_info = u.exc_info, result = to_jsonb(u.exc_message)
             FROM u WHERE ${fence} RETURNING j.id),
             logged AS (${logAttempts})
             SELECT id FROM changed`,
        [runnerId, ...attemptCols(retries), retries.map((c) => c.eta), retries.map((c) => c.countTry)],
      );
    }
    if (fails.length) {
      run(
        `WITH u AS (SELECT * FROM ${unnestAttempts()}),
             changed AS (UPDATE ${s}.jobs j SET state = '${STATE_AFTER.failed}', done_at = NULL,
               started_at = coalesce(${msTime('u.started')}, j.started_at),
               exec_time_ms = coalesce(u.at - u.started, j.exec_time_ms),
               exc_name = u.exc_name, exc_message = u.exc_message, exc_info = u.exc_info
             FROM u WHERE ${fence} RETURNING j.id),
             logged AS (${logAttempts})
             SELECT id FROM changed`,
        [runnerId, ...attemptCols(fails)],
      );
    }
    if (releases.length) {
      run(
        `UPDATE ${s}.jobs j SET state = '${STATE_AFTER.release}', attempt = j.attempt - 1, runner_id = NULL, enqueued_at = NULL, started_at = NULL
             FROM unnest($2::bigint[], $3::int[]) AS u(id, attempt) WHERE ${fence} RETURNING j.id`,
        [runnerId, releases.map((c) => c.id), releases.map((c) => c.attempt)],
      );
    }
    if (commands.some((c) => freesCapacity(c.kind))) {
      pending.push(client.query(ctx.named('SELECT pg_notify($1, $2)', [ctx.notify.freed, runnerId])).then(() => {}));
    }
    // then the COMMIT goes out with the statements (one round trip)
    if (noDependants) pending.push(commitNow().then(() => {}));
    const settled = await Promise.allSettled(pending);
    const failed = settled.find((x) => x.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    if (dependants && !noDependants)
      await releaseDependants(
        ctx,
        client,
        dones.filter((c) => ok.has(c.id)).map((c) => c.id),
      );
  });
  return commands.map((c) => (ok.has(c.id) ? 'ok' : 'stale'));
}

/** Dependants of `doneIds` whose parents are all done become pending (under the graph lock, see DESIGN §4). */
export async function releaseDependants(
  ctx: PgContext,
  client: Queryable,
  doneIds: readonly number[],
): Promise<number[]> {
  if (!doneIds.length) return [];
  await client.query(ctx.named(`SELECT pg_advisory_xact_lock(${ctx.locks.graph})`));
  const r = await client.query(
    ctx.named(
      `UPDATE ${ctx.sqlSchema}.jobs c SET state = '${DEPENDANTS_RELEASE.to}'
       WHERE c.state = '${DEPENDANTS_RELEASE.from}'
         AND c.id IN (SELECT job_id FROM ${ctx.sqlSchema}.job_deps WHERE depends_on = ANY($1::bigint[]))
         AND NOT EXISTS (SELECT 1 FROM ${ctx.sqlSchema}.job_deps d JOIN ${ctx.sqlSchema}.jobs p ON p.id = d.depends_on
                         WHERE d.job_id = c.id AND p.state <> '${DEPENDANTS_RELEASE.parentsIn}')
       RETURNING c.id`,
      [doneIds],
    ),
  );
  if (r.rows.length) await client.query(ctx.named("SELECT pg_notify($1, '')", [ctx.notify.jobs]));
  return (r.rows as RawRow[]).map((x) => Number(x.id));
}
