/**
 * The liveness suite's parts (test/liveness.test.ts): random scenarios (fast-check), the job model the
 * runners share (one behaviour per job kind, with run and capacity tracking from inside the handlers),
 * and the monitor that samples the database and the runners to find due, runnable jobs left waiting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import fc from 'fast-check';
import {
  NothingToDoJob,
  RetryableJobError,
  chain,
  group,
  type Conveyor,
  type Delayable,
  type Job,
  type JobContext,
  type JobRow,
  type Model,
  type Runner,
} from '../../src/index.ts';

/** How long a due, runnable job may wait while a runner has a free slot (the issue's bound, far below the 5 s poll). */
export const LIVENESS_BOUND_MS = 1500;
/** The `timeLimit` of the `live.limited` job function. */
export const TIME_LIMIT_MS = 150;
/** The ETA of a job that is cancelled before it is due (far enough that no runner can take it first). */
const CANCEL_ETA_MS = 5000;
/** The second wave of enqueues starts this long after the first. */
const WAVE_MS = 2800;

// ------------------------------------------------------------------------------------ scenarios

/** What a job does, hence the state it must end in and how many times its handler runs. */
export type Kind =
  | 'ok'
  | 'nothing'
  | 'error'
  | 'retry'
  | 'retryFail'
  | 'timeout'
  | 'unknownMethod'
  | 'unknownModel'
  | 'cancelPending'
  | 'cancelRunning'
  | 'spawn';

/** One job of a scenario. */
export interface JobSpec {
  /** Unique in the scenario; the job's only argument, so every row and run maps back to its spec. */
  tag: string;
  kind: Kind;
  channel: string;
  priority: number;
  /** How long the handler works (ms). */
  durationMs: number;
  /** ETA from the enqueue (ms), or null. */
  etaMs: number | null;
  /** `retry`: runs until this attempt succeeds. */
  retries: number;
  /** `spawn`: the job its handler enqueues. */
  child: JobSpec | null;
}

/** How a step enqueues its jobs. */
export type StepType = 'one' | 'many' | 'chain' | 'fan' | 'dup';

/** Jobs enqueued together at one moment of the scenario. */
export interface Step {
  atMs: number;
  type: StepType;
  /** Which Conveyor enqueues: 0 = the enqueuer (it knows the extra methods), i = runner i's own. */
  via: number;
  jobs: JobSpec[];
}

/** A configured channel. */
export interface ChannelConf {
  name: string;
  capacity: number;
  sequential: boolean;
}

/** A runner of the scenario, on its own Conveyor instance. */
export interface RunnerConf {
  workers: number;
  /** null: the default (= workers). */
  prefetch: number | null;
}

/** A whole scenario. */
export interface Scenario {
  seed: number;
  channels: ChannelConf[];
  runners: RunnerConf[];
  steps: Step[];
}

/** One of `choices` ([value, weight] pairs), by weight. */
function weighted<T>(choices: [T, number][]): fc.Arbitrary<T> {
  return fc.oneof(...choices.map(([value, weight]) => ({ arbitrary: fc.constant(value), weight })));
}

const rawJob = fc.record({
  kind: fc.oneof(
    { arbitrary: fc.constant<Kind>('ok'), weight: 6 },
    { arbitrary: fc.constant<Kind>('nothing'), weight: 2 },
    { arbitrary: fc.constant<Kind>('error'), weight: 2 },
    { arbitrary: fc.constant<Kind>('retry'), weight: 2 },
    { arbitrary: fc.constant<Kind>('retryFail'), weight: 1 },
    { arbitrary: fc.constant<Kind>('timeout'), weight: 1 },
    { arbitrary: fc.constant<Kind>('unknownMethod'), weight: 3 },
    { arbitrary: fc.constant<Kind>('unknownModel'), weight: 1 },
    { arbitrary: fc.constant<Kind>('cancelPending'), weight: 1 },
    { arbitrary: fc.constant<Kind>('cancelRunning'), weight: 1 },
    { arbitrary: fc.constant<Kind>('spawn'), weight: 1 },
  ),
  channel: fc.nat(),
  priority: fc.constantFrom(5, 10, 10),
  durationMs: fc.oneof(
    { arbitrary: fc.constant(0), weight: 1 },
    { arbitrary: fc.integer({ min: 10, max: 100 }), weight: 2 },
    { arbitrary: fc.integer({ min: 300, max: 700 }), weight: 2 },
  ),
  etaMs: fc.oneof(
    { arbitrary: fc.constant(null), weight: 2 },
    { arbitrary: fc.integer({ min: 100, max: 800 }), weight: 1 },
  ),
  retries: fc.integer({ min: 2, max: 3 }),
  childChannel: fc.nat(),
});

