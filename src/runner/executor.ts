/**
 * Running one job method in the event loop (isolation `inline`): context restored, signal wired,
 * real-time limit enforced. At the limit the signal aborts and the run ends as timed out at once,
 * freeing its slot even if the code ignores the signal.
 * @module
 */
import { TimeoutError, UnknownMethodError, UnknownModelError } from '../errors.ts';
import type { ContextApi } from '../context.ts';
import type { Logger } from '../internal/logger.ts';
import type { JobContext } from '../job/context.ts';
import { runAsJob, type CurrentJob } from '../job/current.ts';
import type { JobProgress, JobRow } from '../job/row.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { ModelDefinition } from '../model.ts';
import { decideFailure, type Outcome } from './outcome.ts';

/** What one run needs. */
export interface ExecuteParams {
  job: Pick<JobRow, 'id' | 'uuid' | 'model' | 'method' | 'records' | 'args' | 'attempt' | 'maxRetries' | 'context' | 'checkpoint'>;
  models: ReadonlyMap<string, ModelDefinition>;
  /** Real-time limit (ms); 0 or Infinity = none. */
  limitMs: number;
  logger: Logger;
  context: ContextApi;
  /** Aborts the run from outside (cancel, shutdown). */
  signal?: AbortSignal;
  persistProgress(progress: JobProgress): Promise<void>;
  persistCheckpoint(value: unknown): Promise<void>;
  recordTimeout(entry: TimeoutLogEntryInput): Promise<void>;
  now(): number;
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
export function resolveMethod(models: ReadonlyMap<string, ModelDefinition>, model: string, method: string): ModelDefinition['methods'][string] {
  const def = models.get(model);
  if (!def) {
    throw new UnknownModelError(`unknown model '${model}': no model of that name is defined in this Conveyor (defined: ${[...models.keys()].join(', ') || 'none'})`, { details: { model } });
  }
  const fn = def.methods[method];
  if (!fn) {
    throw new UnknownMethodError(`model '${model}' has no method '${method}' (methods: ${Object.keys(def.methods).join(', ')})`, { details: { model, method } });
  }
  return fn;
}

/** Run one job method to its end. Never throws: every ending is an {@link Outcome}. */
export async function executeJob(p: ExecuteParams): Promise<ExecuteResult> {
  const startedAt = p.now();
  const def = p.models.get(p.job.model);
  const settings = def?.settings.get(p.job.method);
  const outcomeInput = {
    attempt: p.job.attempt,
    maxRetries: p.job.maxRetries,
    retryPattern: settings?.retryPattern ?? null,
    retryOnTimeout: settings?.retryOnTimeout ?? true,
  };
  let fn;
  try {
    fn = resolveMethod(p.models, p.job.model, p.job.method);
  } catch (err) {
    return { outcome: { kind: 'failed', reason: 'setup', error: err as Error }, startedAt, endedAt: p.now(), timedOut: false };
  }
  const controller = new AbortController();
  const onOuterAbort = () => controller.abort(p.signal!.reason);
  if (p.signal) {
    if (p.signal.aborted) controller.abort(p.signal.reason);
    else p.signal.addEventListener('abort', onOuterAbort, { once: true });
  }
  let checkpoint = p.job.checkpoint;
  let logger: Logger | undefined;
  const ctx: JobContext & CurrentJob = {
    id: p.job.id,
    uuid: p.job.uuid,
    model: p.job.model,
    method: p.job.method,
    records: p.job.records,
    attempt: p.job.attempt,
    maxRetries: p.job.maxRetries,
    context: p.job.context ?? {},
    signal: controller.signal,
    // made on first use: most jobs never log, and this runs once per job on the hot path
    get logger() {
      return (logger ??= p.logger.child({ jobId: p.job.id, job: `${p.job.model}.${p.job.method}` }));
    },
    progress: (done, total, message) => p.persistProgress({ done, total: total ?? null, message: message ?? null, at: p.now() }),
    checkpoint: {
      get: <T>() => checkpoint as T | undefined,
      set: async (value: unknown) => {
        await p.persistCheckpoint(value);
        checkpoint = value;
      },
    },
    recordTimeout: (entry) => p.recordTimeout({ model: p.job.model, method: p.job.method, jobId: p.job.id || null, ...entry }),
  };
  let timer: NodeJS.Timeout | undefined;
  let timedOut = false;
  const limit = p.limitMs > 0 && Number.isFinite(p.limitMs) ? p.limitMs : 0;
  try {
    const run = Promise.resolve().then(() => p.context.runExactly(p.job.context ?? {}, () => runAsJob(ctx, () => fn(ctx, ...p.job.args))));
    const racers: Promise<unknown>[] = [run];
    if (limit) {
      racers.push(new Promise((_, reject) => {
        timer = setTimeout(() => {
          timedOut = true;
          const err = new TimeoutError(`${p.job.model}.${p.job.method} (job ${p.job.id}) ran past its time limit of ${limit} ms`, limit);
          controller.abort(err);
          reject(err);
        }, limit);
      }));
    }
    if (p.signal) {
      racers.push(new Promise((_, reject) => {
        const fail = () => reject(p.signal!.reason instanceof Error ? p.signal!.reason : new Error(String(p.signal!.reason)));
        if (p.signal!.aborted) fail();
        else p.signal!.addEventListener('abort', fail, { once: true });
      }));
    }
    run.catch(() => { /* a run that loses the race may still reject later */ });
    const result = await Promise.race(racers);
    return { outcome: { kind: 'done', result }, startedAt, endedAt: p.now(), timedOut: false };
  } catch (err) {
    const endedAt = p.now();
    if (timedOut) {
      await p.recordTimeout({ operation: `${p.job.model}.${p.job.method}`, kind: 'timeout', model: p.job.model, method: p.job.method,
        jobId: p.job.id || null, thresholdMs: limit, durationMs: endedAt - startedAt, exceeded: true, error: (err as Error).message }).catch(() => {});
    }
    return { outcome: decideFailure(err, outcomeInput), startedAt, endedAt, timedOut };
  } finally {
    if (timer) clearTimeout(timer);
    p.signal?.removeEventListener('abort', onOuterAbort);
  }
}
