/**
 * How the PostgreSQL claim picks jobs.
 *
 * Every claim runs under one transaction-scoped advisory lock (`c.locks.claim`, taken by CLAIM_SETUP right
 * behind the BEGIN), so claims are serialised across every runner process on every host and channel
 * capacities hold exactly: inside the lock, the running counts a claim reads cannot change under it.
 * The pure scheduler (channels/scheduler.ts, through the runner's `ClaimPolicy`) decides what to take;
 * SQL only reads the state and marks the picked jobs `enqueued` / `started` for the runner.
 *
 * Two ways to claim, both taking exactly what `pickJobs` would:
 * - The guessed claim ({@link claimGuessed}, one round trip): when the policy can shape the claim ahead
 *   from the state after its previous claim (one pending channel, no sequential or throttled channel on
 *   its path: a `ClaimGuess`), one statement checks that the guess still holds, computes the limit as
 *   `guessLimit` does, takes the best due jobs of that channel, and reports the state for the next guess.
 *   This is the drain's hot path: BEGIN, the lock, the statement and the COMMIT leave in one write.
 * - The planned claim ({@link claimPlanned}, two round trips): the snapshot (snapshot.ts), the scheduler's
 *   `planFetch` and `pickJobs` in Node, then the update. Used when there is no guess, when the guess no
 *   longer holds (the guessed statement then took nothing), or when more jobs are wanted than its largest bucket.
 * @module
 */
import { compareCandidates, type Candidate, type ClaimGuess } from '../../channels/scheduler.ts';
import type { JobClaimParams, JobClaimResult } from '../driver.ts';
import { rowToJob, type RawRow } from '../rows.ts';
import { CLAIM_ORDER_SQL, RUNNING_STATES_SQL } from '../shared/sql.ts';
import type { PgContext } from './context.ts';
import { snapshotSql, toSnapshot } from './snapshot.ts';
import { columnMs, msTime, paramTime } from './sql.ts';

/** Sizes of the speculative candidate fetch; a claim uses the smallest that covers what it wants. */
const SNAPSHOT_LIMITS = [16, 32, 64, 128, 256, 384, 512, 768, 1024, 2048, 4096];

/** What a runner needs of a job it claims (the rest of the row is read on demand). */
const CLAIM_FIELDS = `id, uuid, graph_uuid, model, method, records, args, state, priority, channel, attempt, max_retries, crash_count,
  description, context, checkpoint, time_limit_ms, ${columnMs('created_at')} AS created_at, runner_id, has_dependants`;

/**
 * The claim transaction's settings and the claim lock: a prepared statement sent right behind the BEGIN,
 * in the same write (a simple query with them was parsed and planned at every claim, ~0.1 ms).
 * synchronous_commit off: the claim commits without waiting for its WAL flush, so the lock is released
 * sooner, and nothing is lost. A claim only leases jobs; if the server crashes before the flush, the claim
 * is gone as if the runner had died, and any later synchronous commit (a job's completion) flushes it first.
 * enable_bitmapscan off: before autovacuum has analysed a freshly filled table, the planner guesses a
 * handful of pending rows and picks a bitmap scan plus a sort of the whole pending set (0.4 s at a million
 * jobs) over walking the pending index in order, which is what every claim wants.
 * plan_cache_mode force_generic_plan: the claim's statements are planned once per connection, not at every
 * execution (a custom plan of the snapshot cost ~1 ms per claim; the literal LIMIT buckets keep the
 * generic plans walking the pending index).
 */
const CLAIM_SETUP = `SELECT set_config('synchronous_commit', 'off', true), set_config('enable_bitmapscan', 'off', true),
  set_config('plan_cache_mode', 'force_generic_plan', true), pg_advisory_xact_lock($1::bigint)`;

/** A candidate from the snapshot's JSON `[id, channel, priority, created_at, eta]`. */
function toCandidate(c: unknown[]): Candidate {
  return {
    id: Number(c[0]),
    channel: c[1] as string,
    priority: Number(c[2]),
    createdAt: Number(c[3]),
    eta: c[4] === null ? null : Number(c[4]),
  };
}

/** `Driver.jobClaim`: the guessed claim when the policy offers a guess and it holds, else the planned claim. */
export async function jobClaim(ctx: PgContext, p: JobClaimParams): Promise<JobClaimResult> {
  const guess = p.policy.guess?.(p.wanted) ?? null;
  if (!guess) return claimPlanned(ctx, p);
  // the guess did not apply (another channel has pending jobs, or running jobs in an unknown channel):
  // the planned claim decides, with the snapshot in hand
  return (await claimGuessed(ctx, p, guess)) ?? claimPlanned(ctx, p);
}

