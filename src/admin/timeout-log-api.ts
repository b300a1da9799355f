/**
 * `conveyor.timeoutLog`: the admin API on the timeout log (record, list, statistics, cleanup), the
 * store behind the timeout toolkit's `{ conveyor }` sink and the dashboard's Timeout log page.
 * @module
 */
import os from 'node:os';
import type { Driver, TimeoutStatistics } from '../drivers/driver.ts';
import { ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';

/** The timeout log API. */
export interface TimeoutLogApi {
  /** Write a row. */
  record(entry: TimeoutLogEntryInput): Promise<number>;
  /** Newest rows first. */
  list(params?: {
    days?: number;
    limit?: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]>;
  /** Counts and averages over the last `days` (default 7). */
  statistics(params?: { days?: number }): Promise<TimeoutStatistics>;
  /** Delete rows older than `days` (default 30); returns the count. */
  cleanup(params?: { days?: number }): Promise<number>;
}

/** What {@link createTimeoutLogApi} needs from its Conveyor. */
export interface TimeoutLogHost {
  readonly driver: Driver;
  readonly clock: Clock;
}

/** Build `conveyor.timeoutLog`. */
export function createTimeoutLogApi(host: TimeoutLogHost): TimeoutLogApi {
  const { driver } = host;
  /** The instant `days` (default `def`) ago. @throws ValidationError unless a number >= 0 */
  const since = (d: number | undefined, def: number, what: string) => {
    const v = d ?? def;
    if (typeof v !== 'number' || !(v >= 0))
      throw new ValidationError(`${what}: days must be a number >= 0, got ${describeValue(v)}`);
    return host.clock.now() - v * 86_400_000;
  };
  return {
    record: (e) =>
      driver.timeoutLogInsert({ ...e, at: e.at ?? host.clock.now(), host: `${os.hostname()}:${process.pid}` }),
    list: (p = {}) =>
      driver.timeoutLogList({
        since: p.days === undefined ? undefined : since(p.days, 7, 'timeoutLog.list()'),
        limit: p.limit ?? 100,
        model: p.model,
        method: p.method,
        kind: p.kind,
        cursor: p.cursor ?? null,
      }),
    statistics: (p = {}) => driver.timeoutLogStatistics({ since: since(p.days, 7, 'timeoutLog.statistics()') }),
    cleanup: (p = {}) => driver.timeoutLogCleanup({ before: since(p.days, 30, 'timeoutLog.cleanup()') }),
  };
}