type RawJob = typeof rawJob extends fc.Arbitrary<infer T> ? T : never;

const rawScenario = fc.record({
  rootCapacity: fc.integer({ min: 1, max: 4 }),
  subs: fc.array(
    fc.record({
      parent: fc.nat(),
      capacity: fc.integer({ min: 1, max: 3 }),
      sequential: weighted([
        [true, 1],
        [false, 3],
      ]),
    }),
    { maxLength: 3 },
  ),
  // 1-3 runners of 1-3 workers, fewer and smaller more often: a full runner is where wake-ups get lost
  runners: weighted([
    [1, 3],
    [2, 2],
    [3, 1],
  ]).chain((n) =>
    fc.array(
      fc.record({
        workers: weighted([
          [1, 3],
          [2, 2],
          [3, 1],
        ]),
        prefetch: weighted<number | null>([
          [0, 3],
          [1, 1],
          [2, 1],
          [null, 1],
        ]),
      }),
      { minLength: n, maxLength: n },
    ),
  ),
  steps: fc.array(
    fc.record({
      // two waves: jobs that arrive while the runners are busy, then a quiet spell in which any job left
      // behind by a missed wake-up shows as a wait longer than the bound
      atMs: fc
        .tuple(
          fc.integer({ min: 0, max: 1 }),
          fc.oneof(
            { arbitrary: fc.constant(0), weight: 1 },
            { arbitrary: fc.integer({ min: 0, max: 150 }), weight: 2 },
            { arbitrary: fc.integer({ min: 150, max: 600 }), weight: 2 },
          ),
        )
        .map(([wave, offset]) => wave * WAVE_MS + offset),
      type: fc.oneof(
        { arbitrary: fc.constant<StepType>('one'), weight: 8 },
        { arbitrary: fc.constant<StepType>('many'), weight: 1 },
        { arbitrary: fc.constant<StepType>('chain'), weight: 1 },
        { arbitrary: fc.constant<StepType>('fan'), weight: 1 },
        { arbitrary: fc.constant<StepType>('dup'), weight: 1 },
      ),
      via: fc.nat(),
      jobs: fc.array(rawJob, { minLength: 3, maxLength: 3 }),
    }),
    { minLength: 4, maxLength: 10 },
  ),
});

const FAILING: ReadonlySet<Kind> = new Set(['error', 'retryFail', 'timeout', 'unknownMethod', 'unknownModel']);
const GRAPH_KINDS: ReadonlySet<Kind> = new Set(['ok', 'nothing', 'error', 'retry']);
const MANY_KINDS: ReadonlySet<Kind> = new Set(['ok', 'nothing', 'error', 'retry', 'retryFail']);

/**
 * The scenario of `seed`: the same seed always gives the same scenario (fast-check's generator, one
 * value). Jobs that can fail never go to a sequential channel (a failed job would block it for good).
 */
