/**
 * A job recorded by the trap: what would have been stored, with the state it goes through when the
 * trap performs it, and the handle the delaying code holds on it.
 * @module
 */
import { randomUUID } from 'node:crypto';
import { InvalidStateError } from '../errors.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import type { JobRow } from '../job/row.ts';
import { FINAL_STATES, type JobState } from '../job/states.ts';
import { formatCall } from './format-call.ts';
import type { JobProperties } from './properties.ts';

/** One delayed call, as recorded (identity duplicates included). */
export interface TrappedCall {
  /** The model name, e.g. `res.partner`. */
  readonly model: string;
  /** The job method's name. */
  readonly method: string;
  /** The record ids the call was made on. */
  readonly records: readonly unknown[];
  /** The method's arguments, after the job context. */
  readonly args: readonly unknown[];
  /** The job's properties, resolved as the real enqueue resolves them. */
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

/** What a trapped job's handle asks of its trap; each answers whether the job changed. */
export interface TrappedJobActions {
  /** Put a failed or cancelled job back in the enqueued list. */
  requeue(job: TrappedJob): boolean;
  /** Mark a waiting or failed job done without running it. */
  setDone(job: TrappedJob): boolean;
  /** Cancel a job not done, with its dependants when `cascade`. */
  cancel(job: TrappedJob, cascade: boolean): boolean;
}

/** A job recorded by the trap: what would have been stored. */
export class TrappedJob {
  /** A fresh uuid, as the stored job would have. */
  readonly uuid = randomUUID();
  /** The model name, e.g. `res.partner`. */
  readonly model: string;
  /** The job method's name. */
  readonly method: string;
  /** The record ids the call was made on. */
  readonly records: readonly unknown[];
  /** The method's arguments, after the job context. */
  readonly args: readonly unknown[];
  /** The job's properties, resolved as the real enqueue resolves them. */
  readonly properties: Readonly<JobProperties>;
  /** Shared by the jobs of one graph (a graph with edges); null for a lone job. */
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
  readonly #actions: TrappedJobActions;

  /** @internal */
  constructor(actions: TrappedJobActions, call: Omit<TrappedCall, 'existing' | 'job'>, state: JobState) {
    this.#actions = actions;
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
        if (FINAL_STATES.includes(this.#state)) return this.row();
        throw new InvalidStateError(
          `${this.toString()} was recorded by trapJobs() and has not run: call trap.performEnqueuedJobs() first`,
          { details: { state: this.#state } },
        );
      },
      requeueJobs: async () => (this.#actions.requeue(this) ? [0] : []),
      setDoneJobs: async () => (this.#actions.setDone(this) ? [0] : []),
      cancelJobs: async (_ids, options) => (this.#actions.cancel(this, options.cascade ?? false) ? [0] : []),
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
