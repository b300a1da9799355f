/**
 * The clock every time-dependent part of Conveyor reads, so tests can move time (see `conveyor-queue/testing`).
 * @module
 */

/** A source of the current time in milliseconds since the epoch. */
export interface Clock {
  /** The current time, ms since the epoch. */
  now(): number;
}

/** The real clock. */
export const systemClock: Clock = { now: () => Date.now() };
