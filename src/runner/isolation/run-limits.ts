/**
 * The limits of a run in a worker process: when one is passed (real time, CPU time, hard and soft
 * memory, the request count), and what a run stopped by one ends as (a `TimeoutError` outcome decided
 * by the job's own retry rules, and its timeout-log row).
 * @module
 */
import { TimeoutError } from '../../errors.ts';
import type { TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import { decideFailure } from '../outcome.ts';
import type { Outcome } from '../outcome.ts';
import { HAS_PROC, formatBytes, readCpuMs, readRssBytes } from './limits.ts';
import type { ProcessPoolLimits } from './pool-options.ts';
import type { KillKind, LimitKind, Run, Worker } from './pool-records.ts';

/** The pool's limits with their defaults (0 = no limit; SIGKILL 1500 ms after SIGTERM). */
export function resolveLimits(l: ProcessPoolLimits = {}): Required<ProcessPoolLimits> {
  return {
    timeRealMs: l.timeRealMs ?? 0,
    timeCpuMs: l.timeCpuMs ?? 0,
    memorySoftBytes: l.memorySoftBytes ?? 0,
    memoryHardBytes: l.memoryHardBytes ?? 0,
    graceMs: l.graceMs ?? 1500,
    requests: l.requests ?? 0,
  };
}

/** A limit a run passed: which, its threshold (ms, 0 for memory), and the message that says so. */
export interface PassedLimit {
  kind: LimitKind;
  thresholdMs: number;
  message: string;
}

/**
 * Sample a busy worker's CPU time and memory into its run; returns the limit the run passed, if any
 * (the hard memory limit first: it kills at once).
 */
export function sampleRun(w: Worker, run: Run, limits: Required<ProcessPoolLimits>): PassedLimit | null {
  const hard = limits.memoryHardBytes;
  const cpuLimit = limits.timeCpuMs;
  const rss = HAS_PROC ? readRssBytes(w.pid) : w.lastRss;
  const cpu = HAS_PROC ? readCpuMs(w.pid) : w.lastCpuMs;
  if (rss !== null) run.peakRss = Math.max(run.peakRss, rss);
  if (cpu !== null && run.cpuBase !== null) run.cpuMs = cpu - run.cpuBase;
  const what = `${run.job.model}.${run.job.method} (job ${run.job.id})`;
  if (hard > 0 && rss !== null && rss > hard) {
    return {
      kind: 'memory_limit',
      thresholdMs: 0,
      message: `${what}: its worker process used ${formatBytes(rss)}, above the hard memory limit of ${formatBytes(hard)}, and was killed`,
    };
  }
  if (cpuLimit > 0 && run.cpuMs >= cpuLimit) {
    return {
      kind: 'cpu_limit',
      thresholdMs: cpuLimit,
      message: `${what} used ${Math.round(run.cpuMs)} ms of CPU time in ${Math.round(performance.now() - run.t0)} ms, past its CPU time limit of ${cpuLimit} ms`,
    };
  }
  return null;
}

/**
 * Why a worker that finished a run should be recycled rather than given another (its memory is above
 * the soft limit, or the hard one when there is no soft limit: the next job would pay for it; or it has
 * run `requests` jobs), as a log line; null to keep it.
 */
export function recycleReason(
  w: Worker,
  limits: Required<ProcessPoolLimits>,
): { fields: Record<string, unknown>; message: string } | null {
  const rss = (HAS_PROC ? readRssBytes(w.pid) : w.lastRss) ?? 0;
  const soft = limits.memorySoftBytes || limits.memoryHardBytes;
  if (soft > 0 && rss > soft) {
    return {
      fields: { pid: w.pid, rss, limit: soft },
      message: `worker process memory ${formatBytes(rss)} is above the ${limits.memorySoftBytes ? 'soft' : 'hard'} limit of ${formatBytes(soft)}: recycling it`,
    };
  }
  if (limits.requests > 0 && w.jobs >= limits.requests) {
    return {
      fields: { pid: w.pid, jobs: w.jobs, limit: limits.requests },
      message: `worker process ${w.pid} has run ${w.jobs} jobs (limitRequest): recycling it`,
    };
  }
  return null;
}

/**
 * What a run stopped by a limit ends as: a `TimeoutError` (with the limit's `kind`) decided by the job
 * function's retry rules, and the timeout-log row that records it.
 * @param durationMs how long the run had been going.
 */
export function stoppedRunOutcome(
  run: Run,
  killed: KillKind,
  graceMs: number,
  durationMs: number,
): { outcome: Outcome; entry: TimeoutLogEntryInput } {
  const limit = run.limit!;
  const message =
    killed === 'hard_kill'
      ? `${limit.message}; its worker process did not stop within ${graceMs} ms of SIGTERM and was killed (SIGKILL)`
      : limit.message;
  const error = new TimeoutError(message, limit.thresholdMs);
  (error as TimeoutError & { kind?: KillKind }).kind = killed;
  const settings = run.settings ?? run.opts.settings ?? { retryPattern: null, retryOnTimeout: true };
  const outcome = decideFailure(error, {
    attempt: run.job.attempt,
    maxRetries: run.job.maxRetries,
    retryPattern: settings.retryPattern,
    retryOnTimeout: settings.retryOnTimeout,
  });
  return {
    outcome,
    entry: {
      operation: `${run.job.model}.${run.job.method}`,
      kind: killed,
      model: run.job.model,
      method: run.job.method,
      jobId: run.job.id || null,
      thresholdMs: limit.thresholdMs,
      durationMs: killed === 'cpu_limit' ? Math.round(run.cpuMs) : durationMs,
      exceeded: true,
      error: message,
    },
  };
}
