/**
 * SQLite storage of the channels paused at runtime (`conveyor_channel_pauses`, migration 4). Runners of
 * this process are woken at once; runners of other processes read the pauses at their next heartbeat.
 * @module
 */
import type { ChannelPause } from '../driver.ts';
import type { RawRow } from '../rows.ts';

/** The statements these functions run, bound to the driver's connection. */
export interface PauseStatements {
  all(sql: string): RawRow[];
  run(sql: string, ...params: (string | number | null)[]): number;
}

/** Every runtime pause, by channel name. */
export function sqliteChannelPauseList(db: PauseStatements): ChannelPause[] {
  return db.all('SELECT channel, paused_at, paused_by FROM conveyor_channel_pauses ORDER BY channel').map((x) => ({
    channel: x.channel as string,
    pausedAt: Number(x.paused_at),
    pausedBy: (x.paused_by as string | null) ?? null,
  }));
}

/** Pause or resume one channel; true when the stored state changed. */
export function sqliteChannelPauseSet(
  db: PauseStatements,
  p: { channel: string; paused: boolean; now: number; by?: string | null },
): boolean {
  return p.paused
    ? db.run(
        'INSERT INTO conveyor_channel_pauses (channel, paused_at, paused_by) VALUES (?, ?, ?) ON CONFLICT (channel) DO NOTHING',
        p.channel,
        p.now,
        p.by ?? null,
      ) > 0
    : db.run('DELETE FROM conveyor_channel_pauses WHERE channel = ?', p.channel) > 0;
}
