/**
 * The write of a run's outcome: what `outcome.ts` decided, as the finish command the database stores.
 * @module
 */
import { encodeJson } from '../internal/json.ts';
import type { RunOutcome } from '../internal/telemetry.ts';
import type { JobRow } from '../job/row.ts';
import type { JobEvents } from './job-events.ts';
import type { Outcome } from './outcome.ts';
import type { WriteQueue } from './write-queue.ts';

/**
 * Queue the write of a run's outcome (and emit `job_timed_out` when the run passed its limit).
 * A result that cannot be stored as JSON fails the run instead.
 * @param kind which limit stopped the run, when `timedOut` (`timeout`, or the process pool's kill kind).
 * @returns how the run ended (for its span).
 */
export function queueOutcome(
  writes: WriteQueue,
  events: JobEvents,
  job: JobRow,
  outcome: Outcome,
  startedAt: number,
  at: number,
  timedOut: boolean,
  limitMs: number,
  kind = 'timeout',
): RunOutcome {
  const base = { id: job.id, attempt: job.attempt, startedAt, at };
  const err = outcome.kind === 'done' ? null : outcome.error;
  const exc = err ? { excName: err.name, excMessage: err.message, excInfo: err.stack ?? null } : null;
  if (timedOut) events.timedOut(job, limitMs, kind);
  if (outcome.kind === 'done') {
    let result: string | null;
    try {
      result = outcome.result === undefined ? null : encodeJson(outcome.result, 'result');
    } catch (e) {
      const error = e as Error;
      writes.push({
        cmd: {
          kind: 'failed',
          ...base,
          outcome: 'failed',
          excName: error.name,
          excMessage: error.message,
          excInfo: error.stack ?? null,
        },
        job,
        outcome: { kind: 'failed', reason: 'error', error },
      });
      return 'failed';
    }
    writes.push({ cmd: { kind: 'done', ...base, result, hasDependants: job.hasDependants }, job, outcome });
    return 'done';
  } else if (outcome.kind === 'retry') {
    writes.push({
      cmd: {
        kind: 'retry',
        ...base,
        eta: at + outcome.delayMs,
        countTry: outcome.countTry,
        outcome: timedOut ? 'timed_out' : 'retried',
        ...exc!,
      },
      job,
      outcome,
      ...(timedOut ? { timeout: { limitMs, kind } } : {}),
    });
    return timedOut ? 'timed_out' : 'retried';
  } else {
    const message =
      outcome.reason === 'max_retries' ? `Max. retries (${job.maxRetries}) reached: ${err!.message}` : err!.message;
    writes.push({
      cmd: { kind: 'failed', ...base, outcome: timedOut ? 'timed_out' : 'failed', ...exc!, excMessage: message },
      job,
      outcome,
      ...(timedOut ? { timeout: { limitMs, kind } } : {}),
    });
    return timedOut ? 'timed_out' : 'failed';
  }
}
