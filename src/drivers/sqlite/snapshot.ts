/**
 * The channel snapshot on SQLite: what the scheduler needs to know of the queue at one instant (running
 * counts per channel, failed jobs blocking sequential channels, the last starts of throttled channels,
 * the channels with pending jobs).
 * @module
 */
import type { ChannelSnapshot } from '../../channels/scheduler.ts';
import type { SqliteContext } from './context.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** The snapshot, read with one statement per question (inside the claim's transaction, or alone). */
export function readSnapshot(
  ctx: SqliteContext,
  now: number,
  sequential: readonly string[],
  throttled: readonly string[],
): ChannelSnapshot {
  const running = new Map<string, number>();
  for (const r of ctx.all(
    `SELECT channel, count(*) AS n FROM conveyor_jobs WHERE state IN ${RUNNING_STATES_SQL} GROUP BY channel`,
  )) {
    running.set(r.channel as string, Number(r.n));
  }
  const sequentialFailed = new Map<string, number>();
  for (const ch of sequential) {
    const r = ctx.get(
      "SELECT min(id) AS id FROM conveyor_jobs WHERE state = 'failed' AND (channel = ? OR substr(channel, 1, ?) = ?)",
      ch,
      ch.length + 1,
      ch + '.',
    );
    if (r && r.id !== null) sequentialFailed.set(ch, Number(r.id));
  }
  const lastStartedAt = new Map<string, number>();
  if (throttled.length) {
    for (const r of ctx.all('SELECT channel, last_started_at FROM conveyor_channel_state')) {
      lastStartedAt.set(r.channel as string, Number(r.last_started_at));
    }
  }
  // loose index scan over the pending index: one seek per distinct channel
  const pendingChannels: string[] = [];
  // (INDEXED BY: the planner would otherwise pick the (state, id) index and sort every pending row)
  let r = ctx.get(
    "SELECT channel FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' ORDER BY channel LIMIT 1",
  );
  while (r) {
    pendingChannels.push(r.channel as string);
    r = ctx.get(
      "SELECT channel FROM conveyor_jobs INDEXED BY conveyor_jobs_pending WHERE state = 'pending' AND channel > ? ORDER BY channel LIMIT 1",
      r.channel as string,
    );
  }
  return { now, running, sequentialFailed, lastStartedAt, pendingChannels };
}

/** `Driver.channelSnapshot`: the snapshot alone, outside any claim. */
export async function channelSnapshot(
  ctx: SqliteContext,
  p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  },
): Promise<ChannelSnapshot> {
  return ctx.read('channelSnapshot', () => readSnapshot(ctx, p.now, p.sequentialChannels, p.throttledChannels));
}
