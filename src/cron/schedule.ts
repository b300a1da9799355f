/**
 * Schedules of scheduled jobs (pure: no I/O, no timers, no clock).
 *
 * A schedule is either a cron expression, read by croner (5 fields, or 6 with seconds first; `@daily`
 * and friends), in a time zone; or an interval, `{ every: '15m' }`, whose slots are
 * `anchor + k × every`. Both give the same thing: {@link Schedule.next}, the first slot strictly after
 * a moment. Conveyor uses croner only to parse and to compute slots (`paused: true`, never its timers).
 *
 * DST, as croner does it (documented in docs/cron.md and pinned by test/cron-schedule.test.ts):
 * - a fixed time inside a skipped hour runs once, at the end of the gap: `30 2 * * *` in New York on
 *   2026-03-08 runs at 03:00 EDT (Vixie cron runs skipped jobs right after the jump too);
 * - a fixed time inside a repeated hour runs once, on its first occurrence (`30 1 * * *` → 01:30 EDT);
 * - wildcard/step expressions follow the wall clock: `0 * * * *` runs at 01:00 EDT and at 01:00 EST.
 * Intervals ignore time zones: they are exact multiples of milliseconds from their anchor.
 * @module
 */
import { Cron } from 'croner';
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';

/** An interval schedule: slots at `anchor + k × every`. */
export interface IntervalSpec {
  /** The period: ms, or `'90s' | '15m' | '1h' | '1d' | '1w'`. At least one second. */
  every: Duration;
  /**
   * Where slots are counted from (a Date, ms since the epoch, or an ISO date string).
   * @default Monday 1970-01-05 00:00 UTC (so `'1d'` runs at 00:00 UTC and `'1w'` on Mondays 00:00 UTC)
   */
  anchor?: Date | number | string;
}

/** A cron expression (`'0 3 * * 0'`, `'*\/10 * * * * *'`, `'@daily'`), `'every 15m'`, or an {@link IntervalSpec}. */
export type ScheduleSpec = string | IntervalSpec;

/** A parsed schedule. */
export interface Schedule {
  /** `cron` for an expression, `interval` for `{ every }`. */
  readonly kind: 'cron' | 'interval';
  /**
   * The canonical text, as stored: the expression with single spaces, or `every 15m` /
   * `every 15m from 2026-01-05T06:00:00.000Z`. `parseSchedule(text, { timezone })` gives the schedule back.
   */
  readonly text: string;
  /** The IANA time zone of a cron expression (null: UTC). Always null for intervals. */
  readonly timezone: string | null;
  /** For intervals: the period in ms. */
  readonly everyMs: number | null;
  /** For intervals: the anchor in ms. */
  readonly anchorMs: number | null;
  /** The first slot strictly after `afterMs`. */
  next(afterMs: number): number;
  /** The last slot at or before `atMs`, or null when there is none. */
  latest(atMs: number): number | null;
}

/** The default anchor of intervals: Monday 1970-01-05 00:00:00 UTC. */
export const DEFAULT_ANCHOR_MS = Date.UTC(1970, 0, 5);

/** Shortest interval accepted. */
export const MIN_INTERVAL_MS = 1000;

const UNITS: [string, number][] = [
  ['w', 604_800_000],
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** `604800000` → `'1w'`, `90000` → `'90s'`, `1500` → `'1500ms'` (parses back with `parseDuration`). */
export function formatEvery(ms: number): string {
  for (const [unit, size] of UNITS) if (ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

function fail(message: string, spec: unknown): never {
  throw new ConfigurationError(message, {
    details: { schedule: typeof spec === 'string' ? spec : describeValue(spec) },
  });
}

/** Check an IANA time zone name. @throws ConfigurationError */
export function checkTimezone(timezone: unknown, what = 'timezone'): string {
  if (typeof timezone !== 'string' || !timezone)
    fail(`${what}: expected an IANA time zone name like 'Europe/Paris', got ${describeValue(timezone)}`, timezone);
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: timezone });
    return timezone;
  } catch {
    return fail(
      `${what}: unknown time zone '${timezone}' (expected an IANA name like 'Europe/Paris' or 'America/New_York')`,
      timezone,
    );
  }
}

function anchorMs(anchor: unknown, spec: unknown): number {
  if (anchor === undefined) return DEFAULT_ANCHOR_MS;
  const ms = anchor instanceof Date ? anchor.getTime() : typeof anchor === 'string' ? Date.parse(anchor) : anchor;
  if (typeof ms !== 'number' || !Number.isSafeInteger(ms)) {
    fail(
      `schedule ${describeInterval(spec)}: anchor must be a Date, ms since the epoch or an ISO date, got ${describeValue(anchor)}`,
      spec,
    );
  }
  return ms;
}

function describeInterval(spec: unknown): string {
  if (spec && typeof spec === 'object' && 'every' in spec) {
    const every = (spec as IntervalSpec).every;
    return `{ every: ${typeof every === 'string' ? `'${every}'` : String(every)} }`;
  }
  return describeValue(spec);
}