export function scenarioOf(seed: number): Scenario {
  const [raw] = fc.sample(fc.noBias(rawScenario), { seed, numRuns: 1 });
  const r = raw!;
  const channels: ChannelConf[] = [{ name: 'root', capacity: r.rootCapacity, sequential: false }];
  r.subs.forEach((s, i) => {
    const parent = channels[s.parent % channels.length]!.name;
    channels.push({ name: `${parent}.c${i}`, capacity: s.sequential ? 1 : s.capacity, sequential: s.sequential });
  });
  // where jobs go: the configured channels, an unconfigured one under root, one under the first sub-channel
  const pool = [...channels.map((c) => c.name), 'root.free', ...(channels[1] ? [`${channels[1].name}.auto`] : [])];
  const sequentialPath = (name: string) =>
    channels.some((c) => c.sequential && (name === c.name || name.startsWith(`${c.name}.`)));
  const place = (kind: Kind, pick: number) => {
    const name = pool[pick % pool.length]!;
    return FAILING.has(kind) && sequentialPath(name) ? 'root' : name;
  };
  let n = 0;
  const job = (j: RawJob, allowed: ReadonlySet<Kind> | null, eta: boolean): JobSpec => {
    const kind = allowed && !allowed.has(j.kind) ? 'ok' : j.kind;
    const tag = `j${++n}`;
    return {
      tag,
      kind,
      channel: place(kind, j.channel),
      priority: j.priority,
      durationMs: j.durationMs,
      etaMs: kind === 'cancelPending' ? CANCEL_ETA_MS : eta ? j.etaMs : null,
      retries: j.retries,
      child:
        kind === 'spawn'
          ? {
              tag: `${tag}c`,
              kind: 'ok',
              channel: place('ok', j.childChannel),
              priority: j.priority,
              durationMs: j.durationMs,
              etaMs: null,
              retries: 0,
              child: null,
            }
          : null,
    };
  };
  const steps = [...r.steps]
    .sort((x, y) => x.atMs - y.atMs)
    .map((s): Step => {
      const [a, b, c] = s.jobs as [RawJob, RawJob, RawJob];
      switch (s.type) {
        case 'one': {
          const j = job(a, null, true);
          // the extra method and model exist only on the enqueuer's instance
          const via = j.kind === 'unknownMethod' || j.kind === 'unknownModel' ? 0 : s.via % (r.runners.length + 1);
          return { atMs: s.atMs, type: 'one', via, jobs: [j] };
        }
        case 'many':
          return {
            atMs: s.atMs,
            type: 'many',
            via: s.via % (r.runners.length + 1),
            jobs: [job(a, MANY_KINDS, true), job(b, MANY_KINDS, true), job(c, MANY_KINDS, true)],
          };
        case 'chain':
          return {
            atMs: s.atMs,
            type: 'chain',
            via: s.via % (r.runners.length + 1),
            jobs: [job(a, GRAPH_KINDS, false), job(b, GRAPH_KINDS, false), job(c, GRAPH_KINDS, false)],
          };
        case 'fan':
          return {
            atMs: s.atMs,
            type: 'fan',
            via: s.via % (r.runners.length + 1),
            jobs: [job(a, GRAPH_KINDS, false), job(b, GRAPH_KINDS, false), job(c, GRAPH_KINDS, false)],
          };
        case 'dup': {
          // two calls with one identity key: the second is the first job unless that one has started already
          const first = { ...job(a, new Set<Kind>(['ok']), true), durationMs: a.durationMs };
          const second = { ...job(b, new Set<Kind>(['ok']), false), channel: first.channel, priority: first.priority };
          return { atMs: s.atMs, type: 'dup', via: s.via % (r.runners.length + 1), jobs: [first, second] };
        }
      }
    });
  return { seed, channels, runners: r.runners.map((x) => ({ workers: x.workers, prefetch: x.prefetch })), steps };
}

/** The channel configuration string of a scenario (`root:2,root.c0:1:sequential`). */
export function channelConfig(s: Scenario): string {
  return s.channels.map((c) => `${c.name}:${c.capacity}${c.sequential ? ':sequential' : ''}`).join(',');
}

/** Every job spec of a scenario, children of `spawn` jobs included. */
export function allSpecs(s: Scenario): JobSpec[] {
  return s.steps.flatMap((st) => st.jobs.flatMap((j) => (j.child ? [j, j.child] : [j])));
}

