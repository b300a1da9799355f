/**
 * The SQLite runners table: registration, heartbeats and leases on the host's clock (an embedded
 * database has no other), the oldest pending job per channel, and the rescue of jobs held by dead runners.
 * @module
 */
import { RESCUE_EXC_NAME, RESCUE_OUTCOME, rescueDecision, rescueMessage } from '../shared/rescue.ts';
import type { RescuedJob, RunnerInfo, RunnerRegistration } from '../types/runners.ts';
import type { SqliteContext } from './context.ts';
import { recordAttempt } from './job-writes.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** Register (or re-register) a runner; its lease runs from the host's clock. */
export async function sqliteRunnerRegister(c: SqliteContext, r: RunnerRegistration): Promise<void> {
  // the database's clock of an embedded database is the host's (a fixed `now` only in tests)
  const now = r.now ?? Date.now();
  c.tx('runnerRegister', () =>
    c.run(
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

/** Renew a runner's lease; false when its row was gone (declared dead meanwhile). */
export async function sqliteRunnerHeartbeat(
  c: SqliteContext,
  p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  },
): Promise<boolean> {
  const now = p.now ?? Date.now();
  return c.tx(
    'runnerHeartbeat',
    () =>
      c.run(
        'UPDATE conveyor_runners SET heartbeat_at = ?, lease_until = ?, info = ? WHERE id = ?',
        now,
        now + Math.round(p.leaseMs),
        JSON.stringify(p.info),
        p.id,
      ) > 0,
  );
}

/** Remove a runner's row (it stopped). */
export async function sqliteRunnerRemove(c: SqliteContext, id: string): Promise<void> {
  c.tx('runnerRemove', () => c.run('DELETE FROM conveyor_runners WHERE id = ?', id));
}

/** Every registered runner, oldest first. */
export async function sqliteRunnerList(c: SqliteContext): Promise<RunnerInfo[]> {
  return c.read('runnerList', () =>
    c.all('SELECT * FROM conveyor_runners ORDER BY started_at').map((r) => ({
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

/** Per channel, since when its oldest due pending job has been runnable. */
export async function sqliteOldestPending(
  c: SqliteContext,
  p: { now: number },
): Promise<{ channel: string; since: number }[]> {
  return c.read('oldestPending', () =>
    c
      .all(
        `SELECT channel, min(CASE WHEN eta IS NULL OR eta < created_at THEN created_at ELSE eta END) AS since
     FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND (eta IS NULL OR eta <= ?) GROUP BY channel ORDER BY channel`,
        p.now,
      )
      .map((r) => ({ channel: r.channel as string, since: Number(r.since) })),
  );
}

/**
 * Requeue (or fail after `maxCrashes`, see shared/rescue.ts) the jobs held by runners whose lease expired
 * on the host's clock (`now` replaces it in tests); drops those runners.
 */
export async function sqliteJobRescue(
  c: SqliteContext,
  p: { maxCrashes: number; now?: number },
): Promise<RescuedJob[]> {
  const now = p.now ?? Date.now();
  const out = c.tx('jobRescue', () => {
    const rows = c.all(
      `SELECT id, runner_id, state, attempt, crash_count, started_at FROM conveyor_jobs
       WHERE state IN ${RUNNING_STATES_SQL}
         AND (runner_id IS NULL OR runner_id NOT IN (SELECT id FROM conveyor_runners WHERE lease_until >= ?))`,
      now,
    );
    const rescued: RescuedJob[] = [];
    for (const r of rows) {
      const id = Number(r.id);
      const runnerId = (r.runner_id as string | null) ?? null;
      const decision = rescueDecision(
        { state: r.state as 'enqueued' | 'started', crashCount: Number(r.crash_count) },
        p.maxCrashes,
      );
      if (!decision.wasStarted) {
        c.run(
          "UPDATE conveyor_jobs SET state = 'pending', attempt = attempt - 1, runner_id = NULL, enqueued_at = NULL WHERE id = ?",
          id,
        );
        rescued.push({ id, runnerId, state: decision.state, wasStarted: false });
        continue;
      }
      const msg = rescueMessage(runnerId, decision.crashes, p.maxCrashes);
      c.run(
        `UPDATE conveyor_jobs SET state = ?, crash_count = ?, runner_id = NULL, enqueued_at = NULL, exc_name = '${RESCUE_EXC_NAME}', exc_message = ?, exc_info = NULL WHERE id = ?`,
        decision.state,
        decision.crashes,
        msg,
        id,
      );
      recordAttempt(
        c,
        id,
        Number(r.attempt),
        runnerId,
        r.started_at === null ? null : Number(r.started_at),
        now,
        RESCUE_OUTCOME,
        RESCUE_EXC_NAME,
        msg,
        null,
      );
      rescued.push({ id, runnerId, state: decision.state, wasStarted: true });
    }
    c.run('DELETE FROM conveyor_runners WHERE lease_until < ?', now);
    return rescued;
  });
  if (out.length) c.wake('jobs');
  return out;
}