function intervalSchedule(everyMs: number, anchor: number): Schedule {
  const text = `every ${formatEvery(everyMs)}${anchor === DEFAULT_ANCHOR_MS ? '' : ` from ${new Date(anchor).toISOString()}`}`;
  const floorSlot = (t: number) => anchor + Math.floor((t - anchor) / everyMs) * everyMs;
  return {
    kind: 'interval',
    text,
    timezone: null,
    everyMs,
    anchorMs: anchor,
    next: (afterMs) => floorSlot(afterMs) + everyMs,
    latest: (atMs) => floorSlot(atMs),
  };
}

function parseInterval(
  spec: IntervalSpec | string,
  every: unknown,
  anchor: unknown,
  timezone: string | null | undefined,
): Schedule {
  if (timezone) {
    fail(
      `schedule ${typeof spec === 'string' ? `'${spec}'` : describeInterval(spec)}: a time zone applies to cron expressions only; an interval counts exact milliseconds from its anchor (set anchor instead)`,
      spec,
    );
  }
  let everyMs: number;
  try {
    everyMs = parseDuration(every as Duration, 'every');
  } catch {
    return fail(
      `invalid schedule ${typeof spec === 'string' ? `'${spec}'` : describeInterval(spec)}: every must be a duration like '15m', '1h', '1d', '1w' or ms, got ${describeValue(every)}`,
      spec,
    );
  }
  if (!Number.isSafeInteger(everyMs) || everyMs < MIN_INTERVAL_MS) {
    fail(
      `invalid schedule ${typeof spec === 'string' ? `'${spec}'` : describeInterval(spec)}: every must be a whole number of ms, at least ${MIN_INTERVAL_MS} ms (1s)`,
      spec,
    );
  }
  return intervalSchedule(everyMs, anchorMs(anchor, spec));
}

function parseCron(expression: string, timezone: string | null): Schedule {
  const text = expression.trim().split(/\s+/).join(' ');
  if (!text) fail("invalid schedule '': expected a cron expression like '0 3 * * 0', or 'every 15m'", expression);
  if (text.includes(':')) {
    fail(
      `invalid cron expression '${expression}': cron fields have no ':' (a one-off date is not a schedule; use withDelay({ eta }) for that)`,
      expression,
    );
  }
  let cron: Cron;
  try {
    cron = new Cron(text, { paused: true, timezone: timezone ?? undefined, mode: '5-or-6-parts' });
  } catch (err) {
    const reason = (err as Error).message.replace(/^Cron(Pattern|Options)?:\s*/, '');
    return fail(`invalid cron expression '${expression}': ${reason}`, expression);
  }
  const nextOf = (afterMs: number): number | null => cron.nextRun(new Date(afterMs))?.getTime() ?? null;
  if (nextOf(0) === null) fail(`cron expression '${expression}' never matches a date (e.g. February 30th)`, expression);
  return {
    kind: 'cron',
    text,
    timezone,
    everyMs: null,
    anchorMs: null,
    next: (afterMs) => nextOf(afterMs) ?? Infinity,
    latest: (atMs) => cron.previousRuns(1, new Date(atMs + 1))[0]?.getTime() ?? null,
  };
}

/**
 * Parse a schedule.
 * @param options.timezone IANA zone of a cron expression (default UTC); not allowed with intervals.
 * @throws ConfigurationError naming the expression when it cannot be parsed, never matches, or the zone is unknown
 */
export function parseSchedule(spec: ScheduleSpec, options: { timezone?: string | null } = {}): Schedule {
  const timezone = options.timezone === undefined || options.timezone === null ? null : checkTimezone(options.timezone);
  if (typeof spec === 'string') {
    const m = /^\s*@?every\s+(\S+)(?:\s+from\s+(\S+))?\s*$/i.exec(spec);
    if (m) return parseInterval(spec, m[1], m[2], timezone);
    if (/^\s*@?every\b/i.test(spec))
      fail(`invalid schedule '${spec}': expected 'every <duration>' or 'every <duration> from <ISO date>'`, spec);
    return parseCron(spec, timezone);
  }
  if (spec && typeof spec === 'object' && !Array.isArray(spec) && 'every' in spec) {
    const extra = Object.keys(spec).filter((k) => k !== 'every' && k !== 'anchor');
    if (extra.length)
      fail(`invalid schedule ${describeInterval(spec)}: unknown key '${extra[0]}' (expected every, anchor)`, spec);
    return parseInterval(spec, spec.every, spec.anchor, timezone);
  }
  return fail(
    `invalid schedule ${describeValue(spec)}: expected a cron expression like '0 3 * * 0', 'every 15m', or { every: '15m' }`,
    spec,
  );
}

/**
 * The slots `s` with `fromMs < s <= toMs`, earliest first, at most `max` of them.
 */
export function slotsBetween(schedule: Schedule, fromMs: number, toMs: number, max: number): number[] {
  const out: number[] = [];
  for (let s = schedule.next(fromMs); s <= toMs && out.length < max; s = schedule.next(s)) out.push(s);
  return out;
}

/** How a schedule reads for people: `every 1w`, `0 3 * * 0 (Europe/Paris)`. */
export function describeSchedule(schedule: Schedule): string {
  return schedule.timezone ? `${schedule.text} (${schedule.timezone})` : schedule.text;
}
