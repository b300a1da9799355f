/**
 * Types of the timeout log: the list's parameters and the statistics.
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

/** Parameters of `Driver.timeoutLogList`: newest first, `cursor` = the last id of the previous page. */
export interface TimeoutLogListParams {
  since?: number;
  limit: number;
  model?: string;
  method?: string;
  kind?: string;
  cursor?: number | null;
}