/**
 * The one-round-trip claim: the BEGIN with the lock, one statement and the COMMIT leave together. The
 * statement applies the guess to the live running counts and pending channels (the same rule as
 * `guessLimit` in the scheduler; then it takes exactly what `pickJobs` would), updates the jobs it takes,
 * and reports what the runner needs next: whether the guess applied, whether due jobs were left (then
 * only capacity held them back), the running counts (for the next guess) and the next ETA.
 * Null when the guess did not apply: nothing was taken.
 *
 * The probes for pending jobs in other channels are `ORDER BY channel LIMIT 1` subqueries, not EXISTS: once
 * the table has statistics, the generic plan of an EXISTS on a channel range is a sequential scan (it
 * expects a third of the table to match and stop at the first row), which reads the whole table when
 * nothing matches, as in every drain (8 ms per claim at 50k jobs). An ordered LIMIT 1 walks the pending index.
 */
export async function claimGuessed(ctx: PgContext, p: JobClaimParams, g: ClaimGuess): Promise<JobClaimResult | null> {
  const s = ctx.sqlSchema;
  if (g.wanted >= SNAPSHOT_LIMITS.at(-1)!) return null; // beyond the largest bucket: the planned claim pages
  const wanted = g.wanted;
  const bucket = SNAPSHOT_LIMITS.find((b) => b > wanted)!; // one more than wanted: tells whether due jobs are left
  const members = g.bounds.flatMap((b, i) => b.channels.map((c) => [i + 1, c] as const));
  return ctx.tx(
    'jobClaim',
    async (client, commitNow) => {
      const claimed = client.query(
        ctx.named(
          `WITH running AS (SELECT channel, count(*) AS n FROM ${s}.jobs WHERE state IN ${RUNNING_STATES_SQL} GROUP BY channel),
         lim AS (SELECT NOT ((SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel < $3 ORDER BY channel DESC LIMIT 1) IS NOT NULL
               OR (SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel > $3 ORDER BY channel LIMIT 1) IS NOT NULL
               OR EXISTS (SELECT 1 FROM running WHERE channel <> ALL($6::text[]))) AS applies,
             greatest(0, least($4, (SELECT min(b.cap - (SELECT coalesce(sum(r.n), 0) FROM running r JOIN unnest($8::int[], $9::text[]) AS m(i, ch)
                 ON m.ch = r.channel WHERE m.i = b.i)) FROM unnest($7::int[]) WITH ORDINALITY AS b(cap, i)))) AS n),
         pick AS (SELECT id, row_number() OVER (ORDER BY ${CLAIM_ORDER_SQL}) AS rn FROM (
             SELECT id, priority, created_at FROM ${s}.jobs
             WHERE (SELECT applies FROM lim) AND state = 'pending' AND channel = $3 AND (eta IS NULL OR eta <= ${paramTime(2)})
             ORDER BY ${CLAIM_ORDER_SQL} LIMIT ${bucket}) x),
         upd AS (UPDATE ${s}.jobs SET runner_id = $1, enqueued_at = ${paramTime(2)}, attempt = attempt + 1,
           state = CASE WHEN id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= $5)) THEN 'started' ELSE 'enqueued' END,
           started_at = CASE WHEN id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= $5)) THEN ${paramTime(2)} END
         WHERE id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= (SELECT n FROM lim))) RETURNING ${CLAIM_FIELDS}),
         meta AS MATERIALIZED (SELECT lim.applies AS m_applies,
           EXISTS (SELECT 1 FROM pick WHERE rn > lim.n) AS m_left,
           (SELECT coalesce(json_agg(json_build_array(channel, n)), '[]') FROM running) AS m_running,
           (SELECT ${columnMs('min(eta)')} FROM ${s}.jobs WHERE state = 'pending' AND eta > ${paramTime(2)}) AS m_next_eta
           FROM lim)
         SELECT upd.*, meta.* FROM meta LEFT JOIN upd ON true`,
          [
            p.runnerId,
            p.now,
            g.channel,
            wanted,
            p.startCount ?? 0,
            g.known,
            g.bounds.map((b) => b.capacity),
            members.map((m) => m[0]),
            members.map((m) => m[1]),
          ],
        ),
      );
      void commitNow();
      const rows = (await claimed).rows as RawRow[];
      const meta = rows[0]!;
      if (!meta.m_applies) return null;
      const jobs = rows
        .filter((r) => r.id !== null)
        .map(rowToJob)
        .sort(compareCandidates);
      const left = meta.m_left === true;
      const running = new Map(
        (JSON.parse(meta.m_running as string) as [string, number][]).map(([c, n]) => [c, Number(n)]),
      );
      p.policy.observe?.(
        {
          now: p.now,
          running,
          sequentialFailed: new Map(),
          lastStartedAt: new Map(),
          pendingChannels: left ? [g.channel] : [],
        },
        jobs,
      );
      // due jobs left behind while fewer than wanted were taken: capacity held them back; none left: the
      // guess applied, so no other channel has pending jobs, and this one has no due job left
      return {
        jobs,
        capacityBlocked: left && jobs.length < p.wanted,
        wakeAt: meta.m_next_eta === null ? null : Number(meta.m_next_eta),
        drained: !left,
      };
    },
    ['BEGIN', ctx.named(CLAIM_SETUP, [ctx.locks.claim])],
  );
}

