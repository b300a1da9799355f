/**
 * Types of the admin state changes (requeue, set done, cancel).
 * Re-exported by `drivers/driver.ts`.
 * @module
 */

/** An admin state change. */
export interface JobAdminParams {
  ids: readonly number[];
  now: number;
  /** Human message stored as the result ("Cancelled by …"). */
  message?: string;
  /** Cancel: also cancel jobs that depend on these, recursively. */
  cascade?: boolean;
}
