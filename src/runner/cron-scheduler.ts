/**
 * The cron scheduler every runner starts: one timer to the earliest `next_run_at` of the non-paused
 * scheduled jobs (read again on a wake-up, and at least every 30 s), which fires the due slots through
 * `driver.cronFire`. Every runner does the same; a slot fires exactly once across all of them because
 * recording the slot and enqueueing its job are one transaction and only the recorder enqueues.
 *
 * Due slots of an entry (`next_run_at <= now`): the current slot is the latest one at or before now.
 * - `catchUp: false` (default): it fires when it is at most a minute old (a late timer, a runner that
 *   just started); older slots were missed and are skipped (`next_run_at` moves on, logged);
 * - `'one'`: one job for all of them, at the latest slot;
 * - `'all'`: each slot, oldest first, at most 1000 per pass.
 * All time comes from the injected clock; the timers only decide when to look again.
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import { cronNewJob } from '../cron/job.ts';
import { parseSchedule, slotsBetween, type Schedule } from '../cron/schedule.ts';
import type { CronRow, Driver } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';
import type { Logger } from '../internal/logger.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { toError } from '../errors.ts';

/** What the scheduler needs from its runner. */
export interface CronSchedulerHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly channels: ChannelTree;
  readonly models: ReadonlyMap<string, ModelDefinition>;
}

/** Options of {@link CronScheduler}. */
export interface CronSchedulerOptions {
  /** Real-time limit of the jobs it enqueues, unless their job function sets `timeLimit` (ms). */
  limitTimeRealCronMs: number;
  /** Read the entries again at least this often (ms). @default 30000 */
  rereadMs?: number;
  /** With `catchUp: false`, a slot at most this old still fires (ms). @default 60000 */
  graceMs?: number;
  /** Id of the runner, for logs. */
  runnerId?: string;
}

/** What one pass did. */
export interface CronTickReport {
  /** Slots this scheduler fired (it enqueued their jobs). */
  fired: { name: string; slotAt: number; jobId: number }[];
  /** Slots that were due but fired by another runner meanwhile (or the entry was paused or deleted). */
  lost: { name: string; slotAt: number }[];
  /** Entries whose missed slots were not replayed (`catchUp: false`): from the first missed slot to the last, and how many (capped at 1000). */
  skipped: { name: string; from: number; to: number; count: number }[];
  /** Entries that could not be handled (a bad stored schedule, a database error). */
  errors: { name: string | null; error: Error }[];
}

/** Most slots fired for one entry in one pass with `catchUp: 'all'`. */
export const MAX_CATCH_UP = 1000;

/** A slot to store: croner's calendar ends in the year 9999 (Infinity: no more slots). */
const finite = (ms: number): number | null => (Number.isFinite(ms) ? ms : null);

const emptyReport = (): CronTickReport => ({ fired: [], lost: [], skipped: [], errors: [] });

/** The scheduler of scheduled jobs, one per runner. */
export class CronScheduler {
  readonly #host: CronSchedulerHost;
  readonly #limitMs: number;
  readonly #rereadMs: number;
  readonly #graceMs: number;
  readonly #runnerId: string | undefined;
  readonly #schedules = new Map<string, Schedule | Error>();
  #timer: NodeJS.Timeout | null = null;
  #wakeTimer: NodeJS.Timeout | null = null;
  #queued: Promise<CronTickReport> | null = null;
  #current: Promise<unknown> = Promise.resolve();
  #earliest = Infinity;
  #lastReadReal = 0;
  #errorBackoff = 0;
  #state: 'new' | 'running' | 'stopped' = 'new';

  constructor(host: CronSchedulerHost, options: CronSchedulerOptions) {
    this.#host = host;
    this.#limitMs = options.limitTimeRealCronMs;
    this.#rereadMs = options.rereadMs ?? 30_000;
    this.#graceMs = options.graceMs ?? 60_000;
    this.#runnerId = options.runnerId;
  }

  /** The earliest `next_run_at` among non-paused entries at the last pass (Infinity: none). */
  get earliest(): number {
    return this.#earliest;
  }

