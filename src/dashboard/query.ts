/**
 * Parsing of the dashboard's query strings and forms into typed values. Anything unknown or malformed
 * is dropped or clamped: a URL typed by hand never produces a server error.
 * @module
 */
import type { JobCountKey, JobFilter, JobSortKey } from '../drivers/types/job-reads.ts';
import { isJobState, type JobState } from '../job/states.ts';

/** The Jobs page's parameters. */
export interface JobsQuery {
  state?: JobState;
  channel?: string;
  model?: string;
  method?: string;
  /** Exception class name. */
  excName?: string;
  graph?: string;
  text?: string;
  /** `YYYY-MM-DD` or `YYYY-MM-DDTHH:MM`, as typed. */
  from?: string;
  to?: string;
  sort: JobSortKey;
  dir: 'asc' | 'desc';
  cursor?: string;
  limit: number;
  groupBy?: JobCountKey;
}

const SORTS: readonly JobSortKey[] = ['id', 'priority', 'createdAt', 'doneAt', 'execTimeMs'];
const GROUPS: readonly JobCountKey[] = ['state', 'channel', 'model', 'method', 'excName'];

function str(v: string | undefined, max = 200): string | undefined {
  if (v === undefined) return undefined;
  const t = v.trim();
  return t === '' ? undefined : t.slice(0, max);
}

/** Parse `2026-11-23` or `2026-11-23T10:30` as UTC; a date alone means the whole day (`end` → next midnight). */
export function parseDateParam(v: string | undefined, end: boolean): number | undefined {
  if (!v) return undefined;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(v);
  if (!m) return undefined;
  const [, y, mo, d, hh, mi, ss] = m;
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(hh ?? 0), Number(mi ?? 0), Number(ss ?? 0));
  if (!Number.isFinite(ms)) return undefined;
  return end && hh === undefined ? ms + 86_400_000 : ms;
}

/** Read the Jobs page's query. */
export function parseJobsQuery(q: Record<string, string | undefined>): JobsQuery {
  const state = str(q.state);
  const sort = str(q.sort) as JobSortKey | undefined;
  const groupBy = str(q.groupBy) as JobCountKey | undefined;
  const limit = Number.parseInt(q.limit ?? '', 10);
  const dateOk = (v: string | undefined) => (parseDateParam(str(v, 30), false) === undefined ? undefined : str(v, 30));
  return {
    state: isJobState(state) ? state : undefined,
    channel: str(q.channel),
    model: str(q.model),
    method: str(q.method),
    excName: str(q.excName, 120),
    graph: str(q.graph, 64),
    text: str(q.text),
    from: dateOk(q.from),
    to: dateOk(q.to),
    sort: sort && SORTS.includes(sort) ? sort : 'id',
    dir: q.dir === 'asc' ? 'asc' : 'desc',
    cursor: str(q.cursor, 400),
    limit: Number.isFinite(limit) ? Math.min(500, Math.max(5, limit)) : 50,
    groupBy: groupBy && GROUPS.includes(groupBy) ? groupBy : undefined,
  };
}

/** The job filter of a query (without the state when `withState` is false). */
export function jobFilter(q: JobsQuery, withState = true): JobFilter {
  return {
    state: withState ? q.state : undefined,
    channel: q.channel,
    model: q.model,
    method: q.method,
    excName: q.excName,
    graphUuid: q.graph,
    text: q.text,
    createdFrom: parseDateParam(q.from, false),
    createdTo: parseDateParam(q.to, true),
  };
}

/** The query as URL parameters (for links that keep the filters), with overrides. */
export function jobsParams(
  q: JobsQuery,
  over: Partial<Record<keyof JobsQuery, string | number | undefined>> = {},
): Record<string, string | number | undefined> {
  const base: Record<string, string | number | undefined> = {
    state: q.state,
    channel: q.channel,
    model: q.model,
    method: q.method,
    excName: q.excName,
    graph: q.graph,
    text: q.text,
    from: q.from,
    to: q.to,
    sort: q.sort === 'id' ? undefined : q.sort,
    dir: q.dir === 'desc' ? undefined : q.dir,
    limit: q.limit === 50 ? undefined : q.limit,
    groupBy: q.groupBy,
    cursor: q.cursor,
  };
  return { ...base, ...over };
}

/** Job ids from a form (`id=1&id=2` or `ids=1,2`); invalid entries dropped, at most 1000. */
export function parseIds(values: readonly string[]): number[] {
  const out = new Set<number>();
  for (const v of values) {
    for (const part of v.split(',')) {
      const n = Number(part.trim());
      if (Number.isSafeInteger(n) && n > 0) out.add(n);
      if (out.size >= 1000) return [...out];
    }
  }
  return [...out];
}
