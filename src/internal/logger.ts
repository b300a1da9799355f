/**
 * A small levelled logger with a pino-compatible shape, so users may pass `pino()` instead.
 * @module
 */

/** Log levels, lowest first. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

type LogFn = (objOrMsg: unknown, msg?: string) => void;

/** The logger interface Conveyor writes to (a pino logger satisfies it). */
export interface Logger {
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  /** A logger that adds `bindings` to every line. */
  child(bindings: Record<string, unknown>): Logger;
}

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 99 };

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /** Lowest level written. @default 'info' (or `CONVEYOR_LOG_LEVEL`) */
  level?: LogLevel;
  /** `'pretty'` writes readable lines, `'json'` one JSON object per line. @default 'pretty' */
  format?: 'pretty' | 'json';
  /** Where lines go. @default process.stderr */
  write?: (line: string) => void;
}

/** Create the default logger. */
export function createLogger(options: LoggerOptions = {}, bindings: Record<string, unknown> = {}): Logger {
  const level = options.level ?? ((process.env.CONVEYOR_LOG_LEVEL as LogLevel | undefined) ?? 'info');
  const min = ORDER[level] ?? ORDER.info;
  const format = options.format ?? 'pretty';
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const make = (lvl: Exclude<LogLevel, 'silent'>): LogFn => (objOrMsg, msg) => {
    if (ORDER[lvl] < min) return;
    const fields: Record<string, unknown> = { ...bindings };
    let text = msg ?? '';
    if (typeof objOrMsg === 'string') text = objOrMsg;
    else if (objOrMsg instanceof Error) fields.err = { name: objOrMsg.name, message: objOrMsg.message };
    else if (objOrMsg && typeof objOrMsg === 'object') Object.assign(fields, objOrMsg);
    if (format === 'json') {
      write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: text, ...fields }));
    } else {
      const extra = Object.entries(fields)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
        .join(' ');
      write(`${new Date().toISOString().slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${text}${extra ? ' ' + extra : ''}`);
    }
  };
  return {
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: (more) => createLogger({ level, format, write }, { ...bindings, ...more }),
  };
}

/** A logger that writes nothing. */
export const silentLogger: Logger = createLogger({ level: 'silent' });