/** A one-line-per-step description of a scenario, for failure messages. */
export function describeScenario(s: Scenario): string {
  const job = (j: JobSpec): string =>
    `${j.tag}:${j.kind}${j.kind === 'retry' ? `x${j.retries}` : ''}@${j.channel} p${j.priority} ${j.durationMs}ms${j.etaMs !== null ? ` eta+${j.etaMs}` : ''}${j.child ? ` -> ${job(j.child)}` : ''}`;
  return [
    `channels ${channelConfig(s)}; runners ${s.runners.map((r) => `{workers ${r.workers}, prefetch ${r.prefetch ?? 'default'}}`).join(' ')}`,
    ...s.steps.map(
      (st) =>
        `  +${st.atMs}ms ${st.type} via ${st.via === 0 ? 'enqueuer' : `runner${st.via}`}: ${st.jobs.map(job).join(' | ')}`,
    ),
  ].join('\n');
}

// ------------------------------------------------------------------------------------ expectations

/** The state a job must end in, and how many runs of its handler. */
export interface Expected {
  state: JobRow['state'];
  runs: number;
  /** The exception class of a failure. */
  excName?: string;
}

/** The end a kind implies, for a job whose parents (if any) are all done. */
function ownEnd(j: JobSpec): Expected {
  switch (j.kind) {
    case 'ok':
    case 'nothing':
    case 'spawn':
      return { state: 'done', runs: 1 };
    case 'retry':
      return { state: 'done', runs: j.retries };
    case 'error':
      return { state: 'failed', runs: 1, excName: 'Error' };
    case 'retryFail':
      return { state: 'failed', runs: 2, excName: 'RetryableJobError' };
    case 'timeout':
      return { state: 'failed', runs: 1, excName: 'TimeoutError' };
    case 'unknownMethod':
      return { state: 'failed', runs: 0, excName: 'UnknownMethodError' };
    case 'unknownModel':
      return { state: 'failed', runs: 0, excName: 'UnknownModelError' };
    case 'cancelPending':
      return { state: 'cancelled', runs: 0 };
    case 'cancelRunning':
      return { state: 'cancelled', runs: 1 };
  }
}

/** The expected end of every job of a step (graph members behind a failed parent wait for good). */
export function stepExpectations(step: Step): Map<string, Expected> {
  const out = new Map<string, Expected>();
  const [a, b, c] = step.jobs;
  if (step.type === 'chain') {
    let blocked = false;
    for (const j of step.jobs) {
      out.set(j.tag, blocked ? { state: 'wait_dependencies', runs: 0 } : ownEnd(j));
      if (ownEnd(j).state !== 'done') blocked = true;
    }
  } else if (step.type === 'fan') {
    out.set(a!.tag, ownEnd(a!));
    out.set(b!.tag, ownEnd(b!));
    out.set(
      c!.tag,
      ownEnd(a!).state === 'done' && ownEnd(b!).state === 'done' ? ownEnd(c!) : { state: 'wait_dependencies', runs: 0 },
    );
  } else {
    for (const j of step.jobs) {
      out.set(j.tag, ownEnd(j));
      if (j.child) out.set(j.child.tag, ownEnd(j.child));
    }
  }
  return out;
}

// ------------------------------------------------------------------------------------ the shared model

/** One run of a handler. */
export interface RunRecord {
  tag: string;
  id: number;
  attempt: number;
  instance: number;
  startedAt: number;
  endedAt: number | null;
}

/**
 * What the handlers of every instance share: the specs by tag, the runs, the running counts per
 * channel (every prefix of the job's channel) and per runner, and what broke a capacity.
 */
export class Tracker {
  readonly specs = new Map<string, JobSpec>();
  readonly runs: RunRecord[] = [];
  readonly ids = new Map<string, number>();
  readonly capacityViolations: string[] = [];
  readonly errors: string[] = [];
  /** When the run of (job id, attempt) ended: handler end, or the start of a run that had no handler. */
  readonly runEnded = new Map<string, number>();
  /** (job id, attempt) that some runner started. */
  readonly started = new Set<string>();
  readonly #capacity = new Map<string, number>();
  readonly #runningByChannel = new Map<string, number>();
  readonly #runningByInstance = new Map<number, number>();
  readonly #workers: number[];
  readonly #t0: number;
  /** The `live` model of each instance (0 = the enqueuer), for jobs that enqueue jobs. */
  readonly models: LiveModel[] = [];
  /** The enqueuer's `ghost` model (no runner's instance defines it). */
  ghost: GhostModel | null = null;

