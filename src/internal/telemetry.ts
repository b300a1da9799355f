/**
 * OpenTelemetry spans, when `@opentelemetry/api` (an optional peer dependency) is installed: a
 * `send` span around each enqueue and a `process` span around each run. The enqueue span's W3C
 * `traceparent` (and `tracestate`) is stored in the job's context JSON, and the run span is its child
 * (and links to it), so a job continues the trace of the request that enqueued it, in whatever process
 * runs it. Without the package every entry point is a null check; with the package but no SDK, the API's
 * no-op tracer makes spans whose context is invalid, and nothing is stored.
 *
 * The API is loaded once by dynamic import (cached; {@link loadTelemetry} is awaited by `Conveyor.open`).
 * Only the few API members used here are typed, structurally, so the published types do not need the
 * package. Attribute names follow the messaging semantic conventions (copied as strings, as the
 * conventions package marks them incubating), plus `conveyor.job.*`.
 * @module
 */

/** The attributes a span gets (OpenTelemetry's `Attributes`, narrowed). */
type Attributes = Record<string, string | number | boolean>;

interface SpanContextLike {
  traceId: string;
  spanId: string;
  traceFlags: number;
  isRemote?: boolean;
  traceState?: { serialize(): string };
}

interface SpanLike {
  spanContext(): SpanContextLike;
  setAttribute(key: string, value: string | number | boolean): unknown;
  setAttributes(attributes: Attributes): unknown;
  setStatus(status: { code: number; message?: string }): unknown;
  recordException(exception: Error): unknown;
  end(): void;
}

interface ContextLike {
  readonly __context?: never;
}

interface TracerLike {
  startSpan(
    name: string,
    options: { kind: number; attributes?: Attributes; links?: { context: SpanContextLike }[] },
    context?: ContextLike,
  ): SpanLike;
}

interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): TracerLike;
    setSpan(context: ContextLike, span: SpanLike): ContextLike;
    setSpanContext(context: ContextLike, spanContext: SpanContextLike): ContextLike;
    isSpanContextValid(spanContext: SpanContextLike): boolean;
  };
  context: {
    active(): ContextLike;
    with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(
      context: ContextLike,
      fn: F,
      thisArg?: unknown,
      ...args: A
    ): ReturnType<F>;
  };
  createTraceState?(raw?: string): { serialize(): string };
  ROOT_CONTEXT: ContextLike;
}

const SPAN_KIND_PRODUCER = 3;
const SPAN_KIND_CONSUMER = 4;
const STATUS_ERROR = 2;
const TRACEPARENT_RE = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** The context keys that carry the trace of the enqueue (W3C Trace Context names). */
export const TRACE_CONTEXT_KEYS: readonly string[] = ['traceparent', 'tracestate'];

/** How a run ended, as the `conveyor.job.outcome` attribute. */
export type RunOutcome = 'done' | 'retried' | 'failed' | 'timed_out' | 'released';

/** What the run span needs of a job. */
export interface SpannedJob {
  id: number;
  uuid: string;
  model: string;
  method: string;
  channel: string;
  attempt: number;
}

/** A run's span, ended with its outcome. */
export interface RunSpan {
  /** Run `fn` with the span active (spans the job's code makes become its children). */
  activate<T>(fn: () => T): T;
  /** Set the outcome attribute (and the error status for failures), then end the span. */
  end(outcome: RunOutcome, error?: Error | null): void;
}

/** An enqueue's span. */
export interface EnqueueSpan {
  /** The trace context to store with the jobs, or null when the span is not sampled into a valid context. */
  readonly carrier: Record<string, string> | null;
  /** Describe the jobs stored and end the span. */
  end(jobs: readonly { uuid?: string; model: string; method: string; channel: string }[], error?: Error | null): void;
}

/** Spans of a Conveyor (one per Conveyor; a no-op path when the API is absent). */
export class Telemetry {
  readonly #api: OtelApi;
  readonly #tracer: TracerLike;
  constructor(api: OtelApi) {
    this.#api = api;
    this.#tracer = api.trace.getTracer('conveyor-queue');
  }

