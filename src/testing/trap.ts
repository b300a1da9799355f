/**
 * `trapJobs()`: record delayed calls instead of storing them, assert on them, and run them inline
 * (queue_job's `trap_jobs()` / `JobsTrap`).
 * @module
 */
import { AssertionError } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { inspect, isDeepStrictEqual } from 'node:util';
import type { Conveyor } from '../conveyor.ts';
import type { Delayable } from '../delay/delayable.ts';
import {
  GraphError,
  InvalidStateError,
  UnknownMethodError,
  UnknownModelError,
  ValidationError,
  describeValue,
} from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { decodeJson, encodeJson } from '../internal/json.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import type { JobRow } from '../job/row.ts';
import type { JobState } from '../job/states.ts';
import { METHOD_TAG } from '../model.ts';

/** The properties of a trapped job, resolved as the real enqueue would (job function defaults applied). */
export interface JobProperties {
  priority: number;
  /** Not before (ms since the epoch), or null. */
  eta: number | null;
  maxRetries: number;
  description: string;
  /** Full channel name, e.g. `root.mail`. */
  channel: string;
  identityKey: string | null;
}

/** Property keys that `assertEnqueuedJob(…, { properties })` compares. */
export const PROPERTY_KEYS = ['priority', 'eta', 'maxRetries', 'description', 'channel', 'identityKey'] as const;

/**
 * Expected properties: only the keys given are compared. `eta` as a Date is absolute; as ms or a
 * duration string (`'1h'`) it counts from the moment of the call, like `withDelay({ eta })`.
 */
export interface ExpectedProperties {
  priority?: number;
  eta?: Date | Duration | null;
  maxRetries?: number;
  description?: string;
  channel?: string;
  identityKey?: string | null;
}

/**
 * A job method to match: a model's function (`partners.sendNewsletter`, `partners.browse([1]).sendNewsletter`),
 * the function as defined (`partners.methods.sendNewsletter`), `'res.partner.sendNewsletter'`, or
 * `{ model, method, records? }`.
 */
export type MethodRef =
  | ((...args: never[]) => unknown)
  | string
  | { model: string; method: string; records?: readonly unknown[] };

/** One delayed call, as recorded (identity duplicates included). */
export interface TrappedCall {
  readonly model: string;
  readonly method: string;
  readonly records: readonly unknown[];
  readonly args: readonly unknown[];
  readonly properties: Readonly<JobProperties>;
  /** Shared by the jobs of one graph (a graph with edges); null for a lone job. */
  readonly graphUuid: string | null;
  /** Context captured at the call (allow-listed keys), or null. */
  readonly context: Readonly<Record<string, unknown>> | null;
  /** When the call was made (the Conveyor's clock). */
  readonly at: number;
  /** True when an identity key matched a trapped job, so no job was added. */
  readonly existing: boolean;
  /** The job added by this call, or the twin it matched (null for a key-less node of a skipped graph). */
  readonly job: TrappedJob | null;
}

const OPEN_STATES: ReadonlySet<JobState> = new Set(['wait_dependencies', 'pending']);
const FINAL_STATES: ReadonlySet<JobState> = new Set(['done', 'failed', 'cancelled']);

/** A job recorded by the trap: what would have been stored. */
export class TrappedJob {
  readonly uuid = randomUUID();
  readonly model: string;
  readonly method: string;
  readonly records: readonly unknown[];
  readonly args: readonly unknown[];
  readonly properties: Readonly<JobProperties>;
  readonly graphUuid: string | null;
  /** Context captured at the call (allow-listed keys), restored when performed. */
  readonly context: Readonly<Record<string, unknown>> | null;
  /** When the call was made (the Conveyor's clock). */
  readonly at: number;
  /** The jobs this one waits for (graph edges). */
  readonly dependsOn: TrappedJob[] = [];
  /** The jobs that wait for this one. */
  readonly dependants: TrappedJob[] = [];
  /** The handle returned to the code that called `withDelay()` / `delay()` (id 0). */
  readonly handle: Job;
  #state: JobState;
  #result: unknown = undefined;
  #error: Error | null = null;
  #attempt = 0;
  #startedAt: number | null = null;
  #doneAt: number | null = null;
  #cancelledAt: number | null = null;
  readonly #trap: JobsTrap;

