/**
 * Claims of jobs this runner already holds.
 *
 * A claim that hands this runner a job it still holds means the claim that gave it the job before is
 * gone: a PostgreSQL crash forgets a claim committed asynchronously (its attempt increment with it),
 * and a rescue or a requeue may give an `enqueued` job its try back. With the same attempt, the new
 * claim has the same fence `(id, attempt, runner)` as the old one, so the run this runner already has
 * (running, buffered, or finished with its outcome not yet written) completes the new claim: the
 * claimed copy is dropped, and the job does not run twice. A run of an older attempt has lost its
 * lease (its writes are stale): it is aborted and the new claim runs.
 * @module
 */
import { JobLeaseLostError } from '../errors.ts';
import type { JobRow } from '../job/row.ts';
import type { JobEvents } from './job-events.ts';
import type { RunnerContext } from './runner-context.ts';
import type { WriteQueue } from './write-queue.ts';

/** The claimed jobs to accept: `jobs` minus those this runner holds already (see the module comment). */
export function absorbReclaims(
  ctx: RunnerContext,
  writes: WriteQueue,
  events: JobEvents,
  jobs: readonly JobRow[],
): readonly JobRow[] {
  // the common case, a claim of jobs this runner does not hold: one pass of lookups, no allocation
  let queued: Set<number> | null = null;
  const held = (id: number): boolean => {
    if (ctx.running.has(id) || ctx.bufferedIds.has(id) || writes.sent.has(id)) return true;
    // outcomes queued and not yet sent are flushed within one turn of the event loop, unless writes are
    // failing: then they wait for the database with the claims, and a claim may come back first
    if (!writes.failing || !writes.queued.length) return false;
    queued ??= new Set(writes.queued.map((w) => w.cmd.id));
    return queued.has(id);
  };
  let any = false;
  for (const job of jobs)
    if (held(job.id)) {
      any = true;
      break;
    }
  if (!any) return jobs;
  const replaced = new Set<number>();
  const out: JobRow[] = [];
  for (const job of jobs) {
    const old = ctx.running.get(job.id);
    if (old && old.job.attempt === job.attempt) {
      reclaimed(ctx, job, 'running');
      continue;
    }
    if (old) {
      old.released = true;
      ctx.running.delete(job.id);
      old.abort.abort(
        new JobLeaseLostError(
          `job ${job.id} was claimed again with attempt ${job.attempt}: this run of attempt ${old.job.attempt} has lost its lease`,
        ),
      );
      events.race(old.job, 'claimed again');
    }
    if (ctx.bufferedIds.has(job.id))
      replaced.add(job.id); // the new claim's copy replaces the buffered one
    else if (writes.attemptOf(job.id) === job.attempt) {
      reclaimed(ctx, job, 'finished, its outcome being written');
      continue;
    }
    out.push(job);
  }
  if (replaced.size) ctx.buffer = ctx.buffer.filter((j) => !replaced.has(j.id));
  return out;
}

function reclaimed(ctx: RunnerContext, job: JobRow, what: string): void {
  ctx.host.logger.warn(
    { jobId: job.id, attempt: job.attempt, runnerId: ctx.id },
    `a job this runner holds (${what}) was claimed again: its previous claim was lost (e.g. by a database crash); the run it has completes the new claim`,
  );
}
