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

/** An error as pino's `err` serializer writes it: `{ type, message, stack, code?, cause? }`. */
export interface SerializedError {
  type: string;
  message: string;
  stack?: string;
  code?: unknown;
  cause?: SerializedError | unknown;
  [key: string]: unknown;
}

/**
 * An error in pino's `err` serializer shape (its own enumerable properties, such as `code`, kept;
 * `cause` serialized the same way, a few levels deep). Anything that is not an Error is returned as is.
 */
export function serializeError(err: unknown, depth = 0): unknown {
  if (!(err instanceof Error)) return err;
  const out: SerializedError = { type: err.constructor?.name || err.name, message: err.message };
  if (err.stack !== undefined) out.stack = err.stack;
  for (const [k, v] of Object.entries(err)) {
    if (k === 'cause' || k === 'stack' || k === 'message') continue;
    out[k] = v instanceof Error ? (depth < 4 ? serializeError(v, depth + 1) : String(v)) : v;
  }
  if (err.cause !== undefined) out.cause = depth < 4 ? serializeError(err.cause, depth + 1) : String(err.cause);
  return out;
}

/** Create the default logger. */
export function createLogger(options: LoggerOptions = {}, bindings: Record<string, unknown> = {}): Logger {
  const level = options.level ?? (process.env.CONVEYOR_LOG_LEVEL as LogLevel | undefined) ?? 'info';
  const min = ORDER[level] ?? ORDER.info;
  const format = options.format ?? 'pretty';
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const make =
    (lvl: Exclude<LogLevel, 'silent'>): LogFn =>
    (objOrMsg, msg) => {
      if (ORDER[lvl] < min) return;
      const fields: Record<string, unknown> = { ...bindings };
      let text = msg ?? '';
      if (typeof objOrMsg === 'string') text = objOrMsg;
      else if (objOrMsg instanceof Error) {
        // pino's logger.error(err, msg?): the error goes under `err`, its message is the default msg
        fields.err = objOrMsg;
        if (msg === undefined) text = objOrMsg.message;
      } else if (objOrMsg && typeof objOrMsg === 'object') Object.assign(fields, objOrMsg);
      // errors anywhere at the top level keep their type, stack, code and cause (JSON.stringify drops them)
      const stacks: string[] = [];
      for (const [k, v] of Object.entries(fields)) {
        if (!(v instanceof Error)) continue;
        fields[k] = serializeError(v);
        if (v.stack) stacks.push(v.stack);
      }
      if (format === 'json') {
        write(JSON.stringify({ time: new Date().toISOString(), level: lvl, msg: text, ...fields }));
      } else {
        const extra = Object.entries(fields)
          .map(([k, v]) => {
            if (v && typeof v === 'object' && 'stack' in v && 'type' in v)
              return `${k}=${String((v as SerializedError).type)}: ${String((v as SerializedError).message)}`;
            return `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`;
          })
          .join(' ');
        // pretty lines show the stack under the line, indented
        const tail = stacks.length ? '\n' + stacks.map((st) => st.replace(/^/gm, '    ')).join('\n') : '';
        write(
          `${new Date().toISOString().slice(11, 23)} ${lvl.toUpperCase().padEnd(5)} ${text}${extra ? ' ' + extra : ''}${tail}`,
        );
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
