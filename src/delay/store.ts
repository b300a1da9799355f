/**
 * Storing delayed calls: one row per call and the graph's edges, in one insert. A lone call outside a
 * transaction goes through a batcher, so concurrent `delay()`s share multi-row inserts; a graph, or a
 * call inside the caller's transaction, is inserted at once.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { ContextApi } from '../context.ts';
import type { Driver, JobInsertResult, NewJob } from '../drivers/driver.ts';
import { GraphError } from '../errors.ts';
import type { EventHub } from '../events.ts';
import { Batcher } from '../internal/batcher.ts';
import type { Clock } from '../internal/clock.ts';
import { encodeJson } from '../internal/json.ts';
import type { Telemetry } from '../internal/telemetry.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import type { Delayable } from './delayable.ts';
import { newJobRow, type ResolvedCall } from './resolve-call.ts';

/** What the store needs from its Conveyor. */
export interface StoreHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly context: ContextApi;
  readonly events: EventHub;
  /** OpenTelemetry spans, or null without `@opentelemetry/api`. */
  telemetry(): Telemetry | null;
  /** What the returned job handles act through. */
  readonly jobHost: JobHandleHost;
  /** Apply a call's job function defaults and options (delay/resolve-call.ts). */
  resolveCall(d: Delayable, now: number): ResolvedCall;
}

/** Stores delayed calls for one Conveyor. */
export class JobStore {
  readonly #host: StoreHost;
  readonly #insertBatcher: Batcher<NewJob, JobInsertResult>;

  /** A store writing through `host.driver`. */
  constructor(host: StoreHost) {
    this.#host = host;
    // up to 1000 rows per insert, two inserts in flight: what keeps a burst of lone delay()s fast
    this.#insertBatcher = new Batcher((jobs) => host.driver.jobInsertMany({ jobs, now: host.clock.now() }), {
      maxBatch: 1000,
      concurrency: 2,
    });
  }

  /**
   * Store `nodes` with `edges` (`[childIndex, parentIndex]`) atomically; returns a handle per node (on
   * the open job with the same identity key when there is one).
   * @throws GraphError when the nodes use different transactions
   */
  async store(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Promise<Job[]> {
    const host = this.#host;
    const now = host.clock.now();
    const txs = new Set(nodes.map((n) => n.options.tx).filter((t) => t !== undefined));
    if (txs.size > 1) throw new GraphError('the jobs of one graph must all use the same tx');
    const tx = txs.values().next().value;
    const graphUuid = nodes.length > 1 && edges.length > 0 ? randomUUID() : null;
    const span = host.telemetry()?.startEnqueue(nodes.length);
    let rows: NewJob[];
    let results: JobInsertResult[];
    try {
      // the enqueue span's trace context travels in the job's context JSON (see internal/telemetry.ts)
      const captured = host.context.capture();
      const context = span?.carrier ? { ...captured, ...span.carrier } : captured;
      const contextJson = context ? encodeJson(context, 'context') : null;
      rows = nodes.map((d) => newJobRow(host.resolveCall(d, now), now, graphUuid, contextJson));
      if (nodes.length === 1 && tx === undefined) results = [await this.#insertBatcher.submit(rows[0]!)];
      else results = await host.driver.jobInsertMany({ jobs: rows, edges, now, tx });
    } catch (err) {
      span?.end([], err as Error);
      throw err;
    }
    span?.end(rows);
    if (host.events.has('job_enqueued')) {
      results.forEach((r, i) =>
        host.events.emit('job_enqueued', {
          id: r.id,
          uuid: r.uuid,
          model: rows[i]!.model,
          method: rows[i]!.method,
          channel: rows[i]!.channel,
          existing: r.existing,
        }),
      );
    }
    return results.map((r) => new Job(host.jobHost, r.id, r.uuid, r.state, r.existing));
  }
}