  /** Start: a first pass now. */
  start(): void {
    if (this.#state !== 'new') return;
    this.#state = 'running';
    void this.tick();
  }

  /** Stop the timers and wait for a pass in progress. */
  async stop(): Promise<void> {
    this.#state = 'stopped';
    this.#clearTimers();
    await this.#current;
  }

  /**
   * A wake-up (new jobs, an admin change, a clock moved by a test): fire at once if the earliest slot
   * is due, else read the entries again (at most once a second; `reread` forces it).
   */
  poke(reread = false): void {
    if (this.#state !== 'running') return;
    if (reread || this.#host.clock.now() >= this.#earliest || Date.now() - this.#lastReadReal >= 1000) {
      void this.tick();
      return;
    }
    if (this.#wakeTimer) return;
    this.#wakeTimer = setTimeout(
      () => {
        this.#wakeTimer = null;
        void this.tick();
      },
      Math.max(0, 1000 - (Date.now() - this.#lastReadReal)),
    );
  }

  /**
   * One pass: read the entries, fire what is due, set the timer. Passes never overlap; a call while
   * one waits to start shares it. Resolves with what the pass did (never rejects).
   */
  tick(): Promise<CronTickReport> {
    if (this.#state !== 'running') return Promise.resolve(emptyReport());
    if (this.#queued) return this.#queued;
    const pass = this.#current.then(() => {
      this.#queued = null;
      return this.#pass();
    });
    this.#queued = pass;
    this.#current = pass;
    return pass;
  }

  async #pass(): Promise<CronTickReport> {
    const report = emptyReport();
    if (this.#state !== 'running') return report;
    let rows: CronRow[];
    try {
      rows = await this.#host.driver.cronList();
    } catch (err) {
      report.errors.push({ name: null, error: this.#error(null, err) });
      this.#arm(true, false);
      return report;
    }
    this.#lastReadReal = Date.now();
    let earliest = Infinity;
    let failed = false;
    let progressed = false;
    for (const row of rows) {
      if (this.#state !== 'running') break;
      if (row.paused || row.nextRunAt === null) continue;
      const now = this.#host.clock.now();
      if (row.nextRunAt > now) {
        earliest = Math.min(earliest, row.nextRunAt);
        continue;
      }
      try {
        const next = await this.#fireDue(row, now, report);
        if (report.fired.length) progressed = true;
        earliest = Math.min(earliest, next);
      } catch (err) {
        failed = true;
        report.errors.push({ name: row.name, error: this.#error(row.name, err) });
      }
    }
    this.#earliest = earliest;
    this.#arm(failed, progressed);
    return report;
  }

  /** Fire the due slots of one entry; returns its next slot. */
  async #fireDue(row: CronRow, now: number, report: CronTickReport): Promise<number> {
    const schedule = this.#schedule(row);
    if (schedule instanceof Error) throw schedule;
    const due = row.nextRunAt!;
    const latest = schedule.latest(now);
    let slots: number[];
    if (latest === null || latest < due) slots = [];
    else if (row.catchUp === 'all') slots = slotsBetween(schedule, due - 1, now, MAX_CATCH_UP);
    else if (row.catchUp === 'one' || now - latest <= this.#graceMs) slots = [latest];
    else slots = [];
    const ctx = { models: this.#host.models, channels: this.#host.channels, limitTimeRealCronMs: this.#limitMs };
    for (const slotAt of slots) {
      const job = cronNewJob(row, ctx, slotAt);
      const r = await this.#host.driver.cronFire({
        name: row.name,
        slotAt,
        now,
        nextRunAt: finite(schedule.next(slotAt)),
        job,
      });
      if (r.fired && r.jobId !== null) {
        report.fired.push({ name: row.name, slotAt, jobId: r.jobId });
        this.#host.logger.info(
          { cron: row.name, slot: new Date(slotAt).toISOString(), jobId: r.jobId, runnerId: this.#runnerId },
          `scheduled job ${row.name} fired: job ${r.jobId} (${row.model}.${row.method})`,
        );
      } else {
        report.lost.push({ name: row.name, slotAt });
      }
    }
    const last = slots.at(-1);
    // slots before the one that fired (or all of them) were missed and are not run
    const missedTo = last === undefined ? (latest ?? due) : row.catchUp === 'all' ? null : last - 1;
    if (missedTo !== null && missedTo >= due) {
      const count = slotsBetween(schedule, due - 1, missedTo, MAX_CATCH_UP).length;
      if (count) {
        if (row.catchUp === 'none') report.skipped.push({ name: row.name, from: due, to: missedTo, count });
        this.#host.logger.info(
          {
            cron: row.name,
            from: new Date(due).toISOString(),
            missed: count >= MAX_CATCH_UP ? `${count}+` : count,
            catchUp: row.catchUp,
          },
          row.catchUp === 'one'
            ? `scheduled job ${row.name}: ran once for ${count >= MAX_CATCH_UP ? `${count}+` : count} missed slot(s) and this one`
            : `scheduled job ${row.name}: ${count >= MAX_CATCH_UP ? `${count}+` : count} missed slot(s) not replayed (catchUp: false)`,
        );
      }
    }
    if (last === undefined) {
      const next = schedule.next(now);
      if (Number.isFinite(next)) await this.#host.driver.cronAdvance({ name: row.name, nextRunAt: next, now });
      return next;
    }
    return schedule.next(last);
  }

  #schedule(row: CronRow): Schedule | Error {
    const key = `${row.schedule}\u0000${row.timezone ?? ''}`;
    let s = this.#schedules.get(key);
    if (!s) {
      try {
        s = parseSchedule(row.schedule, { timezone: row.timezone });
      } catch (err) {
        s = err as Error;
      }
      if (this.#schedules.size > 1000) this.#schedules.clear();
      this.#schedules.set(key, s);
    }
    return s;
  }

  /** Set the timer: to the earliest slot, at most `rereadMs` away; back off after errors. */
  #arm(failed: boolean, progressed: boolean): void {
    if (this.#state !== 'running') return;
    if (this.#timer) clearTimeout(this.#timer);
    let delay: number;
    if (failed) {
      this.#errorBackoff = Math.min(30_000, Math.max(1000, this.#errorBackoff * 2));
      delay = this.#errorBackoff;
    } else {
      this.#errorBackoff = 0;
      const until = this.#earliest - this.#host.clock.now();
      // still due after a pass: more to catch up (go on at once), or lost to a race (look again shortly)
      delay = until <= 0 ? (progressed ? 0 : 1000) : Math.min(until, this.#rereadMs);
    }
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.tick();
    }, delay);
  }

  #clearTimers(): void {
    if (this.#timer) clearTimeout(this.#timer);
    if (this.#wakeTimer) clearTimeout(this.#wakeTimer);
    this.#timer = null;
    this.#wakeTimer = null;
  }

  #error(name: string | null, err: unknown): Error {
    const error = toError(err);
    this.#host.logger.error(
      { cron: name, runnerId: this.#runnerId, err: error },
      name ? `scheduled job ${name}: ${error.message}` : `scheduled jobs: ${error.message}`,
    );
    return error;
  }
}
