/**
 * `/metrics` in the Prometheus text format (version 0.0.4).
 *
 * Gauges read from the database (so they cover every process): jobs by state, open jobs by state and
 * channel, channel capacity and load, runner health, the timeout log of the last 24 hours. Counters
 * and the duration histogram are counted from this process's events since the dashboard was created
 * (they cover the runners of this process only; Prometheus handles the reset on restart).
 * @module
 */
import type { Conveyor } from '../conveyor.ts';
import { JOB_STATES } from '../job/states.ts';

/** Bucket bounds of `conveyor_job_duration_seconds`. */
const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

/** States counted per channel (index-backed; done and cancelled jobs are only counted in total). */
const OPEN_STATES = ['wait_dependencies', 'pending', 'enqueued', 'started', 'failed'] as const;

type Labels = Record<string, string>;

function esc(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function labels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${esc(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** A tiny writer of the Prometheus text format. */
export class MetricsWriter {
  #out: string[] = [];
  family(name: string, type: 'gauge' | 'counter' | 'histogram', help: string): void {
    this.#out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
  }
  sample(name: string, l: Labels, value: number): void {
    this.#out.push(`${name}${labels(l)} ${Number.isFinite(value) ? value : 0}`);
  }
  toString(): string {
    return this.#out.join('\n') + '\n';
  }
}

/** Counters fed by the Conveyor's events. */
export class EventCounters {
  readonly #counts = new Map<string, { labels: Labels; value: number }>();
  readonly #durations = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  readonly #offs: (() => void)[] = [];

  constructor(conveyor: Conveyor) {
    const fn = (p: { model: string; method: string }) => ({ model: p.model, method: p.method });
    this.#offs.push(
      conveyor.on('job_done', (p) => { this.#inc('conveyor_jobs_done_total', fn(p)); this.#observe({ ...fn(p), channel: p.channel }, p.durationMs / 1000); }),
      conveyor.on('job_failed', (p) => this.#inc('conveyor_jobs_failed_total', fn(p))),
      conveyor.on('job_retried', (p) => this.#inc('conveyor_job_retries_total', fn(p))),
      conveyor.on('job_timed_out', (p) => this.#inc('conveyor_job_timeouts_total', { ...fn(p), kind: p.kind })),
      conveyor.on('job_rescued', (p) => this.#inc('conveyor_jobs_rescued_total', { state: p.state })),
    );
  }

  #inc(name: string, l: Labels): void {
    const key = name + labels(l);
    const c = this.#counts.get(key);
    if (c) c.value++;
    else this.#counts.set(key, { labels: { __name: name, ...l }, value: 1 });
  }

  #observe(l: Labels, seconds: number): void {
    const key = labels(l);
    let d = this.#durations.get(key);
    if (!d) { d = { labels: l, buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 }; this.#durations.set(key, d); }
    DURATION_BUCKETS.forEach((b, i) => { if (seconds <= b) d.buckets[i]!++; });
    d.sum += seconds;
    d.count++;
  }

  /** Append the counters and the histogram. */
  write(w: MetricsWriter): void {
    const families: [string, string][] = [
      ['conveyor_jobs_done_total', 'Jobs done by this process\'s runners.'],
      ['conveyor_jobs_failed_total', 'Jobs failed by this process\'s runners.'],
      ['conveyor_job_retries_total', 'Retries scheduled by this process\'s runners.'],
      ['conveyor_job_timeouts_total', 'Runs stopped by a time limit in this process\'s runners.'],
      ['conveyor_jobs_rescued_total', 'Jobs rescued from dead runners by this process\'s runners.'],
    ];
    for (const [name, help] of families) {
      w.family(name, 'counter', help);
      for (const c of this.#counts.values()) {
        if (c.labels.__name !== name) continue;
        const { __name: _n, ...l } = c.labels;
        w.sample(name, l, c.value);
      }
    }
    w.family('conveyor_job_duration_seconds', 'histogram', 'Run time of jobs done by this process\'s runners.');
    for (const d of this.#durations.values()) {
      DURATION_BUCKETS.forEach((b, i) => w.sample('conveyor_job_duration_seconds_bucket', { ...d.labels, le: String(b) }, d.buckets[i]!));
      w.sample('conveyor_job_duration_seconds_bucket', { ...d.labels, le: '+Inf' }, d.count);
      w.sample('conveyor_job_duration_seconds_sum', d.labels, d.sum);
      w.sample('conveyor_job_duration_seconds_count', d.labels, d.count);
    }
  }

  /** Stop listening. */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }
}

/** Render `/metrics`. */
export async function renderMetrics(conveyor: Conveyor, counters: EventCounters): Promise<string> {
  const now = conveyor.clock.now();
  const [byState, byChannel, snapshot, runners, timeouts] = await Promise.all([
    conveyor.jobs.count({ groupBy: ['state'] }),
    conveyor.jobs.count({ state: [...OPEN_STATES], groupBy: ['state', 'channel'] }),
    conveyor.driver.channelSnapshot({ now, sequentialChannels: conveyor.channels.sequentialChannels(), throttledChannels: conveyor.channels.throttledChannels() }),
    conveyor.runners(),
    conveyor.timeoutLog.statistics({ days: 1 }),
  ]);
  const w = new MetricsWriter();

  w.family('conveyor_jobs', 'gauge', 'Jobs by state (all stored jobs).');
  const states = new Map(byState.map((r) => [r.key.state ?? '', r.count]));
  for (const s of JOB_STATES) w.sample('conveyor_jobs', { state: s }, states.get(s) ?? 0);

  w.family('conveyor_channel_jobs', 'gauge', 'Open jobs (waiting, pending, enqueued, started, failed) by state and stored channel.');
  for (const r of byChannel) w.sample('conveyor_channel_jobs', { state: r.key.state ?? '', channel: r.key.channel ?? '' }, r.count);

  const running = new Map<string, number>();
  for (const [channel, n] of snapshot.running) {
    for (const node of conveyor.channels.path(channel)) running.set(node.name, (running.get(node.name) ?? 0) + n);
  }
  w.family('conveyor_channel_capacity', 'gauge', 'Configured capacity of a channel (-1 = unlimited).');
  for (const node of conveyor.channels.nodes()) w.sample('conveyor_channel_capacity', { channel: node.name }, node.capacity ?? -1);
  w.family('conveyor_channel_running', 'gauge', 'Jobs enqueued or started in a channel and its sub-channels.');
  for (const node of conveyor.channels.nodes()) w.sample('conveyor_channel_running', { channel: node.name }, running.get(node.name) ?? 0);
  w.family('conveyor_channel_blocked', 'gauge', '1 when a sequential channel is blocked by a failed job.');
  for (const name of conveyor.channels.sequentialChannels()) w.sample('conveyor_channel_blocked', { channel: name }, snapshot.sequentialFailed.has(name) ? 1 : 0);

  w.family('conveyor_runners_alive', 'gauge', 'Runners whose lease is current.');
  w.sample('conveyor_runners_alive', {}, runners.filter((r) => r.leaseUntil >= now).length);
  w.family('conveyor_runners_expired', 'gauge', 'Runners whose lease expired (dead, not yet cleaned up).');
  w.sample('conveyor_runners_expired', {}, runners.filter((r) => r.leaseUntil < now).length);
  w.family('conveyor_runner_heartbeat_age_seconds', 'gauge', 'Seconds since the runner\'s last heartbeat.');
  for (const r of runners) w.sample('conveyor_runner_heartbeat_age_seconds', { runner: r.id, host: r.host }, Math.max(0, (now - r.heartbeatAt) / 1000));
  w.family('conveyor_runner_workers', 'gauge', 'Worker slots of the runner.');
  for (const r of runners) w.sample('conveyor_runner_workers', { runner: r.id, host: r.host }, r.workers);
  w.family('conveyor_runner_running_jobs', 'gauge', 'Jobs the runner is running (at its last heartbeat).');
  for (const r of runners) if (typeof r.info.running === 'number') w.sample('conveyor_runner_running_jobs', { runner: r.id, host: r.host }, r.info.running);
  w.family('conveyor_runner_rss_bytes', 'gauge', 'Resident memory of the runner process (at its last heartbeat).');
  for (const r of runners) if (typeof r.info.rss === 'number') w.sample('conveyor_runner_rss_bytes', { runner: r.id, host: r.host }, r.info.rss);

  const perOperation = Object.entries(timeouts.byMethod);
  w.family('conveyor_timeout_log_entries_24h', 'gauge', 'Timeout-log entries of the last 24 hours, by model.method.');
  for (const [key, c] of perOperation) w.sample('conveyor_timeout_log_entries_24h', { operation: key }, c.count);
  w.family('conveyor_timeout_log_exceeded_24h', 'gauge', 'Timeout-log entries of the last 24 hours that exceeded their threshold.');
  for (const [key, c] of perOperation) w.sample('conveyor_timeout_log_exceeded_24h', { operation: key }, c.exceeded);
  w.family('conveyor_timeout_log_avg_duration_seconds_24h', 'gauge', 'Average duration of the timeout-log entries of the last 24 hours.');
  for (const [key, c] of perOperation) w.sample('conveyor_timeout_log_avg_duration_seconds_24h', { operation: key }, c.avgDurationMs / 1000);

  counters.write(w);
  w.family('conveyor_metrics_scrape_timestamp_seconds', 'gauge', 'When these metrics were read.');
  w.sample('conveyor_metrics_scrape_timestamp_seconds', {}, now / 1000);
  return w.toString();
}

