/**
 * Types of the admin reads: filters, keyset pages, grouped counts, graphs.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */
import type { JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';

/** Filters of the admin listing and counts. */
export interface JobFilter {
  state?: JobState | readonly JobState[];
  channel?: string;
  model?: string;
  method?: string;
  graphUuid?: string;
  /** Case-insensitive text search in description, model, method, exception message, uuid and args. */
  text?: string;
  /** Created at or after (ms). */
  createdFrom?: number;
  /** Created before (ms). */
  createdTo?: number;
  ids?: readonly number[];
  identityKey?: string;
  /** Exception class name of the last failure or retry (`TypeError`, `JobFoundDead`…). */
  excName?: string;
}

/** Sort keys of `Driver.jobList`. */
export type JobSortKey = 'id' | 'priority' | 'createdAt' | 'doneAt' | 'execTimeMs';

/** Parameters of `Driver.jobList`. */
export interface JobListParams extends JobFilter {
  limit: number;
  /** Opaque keyset cursor from a previous page. */
  cursor?: string | null;
  sort?: JobSortKey;
  direction?: 'asc' | 'desc';
}

/** A page of jobs. */
export interface JobPage {
  jobs: JobRow[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

/** Group-by keys of `Driver.jobCount`. */
export type JobCountKey = 'state' | 'channel' | 'model' | 'method' | 'excName';

/** One row of grouped counts. */
export interface JobCountRow {
  key: Partial<Record<JobCountKey, string | null>>;
  count: number;
}

/** The edges and states of a graph. */
export interface JobGraph {
  graphUuid: string;
  nodes: Pick<JobRow, 'id' | 'uuid' | 'model' | 'method' | 'description' | 'state' | 'records'>[];
  /** `[parentId, childId]`. */
  edges: [number, number][];
}