  /** @internal */
  constructor(trap: JobsTrap, call: Omit<TrappedCall, 'existing' | 'job'>, state: JobState) {
    this.#trap = trap;
    this.model = call.model;
    this.method = call.method;
    this.records = call.records;
    this.args = call.args;
    this.properties = call.properties;
    this.graphUuid = call.graphUuid;
    this.context = call.context;
    this.at = call.at;
    this.#state = state;
    this.handle = this.handleFor(false);
  }

  /** `pending`, `wait_dependencies`, `started` (while performed), `done`, `failed` or `cancelled`. */
  get state(): JobState {
    return this.#state;
  }

  /** The result once performed. */
  get result(): unknown {
    return this.#result;
  }

  /** The error when performing it failed. */
  get error(): Error | null {
    return this.#error;
  }

  /** @internal A handle on this job; `existing` marks an identity-key duplicate. */
  handleFor(existing: boolean): Job {
    const host: JobHandleHost = {
      getJob: async () => this.row(),
      waitJob: async () => {
        if (FINAL_STATES.has(this.#state)) return this.row();
        throw new InvalidStateError(
          `${this.toString()} was recorded by trapJobs() and has not run: call trap.performEnqueuedJobs() first`,
          { details: { state: this.#state } },
        );
      },
      requeueJobs: async () => (this.#trap._requeue(this) ? [0] : []),
      setDoneJobs: async () => (this.#trap._setDone(this) ? [0] : []),
      cancelJobs: async (_ids, options) => (this.#trap._cancel(this, options.cascade ?? false) ? [0] : []),
    };
    return new Job(host, 0, this.uuid, this.#state, existing, null);
  }

  /** @internal */
  _start(now: number): void {
    this.#state = 'started';
    this.#attempt++;
    this.#startedAt = now;
  }

  /** @internal */
  _end(state: 'done' | 'failed' | 'cancelled' | 'pending', now: number, result?: unknown, error?: Error): void {
    this.#state = state;
    this.#doneAt = state === 'done' ? now : null;
    this.#cancelledAt = state === 'cancelled' ? now : null;
    if (state === 'pending') {
      this.#attempt = 0;
      this.#startedAt = null;
    }
    this.#result = result;
    this.#error = error ?? null;
  }

  /** The job as a stored row would show it (id 0). */
  row(): JobRow {
    const err = this.#error;
    return {
      id: 0,
      uuid: this.uuid,
      graphUuid: this.graphUuid,
      model: this.model,
      method: this.method,
      records: [...this.records],
      args: [...this.args],
      state: this.#state,
      priority: this.properties.priority,
      eta: this.properties.eta,
      channel: this.properties.channel,
      attempt: this.#attempt,
      maxRetries: this.properties.maxRetries,
      crashCount: 0,
      result: this.#result ?? null,
      excName: err?.name ?? null,
      excMessage: err?.message ?? null,
      excInfo: err?.stack ?? null,
      description: this.properties.description,
      identityKey: this.properties.identityKey,
      context: this.context ? { ...this.context } : null,
      progress: null,
      checkpoint: null,
      timeLimitMs: null,
      createdAt: this.at,
      enqueuedAt: null,
      startedAt: this.#startedAt,
      doneAt: this.#doneAt,
      cancelledAt: this.#cancelledAt,
      execTimeMs: null,
      runnerId: null,
      hasDependants: this.dependants.length > 0,
    };
  }

  /** `res.partner(1,2).sendNewsletter('welcome')`. */
  toString(): string {
    return formatCall(this, null);
  }
}

// ------------------------------------------------------------------ formatting

/** Text shown as is in messages. */
class Shown {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
  [inspect.custom](): string {
    return this.text;
  }
}

function show(value: unknown): string {
  return inspect(value, { depth: 6, breakLength: Infinity, compact: true, sorted: false });
}

function showDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const a = Math.abs(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (a >= size && a % size === 0) return `${sign}${a / size}${unit}`;
  }
  return `${sign}${a}ms`;
}

function showProperty(key: string, value: unknown, at: number | null): string {
  if (key === 'eta' && typeof value === 'number' && at !== null)
    return `${new Date(value).toISOString()} (${showDuration(value - at)})`;
  if (key === 'eta' && value instanceof Date) return value.toISOString();
  return show(value);
}

/** `model(records).method(args) with properties (k=v, …)`; `properties` null leaves the suffix out. */
function formatCall(
  c: { model: string; method: string; records: readonly unknown[]; args: readonly unknown[]; at?: number },
  properties: Readonly<Record<string, unknown>> | null,
): string {
  const records = c.records.length ? `(${c.records.map(show).join(',')})` : '';
  const head = `${c.model}${records}.${c.method}(${c.args.map(show).join(', ')})`;
  if (properties === null) return head;
  const props = Object.entries(properties)
    .map(([k, v]) => `${k}=${showProperty(k, v, c.at ?? null)}`)
    .join(', ');
  return `${head} with properties (${props})`;
}

function pick(props: Readonly<JobProperties>, keys: readonly string[] | null): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys ?? PROPERTY_KEYS) {
    const v = (props as unknown as Record<string, unknown>)[k];
    if (keys || (v !== null && v !== undefined)) out[k] = v;
  }
  return out;
}

function listing(items: readonly (TrappedCall | TrappedJob)[], keys: readonly string[] | null): string {
  return items.length ? items.map((c) => ` * ${formatCall(c, pick(c.properties, keys))}`).join('\n') : ' (none)';
}

// ------------------------------------------------------------------ matching

interface ResolvedRef {
  model: string;
  method: string;
  /** The records the function is bound to (empty for the model itself). */
  records: readonly unknown[];
}

function resolveRef(conveyor: Conveyor, ref: MethodRef, what: string): ResolvedRef {
  const check = (model: string, method: string): void => {
    const def = conveyor.models.get(model);
    if (!def)
      throw new UnknownModelError(
        `${what}: unknown model '${model}' (defined: ${[...conveyor.models.keys()].join(', ') || 'none'})`,
      );
    if (!def.settings.has(method))
      throw new UnknownMethodError(
        `${what}: model '${model}' has no method '${method}' (methods: ${[...def.settings.keys()].join(', ')})`,
      );
  };
  if (typeof ref === 'function') {
    const tag = (
      ref as unknown as Record<symbol, { model: string; method: string; records: readonly unknown[] } | undefined>
    )[METHOD_TAG];
    if (tag) return { model: tag.model, method: tag.method, records: tag.records };
    for (const def of conveyor.models.values()) {
      for (const [name, fn] of Object.entries(def.methods))
        if (fn === ref) return { model: def.name, method: name, records: [] };
    }
    throw new ValidationError(
      `${what}: this function is not a job method of a model of this Conveyor (pass e.g. partners.sendNewsletter)`,
    );
  }
  if (typeof ref === 'string') {
    const dot = ref.lastIndexOf('.');
    if (dot <= 0) throw new ValidationError(`${what}: expected 'model.method', got ${describeValue(ref)}`);
    const r = { model: ref.slice(0, dot), method: ref.slice(dot + 1), records: [] };
    check(r.model, r.method);
    return r;
  }
  if (ref && typeof ref === 'object' && typeof ref.model === 'string' && typeof ref.method === 'string') {
    check(ref.model, ref.method);
    return { model: ref.model, method: ref.method, records: ref.records ?? [] };
  }
  throw new ValidationError(
    `${what}: expected a job method (partners.sendNewsletter), 'model.method' or { model, method }, got ${describeValue(ref)}`,
  );
}

function describeRef(r: ResolvedRef, anyRecords: boolean): string {
  return anyRecords ? `${r.model}.${r.method}` : formatCall({ ...r, args: [] }, null).replace(/\(\)$/, '');
}

/** Options of `jobsCount()` and `assertJobsCount()`. */
export interface CountOptions {
  /**
   * Count only this method. A function taken from the model (`partners.sendNewsletter`) matches the
   * method on any records; one taken from a record set (`partners.browse([1]).sendNewsletter`) only on
   * those records.
   */
  only?: MethodRef;
}

/** What `assertEnqueuedJob()` expects. */
export interface ExpectedJob {
  /** Exact record ids. @default the records the function is bound to (none for the model itself) */
  records?: readonly unknown[];
  /** Exact arguments (deep equality). @default [] */
  args?: readonly unknown[];
  /** A subset of the properties: only the keys given are compared. */
  properties?: ExpectedProperties;
}

// ------------------------------------------------------------------ the trap

/** The recorder returned by {@link trapJobs}. */
export class JobsTrap {
  readonly #conveyor: Conveyor;
  readonly #calls: TrappedCall[] = [];
  #enqueued: TrappedJob[] = [];
  #remove: (() => void) | null;

  /** @internal Use {@link trapJobs}. */
  constructor(conveyor: Conveyor) {
    if (!conveyor || typeof (conveyor as { installTrap?: unknown }).installTrap !== 'function') {
      throw new ValidationError(`trapJobs(): expected a Conveyor, got ${describeValue(conveyor)}`);
    }
    this.#conveyor = conveyor;
    this.#remove = conveyor.installTrap((nodes, edges) => this.#record(nodes, edges));
  }

  /** Every delayed call, in order, including identity-key duplicates. */
  get calls(): readonly TrappedCall[] {
    return [...this.#calls];
  }

  /** Jobs that would be stored and have not been performed yet, deduplicated by identity key. */
  get enqueuedJobs(): readonly TrappedJob[] {
    return [...this.#enqueued];
  }

  /** Whether the trap still records (false after {@link restore}). */
  get active(): boolean {
    return this.#remove !== null;
  }

  /** Stop recording: delayed calls are stored again. Idempotent. */
  restore(): void {
    this.#remove?.();
    this.#remove = null;
  }

  /** Same as {@link restore}, for `using trap = trapJobs(conveyor)`. */
  [Symbol.dispose](): void {
    this.restore();
  }

  /** Count the enqueued jobs (not performed yet), of one method with `only`. */
  jobsCount(options: CountOptions = {}): number {
    return this.#filtered(options, 'jobsCount()').jobs.length;
  }

  /** @throws AssertionError listing the enqueued jobs when the count differs */
  assertJobsCount(expected: number, options: CountOptions = {}): void {
    const { jobs, label } = this.#filtered(options, 'assertJobsCount()');
    if (jobs.length === expected) return;
    throw new AssertionError({
      message: `Expected ${expected} enqueued job${expected === 1 ? '' : 's'}${label}, got ${jobs.length}.\nEnqueued jobs:\n${listing(this.#enqueued, null)}`,
      actual: jobs.length,
      expected,
      operator: 'assertJobsCount',
      stackStartFn: this.assertJobsCount,
    });
  }

  /**
   * Assert that `method` was delayed with exactly these records and arguments and at least these
   * properties. Identity-key duplicates count (every call is checked).
   * @throws AssertionError listing every call when none matches
   */
  assertEnqueuedJob(method: MethodRef, expected: ExpectedJob = {}): void {
    const what = 'assertEnqueuedJob()';
    const ref = resolveRef(this.#conveyor, method, what);
    if (expected === null || typeof expected !== 'object')
      throw new ValidationError(`${what}: expected { records, args, properties }, got ${describeValue(expected)}`);
    for (const k of Object.keys(expected)) {
      if (!['records', 'args', 'properties'].includes(k))
        throw new ValidationError(`${what}: unknown key '${k}' (records, args, properties)`);
    }
    const records = expected.records ?? ref.records;
    const args = expected.args ?? [];
    if (!Array.isArray(records))
      throw new ValidationError(`${what}: records must be an array, got ${describeValue(records)}`);
    if (!Array.isArray(args)) throw new ValidationError(`${what}: args must be an array, got ${describeValue(args)}`);
    const props = expected.properties ?? {};
    const keys = Object.keys(props);
    for (const k of keys) {
      if (!(PROPERTY_KEYS as readonly string[]).includes(k))
        throw new ValidationError(`${what}: unknown property '${k}' (${PROPERTY_KEYS.join(', ')})`);
    }
    const found = this.#calls.some(
      (c) =>
        c.model === ref.model &&
        c.method === ref.method &&
        isDeepStrictEqual([...c.records], [...records]) &&
        isDeepStrictEqual([...c.args], [...args]) &&
        keys.every((k) => propertyMatches(k, (props as Record<string, unknown>)[k], c)),
    );
    if (found) return;
    const shown: Record<string, unknown> = { ...props };
    if (typeof shown.eta === 'number' || typeof shown.eta === 'string')
      shown.eta = new Shown(showDuration(parseDuration(shown.eta as Duration, `${what}: properties.eta`)));
    const wanted = formatCall({ model: ref.model, method: ref.method, records, args }, shown);
    throw new AssertionError({
      message: `Job ${wanted} was not enqueued.\nActual enqueued jobs:\n${listing(this.#calls, keys.length ? keys : null)}`,
      actual: this.#calls.map((c) => formatCall(c, pick(c.properties, keys.length ? keys : null))),
      expected: wanted,
      operator: 'assertEnqueuedJob',
      stackStartFn: this.assertEnqueuedJob,
    });
  }

  /**
   * Run the enqueued jobs now, inline, and empty the list: lone jobs by priority (stable), the jobs of a
   * graph in dependency order. Each runs with its captured context, as a runner would run it (arguments
   * go through the JSON encoding). Jobs delayed while they run are trapped too and wait for the next
   * call. The first error propagates; the jobs not run yet stay in {@link enqueuedJobs}.
   */
  async performEnqueuedJobs(): Promise<void> {
    const order = planOrder(this.#enqueued.splice(0));
    const held: TrappedJob[] = [];
    for (let i = 0; i < order.length; i++) {
      const job = order[i]!;
      if (!OPEN_STATES.has(job.state)) continue; // cancelled or set done meanwhile
      if (job.dependsOn.some((p) => p.state !== 'done')) {
        held.push(job);
        continue;
      }
      try {
        await this.#perform(job);
      } catch (err) {
        this.#enqueued.unshift(...held, ...order.slice(i + 1).filter((j) => OPEN_STATES.has(j.state)));
        throw err;
      }
    }
    this.#enqueued.unshift(...held);
  }

  async #perform(job: TrappedJob): Promise<void> {
    const c = this.#conveyor;
    const records = decodeJson(encodeJson(job.records, 'records')) as unknown[];
    const args = decodeJson(encodeJson(job.args, 'args')) as unknown[];
    job._start(c.clock.now());
    try {
      const result = await c.context.run({ ...(job.context ?? {}) }, () =>
        c.runInline(job.model, job.method, records, args, job.properties.maxRetries),
      );
      job._end('done', c.clock.now(), result);
    } catch (err) {
      job._end('failed', c.clock.now(), undefined, err instanceof Error ? err : new Error(String(err)));
      throw err;
    }
  }

  #filtered(options: CountOptions, what: string): { jobs: TrappedJob[]; label: string } {
    if (options === null || typeof options !== 'object')
      throw new ValidationError(`${what}: expected { only }, got ${describeValue(options)}`);
    for (const k of Object.keys(options))
      if (k !== 'only') throw new ValidationError(`${what}: unknown option '${k}' (only)`);
    if (options.only === undefined) return { jobs: [...this.#enqueued], label: '' };
    const ref = resolveRef(this.#conveyor, options.only, what);
    const anyRecords = ref.records.length === 0;
    const jobs = this.#enqueued.filter(
      (j) =>
        j.model === ref.model &&
        j.method === ref.method &&
        (anyRecords || isDeepStrictEqual([...j.records], [...ref.records])),
    );
    return { jobs, label: ` of ${describeRef(ref, anyRecords)}` };
  }

  // ---------------------------------------------------------------- recording (the Conveyor's trap hook)

  #record(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Job[] {
    const c = this.#conveyor;
    const now = c.clock.now();
    const txs = new Set(nodes.map((n) => n.options.tx).filter((t) => t !== undefined));
    if (txs.size > 1) throw new GraphError('the jobs of one graph must all use the same tx');
    const context = c.context.capture();
    if (context) encodeJson(context, 'context');
    const isGraph = edges.length > 0;
    const graphUuid = nodes.length > 1 && isGraph ? randomUUID() : null;
    // resolve everything first: a bad call records nothing, like the real enqueue stores nothing
    const calls = nodes.map((d) => ({ ...this.#resolve(d, now), graphUuid, at: now, context }));
    const twinOf = (key: string | null): TrappedJob | null =>
      key === null
        ? null
        : (this.#enqueued.find((j) => j.properties.identityKey === key && OPEN_STATES.has(j.state)) ?? null);

    if (isGraph) {
      // queue_job: a graph is skipped only when every job with an identity key has an open twin
      const twins = calls.map((call) => twinOf(call.properties.identityKey));
      const keyed = calls.filter((call) => call.properties.identityKey !== null);
      if (keyed.length > 0 && calls.every((call, i) => call.properties.identityKey === null || twins[i])) {
        calls.forEach((call, i) => this.#calls.push({ ...call, existing: true, job: twins[i] ?? null }));
        return calls.map((_, i) => twins[i]?.handleFor(true) ?? new Job(NO_JOB_HOST, 0, '', 'cancelled', true));
      }
      const jobs = calls.map(
        (call, i) => new TrappedJob(this, call, edges.some((e) => e[0] === i) ? 'wait_dependencies' : 'pending'),
      );
      for (const [child, parent] of edges) {
        if (!jobs[child]!.dependsOn.includes(jobs[parent]!)) {
          jobs[child]!.dependsOn.push(jobs[parent]!);
          jobs[parent]!.dependants.push(jobs[child]!);
        }
      }
      calls.forEach((call, i) => this.#calls.push({ ...call, existing: false, job: jobs[i]! }));
      this.#enqueued.push(...jobs);
      return jobs.map((j) => j.handle);
    }

    return calls.map((call) => {
      const twin = twinOf(call.properties.identityKey);
      if (twin) {
        this.#calls.push({ ...call, existing: true, job: twin });
        return twin.handleFor(true);
      }
      const job = new TrappedJob(this, call, 'pending');
      this.#calls.push({ ...call, existing: false, job });
      this.#enqueued.push(job);
      return job.handle;
    });
  }

  /** What `Conveyor.storeGraph` would store for `d` (same defaults and checks). */
  #resolve(
    d: Delayable,
    now: number,
  ): {
    model: string;
    method: string;
    records: readonly unknown[];
    args: readonly unknown[];
    properties: JobProperties;
  } {
    const r = this.#conveyor.resolveCall(d, now);
    encodeJson(d.records, 'records');
    encodeJson(d.args, 'args');
    return {
      model: r.model,
      method: r.method,
      records: [...r.records],
      args: [...r.args],
      properties: {
        priority: r.priority,
        eta: r.eta,
        maxRetries: r.maxRetries,
        description: r.description,
        channel: r.channel,
        identityKey: r.identityKey,
      },
    };
  }

  // ---------------------------------------------------------------- handle actions (id 0 handles)

  /** @internal */
  _requeue(job: TrappedJob): boolean {
    if (job.state !== 'failed' && job.state !== 'cancelled') return false;
    job._end('pending', this.#conveyor.clock.now());
    this.#enqueued.push(job);
    return true;
  }

  /** @internal */
  _setDone(job: TrappedJob): boolean {
    if (!OPEN_STATES.has(job.state) && job.state !== 'failed') return false;
    this.#enqueued = this.#enqueued.filter((j) => j !== job);
    job._end('done', this.#conveyor.clock.now(), 'Manually set to done');
    return true;
  }

  /** @internal */
  _cancel(job: TrappedJob, cascade: boolean): boolean {
    if (job.state === 'done' || job.state === 'cancelled') return false;
    const gone = new Set<TrappedJob>([job]);
    if (cascade) {
      const queue = [...job.dependants];
      while (queue.length) {
        const d = queue.pop()!;
        if (gone.has(d) || d.state === 'done' || d.state === 'cancelled') continue;
        gone.add(d);
        queue.push(...d.dependants);
      }
    }
    this.#enqueued = this.#enqueued.filter((j) => !gone.has(j));
    for (const j of gone) j._end('cancelled', this.#conveyor.clock.now(), 'Cancelled');
    return true;
  }
}

const NO_JOB_HOST: JobHandleHost = {
  getJob: async () => null,
  waitJob: async () => {
    throw new InvalidStateError(
      'this job was not enqueued: its graph was skipped because every identity key matched an open job',
    );
  },
  requeueJobs: async () => [],
  setDoneJobs: async () => [],
  cancelJobs: async () => [],
};

function propertyMatches(key: string, expected: unknown, call: TrappedCall): boolean {
  const actual = (call.properties as unknown as Record<string, unknown>)[key];
  if (key === 'eta' && expected !== null && expected !== undefined) {
    if (actual === null) return false;
    if (expected instanceof Date) return expected.getTime() === actual;
    return call.at + parseDuration(expected as Duration, 'assertEnqueuedJob(): properties.eta') === actual;
  }
  return isDeepStrictEqual(actual, expected);
}

/** Consecutive lone jobs sorted by priority (stable); each graph's jobs in dependency order. */
function planOrder(jobs: readonly TrappedJob[]): TrappedJob[] {
  const runs: { graphUuid: string | null; jobs: TrappedJob[] }[] = [];
  for (const j of jobs) {
    const last = runs.at(-1);
    if (last && last.graphUuid === j.graphUuid) last.jobs.push(j);
    else runs.push({ graphUuid: j.graphUuid, jobs: [j] });
  }
  return runs.flatMap((r) =>
    r.graphUuid === null
      ? [...r.jobs].sort((a, b) => a.properties.priority - b.properties.priority)
      : topological(r.jobs),
  );
}

function topological(jobs: readonly TrappedJob[]): TrappedJob[] {
  const inside = new Set(jobs);
  const indeg = new Map(jobs.map((j) => [j, j.dependsOn.filter((p) => inside.has(p)).length]));
  const ready = jobs.filter((j) => indeg.get(j) === 0);
  const out: TrappedJob[] = [];
  while (ready.length) {
    const j = ready.shift()!;
    out.push(j);
    for (const d of j.dependants) {
      if (!inside.has(d)) continue;
      const n = indeg.get(d)! - 1;
      indeg.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  return out.length === jobs.length ? out : [...jobs];
}

/**
 * Record delayed calls on `conveyor` instead of storing them. With a callback, the trap is active
 * while it runs and removed after (even when it throws); without one, call `trap.restore()`
 * (or write `using trap = trapJobs(conveyor)`).
 *
 * The trap applies to every delayed call on this Conveyor (not only those of the callback's async
 * context), and takes precedence over no-delay mode.
 * @example
 * await trapJobs(conveyor, async (trap) => {
 *   await partners.browse([1, 2]).withDelay({ priority: 15 }).sendNewsletter('welcome');
 *   trap.assertJobsCount(1, { only: partners.sendNewsletter });
 *   trap.assertEnqueuedJob(partners.sendNewsletter, { records: [1, 2], args: ['welcome'], properties: { priority: 15 } });
 *   await trap.performEnqueuedJobs();
 * });
 */
export function trapJobs(conveyor: Conveyor): JobsTrap;
export function trapJobs<T>(conveyor: Conveyor, fn: (trap: JobsTrap) => T | Promise<T>): Promise<T>;
export function trapJobs<T>(conveyor: Conveyor, fn?: (trap: JobsTrap) => T | Promise<T>): JobsTrap | Promise<T> {
  if (fn !== undefined && typeof fn !== 'function')
    throw new ValidationError(`trapJobs(): the second argument must be a function, got ${describeValue(fn)}`);
  const trap = new JobsTrap(conveyor);
  if (!fn) return trap;
  return (async () => {
    try {
      return await fn(trap);
    } finally {
      trap.restore();
    }
  })();
}
