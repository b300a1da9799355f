/**
 * Keyset paging of the admin job list, shared by both drivers: the opaque cursor, the sort column, the
 * comparison that continues after the cursor, and the next page's cursor. Each driver writes the SQL
 * with its own placeholders.
 * @module
 */
import type { JobRow } from '../../job/row.ts';
import type { JobListParams, JobPage, JobSortKey } from '../types/job-reads.ts';

/** Column of each sort key. */
export const SORT_COLUMNS = {
  id: 'id',
  priority: 'priority',
  createdAt: 'created_at',
  doneAt: 'done_at',
  execTimeMs: 'exec_time_ms',
} as const satisfies Record<JobSortKey, string>;

/** A sort column. */
export type SortColumn = (typeof SORT_COLUMNS)[JobSortKey];

/** Encode a keyset cursor: the last row's sort value (null sorts as -1) and id. */
export function encodeCursor(value: number | null, id: number): string {
  return Buffer.from(JSON.stringify([value, id])).toString('base64url');
}

/** Decode a keyset cursor; null when absent. @throws Error on a malformed cursor (mapped by callers). */
export function decodeCursor(cursor: string | null | undefined): [number | null, number] | null {
  if (!cursor) return null;
  const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[1] !== 'number')
    throw new Error('malformed cursor');
  return [parsed[0] as number | null, parsed[1]];
}

/** How one page is read: rows sort by the column (nulls as -1), then by id, both in one direction. */
export interface KeysetPlan {
  /** The sort column. */
  sort: SortColumn;
  /** `DESC` (the default) or `ASC`. */
  dir: 'DESC' | 'ASC';
  /** The comparison with the cursor that continues in that direction. */
  op: '<' | '>';
  /** Where the previous page ended (`value` -1 when it was null), or null on the first page. */
  after: { value: number; id: number } | null;
}

/** The plan of a page. @throws Error on a malformed cursor. */
export function keysetPlan(p: JobListParams): KeysetPlan {
  const desc = (p.direction ?? 'desc') === 'desc';
  const cursor = decodeCursor(p.cursor);
  return {
    sort: SORT_COLUMNS[p.sort ?? 'id'],
    dir: desc ? 'DESC' : 'ASC',
    op: desc ? '<' : '>',
    after: cursor ? { value: cursor[0] ?? -1, id: cursor[1] } : null,
  };
}

/** `ORDER BY` terms of a page, given the dialect's expression for the sort column. */
export function keysetOrder(plan: KeysetPlan, sortExpr: string): string {
  return plan.sort === 'id' ? `id ${plan.dir}` : `${sortExpr} ${plan.dir}, id ${plan.dir}`;
}

/**
 * The page from up to `limit + 1` rows read in order (decoded by `toJob`): the first `limit`, and a
 * cursor when there were more.
 */
export function keysetPage<R>(rows: readonly R[], p: JobListParams, toJob: (row: R) => JobRow): JobPage {
  const jobs = rows.slice(0, p.limit).map(toJob);
  const last = jobs.at(-1);
  const nextCursor =
    rows.length > p.limit && last
      ? encodeCursor(
          (p.sort ?? 'id') === 'id' ? last.id : ((last as unknown as Record<string, number | null>)[p.sort!] ?? -1),
          last.id,
        )
      : null;
  return { jobs, nextCursor };
}
