/**
 * Running one job method in the event loop (isolation `inline`): context restored, signal wired,
 * real-time limit enforced. At the limit the signal aborts and the run ends as timed out at once,
 * freeing its slot even if the code ignores the signal.
 * @module
 */
import { InvalidStateError, TimeoutError, UnknownMethodError, UnknownModelError, toError } from '../errors.ts';
import { encodeJson } from '../internal/json.ts';
import type { ContextApi } from '../context.ts';
import type { Logger } from '../internal/logger.ts';
import type { JobContext } from '../job/context.ts';
import { runAsJob, type CurrentJob } from '../job/current.ts';
import type { JobProgress, JobRow } from '../job/row.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { decideFailure, type Outcome } from './outcome.ts';

/** What one run needs. */
export interface ExecuteParams {
  job: Pick<
    JobRow,
    'id' | 'uuid' | 'model' | 'method' | 'records' | 'args' | 'attempt' | 'maxRetries' | 'context' | 'checkpoint'
  >;
  models: ReadonlyMap<string, ModelDefinition>;
  /** Real-time limit (ms); 0 or Infinity = none. */
  limitMs: number;
  logger: Logger;
  context: ContextApi;
  /** Aborts the run from outside (cancel, shutdown). */
  signal?: AbortSignal;
  /** The job's abort handle, when the caller keeps one per job (the runner); else the run makes its own. */
  abort?: RunAbort;
  persistProgress(progress: JobProgress): Promise<void>;
  persistCheckpoint(value: unknown): Promise<void>;
  recordTimeout(entry: TimeoutLogEntryInput): Promise<void>;
  /**
   * `job.transaction(fn)`: run `fn` in the job's own transaction (see `Driver.jobTransaction`); `signal`
   * is the run's. Resolves to `fn`'s value once committed.
   */
  transaction(fn: (db: unknown) => unknown, signal: AbortSignal): Promise<unknown>;
  now(): number;
}

/** The result a `job.transaction()` stores, as JSON text (like a handler's result). */
export function encodeTransactionResult(value: unknown): string | null {
  return value === undefined ? null : encodeJson(value, 'result');
}

/** The end of one run. */
export interface ExecuteResult {
  outcome: Outcome;
  startedAt: number;
  endedAt: number;
  /** The limit fired. */
  timedOut: boolean;
}

/** Find the method of a job, or explain why it cannot run. */
export function resolveMethod(
  models: ReadonlyMap<string, ModelDefinition>,
  model: string,
  method: string,
): ModelDefinition['methods'][string] {
  const def = models.get(model);
  if (!def) {
    throw new UnknownModelError(
      `unknown model '${model}': no model of that name is defined in this Conveyor (defined: ${[...models.keys()].join(', ') || 'none'})`,
      { details: { model } },
    );
  }
  const fn = def.methods[method];
  if (!fn) {
    throw new UnknownMethodError(
      `model '${model}' has no method '${method}' (methods: ${Object.keys(def.methods).join(', ')})`,
      { details: { model, method } },
    );
  }
  return fn;
}

/**
 * A job's abort handle, for a caller that keeps one per job (the runner): aborting it aborts the job's
 * signal and ends the run at once, without an event listener per job.
 */
export class RunAbort {
  /** The controller whose signal the job sees. */
  readonly controller = new AbortController();
  #end: ((reason: Error) => void) | null = null;
  /** Abort the job (cancel, shutdown, time limit): its signal fires and its run ends as failed with `reason`. */
  abort(reason: Error): void {
    this.controller.abort(reason);
    this.#end?.(reason);
  }
  /** @internal The executor's way to end the run. */
  bind(end: ((reason: Error) => void) | null): void {
    this.#end = end;
  }
}

/**
 * What a running job sees (`JobContext`, and `currentJob()`): one object per run, its methods on the
 * prototype (a job runs thousands of times a second; closures per run were a visible share of the GC).
 */
class RunContext implements JobContext, CurrentJob {
  readonly id: number;
  readonly uuid: string;
  readonly model: string;
  readonly method: string;
  readonly records: readonly unknown[];
  readonly attempt: number;
  readonly maxRetries: number;
  readonly context: Readonly<Record<string, unknown>>;
  readonly signal: AbortSignal;
  /** What the run was given: the job, its callbacks, the clock. */
  readonly #params: ExecuteParams;
  #logger: Logger | undefined;
  #value: unknown;
  #checkpoint: JobContext['checkpoint'] | undefined;
  #transacted = false;

  constructor(p: ExecuteParams, signal: AbortSignal) {
    const job = p.job;
    this.id = job.id;
    this.uuid = job.uuid;
    this.model = job.model;
    this.method = job.method;
    this.records = job.records;
    this.attempt = job.attempt;
    this.maxRetries = job.maxRetries;
    this.context = job.context ?? {};
    this.signal = signal;
    this.#params = p;
    this.#value = job.checkpoint;
  }

