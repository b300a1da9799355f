/**
 * The claim policy of a channel tree: the pure channel scheduler (channels/scheduler.ts) behind the
 * `ClaimPolicy` a driver's claim calls, plus the state one claim leaves for guessing the next.
 * @module
 */
import { guessClaim, planFetch, pickJobs, type ChannelSnapshot } from '../channels/scheduler.ts';
import type { ChannelTree } from '../channels/tree.ts';
import type { ClaimPolicy } from '../drivers/driver.ts';

/** Build the claim policy of a channel tree. */
export function claimPolicy(tree: ChannelTree): ClaimPolicy {
  // the state after the last claim (its running counts plus the jobs it took), for the next guess; an
  // empty queue keeps the channel that last had jobs pending, so the claim that follows a wake-up can
  // still be decided ahead
  let last: ChannelSnapshot | null = null;
  return {
    guess: (wanted) => (last ? guessClaim(tree, last, wanted) : null),
    observe: (snap, taken) => {
      const running = new Map(snap.running);
      for (const job of taken) running.set(job.channel, (running.get(job.channel) ?? 0) + 1);
      const pendingChannels = snap.pendingChannels.length || !last ? snap.pendingChannels : last.pendingChannels;
      last = { ...snap, running, pendingChannels };
    },
    sequentialChannels: tree.sequentialChannels(),
    throttledChannels: tree.throttledChannels(),
    planFetch: (snap, wanted) => planFetch(tree, snap, wanted),
    pickJobs: (snap, candidates, wanted) => {
      const pick = pickJobs(tree, snap, candidates, wanted);
      // a throttled channel that just started a job may have more waiting: look again when the throttle ends
      for (const [channel, at] of pick.lastStartedAt) {
        const end = at + (tree.node(channel)?.throttleMs ?? 0);
        if (pick.wakeAt === null || end < pick.wakeAt) pick.wakeAt = end;
      }
      return pick;
    },
  };
}
