/**
 * Shared fakes for the timeout toolkit's tests (a memory sink, a capturing logger, a fake job).
 * Named `*.test.ts` so the build leaves it out; it holds no tests itself.
 * @module
 */
import type { CurrentJob } from '../job/current.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { Logger } from '../internal/logger.ts';
import type { OperationErrorInfo, TimeoutSink } from './shared.ts';

/** A sink keeping rows in memory. */
export interface MemorySink extends TimeoutSink {
  rows: TimeoutLogEntryInput[];
  operationErrors: OperationErrorInfo[];
}

/** A sink keeping rows in memory. */
export function memorySink(): MemorySink {
  const rows: TimeoutLogEntryInput[] = [];
  const operationErrors: OperationErrorInfo[] = [];
  return {
    rows,
    operationErrors,
    recordTimeout(entry) {
      rows.push(entry);
    },
    recordOperationError(info) {
      operationErrors.push(info);
    },
  };
}

/** One captured log call. */
export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

/** A logger keeping its lines in memory. */
export interface CaptureLogger extends Logger {
  lines: LogLine[];
  messages(level?: string): string[];
}

/** A logger keeping its lines in memory. */
export function captureLogger(): CaptureLogger {
  const lines: LogLine[] = [];
  const make = (level: string) => (objOrMsg: unknown, msg?: string) => {
    if (typeof objOrMsg === 'string') lines.push({ level, fields: {}, msg: objOrMsg });
    else lines.push({ level, fields: (objOrMsg ?? {}) as Record<string, unknown>, msg: msg ?? '' });
  };
  const logger: CaptureLogger = {
    lines,
    messages: (level) => lines.filter((l) => level === undefined || l.level === level).map((l) => l.msg),
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: () => logger,
  };
  return logger;
}

/** A persisted checkpoint shared by several runs of a fake job (like the job row). */
export interface CheckpointCell {
  value: unknown;
  writes: unknown[];
}

/** A fake job for `runAsJob`. */
export interface FakeJob extends CurrentJob {
  controller: AbortController;
  rows: TimeoutLogEntryInput[];
  progressCalls: Array<[number, number | undefined, string | undefined]>;
  cell: CheckpointCell;
}

/** A fake job; pass the same `cell` to two fake jobs to simulate a retry of one job. */
export function fakeJob(init: { id?: number; model?: string; method?: string; cell?: CheckpointCell } = {}): FakeJob {
  const controller = new AbortController();
  const rows: TimeoutLogEntryInput[] = [];
  const progressCalls: Array<[number, number | undefined, string | undefined]> = [];
  const cell = init.cell ?? { value: undefined, writes: [] };
  const job: FakeJob = {
    id: init.id ?? 42,
    model: init.model ?? 'res.partner',
    method: init.method ?? 'export',
    controller,
    signal: controller.signal,
    rows,
    progressCalls,
    cell,
    async progress(done, total, message) {
      progressCalls.push([done, total, message]);
    },
    checkpoint: {
      get: <T>() => structuredClone(cell.value) as T | undefined,
      async set(value) {
        cell.value = structuredClone(value);
        cell.writes.push(structuredClone(value));
      },
    },
    async recordTimeout(entry) {
      rows.push({ ...entry, model: job.model, method: job.method, jobId: job.id });
    },
  };
  return job;
}
