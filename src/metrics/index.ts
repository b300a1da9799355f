/**
 * Metrics in the Prometheus text format (version 0.0.4), for `conveyor.metrics()`, prom-client
 * registries (`conveyor.metrics.register(registry)`) and the dashboard's `/metrics`: the families
 * (families.ts), this process's event counters (counters.ts), the database read (collect.ts), the text
 * format (prometheus.ts) and the API (api.ts).
 * @module
 */
export { createMetricsApi, type MetricsApi, type MetricsHost, type PromRegistryLike } from './api.ts';
export { collectMetrics, type MetricsSource } from './collect.ts';
export { EventCounters, type EventSource } from './counters.ts';
export { METRIC_FAMILIES, type FamilyDef, type MetricFamily, type MetricSample } from './families.ts';
export { renderPrometheus } from './prometheus.ts';
