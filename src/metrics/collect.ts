/**
 * Reading every metric family at once: the database gauges (jobs by state and channel, the oldest due
 * pending job, channel capacity and load, runner health, the timeout log of the last 24 hours), read
 * so that every process reports the same figures, plus this process's counters as they stand.
 * @module
 */
import type { JobsApi } from '../admin/jobs-api.ts';
import type { TimeoutLogApi } from '../admin/timeout-log-api.ts';
import type { ChannelTree } from '../channels/tree.ts';
import type { Driver, RunnerInfo } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';
import { JOB_STATES, type JobState } from '../job/states.ts';
import type { EventCounters } from './counters.ts';
import { METRIC_FAMILIES, SCRAPE_TIMESTAMP, type Labels, type MetricFamily, type MetricSample } from './families.ts';

/**
 * The states `conveyor_channel_jobs` counts per channel: all but done and cancelled, which only grow
 * (they are counted in total by `conveyor_jobs`); the index on state and channel serves these.
 */
const PER_CHANNEL_STATES: readonly JobState[] = JOB_STATES.filter((s) => s !== 'done' && s !== 'cancelled');

/** What the collector reads from its Conveyor. */
export interface MetricsSource {
  readonly clock: Clock;
  readonly channels: ChannelTree;
  readonly driver: Pick<Driver, 'oldestPending' | 'channelSnapshot'>;
  readonly jobs: Pick<JobsApi, 'count'>;
  readonly timeoutLog: Pick<TimeoutLogApi, 'statistics'>;
  /** Runners registered in the database. */
  runners(): Promise<RunnerInfo[]>;
}

/** Read every family: the database gauges now, the counters as they stand. */
export async function collectMetrics(source: MetricsSource, counters: EventCounters): Promise<MetricFamily[]> {
  const { channels } = source;
  const now = source.clock.now();
  const [byState, byChannel, oldest, snapshot, runners, timeouts] = await Promise.all([
    source.jobs.count({ groupBy: ['state'] }),
    source.jobs.count({ state: [...PER_CHANNEL_STATES], groupBy: ['state', 'channel'] }),
    source.driver.oldestPending({ now }),
    source.driver.channelSnapshot({
      now,
      sequentialChannels: channels.sequentialChannels(),
      throttledChannels: channels.throttledChannels(),
    }),
    source.runners(),
    source.timeoutLog.statistics({ days: 1 }),
  ]);
  const out = new Map<string, MetricSample[]>(METRIC_FAMILIES.map((f) => [f.name, []]));
  const add = (name: string, l: Labels, value: number) => out.get(name)!.push({ labels: l, value });

  const states = new Map(byState.map((r) => [r.key.state ?? '', r.count]));
  for (const s of JOB_STATES) add('conveyor_jobs', { state: s }, states.get(s) ?? 0);
  for (const r of byChannel)
    add('conveyor_channel_jobs', { state: r.key.state ?? '', channel: r.key.channel ?? '' }, r.count);
  // every channel that holds pending jobs gets an age (0 when none of them is due yet)
  const since = new Map(oldest.map((o) => [o.channel, o.since]));
  const pendingChannels = new Set(byChannel.filter((r) => r.key.state === 'pending').map((r) => r.key.channel ?? ''));
  for (const ch of since.keys()) pendingChannels.add(ch);
  for (const ch of [...pendingChannels].sort()) {
    const t = since.get(ch);
    add('conveyor_oldest_pending_age_seconds', { channel: ch }, t === undefined ? 0 : Math.max(0, (now - t) / 1000));
  }

  const running = new Map<string, number>();
  for (const [channel, n] of snapshot.running) {
    for (const node of channels.path(channel)) running.set(node.name, (running.get(node.name) ?? 0) + n);
  }
  for (const node of channels.nodes()) add('conveyor_channel_capacity', { channel: node.name }, node.capacity ?? -1);
  for (const node of channels.nodes())
    add('conveyor_channel_running', { channel: node.name }, running.get(node.name) ?? 0);
  for (const name of channels.sequentialChannels())
    add('conveyor_channel_blocked', { channel: name }, snapshot.sequentialFailed.has(name) ? 1 : 0);

  add('conveyor_runners_alive', {}, runners.filter((r) => r.leaseUntil >= now).length);
  add('conveyor_runners_expired', {}, runners.filter((r) => r.leaseUntil < now).length);
  for (const r of runners)
    add(
      'conveyor_runner_heartbeat_age_seconds',
      { runner: r.id, host: r.host },
      Math.max(0, (now - r.heartbeatAt) / 1000),
    );
  for (const r of runners) add('conveyor_runner_workers', { runner: r.id, host: r.host }, r.workers);
  for (const r of runners)
    if (typeof r.info.running === 'number')
      add('conveyor_runner_running_jobs', { runner: r.id, host: r.host }, r.info.running);
  for (const r of runners)
    if (typeof r.info.rss === 'number') add('conveyor_runner_rss_bytes', { runner: r.id, host: r.host }, r.info.rss);

  for (const [key, c] of Object.entries(timeouts.byMethod)) {
    add('conveyor_timeout_log_entries_24h', { operation: key }, c.count);
    add('conveyor_timeout_log_exceeded_24h', { operation: key }, c.exceeded);
    add('conveyor_timeout_log_avg_duration_seconds_24h', { operation: key }, c.avgDurationMs / 1000);
  }

  for (const f of METRIC_FAMILIES)
    if (f.source === 'process' && f.name !== SCRAPE_TIMESTAMP) out.set(f.name, counters.samples(f.name));
  add(SCRAPE_TIMESTAMP, {}, now / 1000);
  return METRIC_FAMILIES.map((f) => ({ ...f, samples: out.get(f.name)! }));
}