  /** Start the span of an enqueue of `count` jobs, a child of the active span. */
  startEnqueue(count: number): EnqueueSpan {
    const span = this.#tracer.startSpan(
      count === 1 ? 'send' : `send ${count} jobs`,
      {
        kind: SPAN_KIND_PRODUCER,
        attributes: {
          'messaging.system': 'conveyor',
          'messaging.operation.type': 'send',
          'messaging.operation.name': 'enqueue',
          ...(count > 1 ? { 'messaging.batch.message_count': count } : {}),
        },
      },
      this.#api.context.active(),
    );
    const sc = span.spanContext();
    const carrier = this.#api.trace.isSpanContextValid(sc) ? toCarrier(sc) : null;
    return {
      carrier,
      end: (jobs, error) => {
        const first = jobs[0];
        if (jobs.length === 1 && first) {
          span.setAttributes({
            'messaging.destination.name': first.channel,
            'conveyor.job.model': first.model,
            'conveyor.job.method': first.method,
            'conveyor.job.channel': first.channel,
            ...(first.uuid ? { 'messaging.message.id': first.uuid } : {}),
          });
          (span as { updateName?: (n: string) => unknown }).updateName?.(`send ${first.model}.${first.method}`);
        }
        if (error) {
          span.recordException(error);
          span.setStatus({ code: STATUS_ERROR, message: error.message });
        }
        span.end();
      },
    };
  }

  /** Start the span of a run, continuing the trace stored with the job (`carrier`). */
  startRun(job: SpannedJob, carrier: Readonly<Record<string, unknown>> | null): RunSpan {
    const api = this.#api;
    const parent = carrier ? fromCarrier(api, carrier) : null;
    const parentContext = parent ? api.trace.setSpanContext(api.ROOT_CONTEXT, parent) : api.ROOT_CONTEXT;
    const span = this.#tracer.startSpan(
      `process ${job.model}.${job.method}`,
      {
        kind: SPAN_KIND_CONSUMER,
        attributes: {
          'messaging.system': 'conveyor',
          'messaging.operation.type': 'process',
          'messaging.operation.name': 'run',
          'messaging.destination.name': job.channel,
          'messaging.message.id': job.uuid,
          'conveyor.job.id': job.id,
          'conveyor.job.model': job.model,
          'conveyor.job.method': job.method,
          'conveyor.job.channel': job.channel,
          'conveyor.job.attempt': job.attempt,
        },
        ...(parent ? { links: [{ context: parent }] } : {}),
      },
      parentContext,
    );
    const active = api.trace.setSpan(parentContext, span);
    return {
      activate: (fn) => api.context.with(active, fn),
      end: (outcome, error) => {
        span.setAttribute('conveyor.job.outcome', outcome);
        if (error) span.recordException(error);
        if (outcome === 'failed' || outcome === 'timed_out')
          span.setStatus({ code: STATUS_ERROR, message: error?.message ?? outcome });
        span.end();
      },
    };
  }
}

function toCarrier(sc: SpanContextLike): Record<string, string> {
  const out: Record<string, string> = {
    traceparent: `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`,
  };
  const state = sc.traceState?.serialize();
  if (state) out.tracestate = state;
  return out;
}

function fromCarrier(api: OtelApi, carrier: Readonly<Record<string, unknown>>): SpanContextLike | null {
  const tp = carrier.traceparent;
  const m = typeof tp === 'string' ? TRACEPARENT_RE.exec(tp) : null;
  if (!m) return null;
  const sc: SpanContextLike = { traceId: m[1]!, spanId: m[2]!, traceFlags: parseInt(m[3]!, 16), isRemote: true };
  if (typeof carrier.tracestate === 'string' && api.createTraceState)
    sc.traceState = api.createTraceState(carrier.tracestate);
  return api.trace.isSpanContextValid(sc) ? sc : null;
}

/**
 * Split a stored job context into the trace carrier and the rest (what the job sees as its context).
 * Returns the context unchanged (and no carrier) when it holds no trace keys.
 */
export function splitTraceContext(context: Record<string, unknown> | null): {
  carrier: Record<string, unknown> | null;
  context: Record<string, unknown> | null;
} {
  if (!context || (context.traceparent === undefined && context.tracestate === undefined))
    return { carrier: null, context };
  const { traceparent, tracestate, ...rest } = context;
  return { carrier: { traceparent, tracestate }, context: Object.keys(rest).length ? rest : null };
}

let loading: Promise<OtelApi | null> | undefined;

/** Load `@opentelemetry/api` once (null when it is not installed). */
export function loadOtelApi(): Promise<OtelApi | null> {
  loading ??= import('@opentelemetry/api' as string).then(
    (m: { default?: OtelApi } & Partial<OtelApi>) => (m.trace ? (m as OtelApi) : (m.default ?? null)),
    () => null,
  );
  return loading;
}

/** The Conveyor's telemetry: a {@link Telemetry} when the API is installed, else null. */
export async function loadTelemetry(): Promise<Telemetry | null> {
  const api = await loadOtelApi();
  return api ? new Telemetry(api) : null;
}
