/**
 * `Job`: the handle returned by `withDelay()` and `delay()`.
 * @module
 */
import { FailedJobError, InvalidStateError, JobNotFoundError } from '../errors.ts';
import type { JobRow } from './row.ts';
import type { JobState } from './states.ts';

/** What a handle needs from its Conveyor. */
export interface JobHandleHost {
  getJob(id: number): Promise<JobRow | null>;
  waitJob(id: number, options: { timeoutMs?: number; signal?: AbortSignal }): Promise<JobRow>;
  requeueJobs(ids: number[]): Promise<number[]>;
  setDoneJobs(ids: number[]): Promise<number[]>;
  cancelJobs(ids: number[], options: { cascade?: boolean }): Promise<number[]>;
}

/** A stored job. `R` is the method's result type. */
export class Job<R = unknown> {
  /** Job id. */
  readonly id: number;
  /** Job uuid. */
  readonly uuid: string;
  /** True when an open job with the same identity key was returned instead of a new one. */
  readonly existing: boolean;
  #state: JobState;
  #row: JobRow | null = null;
  readonly #host: JobHandleHost;

  constructor(
    host: JobHandleHost,
    id: number,
    uuid: string,
    state: JobState,
    existing = false,
    row: JobRow | null = null,
  ) {
    this.#host = host;
    this.id = id;
    this.uuid = uuid;
    this.#state = state;
    this.existing = existing;
    this.#row = row;
  }

  /** The state when last read (see {@link refresh}). */
  get state(): JobState {
    return this.#state;
  }

  /** The stored row when last read. */
  get row(): JobRow | null {
    return this.#row;
  }

  /** True for the handle of a call that ran inline (no-delay mode): it has no stored row. */
  get inline(): boolean {
    return this.id === 0;
  }

  /** Read the job again. @throws JobNotFoundError when it was deleted */
  async refresh(): Promise<JobRow> {
    if (this.inline && this.#row) return this.#row;
    const row = await this.#host.getJob(this.id);
    if (!row) throw new JobNotFoundError(`job ${this.id} no longer exists`);
    this.#row = row;
    this.#state = row.state;
    return row;
  }

  /**
   * Wait until the job is done, failed or cancelled; resolves with the row.
   * @throws WaitTimeoutError (code `WAIT_TIMEOUT`) when `timeoutMs` passes first
   */
  async wait(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<JobRow> {
    if (this.inline && this.#row) return this.#row;
    const row = await this.#host.waitJob(this.id, options);
    this.#row = row;
    this.#state = row.state;
    return row;
  }

  /**
   * Wait for the job and return its result.
   * @throws FailedJobError when it failed, InvalidStateError when it was cancelled, WaitTimeoutError when `timeoutMs` passes first
   */
  async result(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<R> {
    const row = await this.wait(options);
    if (row.state === 'done') return row.result as R;
    if (row.state === 'failed') {
      throw new FailedJobError(`job ${this.id} failed: ${row.excName ?? 'Error'}: ${row.excMessage ?? ''}`, {
        details: { jobId: this.id },
      });
    }
    throw new InvalidStateError(`job ${this.id} was cancelled`, { details: { jobId: this.id, state: row.state } });
  }

  /** Requeue it (back to pending, tries reset). */
  async requeue(): Promise<boolean> {
    return (await this.#host.requeueJobs([this.id])).length > 0;
  }

  /** Set it done by hand (its dependants may then run). */
  async setDone(): Promise<boolean> {
    return (await this.#host.setDoneJobs([this.id])).length > 0;
  }

  /** Cancel it; with `cascade`, its dependants too. */
  async cancel(options: { cascade?: boolean } = {}): Promise<boolean> {
    return (await this.#host.cancelJobs([this.id], options)).length > 0;
  }
}
