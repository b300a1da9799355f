/**
 * Folding grouped timeout-log rows into {@link TimeoutStatistics}, shared by both drivers.
 * @module
 */
import type { TimeoutStatistics } from '../types/timeout-log.ts';
import type { RawRow } from '../rows.ts';

/** Fold rows of `(model, method, n, exceeded, total_ms)` into statistics. */
export function timeoutStats(rows: readonly RawRow[]): TimeoutStatistics {
  const stats: TimeoutStatistics = { totalCount: 0, exceededCount: 0, avgDurationMs: 0, byModel: {}, byMethod: {} };
  let totalMs = 0;
  const add = (
    bucket: Record<string, { count: number; exceeded: number; avgDurationMs: number }>,
    key: string,
    n: number,
    ex: number,
    ms: number,
  ) => {
    const b = (bucket[key] ??= { count: 0, exceeded: 0, avgDurationMs: 0 });
    b.avgDurationMs = (b.avgDurationMs * b.count + ms) / (b.count + n);
    b.count += n;
    b.exceeded += ex;
  };
  for (const r of rows) {
    const n = Number(r.n);
    const ex = Number(r.exceeded ?? 0);
    const ms = Number(r.total_ms ?? 0);
    stats.totalCount += n;
    stats.exceededCount += ex;
    totalMs += ms;
    const model = (r.model as string | null) ?? '(none)';
    add(stats.byModel, model, n, ex, ms);
    add(stats.byMethod, r.method ? `${model}.${r.method as string}` : model, n, ex, ms);
  }
  stats.avgDurationMs = stats.totalCount ? totalMs / stats.totalCount : 0;
  return stats;
}
