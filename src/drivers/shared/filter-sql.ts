/**
 * The WHERE clause of admin listings and counts, shared by both dialects (they differ only in how a
 * parameter is written and how arrays are passed).
 * @module
 */
import type { JobCountKey, JobFilter } from '../types/job-reads.ts';

/** How a dialect binds values. */
export interface Binder {
  /** Bind one value, returning its placeholder. */
  value(v: unknown): string;
  /** `column IN (…)` for a list of values. */
  inList(column: string, values: readonly unknown[]): string;
  /** Case-insensitive LIKE. */
  ilike(expr: string, pattern: string): string;
  /** The args column as text. */
  argsText: string;
}

/** Build `WHERE …` (or an empty string) for a filter. */
export function buildWhere(f: JobFilter, b: Binder, extra: string[] = []): string {
  const parts = [...extra];
  if (f.state !== undefined) {
    const states = typeof f.state === 'string' ? [f.state] : f.state;
    parts.push(states.length === 1 ? `state = ${b.value(states[0])}` : b.inList('state', states));
  }
  if (f.channel !== undefined) parts.push(`channel = ${b.value(f.channel)}`);
  if (f.model !== undefined) parts.push(`model = ${b.value(f.model)}`);
  if (f.method !== undefined) parts.push(`method = ${b.value(f.method)}`);
  if (f.graphUuid !== undefined) parts.push(`graph_uuid = ${b.value(f.graphUuid)}`);
  if (f.identityKey !== undefined) parts.push(`identity_key = ${b.value(f.identityKey)}`);
  if (f.excName !== undefined) parts.push(`exc_name = ${b.value(f.excName)}`);
  if (f.createdFrom !== undefined) parts.push(`created_at >= ${b.value(f.createdFrom)}`);
  if (f.createdTo !== undefined) parts.push(`created_at < ${b.value(f.createdTo)}`);
  if (f.ids !== undefined) parts.push(f.ids.length ? b.inList('id', f.ids) : '1 = 0');
  if (f.text) {
    const pattern = `%${f.text.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    const cols = ['description', 'model', 'method', 'exc_message', 'uuid', b.argsText];
    parts.push(`(${cols.map((c) => b.ilike(c, pattern)).join(' OR ')})`);
  }
  return parts.length ? `WHERE ${parts.join(' AND ')}` : '';
}

/** Column of each count group key. */
export const COUNT_COLUMNS = {
  state: 'state',
  channel: 'channel',
  model: 'model',
  method: 'method',
  excName: 'exc_name',
} as const satisfies Record<JobCountKey, string>;
