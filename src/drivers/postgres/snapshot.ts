/**
 * The channel snapshot on PostgreSQL: what the scheduler needs to know of the queue at one instant
 * (running counts per channel, channels with pending jobs, failed jobs blocking sequential channels, the
 * last starts of throttled channels, the next ETA), read in one statement. The planned claim reads it
 * under the claim lock, with the best due jobs of each channel fetched in the same statement.
 * @module
 */
import type { ChannelSnapshot } from '../../channels/scheduler.ts';
import type { RawRow } from '../rows.ts';
import { CLAIM_ORDER_SQL, RUNNING_STATES_SQL } from '../shared/sql.ts';
import type { PgContext } from './context.ts';
import { columnMs, paramTime } from './sql.ts';

/**
 * The channel snapshot in one statement. With `limit > 0` it also fetches, speculatively, the best
 * `limit` due jobs of each pending channel when there are at most 4 of them (the common case), which
 * saves the claim a round trip while it holds the lock. The limit is a literal (a few buckets), not a
 * parameter: with `LIMIT $n` the cached generic plan may sort the whole pending set instead of
 * walking the index, which is ruinous with a million pending jobs.
 * Parameters: `$1` sequential channels, `$2` throttled channels, `$3` now (ms).
 */
export function snapshotSql(ctx: PgContext, limit = 0): string {
  const s = ctx.sqlSchema;
  return `WITH RECURSIVE c AS (
         (SELECT channel FROM ${s}.jobs WHERE state = 'pending' ORDER BY channel LIMIT 1)
         UNION ALL
         SELECT (SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel > c.channel ORDER BY channel LIMIT 1) FROM c WHERE c.channel IS NOT NULL
       ), pend AS (SELECT channel FROM c WHERE channel IS NOT NULL)
      SELECT
      (SELECT coalesce(json_agg(json_build_array(channel, n)), '[]') FROM
         (SELECT channel, count(*) AS n FROM ${s}.jobs WHERE state IN ${RUNNING_STATES_SQL} GROUP BY channel) r) AS running,
      (SELECT coalesce(json_agg(channel), '[]') FROM pend) AS pending,
      (SELECT coalesce(json_agg(json_build_array(ch, blocker)), '[]') FROM
         (SELECT ch, (SELECT min(id) FROM ${s}.jobs WHERE state = 'failed' AND (channel = ch OR left(channel, length(ch) + 1) = ch || '.')) AS blocker
          FROM unnest($1::text[]) AS ch) f WHERE blocker IS NOT NULL) AS seq,
      (SELECT coalesce(json_agg(json_build_array(channel, ${columnMs('last_started_at')})), '[]') FROM ${s}.channel_state WHERE channel = ANY($2::text[])) AS throttle,
      (SELECT ${columnMs('min(eta)')} FROM ${s}.jobs WHERE state = 'pending' AND eta > ${paramTime(3)}) AS next_eta,
      ${
        limit > 0
          ? `CASE WHEN (SELECT count(*) FROM pend) <= 4 THEN
        (SELECT coalesce(json_agg(json_build_array(j.id, j.channel, j.priority, ${columnMs('j.created_at')}, ${columnMs('j.eta')})), '[]')
         FROM pend CROSS JOIN LATERAL (
           SELECT id, channel, priority, created_at, eta FROM ${s}.jobs
           WHERE state = 'pending' AND channel = pend.channel AND (eta IS NULL OR eta <= ${paramTime(3)})
           ORDER BY ${CLAIM_ORDER_SQL} LIMIT ${limit}) j)
      END`
          : 'NULL'
      } AS cands`;
}

/** The snapshot from the statement's row (`nextEta`: the earliest future ETA of a pending job, or null). */
export function toSnapshot(now: number, row: RawRow): ChannelSnapshot & { nextEta: number | null } {
  for (const k of ['running', 'pending', 'seq', 'throttle']) row[k] = JSON.parse(row[k] as string);
  return {
    now,
    running: new Map((row.running as [string, number][]).map(([c, n]) => [c, Number(n)])),
    pendingChannels: row.pending as string[],
    sequentialFailed: new Map((row.seq as [string, number][]).map(([c, id]) => [c, Number(id)])),
    lastStartedAt: new Map((row.throttle as [string, number][]).map(([c, t]) => [c, Number(t)])),
    nextEta: row.next_eta === null ? null : Number(row.next_eta),
  };
}

/** `Driver.channelSnapshot`: the snapshot alone, outside any claim. */
export async function channelSnapshot(
  ctx: PgContext,
  p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  },
): Promise<ChannelSnapshot> {
  return ctx.read('channelSnapshot', async (db) => {
    const r = await db.query(ctx.named(snapshotSql(ctx), [p.sequentialChannels, p.throttledChannels, p.now]));
    return toSnapshot(p.now, r.rows[0]);
  });
}
