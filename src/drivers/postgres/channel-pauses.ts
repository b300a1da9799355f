/**
 * PostgreSQL storage of the channels paused at runtime (`channel_pauses`, migration 4). Each change
 * sends a NOTIFY on `<schema>:channels` in the same statement, so every runner reloads the pauses at
 * once (and at its next heartbeat if it missed the wake-up).
 * @module
 */
import type { RawRow } from '../rows.ts';
import type { ChannelPause } from '../types/wake.ts';
import type { PgContext } from './context.ts';
import { pgWakeChannel } from './listen.ts';
import { paramTime } from './sql.ts';

/** Every runtime pause, by channel name. */
export async function pgChannelPauseList(c: PgContext): Promise<ChannelPause[]> {
  return c.read('channelPauseList', async (db) => {
    const r = await db.query(
      `SELECT channel, (extract(epoch FROM paused_at) * 1000)::bigint AS paused_at, paused_by FROM ${c.sqlSchema}.channel_pauses ORDER BY channel`,
    );
    return (r.rows as RawRow[]).map((x) => ({
      channel: x.channel as string,
      pausedAt: Number(x.paused_at),
      pausedBy: (x.paused_by as string | null) ?? null,
    }));
  });
}

/** Pause or resume one channel and send a `channels` wake-up; true when the stored state changed. */
export async function pgChannelPauseSet(
  c: PgContext,
  p: { channel: string; paused: boolean; now: number; by?: string | null },
): Promise<boolean> {
  const s = c.sqlSchema;
  const notifyChannel = pgWakeChannel(c, 'channels');
  return c.read('channelPauseSet', async (db) => {
    const r = p.paused
      ? await db.query(
          `WITH c AS (INSERT INTO ${s}.channel_pauses (channel, paused_at, paused_by)
        VALUES ($1, ${paramTime(3)}, $4) ON CONFLICT (channel) DO NOTHING RETURNING 1)
        SELECT (SELECT count(*) FROM c) AS n, pg_notify($2, '') AS sent`,
          [p.channel, notifyChannel, p.now, p.by ?? null],
        )
      : await db.query(
          `WITH c AS (DELETE FROM ${s}.channel_pauses WHERE channel = $1 RETURNING 1)
        SELECT (SELECT count(*) FROM c) AS n, pg_notify($2, '') AS sent`,
          [p.channel, notifyChannel],
        );
    return Number((r.rows as RawRow[])[0]!.n) > 0;
  });
}
