/**
 * The dashboard's "why is this job not running" sentence, from the same snapshot the scheduler reads.
 * @module
 */
import type { ChannelSnapshot } from './scheduler.ts';
import type { ChannelTree } from './tree.ts';

/** The job facts {@link explainWaiting} needs. */
export interface WaitingJob {
  /** Job id. */
  id: number;
  /** Stored channel name. */
  channel: string;
  /** Job state (`'pending'`, `'wait_dependencies'`, …). */
  state: string;
  /** Not before this ms epoch; null = due. */
  eta: number | null;
  /** Lower runs first. */
  priority: number;
  /** Creation time, ms epoch. */
  createdAt: number;
  /** Ids of the unfinished jobs this one depends on (state `wait_dependencies`). */
  waitingFor?: readonly number[];
}

/** Options of {@link explainWaiting}. */
export interface ExplainOptions {
  /** IANA time zone for clock times ("throttled until 10:42:05"); default `'UTC'`. */
  timeZone?: string;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** A delay from now, rounded for reading: `'45 s'`, `'4 min'`, `'2 h 5 min'`, `'3 d 4 h'`. */
export function formatDelay(ms: number): string {
  if (ms < MINUTE) return `${Math.max(1, Math.ceil(ms / SECOND))} s`;
  if (ms < HOUR) return `${Math.round(ms / MINUTE)} min`;
  if (ms < DAY) {
    const minutes = Math.round(ms / MINUTE);
    const h = Math.floor(minutes / 60);
    const m = minutes % 60;
    return m === 0 ? `${h} h` : `${h} h ${m} min`;
  }
  const hours = Math.round(ms / HOUR);
  const d = Math.floor(hours / 24);
  const h = hours % 24;
  return h === 0 ? `${d} d` : `${d} d ${h} h`;
}

/** An exact interval: `'10 s'`, `'500 ms'`, `'2 min'`, `'1 h'`. */
export function formatInterval(ms: number): string {
  if (ms > 0 && ms % HOUR === 0) return `${ms / HOUR} h`;
  if (ms > 0 && ms % MINUTE === 0) return `${ms / MINUTE} min`;
  if (ms % SECOND === 0) return `${ms / SECOND} s`;
  return `${ms} ms`;
}

const clockFormats = new Map<string, Intl.DateTimeFormat>();

function formatClock(ms: number, timeZone: string): string {
  let format = clockFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    clockFormats.set(timeZone, format);
  }
  return format.format(ms);
}

const dateTimeFormats = new Map<string, Intl.DateTimeFormat>();

/** `2026-12-06 03:12:05 UTC`: a date and time in `timeZone` (for "paused since …"). */
function formatDateTime(ms: number, timeZone: string): string {
  let format = dateTimeFormats.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('sv-SE', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      hourCycle: 'h23',
    });
    dateTimeFormats.set(timeZone, format);
  }
  return `${format.format(ms)} ${timeZone}`;
}

const STATE_SENTENCES: Record<string, string> = {
  enqueued: 'claimed by a runner, starting',
  started: 'running',
  done: 'done',
  failed: 'failed: requeue it to run it again',
  cancelled: 'cancelled',
};

/**
 * Say why a job is not running, in one short sentence: the first reason that applies, checking the job
 * itself (dependencies, ETA), then its channels from root to leaf (paused, capacity 0, sequential blocked
 * by a failed job, full, throttled), else its place in line.
 * @param aheadInChannel pending due jobs before this one in its channel, when the caller counted them.
 * @example explainWaiting(tree, snap, job) // "channel root.mail full: 2/2 running"
 */
export function explainWaiting(
  tree: ChannelTree,
  snap: ChannelSnapshot,
  job: WaitingJob,
  aheadInChannel?: number,
  options: ExplainOptions = {},
): string {
  const timeZone = options.timeZone ?? 'UTC';
  if (job.state === 'wait_dependencies') {
    const ids = job.waitingFor ?? [];
    if (ids.length === 0) return 'waiting for its dependencies';
    if (ids.length === 1) return `waiting for job ${ids[0]}`;
    const shown = ids.slice(0, 5).join(', ');
    return `waiting for jobs ${shown}${ids.length > 5 ? ` and ${ids.length - 5} more` : ''}`;
  }
  if (job.state !== 'pending') return STATE_SENTENCES[job.state] ?? job.state;
  const now = snap.now;
  if (job.eta !== null && job.eta > now) return `ETA in ${formatDelay(job.eta - now)}`;

  const path = tree.path(job.channel);
  const running = new Map<string, number>();
  for (const [channel, count] of snap.running) {
    if (!(count > 0)) continue;
    for (const node of tree.path(channel)) running.set(node.name, (running.get(node.name) ?? 0) + count);
  }
  for (const node of path) {
    if (node.paused) {
      return node.pausedSince === undefined
        ? `channel ${node.name} is paused`
        : `channel ${node.name} is paused (since ${formatDateTime(node.pausedSince, timeZone)})`;
    }
    if (node.capacity === 0) return `channel ${node.name} has capacity 0: nothing runs in it`;
    if (node.sequential) {
      const failed = snap.sequentialFailed.get(node.name);
      if (failed !== undefined) return `sequential channel ${node.name} blocked by failed job ${failed}`;
    }
    const load = running.get(node.name) ?? 0;
    if (node.capacity !== null && load >= node.capacity)
      return `channel ${node.name} full: ${load}/${node.capacity} running`;
    if (node.throttleMs > 0) {
      const last = snap.lastStartedAt.get(node.name);
      if (last !== undefined && last + node.throttleMs > now) {
        return `channel ${node.name} throttled until ${formatClock(last + node.throttleMs, timeZone)} (1 job per ${formatInterval(node.throttleMs)})`;
      }
    }
  }
  const leaf = path[path.length - 1]!.name;
  if (aheadInChannel === undefined || aheadInChannel <= 0) return 'next in line';
  return `${aheadInChannel} job${aheadInChannel === 1 ? '' : 's'} ahead in ${leaf}`;
}
