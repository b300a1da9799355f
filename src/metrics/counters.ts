/**
 * The process-side metrics: counters and the duration histogram, fed by a Conveyor's events (they
 * cover this process's runners only; Prometheus handles the reset on restart).
 * @module
 */
import type { ConveyorEventName, ConveyorEvents } from '../events.ts';
import { DURATION_HISTOGRAM, type Labels, type MetricSample } from './families.ts';
import { formatLabels } from './prometheus.ts';

/** Bucket bounds of `conveyor_job_duration_seconds`. */
const DURATION_BUCKETS = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800];

/** Where the counters listen: `conveyor.on`. */
export interface EventSource {
  /** Subscribe; returns the unsubscribe function. */
  on<K extends ConveyorEventName>(event: K, listener: (payload: ConveyorEvents[K]) => void): () => void;
}

/** Counters fed by the Conveyor's events (one set per Conveyor, shared by every consumer). */
export class EventCounters {
  readonly #counts = new Map<string, { name: string; labels: Labels; value: number }>();
  readonly #durations = new Map<string, { labels: Labels; buckets: number[]; sum: number; count: number }>();
  readonly #events: EventSource;
  #offs: (() => void)[] = [];

  /** Counters over the events of `events` (not listening until {@link start}). */
  constructor(events: EventSource) {
    this.#events = events;
  }

  /** Whether the counters are listening. */
  get started(): boolean {
    return this.#offs.length > 0;
  }

  /** Start counting (idempotent). */
  start(): void {
    if (this.#offs.length) return;
    const events = this.#events;
    const fn = (p: { model: string; method: string }) => ({ model: p.model, method: p.method });
    this.#offs = [
      events.on('job_done', (p) => {
        this.#inc('conveyor_jobs_done_total', fn(p));
        this.#observe({ ...fn(p), channel: p.channel }, p.durationMs / 1000);
      }),
      events.on('job_failed', (p) => this.#inc('conveyor_jobs_failed_total', fn(p))),
      events.on('job_retried', (p) => this.#inc('conveyor_job_retries_total', fn(p))),
      events.on('job_timed_out', (p) => this.#inc('conveyor_job_timeouts_total', { ...fn(p), kind: p.kind })),
      events.on('job_rescued', (p) => this.#inc('conveyor_jobs_rescued_total', { state: p.state })),
    ];
  }

  #inc(name: string, l: Labels): void {
    const key = name + formatLabels(l);
    const c = this.#counts.get(key);
    if (c) c.value++;
    else this.#counts.set(key, { name, labels: l, value: 1 });
  }

  #observe(l: Labels, seconds: number): void {
    const key = formatLabels(l);
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
    if (name !== DURATION_HISTOGRAM)
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
