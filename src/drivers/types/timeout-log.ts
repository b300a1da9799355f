/**
 * Types of the timeout log's statistics.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */

/** Statistics of the timeout log. */
export interface TimeoutStatistics {
  totalCount: number;
  exceededCount: number;
  avgDurationMs: number;
  byModel: Record<string, { count: number; exceeded: number; avgDurationMs: number }>;
  byMethod: Record<string, { count: number; exceeded: number; avgDurationMs: number }>;
}
