/**
 * The PostgreSQL runners table: registration, heartbeats and leases on the database's clock, the oldest
 * pending job per channel, and the rescue of jobs held by dead runners.
 * @module
 */
import type { JobState } from '../../job/states.ts';
import type { RawRow } from '../rows.ts';
import { RESCUE_EXC_NAME, RESCUE_OUTCOME, rescueMessageSql } from '../shared/rescue.ts';
import type { RescuedJob, RunnerInfo, RunnerRegistration } from '../types/runners.ts';
import type { PgContext } from './context.ts';
import { columnMs, msTime, paramTime } from './sql.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** Register (or re-register) a runner; its lease runs from the database's clock. */
export async function pgRunnerRegister(c: PgContext, r: RunnerRegistration): Promise<void> {
  // heartbeat and lease on the database's clock (a fixed `now` only in tests): every runner, on any
  // host, judges expiry against the same clock as the heartbeat that set it
  await c.read('runnerRegister', (db) =>
    db.query(
      c.named(
        `INSERT INTO ${c.sqlSchema}.runners (id, host, pid, workers, started_at, heartbeat_at, lease_until, info)
     SELECT $1, $2, $3, $4, ${paramTime(5)}, t.now, t.now + $6::bigint * interval '1 millisecond', $7
     FROM (SELECT coalesce(${paramTime(8)}, clock_timestamp()) AS now) t
     ON CONFLICT (id) DO UPDATE SET heartbeat_at = excluded.heartbeat_at, lease_until = excluded.lease_until, info = excluded.info`,
        [r.id, r.host, r.pid, r.workers, r.startedAt, Math.round(r.leaseMs), JSON.stringify(r.info), r.now ?? null],
      ),
    ),
  );
}

/** Renew a runner's lease; false when its row was gone (declared dead meanwhile). */
export async function pgRunnerHeartbeat(
  c: PgContext,
  p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  },
): Promise<boolean> {
  return c.read('runnerHeartbeat', async (db) => {
    const r = await db.query(
      c.named(
        `UPDATE ${c.sqlSchema}.runners SET heartbeat_at = t.now, lease_until = t.now + $1::bigint * interval '1 millisecond', info = $2
      FROM (SELECT coalesce(${paramTime(4)}, clock_timestamp()) AS now) t WHERE id = $3`,
        [Math.round(p.leaseMs), JSON.stringify(p.info), p.id, p.now ?? null],
      ),
    );
    return (r.rowCount ?? 0) > 0;
  });
}

/** Remove a runner's row (it stopped). */
export async function pgRunnerRemove(c: PgContext, id: string): Promise<void> {
  await c.read('runnerRemove', (db) => db.query(c.named(`DELETE FROM ${c.sqlSchema}.runners WHERE id = $1`, [id])));
}

/** Per channel, since when its oldest due pending job has been runnable. */
export async function pgOldestPending(c: PgContext, p: { now: number }): Promise<{ channel: string; since: number }[]> {
  return c.read('oldestPending', async (db) => {
    const r = await db.query(
      c.named(
        `SELECT channel, ${columnMs('min(greatest(coalesce(eta, created_at), created_at))')} AS since FROM ${c.sqlSchema}.jobs
      WHERE state = 'pending' AND (eta IS NULL OR eta <= ${msTime('$1')}) GROUP BY channel ORDER BY channel`,
        [p.now],
      ),
    );
    return (r.rows as RawRow[]).map((x) => ({ channel: x.channel as string, since: Number(x.since) }));
  });
}

/** Every registered runner, oldest first. */
export async function pgRunnerList(c: PgContext): Promise<RunnerInfo[]> {
  return c.read('runnerList', async (db) => {
    const r = await db.query(
      c.named(`SELECT id, host, pid, workers, ${columnMs('started_at')} AS started_at, ${columnMs('heartbeat_at')} AS heartbeat_at,
      ${columnMs('lease_until')} AS lease_until, info FROM ${c.sqlSchema}.runners ORDER BY started_at`),
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

/**
 * Requeue (or fail after `maxCrashes`) the jobs held by runners whose lease expired on the database's
 * clock (`now` replaces it in tests), in one statement that applies shared/rescue.ts's `rescueDecision`;
 * drops those runners.
 */
export async function pgJobRescue(c: PgContext, p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
  return c.tx('jobRescue', async (client) => {
    const s = c.sqlSchema;
    const r = await client.query(
      c.named(
        `WITH clock AS (SELECT coalesce(${paramTime(1)}, clock_timestamp()) AS now),
       dead AS (
         SELECT id, state AS old_state, runner_id AS old_runner, crash_count + CASE WHEN state = 'started' THEN 1 ELSE 0 END AS crashes
         FROM ${s}.jobs j WHERE state IN ${RUNNING_STATES_SQL}
           AND NOT EXISTS (SELECT 1 FROM ${s}.runners r WHERE r.id = j.runner_id AND r.lease_until >= (SELECT now FROM clock))
         FOR UPDATE OF j SKIP LOCKED),
       changed AS (
         UPDATE ${s}.jobs j SET
           state = CASE WHEN d.old_state = 'enqueued' THEN 'pending' WHEN d.crashes >= $2 THEN 'failed' ELSE 'pending' END,
           attempt = CASE WHEN d.old_state = 'enqueued' THEN j.attempt - 1 ELSE j.attempt END,
           crash_count = d.crashes, runner_id = NULL, enqueued_at = NULL,
           exc_name = CASE WHEN d.old_state = 'started' THEN '${RESCUE_EXC_NAME}' ELSE j.exc_name END,
           exc_message = CASE WHEN d.old_state = 'started'
             THEN ${rescueMessageSql('d.old_runner', 'd.crashes', '$2')}
             ELSE j.exc_message END,
           exc_info = CASE WHEN d.old_state = 'started' THEN NULL ELSE j.exc_info END
         FROM dead d WHERE j.id = d.id
         RETURNING j.id, j.state, j.attempt, ${columnMs('j.started_at')} AS started_at, j.exc_message, d.old_state, d.old_runner),
       logged AS (
         INSERT INTO ${s}.job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message)
         SELECT id, attempt, old_runner, CASE WHEN started_at IS NULL THEN NULL ELSE ${msTime('started_at')} END,
           (SELECT now FROM clock), '${RESCUE_OUTCOME}', '${RESCUE_EXC_NAME}', exc_message FROM changed WHERE old_state = 'started'),
       gone AS (DELETE FROM ${s}.runners WHERE lease_until < (SELECT now FROM clock))
       SELECT id, state, old_state, old_runner FROM changed`,
        [p.now ?? null, p.maxCrashes],
      ),
    );
    if (r.rows.length) await client.query(c.named("SELECT pg_notify($1, '')", [c.notify.jobs]));
    return (r.rows as RawRow[]).map((x) => ({
      id: Number(x.id),
      runnerId: (x.old_runner as string | null) ?? null,
      state: x.state as JobState,
      wasStarted: x.old_state === 'started',
    }));
  });
}
