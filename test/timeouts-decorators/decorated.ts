/**
 * Classes using the toolkit's decorators with real decorator syntax. Compiled by tsc (see
 * tsconfig.json here) and exercised by test/timeouts-decorators.test.ts.
 * @module
 */
import {
  TimeoutError,
  currentTimeoutSignal,
  monitored,
  monitoredDecorator,
  retryOnTimeout,
  retryOnTimeoutDecorator,
  timeout,
  withTimeout,
  withTimeoutDecorator,
} from '../../src/timeouts/index.ts';
import type { TimeoutLogEntryInput, TimeoutSink } from '../../src/timeouts/index.ts';
import { silentLogger } from '../../src/internal/logger.ts';

export { runAsJob } from '../../src/job/current.ts';
export { TimeoutError };

/** Rows written by the decorated methods. */
export const rows: TimeoutLogEntryInput[] = [];
/** The sink every decorator below writes to. */
export const sink: TimeoutSink = {
  recordTimeout: (entry) => {
    rows.push(entry);
  },
};
/** Waits asked for by the retry decorators (the fake sleep returns at once). */
export const sleeps: number[] = [];
const sleep = async (ms: number): Promise<void> => {
  sleeps.push(ms);
};
const common = { conveyor: sink, logger: silentLogger };

/** `@timeout` / `@withTimeout` on instance and static methods. */
export class Exporter {
  seen: AbortSignal | undefined;

  @timeout(1000, common)
  async hang(): Promise<string> {
    this.seen = currentTimeoutSignal();
    return new Promise<string>(() => {});
  }

  @withTimeout('1s', common)
  async double(n: number): Promise<number> {
    return n * 2 + (currentTimeoutSignal()?.aborted ? 1 : 0);
  }

  @withTimeoutDecorator(50, { ...common, name: 'ping' })
  static async ping(): Promise<never> {
    return new Promise<never>(() => {});
  }
}

/** `@retryOnTimeout` above `@timeout`: each try has its own limit. */
export class Rates {
  calls = 0;
  other = 0;

  @retryOnTimeoutDecorator({ maxAttempts: 3, delay: '2s', backoff: 2, sleep, logger: silentLogger })
  @timeout(100, common)
  async load(): Promise<string> {
    this.calls++;
    if (this.calls < 3) return new Promise<string>(() => {});
    return 'rates';
  }

  @retryOnTimeout({ maxAttempts: 2, delay: 10, sleep, logger: silentLogger })
  async alwaysTimesOut(): Promise<void> {
    this.other++;
    throw new TimeoutError('always', 1);
  }
}

/** `@monitored` / `@monitoredDecorator`: never aborts, records when over the threshold. */
export class Sync {
  @monitoredDecorator('30s', common)
  async slow(advance: () => void): Promise<string> {
    advance();
    return 'synced';
  }

  @monitored('30s', common)
  count(advance: () => void): number {
    advance();
    return 3;
  }
}
