/**
 * Metrics in the Prometheus text format (version 0.0.4), for `conveyor.metrics()`, prom-client
 * registries (`conveyor.metrics.register(registry)`) and the dashboard's `/metrics`.
 *
 * Gauges read from the database (so every process reports the same figures): jobs by state, open jobs
 * by state and channel, the age of the oldest due pending job per channel, channel capacity and load,
 * runner health, the timeout log of the last 24 hours. Counters and the duration histogram are counted
 * from this process's events (they cover the runners of this process only; Prometheus handles the
 * reset on restart), from the first `conveyor.metrics()` / `register()` / `start()` call on.
 * @module
 */
import type { Conveyor } from './conveyor.ts';
import { ValidationError, describeValue } from './errors.ts';
import { JOB_STATES } from './job/states.ts';

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

/** One sample of a family (`name` is set for a histogram's `_bucket`, `_sum` and `_count` lines). */
export interface MetricSample {
  name?: string;
  labels: Labels;
  value: number;
}

/** A metric family: what one `# HELP` / `# TYPE` block holds. */
export interface MetricFamily {
  name: string;
  type: 'gauge' | 'counter' | 'histogram';
  help: string;
  /** `database`: the same figure in every process (read from the database); `process`: this process's counts. */
  source: 'database' | 'process';
  samples: MetricSample[];
}

type FamilyDef = Omit<MetricFamily, 'samples'>;
const def = (name: string, type: FamilyDef['type'], source: FamilyDef['source'], help: string): FamilyDef => ({
  name,
  type,
  help,
  source,
});

/** Every family Conveyor exports, in output order. */
export const METRIC_FAMILIES: readonly FamilyDef[] = [
  def('conveyor_jobs', 'gauge', 'database', 'Jobs by state (all stored jobs).'),
  def(
    'conveyor_channel_jobs',
    'gauge',
    'database',
    'Open jobs (waiting, pending, enqueued, started, failed) by state and stored channel.',
  ),
  def(
    'conveyor_oldest_pending_age_seconds',
    'gauge',
    'database',
    'Seconds the oldest due pending job of a stored channel has waited (since its creation or its ETA, whichever is later); 0 when none waits.',
  ),
  def('conveyor_channel_capacity', 'gauge', 'database', 'Configured capacity of a channel (-1 = unlimited).'),
  def('conveyor_channel_running', 'gauge', 'database', 'Jobs enqueued or started in a channel and its sub-channels.'),
  def('conveyor_channel_blocked', 'gauge', 'database', '1 when a sequential channel is blocked by a failed job.'),
  def('conveyor_runners_alive', 'gauge', 'database', 'Runners whose lease is current.'),
  def('conveyor_runners_expired', 'gauge', 'database', 'Runners whose lease expired (dead, not yet cleaned up).'),
  def('conveyor_runner_heartbeat_age_seconds', 'gauge', 'database', "Seconds since the runner's last heartbeat."),
  def('conveyor_runner_workers', 'gauge', 'database', 'Worker slots of the runner.'),
  def('conveyor_runner_running_jobs', 'gauge', 'database', 'Jobs the runner is running (at its last heartbeat).'),
  def(
    'conveyor_runner_rss_bytes',
    'gauge',
    'database',
    'Resident memory of the runner process (at its last heartbeat).',
  ),
  def(
    'conveyor_timeout_log_entries_24h',
    'gauge',
    'database',
    'Timeout-log entries of the last 24 hours, by model.method.',
  ),
  def(
    'conveyor_timeout_log_exceeded_24h',
    'gauge',
    'database',
    'Timeout-log entries of the last 24 hours that exceeded their threshold.',
  ),
  def(
    'conveyor_timeout_log_avg_duration_seconds_24h',
    'gauge',
    'database',
    'Average duration of the timeout-log entries of the last 24 hours.',
  ),
  def('conveyor_jobs_done_total', 'counter', 'process', "Jobs done by this process's runners."),
  def('conveyor_jobs_failed_total', 'counter', 'process', "Jobs failed by this process's runners."),
  def('conveyor_job_retries_total', 'counter', 'process', "Retries scheduled by this process's runners."),
  def('conveyor_job_timeouts_total', 'counter', 'process', "Runs stopped by a time limit in this process's runners."),
  def('conveyor_jobs_rescued_total', 'counter', 'process', "Jobs rescued from dead runners by this process's runners."),
  def('conveyor_job_duration_seconds', 'histogram', 'process', "Run time of jobs done by this process's runners."),
  def('conveyor_metrics_scrape_timestamp_seconds', 'gauge', 'process', 'When these metrics were read.'),
];

