/**
 * `conveyor.metrics`: the Prometheus text to serve on your own endpoint, prom-client registration, and
 * the hold the dashboard's `/metrics` keeps on this process's counters. Counters count from the first
 * `conveyor.metrics()` / `register()` / `start()` call on.
 * @module
 */
import { ValidationError, describeValue } from '../errors.ts';
import type { MetricsSource } from './collect.ts';
import { collectMetrics } from './collect.ts';
import { EventCounters, type EventSource } from './counters.ts';
import { METRIC_FAMILIES, type MetricFamily } from './families.ts';
import { renderPrometheus } from './prometheus.ts';

/** What {@link MetricsApi.register} needs of a registry: prom-client's `Registry` (`register` its default one). */
export interface PromRegistryLike {
  /** Add a metric. */
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

/** What the metrics API needs from its Conveyor: what the collector reads, and its events. */
export interface MetricsHost extends MetricsSource, EventSource {}

/** @internal The metrics API of a Conveyor. */
export function createMetricsApi(host: MetricsHost): MetricsApi {
  const counters = new EventCounters(host);
  let permanent = false;
  let users = 0;
  // one database read serves every family read by one scrape (prom-client asks each metric in turn)
  let pending: Promise<MetricFamily[]> | null = null;
  const collect = () =>
    (pending ??= collectMetrics(host, counters).finally(() => {
      pending = null;
    }));
  const start = () => {
    permanent = true;
    counters.start();
  };
  return Object.assign(
    async () => {
      start();
      return renderPrometheus(await collect());
    },
    {
      collect: () => collectMetrics(host, counters),
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
}
