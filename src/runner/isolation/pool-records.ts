/**
 * The process pool's records: a worker process and a run as the pool tracks them, and what a run and a
 * worker look like from outside.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import type { ExecuteResult } from '../executor.ts';
import type { Outcome } from '../outcome.ts';
import type { PoolExecuteOptions, RunSettings } from './pool-options.ts';
import type { WireJob } from './wire.ts';

/** Why the pool stopped a run (the timeout-log kind). */
export type KillKind = 'timeout' | 'cpu_limit' | 'memory_limit' | 'hard_kill';

/** The limits the pool checks while a run is going (the others are decided when it ends). */
export type LimitKind = 'timeout' | 'cpu_limit' | 'memory_limit';

/** The end of one run in a worker process. */
export interface PoolExecuteResult extends ExecuteResult {
  /** Which limit stopped the run, if one did. */
  killed: KillKind | null;
  /** The worker process that ran it (null when it never reached one). */
  pid: number | null;
}

/** A worker process as seen from the pool. */
export interface PoolWorkerInfo {
  pid: number;
  state: 'starting' | 'idle' | 'busy' | 'retiring';
  /** Jobs it has been given. */
  jobs: number;
}

/** A worker process as the pool tracks it. */
export interface Worker extends PoolWorkerInfo {
  child: ChildProcess;
  /** The run it has now. */
  run: Run | null;
  /** Settles once it has loaded the module (rejects if it could not). */
  ready: Promise<void>;
  /** Settles once it has exited. */
  exited: Promise<void>;
  onReady(): void;
  onFailed(err: Error): void;
  /** Why it could not start, as it said. */
  fatal: Error | null;
  alive: boolean;
  /** It was sent SIGKILL (a run stopped by its time limit then ends as `hard_kill`). */
  sigkilled: boolean;
  /** SIGKILL after the grace period that follows a SIGTERM. */
  killTimer: NodeJS.Timeout | null;
  /** The last CPU time and RSS the worker reported itself (where `/proc` cannot be read). */
  lastCpuMs: number | null;
  lastRss: number | null;
}

/** One run in the pool, from `execute()` to its outcome. */
export interface Run {
  job: WireJob;
  opts: PoolExecuteOptions;
  resolve(r: PoolExecuteResult): void;
  startedAt: number;
  /** Its real-time limit (ms; 0 = none). */
  limitMs: number;
  worker: Worker | null;
  /** When it was sent to its worker (`performance.now()`). */
  t0: number;
  /** The worker's CPU time when the run started. */
  cpuBase: number | null;
  cpuMs: number;
  peakRss: number;
  /** The job function's retry rules, as the worker reported them. */
  settings: RunSettings | null;
  /** The limit that fired, once one did. */
  limit: { kind: LimitKind; thresholdMs: number; message: string } | null;
  decided: boolean;
  timer: NodeJS.Timeout | null;
  onAbort: (() => void) | null;
}

/** A new run record, not yet sent to a worker. */
export function newRun(
  job: WireJob,
  opts: PoolExecuteOptions,
  resolve: (r: PoolExecuteResult) => void,
  startedAt: number,
  limitMs: number,
): Run {
  return {
    job: {
      id: job.id,
      uuid: job.uuid,
      model: job.model,
      method: job.method,
      records: job.records,
      args: job.args,
      attempt: job.attempt,
      maxRetries: job.maxRetries,
      context: job.context,
      checkpoint: job.checkpoint,
    },
    opts,
    resolve,
    startedAt,
    limitMs: limitMs > 0 && Number.isFinite(limitMs) ? limitMs : 0,
    worker: null,
    t0: 0,
    cpuBase: null,
    cpuMs: 0,
    peakRss: 0,
    settings: null,
    limit: null,
    decided: false,
    timer: null,
    onAbort: null,
  };
}

/** The outcome of a run that failed with `error`. */
export function failed(error: Error): Outcome {
  return { kind: 'failed', reason: 'error', error };
}