  constructor(scenario: Scenario, t0: number) {
    for (const s of allSpecs(scenario)) this.specs.set(s.tag, s);
    for (const c of scenario.channels) this.#capacity.set(c.name, c.capacity);
    this.#workers = [0, ...scenario.runners.map((r) => r.workers)];
    this.#t0 = t0;
  }

  /** Runs of a tag's handler. */
  runsOf(tag: string): RunRecord[] {
    return this.runs.filter((r) => r.tag === tag);
  }

  #enter(channel: string, instance: number, tag: string): void {
    for (const prefix of prefixes(channel)) {
      const n = (this.#runningByChannel.get(prefix) ?? 0) + 1;
      this.#runningByChannel.set(prefix, n);
      const cap = this.#capacity.get(prefix);
      if (cap !== undefined && n > cap)
        this.capacityViolations.push(
          `+${Date.now() - this.#t0}ms: ${tag} started with ${n} jobs running in ${prefix} (capacity ${cap})`,
        );
    }
    const n = (this.#runningByInstance.get(instance) ?? 0) + 1;
    this.#runningByInstance.set(instance, n);
    if (n > this.#workers[instance]!)
      this.capacityViolations.push(
        `+${Date.now() - this.#t0}ms: ${tag} started with ${n} jobs running in runner${instance} (${this.#workers[instance]} workers)`,
      );
  }

  #leave(channel: string, instance: number): void {
    for (const prefix of prefixes(channel)) this.#runningByChannel.set(prefix, this.#runningByChannel.get(prefix)! - 1);
    this.#runningByInstance.set(instance, this.#runningByInstance.get(instance)! - 1);
  }

  /** The handler of every job method, on every instance. */
  async handle(job: JobContext, tag: string, instance: number, conveyor: Conveyor): Promise<unknown> {
    const spec = this.specs.get(tag);
    if (!spec) throw new Error(`no spec for tag ${String(tag)}`);
    const run: RunRecord = { tag, id: job.id, attempt: job.attempt, instance, startedAt: Date.now(), endedAt: null };
    this.runs.push(run);
    this.started.add(`${job.id}:${job.attempt}`);
    // channel counts by the job's stored channel (the spec's, unless the enqueue normalised it)
    this.#enter(spec.channel, instance, tag);
    let held = true;
    try {
      switch (spec.kind) {
        case 'ok':
          await sleep(spec.durationMs);
          return tag;
        case 'nothing':
          await sleep(spec.durationMs);
          throw new NothingToDoJob();
        case 'error':
          await sleep(spec.durationMs);
          throw new Error(`boom ${tag}`);
        case 'retry':
          await sleep(spec.durationMs);
          if (job.attempt < spec.retries) throw new RetryableJobError(`again ${tag}`, { seconds: 0 });
          return job.attempt;
        case 'retryFail':
          await sleep(spec.durationMs);
          throw new RetryableJobError(`never ${tag}`, { seconds: 0 });
        case 'timeout':
          // works until its time limit aborts it
          await new Promise<void>((resolve) => {
            if (job.signal.aborted) resolve();
            else job.signal.addEventListener('abort', () => resolve(), { once: true });
          });
          throw job.signal.reason;
        case 'spawn': {
          await sleep(spec.durationMs / 2);
          const child = spec.child!;
          const h = await this.models[instance]!.withDelay({ channel: child.channel, priority: child.priority }).run(
            child.tag,
          );
          this.ids.set(child.tag, h.id);
          await sleep(spec.durationMs / 2);
          return h.id;
        }
        case 'cancelRunning': {
          // once cancelled, the job holds no capacity in the database: stop counting it first
          this.#leave(spec.channel, instance);
          held = false;
          const changed = await conveyor.jobs.cancel([job.id]);
          if (!changed.includes(job.id))
            this.errors.push(`${tag}: cancelling job ${job.id} while it ran changed ${JSON.stringify(changed)}`);
          await sleep(spec.durationMs);
          return tag;
        }
        default:
          throw new Error(`${tag}: kind ${spec.kind} has no handler`);
      }
    } finally {
      if (held) this.#leave(spec.channel, instance);
      run.endedAt = Date.now();
      this.runEnded.set(`${job.id}:${job.attempt}`, run.endedAt);
    }
  }
}

function prefixes(channel: string): string[] {
  const parts = channel.split('.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
}

type LiveMethods = {
  run: (job: JobContext, tag: string) => Promise<unknown>;
  limited: (job: JobContext, tag: string) => Promise<unknown>;
  extra?: (job: JobContext, tag: string) => Promise<unknown>;
};
/** The `live` model as each instance defines it. */
export type LiveModel = Model<Required<LiveMethods>>;

/**
 * Define the models on one instance: `live.run` and `live.limited` (time limit) everywhere; the
 * enqueuer (`extra`) also has `live.extra` and the model `ghost`, which the runners' instances lack.
 */
export function defineLive(conveyor: Conveyor, tracker: Tracker, instance: number, extra: boolean): void {
  const handle = (job: JobContext, tag: string) => tracker.handle(job, tag, instance, conveyor);
  const methods: LiveMethods = { run: handle, limited: handle };
  if (extra) {
    methods.extra = handle;
    tracker.ghost = defineGhost(conveyor, handle);
  }
  tracker.models[instance] = conveyor.model('live', methods as Required<LiveMethods>, {
    limited: { timeLimit: TIME_LIMIT_MS, retryOnTimeout: false },
  });
}

function defineGhost(conveyor: Conveyor, handle: (job: JobContext, tag: string) => Promise<unknown>) {
  return conveyor.model('ghost', { run: handle });
}
type GhostModel = Model<{ run: (job: JobContext, tag: string) => Promise<unknown> }>;

// ------------------------------------------------------------------------------------ enqueueing

/** Enqueue one step through `models[step.via]`; records each tag's job id (and identity duplicates). */
export async function enqueueStep(
  step: Step,
  tracker: Tracker,
  conveyors: Conveyor[],
  deduped: Set<string>,
): Promise<void> {
  const live = tracker.models[step.via]!;
  const enqueuer = conveyors[0]!;
  const options = (j: JobSpec, eta: boolean) => ({
    channel: j.channel,
    priority: j.priority,
    ...(eta && j.etaMs !== null ? { eta: j.etaMs } : {}),
  });
  const delayable = (j: JobSpec, eta: boolean): Delayable => {
    const d = live.delayable(options(j, eta));
    return j.kind === 'timeout' ? d.limited(j.tag) : d.run(j.tag);
  };
  const record = (j: JobSpec, h: Job) => tracker.ids.set(j.tag, h.id);
  switch (step.type) {
    case 'one': {
      const j = step.jobs[0]!;
      const opts = { ...options(j, true), ...(j.kind === 'retryFail' ? { maxRetries: 2 } : {}) };
      let h: Job;
      if (j.kind === 'unknownMethod') h = await tracker.models[0]!.withDelay(opts).extra(j.tag);
      else if (j.kind === 'unknownModel') h = await tracker.ghost!.withDelay(opts).run(j.tag);
      else if (j.kind === 'timeout') h = await live.withDelay(opts).limited(j.tag);
      else h = await live.withDelay(opts).run(j.tag);
      record(j, h);
      if (j.kind === 'cancelPending') {
        const changed = await enqueuer.jobs.cancel([h.id]);
        if (!changed.includes(h.id))
          tracker.errors.push(`${j.tag}: cancelling pending job ${h.id} changed ${JSON.stringify(changed)}`);
      }
      return;
    }
    case 'many': {
      const ds = step.jobs.map((j) => {
        const d = delayable(j, true);
        return j.kind === 'retryFail' ? d.set({ maxRetries: 2 }) : d;
      });
      const hs = await conveyors[step.via]!.delayMany(ds);
      step.jobs.forEach((j, i) => record(j, hs[i]!));
      return;
    }
    case 'chain': {
      const hs = await chain(...step.jobs.map((j) => delayable(j, false))).delay();
      step.jobs.forEach((j, i) => record(j, hs[i]!));
      return;
    }
    case 'fan': {
      const [a, b, c] = step.jobs as [JobSpec, JobSpec, JobSpec];
      const hs = await chain(group(delayable(a, false), delayable(b, false)), delayable(c, false)).delay();
      step.jobs.forEach((j, i) => record(j, hs[i]!));
      return;
    }
    case 'dup': {
      const [first, second] = step.jobs as [JobSpec, JobSpec];
      const key = `dup-${first.tag}`;
      const h1 = await live.withDelay({ ...options(first, true), identityKey: key }).run(first.tag);
      record(first, h1);
      const h2 = await live.withDelay({ ...options(second, false), identityKey: key }).run(second.tag);
      if (h2.existing) {
        if (h2.id !== h1.id)
          tracker.errors.push(`${second.tag}: an identity-key duplicate of job ${h1.id} returned job ${h2.id}`);
        deduped.add(second.tag);
      } else {
        record(second, h2);
      }
      return;
    }
  }
}

// ------------------------------------------------------------------------------------ the monitor

/** A job left waiting, or a run whose end was not written. */
export interface Stall {
  what: 'pending' | 'claimed' | 'unwritten';
  tag: string;
  id: number;
  /** Relative to the scenario's start. */
  fromMs: number;
  toMs: number;
  detail: string;
}

interface RunnerView {
  index: number;
  id: string;
  workers: number;
  running: number;
  buffered: number;
}

/**
 * Samples the jobs (admin API of the enqueuer) and the runners every `intervalMs`, and measures, per
 * job, each streak of consecutive samples in which it:
 *  - `pending`: is pending, due, first in line in every sequential channel on its path, every channel
 *    on its path has room (jobs `enqueued`/`started` below it < capacity), and some runner has a free slot;
 *  - `claimed`: is claimed (`enqueued`) and not started, while its runner has a free slot;
 *  - `unwritten`: is still `enqueued`/`started` in the database after its run ended (the outcome was
 *    never written: the job holds its channel's capacity for nothing).
 * A streak longer than {@link LIVENESS_BOUND_MS} is a stall.
 */
export class Monitor {
  readonly stalls: Stall[] = [];
  /** The longest streak seen (ms), any kind, and what it was. */
  maxStreakMs = 0;
  longest = '';
  samples = 0;
  rows: JobRow[] = [];
  readonly #streaks = new Map<string, { from: number; last: number; detail: string }>();
  readonly #enqueuer: Conveyor;
  readonly #runners: Runner[];
  readonly #tracker: Tracker;
  readonly #t0: number;
  readonly #capacity = new Map<string, number>();
  readonly #sequential: string[];

  constructor(scenario: Scenario, enqueuer: Conveyor, runners: Runner[], tracker: Tracker, t0: number) {
    this.#enqueuer = enqueuer;
    this.#runners = runners;
    this.#tracker = tracker;
    this.#t0 = t0;
    for (const c of scenario.channels) this.#capacity.set(c.name, c.capacity);
    this.#sequential = scenario.channels.filter((c) => c.sequential).map((c) => c.name);
  }

  /** Take one sample: read every job, then the runners' counts. */
  async sample(): Promise<JobRow[]> {
    const at = Date.now();
    const rows: JobRow[] = [];
    let cursor: string | null = null;
    do {
      const page = await this.#enqueuer.jobs.list({ limit: 500, cursor });
      rows.push(...page.jobs);
      cursor = page.nextCursor;
    } while (cursor);
    const runners: RunnerView[] = this.#runners.map((r, i) => ({
      index: i + 1,
      id: r.id,
      workers: r.workers,
      running: r.running,
      buffered: r.buffered,
    }));
    this.samples++;
    this.rows = rows;
    this.#judge(at, rows, runners);
    return rows;
  }

  #judge(at: number, rows: JobRow[], runners: RunnerView[]): void {
    const occupancy = new Map<string, number>();
    for (const row of rows) {
      if (row.state !== 'enqueued' && row.state !== 'started') continue;
      for (const p of prefixes(row.channel)) occupancy.set(p, (occupancy.get(p) ?? 0) + 1);
    }
    const free = runners.filter((r) => r.running < r.workers);
    const seen = new Set<string>();
    const tagOf = (row: JobRow) => String(row.args[0]);
    const hold = (key: string, row: JobRow, detail: () => string) => {
      seen.add(key);
      const s = this.#streaks.get(key);
      if (s) s.last = at;
      else this.#streaks.set(key, { from: at, last: at, detail: detail() });
      void row;
    };
    const runnersNow = () =>
      runners.map((r) => `runner${r.index} ${r.running}/${r.workers} running, ${r.buffered} buffered`).join('; ');
    const occNow = () => [...this.#capacity].map(([ch, cap]) => `${ch} ${occupancy.get(ch) ?? 0}/${cap}`).join(', ');
    for (const row of rows) {
      const tag = tagOf(row);
      if (row.state === 'pending' && free.length && this.#runnable(row, rows, occupancy, at)) {
        hold(`pending:${row.id}`, row, () => `pending and due; channels ${occNow()}; ${runnersNow()}`);
      }
      if (row.state === 'enqueued' && !this.#tracker.started.has(`${row.id}:${row.attempt}`)) {
        const holder = runners.find((r) => r.id === row.runnerId);
        if (holder && holder.running < holder.workers)
          hold(
            `claimed:${row.id}:${row.attempt}`,
            row,
            () => `claimed by runner${holder.index} and not started; ${runnersNow()}`,
          );
      }
      if (row.state === 'enqueued' || row.state === 'started') {
        const ended = this.#tracker.runEnded.get(`${row.id}:${row.attempt}`);
        if (ended !== undefined && ended < at) {
          const key = `unwritten:${row.id}:${row.attempt}`;
          seen.add(key);
          const s = this.#streaks.get(key);
          if (s) s.last = at;
          else
            this.#streaks.set(key, {
              from: ended,
              last: at,
              detail: `still ${row.state} (attempt ${row.attempt}) after its run ended; channels ${occNow()}; ${runnersNow()}`,
            });
        }
      }
      void tag;
    }
    // close the streaks that ended, record the long ones
    for (const [key, s] of this.#streaks) {
      const len = s.last - s.from;
      if (len > this.maxStreakMs) {
        this.maxStreakMs = len;
        this.longest = `${key} +${s.from - this.#t0}..+${s.last - this.#t0} ms: ${s.detail}`;
      }
      if (seen.has(key)) continue;
      this.#streaks.delete(key);
      this.#record(key, s, rows);
    }
  }

  #record(key: string, s: { from: number; last: number; detail: string }, rows: JobRow[]): void {
    if (s.last - s.from <= LIVENESS_BOUND_MS) return;
    const [what, idText] = key.split(':') as [Stall['what'], string];
    const id = Number(idText);
    const row = rows.find((r) => r.id === id);
    this.stalls.push({
      what,
      id,
      tag: row ? String(row.args[0]) : '?',
      fromMs: s.from - this.#t0,
      toMs: s.last - this.#t0,
      detail: s.detail,
    });
  }

  /** Close every open streak (at the end of the scenario). */
  finish(): void {
    for (const [key, s] of this.#streaks) this.#record(key, s, this.rows);
    this.#streaks.clear();
  }

  /** Due, first in line in its sequential channels, and room on every channel of its path. */
  #runnable(row: JobRow, rows: JobRow[], occupancy: Map<string, number>, at: number): boolean {
    if (row.eta !== null && row.eta > at) return false;
    for (const p of prefixes(row.channel)) {
      const cap = this.#capacity.get(p);
      if (cap !== undefined && (occupancy.get(p) ?? 0) >= cap) return false;
    }
    for (const seq of this.#sequential) {
      if (row.channel !== seq && !row.channel.startsWith(`${seq}.`)) continue;
      const under = rows.filter((r) => r.channel === seq || r.channel.startsWith(`${seq}.`));
      if (under.some((r) => r.state === 'failed')) return false;
      const head = under
        .filter((r) => r.state === 'pending')
        .sort((a, b) => a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id)[0];
      if (head && head.id !== row.id) return false;
    }
    return true;
  }
}