/** The claim in two round trips: snapshot, then the scheduler's pick in Node, then the update. */
export async function claimPlanned(ctx: PgContext, p: JobClaimParams): Promise<JobClaimResult> {
  return ctx.tx(
    'jobClaim',
    async (client, commitNow) => {
      // BEGIN, the lock (CLAIM_SETUP, sent by ctx.tx) and the snapshot go out back to back
      // one more than wanted: planFetch asks for one job past each channel's room (see there)
      const bucket = SNAPSHOT_LIMITS.find((b) => b > p.wanted) ?? SNAPSHOT_LIMITS.at(-1)!;
      const snapRes = await client.query(
        ctx.named(snapshotSql(ctx, bucket), [p.policy.sequentialChannels, p.policy.throttledChannels, p.now]),
      );
      const snap = toSnapshot(p.now, snapRes.rows[0]);
      const plans = p.policy.planFetch(snap, p.wanted);
      const candidates: Candidate[] = [];
      const speculative =
        snapRes.rows[0].cands === null ? null : (JSON.parse(snapRes.rows[0].cands as string) as unknown[][]);
      if (speculative && plans.every((x) => !x.includeNotDue && x.limit <= bucket)) {
        // the snapshot already brought the best `bucket` due jobs of each channel: keep each plan's share
        const byChannel = new Map<string, Candidate[]>();
        for (const c of speculative) {
          const cand = toCandidate(c);
          let list = byChannel.get(cand.channel);
          if (!list) byChannel.set(cand.channel, (list = []));
          list.push(cand);
        }
        for (const plan of plans) candidates.push(...(byChannel.get(plan.channel) ?? []).slice(0, plan.limit));
      } else if (plans.length) {
        const r = await client.query(
          ctx.named(
            `SELECT j.id, j.channel, j.priority, ${columnMs('j.created_at')} AS created_at, ${columnMs('j.eta')} AS eta
           FROM unnest($1::text[], $2::int[], $3::bool[]) AS p(ch, lim, nd)
           CROSS JOIN LATERAL (
             SELECT id, channel, priority, created_at, eta FROM ${ctx.sqlSchema}.jobs
             WHERE state = 'pending' AND channel = p.ch AND (p.nd OR eta IS NULL OR eta <= ${paramTime(4)})
             ORDER BY ${CLAIM_ORDER_SQL} LIMIT p.lim) j`,
            [plans.map((x) => x.channel), plans.map((x) => x.limit), plans.map((x) => x.includeNotDue), p.now],
          ),
        );
        for (const c of r.rows as RawRow[])
          candidates.push(toCandidate([c.id, c.channel, c.priority, c.created_at, c.eta]));
      }
      const pick = p.policy.pickJobs(snap, candidates, p.wanted);
      p.policy.observe?.(snap, pick.picked);
      let wakeAt = pick.wakeAt;
      if (snap.nextEta !== null) wakeAt = wakeAt === null ? snap.nextEta : Math.min(wakeAt, snap.nextEta);
      if (pick.lastStartedAt.size) {
        void client
          .query(
            ctx.named(
              `INSERT INTO ${ctx.sqlSchema}.channel_state (channel, last_started_at)
           SELECT c, ${msTime('t')} FROM unnest($1::text[], $2::bigint[]) AS u(c, t)
           ON CONFLICT (channel) DO UPDATE SET last_started_at = excluded.last_started_at`,
              [[...pick.lastStartedAt.keys()], [...pick.lastStartedAt.values()]],
            ),
          )
          .catch(() => {});
      }
      if (!pick.picked.length)
        return { jobs: [], capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
      // No state check here: everything that moves a pending job elsewhere (cancel, set done) takes the
      // claim lock too, and a state qual would lead the planner to scan the whole pending index.
      const update = client.query(
        ctx.named(
          `UPDATE ${ctx.sqlSchema}.jobs SET runner_id = $1, enqueued_at = ${paramTime(2)}, attempt = attempt + 1,
           state = CASE WHEN id = ANY($4::bigint[]) THEN 'started' ELSE 'enqueued' END,
           started_at = CASE WHEN id = ANY($4::bigint[]) THEN ${paramTime(2)} END
         WHERE id = ANY($3::bigint[]) RETURNING ${CLAIM_FIELDS}`,
          [p.runnerId, p.now, pick.picked.map((c) => c.id), pick.picked.slice(0, p.startCount ?? 0).map((c) => c.id)],
        ),
      );
      void commitNow(); // the lock goes with the COMMIT, without waiting for the rows to come back
      const r = await update;
      const order = new Map(pick.picked.map((c, i) => [c.id, i]));
      const jobs = (r.rows as RawRow[]).map(rowToJob).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      return { jobs, capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
    },
    ['BEGIN', ctx.named(CLAIM_SETUP, [ctx.locks.claim])],
  );
}
