/**
 * Channels paused at runtime (`conveyor channels pause`): the runner reloads them at start, on every
 * heartbeat and on a `channels` wake-up, claims with them, and gives back buffered jobs they hold.
 * @module
 */
import type { JobRow } from '../job/row.ts';
import type { RunnerContext } from './runner-context.ts';
import type { WriteQueue } from './write-queue.ts';

/** Give back the jobs of `jobs` whose channel is paused now; returns the others. */
export function releasePaused(ctx: RunnerContext, writes: WriteQueue, jobs: readonly JobRow[]): JobRow[] {
  const now = ctx.now();
  return jobs.filter((job) => {
    let paused: boolean;
    try {
      paused = ctx.tree.path(job.channel).some((n) => n.paused);
    } catch {
      paused = false;
    }
    if (paused) writes.push({ cmd: { kind: 'release', id: job.id, attempt: job.attempt, at: now }, job });
    return !paused;
  });
}

/**
 * Reload the channels paused at runtime. When they changed, later claims use them and buffered jobs of
 * paused channels are given back; running jobs finish. Resolves to true when the pauses changed.
 */
export async function refreshPauses(ctx: RunnerContext, writes: WriteQueue): Promise<boolean> {
  const next = ctx.tree.withPauses(await ctx.host.driver.channelPauseList());
  if (next === ctx.tree) return false;
  ctx.useTree(next);
  if (next.pauses.size) {
    ctx.buffer = releasePaused(ctx, writes, ctx.buffer);
    ctx.bufferedIds = new Set(ctx.buffer.map((j) => j.id));
  }
  const paused = [...next.pauses.keys()];
  ctx.host.logger.info(
    { runnerId: ctx.id, paused },
    paused.length ? 'channels paused at runtime changed' : 'no channel is paused at runtime now',
  );
  ctx.host.events.emit('runner_channels_paused', { runnerId: ctx.id, paused });
  return true;
}
