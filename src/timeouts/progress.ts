/**
 * `ProgressTracker` (Odoo's `ProgressTracker(total_items, log_interval, operation_name)`): count work
 * done, log rate and ETA at most every `logInterval`, report progress to the running job, and draw a
 * one-line bar on a terminal.
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import type { Duration } from '../internal/duration.ts';
import type { Logger } from '../internal/logger.ts';
import { currentJob } from '../job/current.ts';
import type { CurrentJob } from '../job/current.ts';
import { errorFields, formatMs, loggerOf, now, safeLog } from './shared.ts';

/** Where the bar is drawn (a `tty.WriteStream` such as `process.stderr` fits). */
export interface ProgressStream {
  /** Write a chunk of text. */
  write(chunk: string): unknown;
  /** Whether the stream is a terminal (the bar is only drawn on one). */
  isTTY?: boolean;
  /** Terminal width, when known. */
  columns?: number;
}

/** Options of {@link ProgressTracker}. */
export interface ProgressTrackerOptions {
  /** Items in all (a number >= 0). */
  total: number;
  /**
   * Items already done before this tracker started (by an earlier run of a resumed job): counted in
   * `done` and `percent`, not in `rate`. See also {@link ProgressTracker.resumeAt}. @default 0
   */
  initial?: number;
  /** Shortest time between two log lines (and two job progress updates). @default '5s' */
  logInterval?: Duration;
  /** Name at the start of each line. @default 'Progress' */
  operationName?: string;
  /** Where the lines go (level `info`). @default createLogger() */
  logger?: Logger;
  /** Where the bar is drawn. @default process.stderr */
  stream?: ProgressStream;
  /** Draw the bar: `true`/`false` to force, default when `stream.isTTY` and not in CI (`CI` unset). */
  bar?: boolean;
  /** The clock, ms (inject a fake in tests). @default Date.now */
  clock?: () => number;
  /** The job to report progress to, or `null` for none. @default the running job, when created inside one */
  job?: CurrentJob | null;
}

/** Shortest time between two redraws of the bar, ms. */
const BAR_REDRAW_MS = 100;
/** Width of the bar itself, in characters. */
const BAR_WIDTH = 30;

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== '' && ci !== '0' && ci.toLowerCase() !== 'false';
}

/**
 * Format a remaining time: `12s`, `2m05s`, `1h02m`; `?` when unknown.
 * @example formatEta(125_000) // '2m05s'
 */
