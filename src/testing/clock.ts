/**
 * A fake clock for tests: pass it as `Conveyor.open({ clock })`, then move time with `advance()` so
 * ETAs and retry delays pass without waiting.
 * @module
 */
import type { Conveyor } from '../conveyor.ts';
import { ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';

const FAKE = Symbol.for('conveyor.fakeClock');

/** A clock that only moves when told to. */
export interface FakeClock extends Clock {
  /** The current fake time, ms since the epoch. */
  now(): number;
  /** Jump to `time` (a Date or ms since the epoch); may go backwards. Returns the new time. */
  set(time: Date | number): number;
  /** Move forward by a duration (ms, or `'90s' | '5m' | '1h' | '2d'`). Returns the new time. */
  advance(by: Duration): number;
}

function toMs(time: Date | number, what: string): number {
  const ms = time instanceof Date ? time.getTime() : time;
  if (typeof ms !== 'number' || !Number.isFinite(ms)) {
    throw new ValidationError(`${what}: expected a Date or ms since the epoch, got ${describeValue(time)}`);
  }
  return ms;
}

/**
 * Create a fake clock starting at `start` (default: the real time now).
 * @example
 * const clock = createFakeClock(new Date('2030-01-01T00:00:00Z'));
 * const conveyor = await Conveyor.open({ database: 'sqlite::memory:', clock });
 * clock.advance('1h');
 */
export function createFakeClock(start: Date | number = Date.now()): FakeClock {
  let current = toMs(start, 'createFakeClock()');
  const clock: FakeClock = {
    now: () => current,
    set: (time) => (current = toMs(time, 'clock.set()')),
    advance: (by) => (current += parseDuration(by, 'clock.advance()')),
  };
  Object.defineProperty(clock, FAKE, { value: true });
  return clock;
}

/** True when `clock` was made by {@link createFakeClock}. */
export function isFakeClock(clock: unknown): clock is FakeClock {
  return typeof clock === 'object' && clock !== null && (clock as Record<symbol, unknown>)[FAKE] === true;
}

/**
 * Move the fake clock of `conveyor` forward and wake its runners, so jobs that became due (an ETA,
 * a retry delay) are claimed at once instead of at the runner's next poll. Returns the new time.
 * @throws ValidationError when the Conveyor was not opened with a fake clock
 */
export async function advanceAndWake(conveyor: Conveyor, by: Duration): Promise<number> {
  const clock = conveyor.clock;
  if (!isFakeClock(clock)) {
    throw new ValidationError(
      'advanceAndWake(): this Conveyor has no fake clock; open it with Conveyor.open({ clock: createFakeClock() })',
    );
  }
  const now = clock.advance(by);
  await conveyor.driver.wake('jobs');
  return now;
}
