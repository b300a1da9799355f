/**
 * SQLite storage of the channels paused at runtime (`conveyor_channel_pauses`, migration 4). Runners of
 * this process are woken at once; runners of other processes read the pauses at their next heartbeat.
 * @module
 */
import type { ChannelPause } from '../types/wake.ts';
import type { SqliteContext } from './context.ts';

/** Every runtime pause, by channel name. */
export async function sqliteChannelPauseList(c: SqliteContext): Promise<ChannelPause[]> {
  return c.read('channelPauseList', () =>
    c.all('SELECT channel, paused_at, paused_by FROM conveyor_channel_pauses ORDER BY channel').map((x) => ({
      channel: x.channel as string,
      pausedAt: Number(x.paused_at),
      pausedBy: (x.paused_by as string | null) ?? null,
    })),
  );
}

/** Pause or resume one channel, then send a `channels` wake-up; true when the stored state changed. */
export async function sqliteChannelPauseSet(
  c: SqliteContext,
  p: { channel: string; paused: boolean; now: number; by?: string | null },
): Promise<boolean> {
  const changed = c.tx('channelPauseSet', () =>
    p.paused
      ? c.run(
          'INSERT INTO conveyor_channel_pauses (channel, paused_at, paused_by) VALUES (?, ?, ?) ON CONFLICT (channel) DO NOTHING',
          p.channel,
          p.now,
          p.by ?? null,
        ) > 0
      : c.run('DELETE FROM conveyor_channel_pauses WHERE channel = ?', p.channel) > 0,
  );
  c.wake('channels');
  return changed;
}
