/**
 * How the SQLite claim picks jobs.
 *
 * The whole claim runs in one `BEGIN IMMEDIATE`, which takes the file's write lock: claims (and every
 * other write) are serialised across every process on the file, so channel capacities hold exactly
 * without any other lock. Inside it, the pure scheduler decides (channels/scheduler.ts, through the
 * runner's `ClaimPolicy`): read the snapshot (snapshot.ts), let `planFetch` say which channels to query
 * and how many jobs from each, fetch the best pending jobs of each by the dispatch order, let `pickJobs`
 * choose, then mark the picked jobs `enqueued` (or `started`, the first `startCount`) for the runner.
 * Every statement is local and cheap (no round trips), so there is no guessed one-statement claim here.
 * The queries name their index (INDEXED BY): the planner would otherwise pick the (state, id) index and
 * sort every pending row.
 * @module
 */
import type { Candidate } from '../../channels/scheduler.ts';
import type { JobClaimParams, JobClaimResult } from '../driver.ts';
import { rowToJob } from '../rows.ts';
import { CLAIM_ORDER_SQL } from '../shared/sql.ts';
import type { SqliteContext } from './context.ts';
import { readSnapshot } from './snapshot.ts';
import { JOB_COLUMNS } from './sql.ts';

/** `Driver.jobClaim`: snapshot, plan, fetch, pick and update in one `BEGIN IMMEDIATE`. */
export async function jobClaim(ctx: SqliteContext, p: JobClaimParams): Promise<JobClaimResult> {
  return ctx.tx('jobClaim', () => {
    const snap = readSnapshot(ctx, p.now, p.policy.sequentialChannels, p.policy.throttledChannels);
    const plans = p.policy.planFetch(snap, p.wanted);
    const candidates: Candidate[] = [];
    for (const plan of plans) {
      const rows = plan.includeNotDue
        ? ctx.all(
            `SELECT id, channel, priority, created_at, eta FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel = ? ORDER BY ${CLAIM_ORDER_SQL} LIMIT ?`,
            plan.channel,
            plan.limit,
          )
        : ctx.all(
            `SELECT id, channel, priority, created_at, eta FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel = ? AND (eta IS NULL OR eta <= ?) ORDER BY ${CLAIM_ORDER_SQL} LIMIT ?`,
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
    const next = ctx.get(
      "SELECT min(eta) AS eta FROM conveyor_jobs INDEXED BY conveyor_jobs_eta WHERE state = 'pending' AND eta > ?",
      p.now,
    );
    if (next && next.eta !== null) wakeAt = wakeAt === null ? Number(next.eta) : Math.min(wakeAt, Number(next.eta));
    for (const [channel, at] of pick.lastStartedAt) {
      ctx.run(
        'INSERT INTO conveyor_channel_state (channel, last_started_at) VALUES (?, ?) ON CONFLICT (channel) DO UPDATE SET last_started_at = excluded.last_started_at',
        channel,
        at,
      );
    }
    if (pick.picked.length === 0)
      return { jobs: [], capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
    const ids = JSON.stringify(pick.picked.map((c) => c.id));
    const startIds = JSON.stringify(pick.picked.slice(0, p.startCount ?? 0).map((c) => c.id));
    const rows = ctx.all(
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