export function formatEta(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '?';
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/**
 * Track the progress of a long loop.
 *
 * `increment()` / `update()` log a line such as `Export: 500/2000 (25.0%) 120.5/s ETA 12s` at most
 * every `logInterval`, and, inside a job, call `job.progress(done, total, line)` at the same pace (the
 * dashboard shows it). `finish()` always logs and reports a last line. On a terminal (and not in CI)
 * a one-line bar is redrawn in place with `\r` instead of the periodic log lines.
 *
 * @example
 * const progress = new ProgressTracker({ total: ids.length, logInterval: '5s', operationName: 'Export' });
 * for (const id of ids) { await exportOne(id); progress.increment(); }
 * progress.finish();
 */
export class ProgressTracker implements Disposable {
  /** Items in all. */
  readonly total: number;
  /** Name at the start of each line. */
  readonly operationName: string;
  /** Shortest time between two log lines, ms. */
  readonly logIntervalMs: number;
  /** When the tracker was created, per its clock (ms). */
  readonly startedAt: number;
  #done = 0;
  /** Items done before this run (not counted in the rate). */
  #resumed = 0;
  #finished = false;
  #lastReport: number;
  #lastDraw = -Infinity;
  #drawnLength = 0;
  readonly #clock: () => number;
  readonly #logger: Logger;
  readonly #stream: ProgressStream | undefined;
  readonly #bar: boolean;
  readonly #job: CurrentJob | undefined;

  /** @throws ConfigurationError on a bad `total` or `logInterval`. */
  constructor(options: ProgressTrackerOptions) {
    const total = options?.total;
    if (typeof total !== 'number' || !Number.isFinite(total) || total < 0) {
      throw new ConfigurationError(
        `ProgressTracker: expected 'total' to be a number >= 0, got ${describeValue(total)}`,
      );
    }
    this.total = total;
    this.operationName = options.operationName ?? 'Progress';
    this.logIntervalMs = parseDuration(options.logInterval ?? '5s', 'ProgressTracker logInterval');
    this.#clock = options.clock ?? now;
    this.#logger = loggerOf(options);
    this.#stream = options.stream ?? process.stderr;
    this.#bar = options.bar ?? (this.#stream?.isTTY === true && !isCi());
    this.#job = options.job === null ? undefined : (options.job ?? currentJob());
    this.startedAt = this.#clock();
    this.#lastReport = this.startedAt;
    if (options.initial !== undefined) this.resumeAt(options.initial);
  }

  /** Items done so far. */
  get done(): number {
    return this.#done;
  }
  /** Whether `finish()` was called. */
  get finished(): boolean {
    return this.#finished;
  }
  /** Milliseconds since the tracker was created. */
  get elapsedMs(): number {
    return Math.max(0, this.#clock() - this.startedAt);
  }
  /** Share done, 0 to 100 (100 when `total` is 0). */
  get percent(): number {
    return this.total === 0 ? 100 : (this.#done / this.total) * 100;
  }
  /** Items done before this run (set by `initial` / {@link ProgressTracker.resumeAt}). */
  get resumed(): number {
    return this.#resumed;
  }
  /** Items per second since the start, not counting resumed items (0 before any time has passed). */
  get rate(): number {
    const elapsed = this.elapsedMs;
    return elapsed > 0 ? Math.max(0, this.#done - this.#resumed) / (elapsed / 1000) : 0;
  }
  /** Estimated milliseconds left, or `undefined` while the rate is unknown (0 once `done >= total`). */
  get eta(): number | undefined {
    const left = this.total - this.#done;
    if (left <= 0) return 0;
    const rate = this.rate;
    return rate > 0 ? (left / rate) * 1000 : undefined;
  }

  /**
   * Start counting from `done` items already done before this run (a job resumed from its checkpoint):
   * they count in `done` and `percent`, so the job's progress does not fall back to zero on a retry,
   * but not in `rate`. `batchProcess({ progress })` calls it when it resumes.
   */
  resumeAt(done: number): void {
    if (typeof done !== 'number' || !Number.isFinite(done) || done < 0) {
      throw new ConfigurationError(`ProgressTracker.resumeAt: expected a number >= 0, got ${describeValue(done)}`);
    }
    if (this.#finished) return;
    this.#resumed = done;
    this.#done = Math.max(this.#done, done);
  }

  /** Add `n` (default 1) items done. */
  increment(n = 1): void {
    if (typeof n !== 'number' || !Number.isFinite(n)) {
      throw new ConfigurationError(`ProgressTracker.increment: expected a finite number, got ${describeValue(n)}`);
    }
    this.update(this.#done + n);
  }

  /** Set the number of items done. */
  update(done: number): void {
    if (typeof done !== 'number' || !Number.isFinite(done) || done < 0) {
      throw new ConfigurationError(`ProgressTracker.update: expected a number >= 0, got ${describeValue(done)}`);
    }
    if (this.#finished) return;
    this.#done = done;
    const t = this.#clock();
    if (this.#bar && t - this.#lastDraw >= BAR_REDRAW_MS) this.#draw(t);
    if (t - this.#lastReport >= this.logIntervalMs) {
      this.#lastReport = t;
      const line = this.line();
      if (!this.#bar) safeLog(this.#logger, 'info', { operation: this.operationName, done, total: this.total }, line);
      this.#report(line);
    }
  }

  /** The current status line: `Export: 500/2000 (25.0%) 120.5/s ETA 12s`. */
  line(): string {
    return `${this.operationName}: ${this.#done}/${this.total} (${this.percent.toFixed(1)}%) ${this.rate.toFixed(1)}/s ETA ${formatEta(this.eta)}`;
  }

  /** Log and report the final line (`Export: done 2000/2000 (100.0%) in 16.6s, 120.5/s`) and end the bar. Idempotent. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    const t = this.#clock();
    if (this.#bar) {
      this.#draw(t);
      this.#write('\n');
    }
    const line = `${this.operationName}: done ${this.#done}/${this.total} (${this.percent.toFixed(1)}%) in ${formatMs(Math.max(0, t - this.startedAt))}, ${this.rate.toFixed(1)}/s`;
    safeLog(
      this.#logger,
      'info',
      { operation: this.operationName, done: this.#done, total: this.total, durationMs: t - this.startedAt },
      line,
    );
    this.#report(line);
  }

  /** `using progress = new ProgressTracker(…)` finishes it at the end of the block. */
  [Symbol.dispose](): void {
    this.finish();
  }

  #report(line: string): void {
    const job = this.#job;
    if (!job) return;
    try {
      Promise.resolve(job.progress(this.#done, this.total, line)).catch((err: unknown) => {
        safeLog(
          this.#logger,
          'warn',
          { operation: this.operationName, err: errorFields(err) },
          'ProgressTracker: could not report progress to the job',
        );
      });
    } catch (err) {
      safeLog(
        this.#logger,
        'warn',
        { operation: this.operationName, err: errorFields(err) },
        'ProgressTracker: could not report progress to the job',
      );
    }
  }

  #draw(t: number): void {
    this.#lastDraw = t;
    const ratio = this.total === 0 ? 1 : Math.min(1, Math.max(0, this.#done / this.total));
    const filled = Math.round(ratio * BAR_WIDTH);
    let text =
      `${this.operationName} [${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${this.percent.toFixed(1)}% ` +
      `${this.#done}/${this.total} ${this.rate.toFixed(1)}/s ETA ${formatEta(this.eta)}`;
    const columns = this.#stream?.columns;
    if (columns && columns > 1 && text.length >= columns) text = text.slice(0, columns - 1);
    const pad = Math.max(0, this.#drawnLength - text.length);
    this.#drawnLength = text.length;
    this.#write(`\r${text}${' '.repeat(pad)}`);
  }

  #write(chunk: string): void {
    try {
      this.#stream?.write(chunk);
    } catch {
      // A closed stream must not break the work being tracked.
    }
  }
}