  // made on first use: most jobs never log
  get logger(): Logger {
    return (this.#logger ??= this.#params.logger.child({ jobId: this.id, job: `${this.model}.${this.method}` }));
  }

  get checkpoint(): JobContext['checkpoint'] {
    return (this.#checkpoint ??= {
      get: <T>() => this.#value as T | undefined,
      set: async (value: unknown) => {
        await this.#params.persistCheckpoint(value);
        this.#value = value;
      },
    });
  }

  /** The last progress write asked for: writes go one after another, so a stale report never lands last. */
  #progressWrite: Promise<void> = Promise.resolve();

  progress(done: number, total?: number, message?: string): Promise<void> {
    const progress = { done, total: total ?? null, message: message ?? null, at: this.#params.now() };
    const write = this.#progressWrite.then(() => this.#params.persistProgress(progress));
    this.#progressWrite = write.catch(() => {});
    return write;
  }

  /** Resolves when every progress write asked for so far has ended (reports made without awaiting, e.g. by ProgressTracker). */
  progressSettled(): Promise<void> {
    return this.#progressWrite;
  }

  recordTimeout(entry: TimeoutLogEntryInput): Promise<void> {
    return this.#params.recordTimeout({ model: this.model, method: this.method, jobId: this.id || null, ...entry });
  }

  async transaction<T, Db = unknown>(fn: (db: Db) => T): Promise<Awaited<T>> {
    if (typeof fn !== 'function')
      throw new InvalidStateError(`job.transaction(): expected a function, got ${typeof fn}`);
    if (this.#transacted) {
      throw new InvalidStateError(
        `job.transaction() was already called in this run of ${this.model}.${this.method} (job ${this.id}): it records the job as done, so it runs at most once per run; put all the job's writes in one callback`,
        { details: { jobId: this.id } },
      );
    }
    this.#transacted = true;
    // a run already ended (time limit, cancel, shutdown) must not commit its job as done behind the runner's back
    if (this.signal.aborted) throw toError(this.signal.reason);
    return (await this.#params.transaction(fn as (db: unknown) => unknown, this.signal)) as Awaited<T>;
  }
}

/** Run one job method to its end. Never throws: every ending is an {@link Outcome}. */
export async function executeJob(p: ExecuteParams): Promise<ExecuteResult> {
  const startedAt = p.now();
  const def = p.models.get(p.job.model);
  const settings = def?.settings.get(p.job.method);
  let fn: ReturnType<typeof resolveMethod>;
  try {
    fn = resolveMethod(p.models, p.job.model, p.job.method);
  } catch (err) {
    return {
      outcome: { kind: 'failed', reason: 'setup', error: err as Error },
      startedAt,
      endedAt: p.now(),
      timedOut: false,
    };
  }
  const handle = p.abort ?? new RunAbort();
  const onOuterAbort = () => handle.abort(toError(p.signal!.reason));
  if (p.signal) {
    if (p.signal.aborted) onOuterAbort();
    else p.signal.addEventListener('abort', onOuterAbort, { once: true });
  }
  const ctx = new RunContext(p, handle.controller.signal);
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const limit = p.limitMs > 0 && Number.isFinite(p.limitMs) ? p.limitMs : 0;
  try {
    const args = p.job.args;
    const call = () => runAsJob(ctx, () => fn(ctx, ...args));
    const run = Promise.resolve().then(() =>
      p.job.context === null && p.context.isEmpty() ? call() : p.context.runExactly(p.job.context ?? {}, call),
    );
    // One guard for every early end (time limit, cancel, shutdown): the slot is freed even if the code ignores its signal.
    const guard = new Promise<never>((_, reject) => {
      const signal = handle.controller.signal;
      if (signal.aborted) reject(toError(signal.reason));
      else handle.bind(reject);
      if (limit) {
        timer = setTimeout(() => {
          timedOut = true;
          handle.abort(
            new TimeoutError(
              `${p.job.model}.${p.job.method} (job ${p.job.id}) ran past its time limit of ${limit} ms`,
              limit,
            ),
          );
        }, limit);
      }
    });
    run.catch(() => {
      /* a run that loses the race may still reject later */
    });
    const result = await Promise.race([run, guard]);
    // the job's last progress reports are stored before it is recorded as done
    await Promise.race([ctx.progressSettled(), guard]).catch(() => {});
    return { outcome: { kind: 'done', result }, startedAt, endedAt: p.now(), timedOut: false };
  } catch (err) {
    const endedAt = p.now();
    if (timedOut) {
      await p
        .recordTimeout({
          operation: `${p.job.model}.${p.job.method}`,
          kind: 'timeout',
          model: p.job.model,
          method: p.job.method,
          jobId: p.job.id || null,
          thresholdMs: limit,
          durationMs: endedAt - startedAt,
          exceeded: true,
          error: (err as Error).message,
        })
        .catch(() => {});
    }
    return {
      outcome: decideFailure(err, {
        attempt: p.job.attempt,
        maxRetries: p.job.maxRetries,
        retryPattern: settings?.retryPattern ?? null,
        retryOnTimeout: settings?.retryOnTimeout ?? true,
      }),
      startedAt,
      endedAt,
      timedOut,
    };
  } finally {
    if (timer) clearTimeout(timer);
    handle.bind(null);
    p.signal?.removeEventListener('abort', onOuterAbort);
  }
}
