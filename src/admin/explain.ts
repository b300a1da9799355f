/**
 * `conveyor.jobs.explain(id)`: a plain sentence saying why a job is not running, or what it is doing.
 * The channel reasoning itself is pure and lives in `channels/explain.ts`; this module gathers what it
 * reads (the job, its unfinished parents, the channel snapshot, the jobs ahead, the live runners).
 * @module
 */
import { explainWaiting } from '../channels/explain.ts';
import type { ChannelPausesApi } from '../channels/pauses.ts';
import type { ChannelTree } from '../channels/tree.ts';
import type { Driver } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';

/** What {@link explainJob} needs from its Conveyor. */
export interface ExplainHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly channels: ChannelTree;
  readonly channelPauses: Pick<ChannelPausesApi, 'tree'>;
  /** Whether this process runs runners (then "no runner is alive" is never said). */
  hasLocalRunners(): boolean;
}

/** Why job `id` is not running (or what it is doing), in one sentence. */
export async function explainJob(host: ExplainHost, id: number): Promise<string> {
  const { driver } = host;
  const job = await driver.jobGet(id);
  if (!job) return `job ${id} does not exist`;
  switch (job.state) {
    case 'done':
      return `done${job.doneAt ? ` at ${new Date(job.doneAt).toISOString()}` : ''}`;
    case 'cancelled':
      return 'cancelled';
    case 'failed':
      return `failed: ${job.excName ?? 'Error'}: ${job.excMessage ?? ''}; requeue it to run it again`;
    case 'started':
      return `running on ${job.runnerId ?? 'a runner'} (attempt ${job.attempt})`;
    case 'enqueued':
      return `claimed by ${job.runnerId ?? 'a runner'}, starting as soon as it has a free slot`;
  }
  const now = host.clock.now();
  const snap = await driver.channelSnapshot({
    now,
    sequentialChannels: host.channels.sequentialChannels(),
    throttledChannels: host.channels.throttledChannels(),
  });
  const deps = job.state === 'wait_dependencies' ? (await driver.jobDependencies(id)).dependsOn : [];
  const waitingFor: number[] = [];
  for (const p of deps) {
    const parent = await driver.jobGet(p);
    if (parent && parent.state !== 'done') waitingFor.push(p);
  }
  const ahead = job.state === 'pending' ? await driver.jobAhead(id, now) : 0;
  let sentence = explainWaiting(
    await host.channelPauses.tree(),
    snap,
    {
      id: job.id,
      channel: job.channel,
      state: job.state,
      eta: job.eta,
      priority: job.priority,
      createdAt: job.createdAt,
      waitingFor,
    },
    ahead,
  );
  if (job.state === 'pending' && !host.hasLocalRunners()) {
    const runners = await driver.runnerList();
    if (!runners.some((r) => r.leaseUntil >= now)) sentence += '; no runner is alive';
  }
  return sentence;
}
