/**
 * The events of the jobs a runner runs: emitted in this process (`conveyor.on`) and, when remote
 * events are published, sent to other processes in one message per written batch.
 * @module
 */
import { packRemoteEvents, type RemoteEvent } from '../events.ts';
import type { JobRow } from '../job/row.ts';
import type { ExecuteResult } from './executor.ts';
import type { QueuedWrite } from './queued-write.ts';
import type { RunnerContext } from './runner-context.ts';
import type { RunningJob } from './running-job.ts';

/** A runner's job events, local and remote (see the module comment). */
export class JobEvents {
  readonly #ctx: RunnerContext;
  /** The `publishEvents` option. */
  readonly #mode: boolean | 'auto';
  /** Whether completions are published as remote events now. */
  publishing: boolean;
  /** The chain of event publications (in order; awaited on stop). */
  #published: Promise<void> = Promise.resolve();
  /** Jobs whose `job.transaction()` committed: later writes for them are stale by design, not races. */
  readonly #transacted = new WeakSet<JobRow>();

  constructor(ctx: RunnerContext, mode: boolean | 'auto') {
    this.#ctx = ctx;
    this.#mode = mode;
    this.publishing = mode === true;
  }

  /** Settles once every publication so far has been sent (or has failed). */
  get published(): Promise<void> {
    return this.#published;
  }

  /** `job_started`, when someone listens. */
  started(job: JobRow): void {
    const events = this.#ctx.host.events;
    if (events.has('job_started'))
      events.emit('job_started', {
        id: job.id,
        model: job.model,
        method: job.method,
        channel: job.channel,
        attempt: job.attempt,
        runnerId: this.#ctx.id,
      });
  }

  /** `job_timed_out`: the run passed its time limit (`kind`: which limit stopped it). */
  timedOut(job: JobRow, limitMs: number, kind: string): void {
    this.#ctx.host.events.emit('job_timed_out', {
      id: job.id,
      model: job.model,
      method: job.method,
      attempt: job.attempt,
      limitMs,
      kind,
    });
  }

  /** The job's `job.transaction()` committed: it is done in the database. */
  transacted(job: JobRow): void {
    this.#transacted.add(job);
  }

  /** The end of a run whose `job.transaction()` committed: no outcome write, `job_done` once. */
  committedRunEnded(entry: RunningJob, r: ExecuteResult): void {
    const { job } = entry;
    if (r.outcome.kind !== 'done') {
      this.#ctx.host.logger.warn(
        { jobId: job.id, job: `${job.model}.${job.method}`, attempt: job.attempt, err: r.outcome.error.message },
        'the job ended with an error after its job.transaction() committed: it stays done (its transaction recorded it)',
      );
    }
    this.#done(job, entry.committedAt! - entry.startedAt);
  }

  /** `job_done`, built only when someone listens (it is emitted for every job). */
  #done(job: JobRow, durationMs: number): void {
    const ev = this.#ctx.host.events;
    if (ev.has('job_done'))
      ev.emit('job_done', {
        id: job.id,
        model: job.model,
        method: job.method,
        channel: job.channel,
        attempt: job.attempt,
        durationMs,
      });
  }

  /** A write of this runner's was stale: `job_race`, unless the job's own transaction made it so. */
  race(job: JobRow, command: string): void {
    if (this.#transacted.has(job)) return; // done by its own transaction: a later write of the run is stale by design
    this.#ctx.host.events.emit('job_race', { id: job.id, attempt: job.attempt, runnerId: this.#ctx.id, command });
  }

  /** The events (and log lines) of one written outcome. */
  written(w: QueuedWrite): void {
    const ev = this.#ctx.host.events;
    const { job, cmd } = w;
    if (cmd.kind === 'done') {
      this.#done(job, cmd.at - cmd.startedAt);
    } else if (cmd.kind === 'retry') {
      ev.emit('job_retried', {
        id: job.id,
        model: job.model,
        method: job.method,
        attempt: job.attempt,
        eta: cmd.eta,
        error: cmd.excMessage ?? '',
      });
      this.#ctx.host.logger.info(
        {
          jobId: job.id,
          job: `${job.model}.${job.method}`,
          attempt: job.attempt,
          retryIn: `${Math.round((cmd.eta - cmd.at) / 1000)}s`,
        },
        `job retried: ${cmd.excMessage ?? ''}`,
      );
    } else if (cmd.kind === 'failed') {
      ev.emit('job_failed', {
        id: job.id,
        model: job.model,
        method: job.method,
        attempt: job.attempt,
        error: cmd.excMessage ?? '',
      });
      this.#ctx.host.logger.warn(
        { jobId: job.id, job: `${job.model}.${job.method}`, attempt: job.attempt },
        `job failed: ${cmd.excName ?? 'Error'}: ${cmd.excMessage ?? ''}`,
      );
    }
  }

  /** The remote events of one written outcome, added to `out`. */
  remote(w: QueuedWrite, out: RemoteEvent[]): void {
    const { job, cmd } = w;
    const base = { runnerId: this.#ctx.id, id: job.id, model: job.model, method: job.method, attempt: job.attempt };
    if (w.timeout) out.push({ event: 'job_timed_out', ...base, limitMs: w.timeout.limitMs, kind: w.timeout.kind });
    if (cmd.kind === 'done')
      out.push({ event: 'job_done', ...base, channel: job.channel, durationMs: cmd.at - cmd.startedAt });
    else if (cmd.kind === 'retry')
      out.push({ event: 'job_retried', ...base, eta: cmd.eta, error: cmd.excMessage ?? '' });
    else if (cmd.kind === 'failed') out.push({ event: 'job_failed', ...base, error: cmd.excMessage ?? '' });
  }

  /** Publish a batch's events (one message, split under 8000 bytes), after the previous publication. */
  publish(events: RemoteEvent[]): void {
    const payloads = packRemoteEvents(events);
    this.#published = this.#published
      .then(() => this.#ctx.host.driver.publishEvents(payloads))
      .catch((err: unknown) => this.#ctx.error('publishEvents', err));
  }

  /** `publishEvents: 'auto'`: publish while some process subscribes to remote events. */
  async checkListeners(): Promise<void> {
    if (this.#mode !== 'auto') return;
    try {
      this.publishing = await this.#ctx.host.driver.eventListeners();
    } catch (err) {
      this.#ctx.error('eventListeners', err);
    }
  }
}
