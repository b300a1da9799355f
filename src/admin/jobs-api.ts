/**
 * `conveyor.jobs`: the admin API on stored jobs (get, list, count, requeue, set done, cancel, graph,
 * explain, wait, prune), which the CLI and the dashboard use and nothing else.
 * @module
 */
import type {
  Driver,
  JobCountKey,
  JobCountRow,
  JobFilter,
  JobGraph,
  JobListParams,
  JobPage,
} from '../drivers/driver.ts';
import { ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import { resolveRelatedAction, type RelatedActionView } from '../job/related-action.ts';
import type { JobAttempt, JobRow } from '../job/row.ts';
import type { ModelDefinition } from '../model/definition.ts';
import type { WaitOptions } from './wait-job.ts';

/** The admin API on jobs (the CLI and the dashboard use nothing else). */
export interface JobsApi {
  /** A job by id or uuid, or null. */
  get(idOrUuid: number | string): Promise<JobRow | null>;
  /** A handle on a stored job. */
  handle(id: number): Promise<Job | null>;
  /** Keyset-paged listing. */
  list(params?: Partial<JobListParams>): Promise<JobPage>;
  /** Grouped counts. */
  count(params?: JobFilter & { groupBy?: readonly JobCountKey[] }): Promise<JobCountRow[]>;
  /** Back to pending; returns the ids changed. */
  requeue(ids: readonly number[]): Promise<number[]>;
  /** Set done by hand; returns the ids changed. */
  setDone(ids: readonly number[]): Promise<number[]>;
  /** Cancel; with `cascade`, dependants too. Returns the ids changed. */
  cancel(ids: readonly number[], options?: { cascade?: boolean }): Promise<number[]>;
  /** Past runs that did not end in done. */
  attempts(id: number): Promise<JobAttempt[]>;
  /** Direct parents and children. */
  dependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }>;
  /** Nodes and edges of a graph. */
  graph(graphUuid: string): Promise<JobGraph | null>;
  /** A plain sentence saying why the job is not running (or what it is doing). */
  explain(id: number): Promise<string>;
  /** The related action of a job (its job function's, by default its records); null when disabled or unknown. */
  relatedAction(id: number): Promise<RelatedActionView | null>;
  /** Wait until a job is done, failed or cancelled. @throws WaitTimeoutError (code `WAIT_TIMEOUT`) when `timeoutMs` passes first */
  wait(id: number, options?: WaitOptions): Promise<JobRow>;
  /** Delete done/cancelled jobs older than `days`. */
  prune(options?: { days?: number; states?: readonly ('done' | 'cancelled' | 'failed')[] }): Promise<number>;
}

/** What {@link createJobsApi} needs from its Conveyor. */
export interface JobsApiHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly models: ReadonlyMap<string, ModelDefinition>;
  /** What the job handles it returns act through. */
  readonly jobHost: JobHandleHost;
  /** Why a job is not running (admin/explain.ts). */
  explain(id: number): Promise<string>;
  /** Wait for a final state (admin/wait-job.ts). */
  wait(id: number, options?: WaitOptions): Promise<JobRow>;
}

/** Validate job ids given to an admin action. @throws ValidationError unless an array of positive integers */
function jobIds(value: unknown, what: string): number[] {
  if (!Array.isArray(value))
    throw new ValidationError(`${what}: expected an array of job ids (positive integers), got ${describeValue(value)}`);
  const bad = value.findIndex((v) => !Number.isInteger(v) || v < 1);
  if (bad >= 0)
    throw new ValidationError(
      `${what}: expected job ids (positive integers), got ${describeValue(value[bad])} at index ${bad}`,
    );
  return value as number[];
}

/** Build `conveyor.jobs`. */
export function createJobsApi(host: JobsApiHost): JobsApi {
  const { driver } = host;
  const now = () => host.clock.now();
  return {
    get: (idOrUuid) => driver.jobGet(idOrUuid),
    handle: async (id) => {
      const row = await driver.jobGet(id);
      return row ? new Job(host.jobHost, row.id, row.uuid, row.state, false, row) : null;
    },
    list: (params = {}) => driver.jobList({ ...params, limit: params.limit ?? 50 }),
    count: (params = {}) => driver.jobCount({ ...params, groupBy: params.groupBy ?? [] }),
    requeue: async (list) =>
      driver.jobRequeue({ ids: jobIds(list, 'jobs.requeue()'), now: now(), message: 'Requeued' }),
    setDone: async (list) =>
      driver.jobSetDone({ ids: jobIds(list, 'jobs.setDone()'), now: now(), message: 'Manually set to done' }),
    cancel: async (list, o = {}) =>
      driver.jobCancel({
        ids: jobIds(list, 'jobs.cancel()'),
        now: now(),
        message: 'Cancelled',
        cascade: o.cascade ?? false,
      }),
    attempts: (id) => driver.jobAttempts(id),
    dependencies: (id) => driver.jobDependencies(id),
    graph: (g) => driver.graphGet(g),
    explain: (id) => host.explain(id),
    relatedAction: async (id) => {
      const job = await driver.jobGet(id);
      return job ? resolveRelatedAction(host.models.get(job.model)?.settings.get(job.method), job) : null;
    },
    wait: (id, o) => host.wait(id, o),
    prune: (o = {}) =>
      driver.jobPrune({
        before: now() - (o.days ?? 30) * 86_400_000,
        states: o.states ?? ['done', 'cancelled'],
      }),
  };
}