/** Counters fed by the Conveyor's events (one set per Conveyor, shared by every consumer). */
export class EventCounters {
  readonly #counts = new Map<string, { name: string; labels: Labels; value: number }>();
  readonly #durations = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  readonly #conveyor: Conveyor;
  #offs: (() => void)[] = [];

  constructor(conveyor: Conveyor) {
    this.#conveyor = conveyor;
  }

  /** Whether the counters are listening. */
  get started(): boolean {
    return this.#offs.length > 0;
  }

  /** Start counting (idempotent). */
  start(): void {
    if (this.#offs.length) return;
    const conveyor = this.#conveyor;
    const fn = (p: { model: string; method: string }) => ({ model: p.model, method: p.method });
    this.#offs = [
      conveyor.on('job_done', (p) => {
        this.#inc('conveyor_jobs_done_total', fn(p));
        this.#observe({ ...fn(p), channel: p.channel }, p.durationMs / 1000);
      }),
      conveyor.on('job_failed', (p) => this.#inc('conveyor_jobs_failed_total', fn(p))),
      conveyor.on('job_retried', (p) => this.#inc('conveyor_job_retries_total', fn(p))),
      conveyor.on('job_timed_out', (p) => this.#inc('conveyor_job_timeouts_total', { ...fn(p), kind: p.kind })),
      conveyor.on('job_rescued', (p) => this.#inc('conveyor_jobs_rescued_total', { state: p.state })),
    ];
  }

  #inc(name: string, l: Labels): void {
    const key = name + labels(l);
    const c = this.#counts.get(key);
    if (c) c.value++;
    else this.#counts.set(key, { name, labels: l, value: 1 });
  }

  #observe(l: Labels, seconds: number): void {
    const key = labels(l);
    let d = this.#durations.get(key);
    if (!d) {
      d = { labels: l, buckets: DURATION_BUCKETS.map(() => 0), sum: 0, count: 0 };
      this.#durations.set(key, d);
    }
    DURATION_BUCKETS.forEach((b, i) => {
      if (seconds <= b) d.buckets[i]!++;
    });
    d.sum += seconds;
    d.count++;
  }

  /** The samples of a counter family, or of the duration histogram. */
  samples(name: string): MetricSample[] {
    if (name !== 'conveyor_job_duration_seconds')
      return [...this.#counts.values()]
        .filter((c) => c.name === name)
        .map((c) => ({ labels: c.labels, value: c.value }));
    const out: MetricSample[] = [];
    for (const d of this.#durations.values()) {
      DURATION_BUCKETS.forEach((b, i) =>
        out.push({ name: `${name}_bucket`, labels: { ...d.labels, le: String(b) }, value: d.buckets[i]! }),
      );
      out.push({ name: `${name}_bucket`, labels: { ...d.labels, le: '+Inf' }, value: d.count });
      out.push({ name: `${name}_sum`, labels: d.labels, value: d.sum });
      out.push({ name: `${name}_count`, labels: d.labels, value: d.count });
    }
    return out;
  }

  /** Stop listening (the counts are kept). */
  close(): void {
    for (const off of this.#offs.splice(0)) off();
  }
}

/** Read every family: the database gauges now, the counters as they stand. */
export async function collectMetrics(conveyor: Conveyor, counters: EventCounters): Promise<MetricFamily[]> {
  const now = conveyor.clock.now();
  const [byState, byChannel, oldest, snapshot, runners, timeouts] = await Promise.all([
    conveyor.jobs.count({ groupBy: ['state'] }),
    conveyor.jobs.count({ state: [...OPEN_STATES], groupBy: ['state', 'channel'] }),
    conveyor.driver.oldestPending({ now }),
    conveyor.driver.channelSnapshot({
      now,
      sequentialChannels: conveyor.channels.sequentialChannels(),
      throttledChannels: conveyor.channels.throttledChannels(),
    }),
    conveyor.runners(),
    conveyor.timeoutLog.statistics({ days: 1 }),
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
    for (const node of conveyor.channels.path(channel)) running.set(node.name, (running.get(node.name) ?? 0) + n);
  }
  for (const node of conveyor.channels.nodes())
    add('conveyor_channel_capacity', { channel: node.name }, node.capacity ?? -1);
  for (const node of conveyor.channels.nodes())
    add('conveyor_channel_running', { channel: node.name }, running.get(node.name) ?? 0);
  for (const name of conveyor.channels.sequentialChannels())
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
    if (f.source === 'process' && f.name !== 'conveyor_metrics_scrape_timestamp_seconds')
      out.set(f.name, counters.samples(f.name));
  add('conveyor_metrics_scrape_timestamp_seconds', {}, now / 1000);
  return METRIC_FAMILIES.map((f) => ({ ...f, samples: out.get(f.name)! }));
}

/** The Prometheus text (version 0.0.4) of some families. */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      lines.push(`${s.name ?? f.name}${labels(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return lines.join('\n') + '\n';
}

/** What {@link MetricsApi.register} needs of a registry: prom-client's `Registry` (`register` its default one). */
export interface PromRegistryLike {
  registerMetric(metric: never): void;
}

/**
 * The metrics of a Conveyor: `await conveyor.metrics()` is the Prometheus text to serve on your own
 * endpoint; `conveyor.metrics.register(registry)` adds them to a prom-client registry.
 */
export interface MetricsApi {
  /** The Prometheus text (version 0.0.4) of every family; starts this process's counters on the first call. */
  (): Promise<string>;
  /**
   * Add every family to a prom-client registry (`import { register } from 'prom-client'`), as metrics
   * that read their values at each scrape (one database read per scrape serves them all). Database
   * gauges aggregate as `first` and counters as `sum` in prom-client's cluster `AggregatorRegistry`.
   * Starts this process's counters. @throws ValidationError when `registry` has no `registerMetric()`
   */
  register(registry: PromRegistryLike): void;
  /** Every family with its samples (the data behind the text). */
  collect(): Promise<MetricFamily[]>;
  /** Start counting this process's events now (counters otherwise start at the first `metrics()` or `register()`). */
  start(): void;
  /** @internal Count while a consumer (the dashboard) lives; the returned function releases it. */
  acquire(): () => void;
  /** @internal Stop counting (Conveyor.close). */
  close(): void;
}

/** @internal The metrics API of a Conveyor. */
export function createMetricsApi(conveyor: Conveyor): MetricsApi {
  const counters = new EventCounters(conveyor);
  let permanent = false;
  let users = 0;
  // one database read serves every family read by one scrape (prom-client asks each metric in turn)
  let pending: Promise<MetricFamily[]> | null = null;
  const collect = () =>
    (pending ??= collectMetrics(conveyor, counters).finally(() => {
      pending = null;
    }));
  const start = () => {
    permanent = true;
    counters.start();
  };
  const api = Object.assign(
    async () => {
      start();
      return renderPrometheus(await collect());
    },
    {
      collect: () => collectMetrics(conveyor, counters),
      start,
      register(registry: PromRegistryLike): void {
        if (!registry || typeof (registry as { registerMetric?: unknown }).registerMetric !== 'function') {
          throw new ValidationError(
            `metrics.register() takes a prom-client Registry (with registerMetric()), got ${describeValue(registry)}`,
          );
        }
        start();
        for (const f of METRIC_FAMILIES) {
          const aggregator = f.source === 'database' ? 'first' : 'sum';
          const get = async () => {
            const family = (await collect()).find((x) => x.name === f.name)!;
            return {
              name: f.name,
              help: f.help,
              type: f.type,
              aggregator,
              values: family.samples.map((s) =>
                s.name
                  ? { metricName: s.name, labels: s.labels, value: s.value }
                  : { labels: s.labels, value: s.value },
              ),
            };
          };
          registry.registerMetric({
            name: f.name,
            help: f.help,
            type: f.type,
            aggregator,
            get,
            reset: () => {},
          } as never);
        }
      },
      acquire(): () => void {
        users++;
        counters.start();
        let released = false;
        return () => {
          if (released) return;
          released = true;
          if (--users === 0 && !permanent) counters.close();
        };
      },
      close: () => counters.close(),
    },
  );
  return api;
}
