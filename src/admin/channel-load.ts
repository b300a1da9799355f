/**
 * The load of every channel, as the dashboard's Channels page and the CLI's `channels` command show
 * it: the channel tree (with runtime pauses) and, per channel, the jobs running, pending and failed in
 * it and below it. One home for those rows, so the two views cannot disagree.
 * @module
 */
import type { ChannelPausesApi } from '../channels/pauses.ts';
import type { ChannelSnapshot } from '../channels/scheduler.ts';
import type { ChannelNode, ChannelTree } from '../channels/tree.ts';
import type { Driver } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';
import type { JobsApi } from './jobs-api.ts';

/** One channel of {@link ChannelLoad.rows}, with its counts over its sub-tree and its own. */
export interface ChannelLoadRow {
  /** The channel (with its runtime pause, if any). */
  node: ChannelNode;
  /** Depth in the tree (`root` is 0). */
  depth: number;
  /** Jobs enqueued or started in the channel and below (what its capacity bounds). */
  running: number;
  /** Pending jobs in the channel and below. */
  pending: number;
  /** Failed jobs in the channel and below. */
  failed: number;
  /** Pending jobs stored in this very channel. */
  ownPending: number;
}

/** The load of every channel (`conveyor.channelLoad()`). */
export interface ChannelLoad {
  /** The configured tree with the runtime pauses applied. */
  tree: ChannelTree;
  /** What the scheduler reads: running counts, sequential blocks, last starts of throttled channels. */
  snapshot: ChannelSnapshot;
  /** Stored channel name → pending jobs. */
  pending: Map<string, number>;
  /** Stored channel name → failed jobs. */
  failed: Map<string, number>;
  /** Configured, intermediate and auto-created channels that hold jobs, in tree order. */
  rows: ChannelLoadRow[];
}

/** What {@link readChannelLoad} needs from its Conveyor. */
export interface ChannelLoadHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly channels: ChannelTree;
  readonly jobs: Pick<JobsApi, 'count'>;
  readonly channelPauses: Pick<ChannelPausesApi, 'tree'>;
}

/** Read the load of every channel (four reads, in parallel). */
export async function readChannelLoad(host: ChannelLoadHost): Promise<ChannelLoad> {
  const now = host.clock.now();
  const [snapshot, pendingRows, failedRows, tree] = await Promise.all([
    host.driver.channelSnapshot({
      now,
      sequentialChannels: host.channels.sequentialChannels(),
      throttledChannels: host.channels.throttledChannels(),
    }),
    host.jobs.count({ state: 'pending', groupBy: ['channel'] }),
    host.jobs.count({ state: 'failed', groupBy: ['channel'] }),
    host.channelPauses.tree(),
  ]);
  const toMap = (rows: typeof pendingRows) => new Map(rows.map((r) => [r.key.channel ?? 'root', r.count]));
  const pending = toMap(pendingRows);
  const failed = toMap(failedRows);
  return { tree, snapshot, pending, failed, rows: channelRows(tree, snapshot, pending, failed) };
}

/**
 * The rows of the tree: every node of the configuration, plus the channels (and their parents) that
 * hold jobs without being configured. A stored channel's jobs count for it and every ancestor, as the
 * scheduler counts capacity.
 */
export function channelRows(
  tree: ChannelTree,
  snapshot: ChannelSnapshot,
  pending: ReadonlyMap<string, number>,
  failed: ReadonlyMap<string, number>,
): ChannelLoadRow[] {
  const rows = new Map<string, ChannelLoadRow>();
  const ensure = (n: ChannelNode) => {
    let r = rows.get(n.name);
    if (!r) {
      r = { node: n, depth: n.name.split('.').length - 1, running: 0, pending: 0, failed: 0, ownPending: 0 };
      rows.set(n.name, r);
    }
    return r;
  };
  for (const n of tree.nodes()) ensure(n);
  const stored = new Set<string>([...snapshot.running.keys(), ...pending.keys(), ...failed.keys()]);
  for (const name of stored) {
    let path: readonly ChannelNode[];
    try {
      path = tree.path(name);
    } catch {
      continue;
    }
    for (const n of path) {
      const r = ensure(n);
      r.running += snapshot.running.get(name) ?? 0;
      r.pending += pending.get(name) ?? 0;
      r.failed += failed.get(name) ?? 0;
    }
    ensure(path[path.length - 1]!).ownPending += pending.get(name) ?? 0;
  }
  return [...rows.values()].sort((a, b) => {
    const sa = a.node.name.split('.');
    const sb = b.node.name.split('.');
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) if (sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
    return sa.length - sb.length;
  });
}
