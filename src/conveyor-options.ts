/**
 * The options of `Conveyor.open()`: their types, their validation, and what they resolve to with the
 * `CONVEYOR_*` environment variables and the defaults.
 * @module
 */
import { ChannelTree } from './channels/tree.ts';
import { checkMaintenanceOptions, type MaintenanceOptions } from './cron/maintenance.ts';
import { ConfigurationError, describeValue } from './errors.ts';
import type { Clock } from './internal/clock.ts';
import { createLogger, silentLogger, type Logger, type LogLevel } from './internal/logger.ts';
import { checkInt, checkOptions } from './internal/options.ts';
import type { StorageOptions } from './open-storage.ts';
import type { RunnerOptions } from './runner/options.ts';

/** Options of {@link Conveyor.open}. Unknown keys are an error. */
export interface ConveyorOptions {
  /** `sqlite:./conveyor.db` (default), `sqlite::memory:`, or `postgres://…`. Also `CONVEYOR_DATABASE`. */
  database?: string;
  /** PostgreSQL schema of the tables. @default 'conveyor' (or `CONVEYOR_SCHEMA`) */
  schema?: string;
  /** Channel configuration, queue_job syntax. @default '' (root unlimited: the runners' slots bound it; or `CONVEYOR_CHANNELS`) */
  channels?: string;
  /** A logger (pino-compatible), or a level for the built-in one. @default 'info' */
  logger?: Logger | LogLevel;
  /** The clock (tests). */
  clock?: Clock;
  /** Context keys captured at enqueue. @default ['tz','lang','allowedCompanyIds','forceCompany','activeTest'] */
  contextKeys?: readonly string[];
  /** Run delayed calls at once, inline (tests, debugging). Also `CONVEYOR_NO_DELAY=1`. */
  noDelay?: boolean;
  /** PostgreSQL pool size. @default 64 (or `CONVEYOR_DB_MAXCONN`) */
  dbMaxconn?: number;
  /** Apply migrations on open. @default true */
  migrate?: boolean;
  /**
   * Create the database when it holds no Conveyor schema yet. `false` refuses instead, with a
   * DatabaseNotFoundError: a SQLite file that does not exist is not created (nor `sqlite::memory:`, always
   * empty), a PostgreSQL schema that does not exist is named (what read-only tools want). @default true
   */
  create?: boolean;
  /**
   * A job enqueued into a channel that is neither in the channel configuration nor the channel of a job
   * function (a typo such as `root.mial`): `'warn'` logs once per channel, naming the configured channels
   * with a did-you-mean, and stores the job (it runs under the nearest configured ancestor); `'error'`
   * throws UnknownChannelError and stores nothing; `'allow'` says nothing. @default 'warn'
   */
  unknownChannels?: 'warn' | 'error' | 'allow';
  /** SQLite fsync policy. @default 'normal' */
  synchronous?: 'normal' | 'full';
  /** Defaults for runners started from this Conveyor (`conveyor.runner()`). */
  runner?: RunnerOptions;
  /**
   * Built-in scheduled jobs (jobs of the model `conveyor.maintenance`): weekly timeout-log cleanup and
   * daily retention of done/cancelled jobs. `false` registers none (entries already stored stay: pause or
   * delete them with `conveyor.crons`). See docs/cron.md.
   * @default { timeoutLogDays: 30, jobRetentionDays: 30 }
   */
  maintenance?: MaintenanceOptions | false;
}

const OPTION_KEYS = [
  'database',
  'schema',
  'channels',
  'logger',
  'clock',
  'contextKeys',
  'noDelay',
  'dbMaxconn',
  'migrate',
  'synchronous',
  'runner',
  'maintenance',
  'create',
  'unknownChannels',
];

/** The options once checked and resolved with the environment and the defaults. */
export interface ResolvedConveyorOptions {
  /** Where and how to open the database. */
  storage: StorageOptions;
  /** The logger to use. */
  logger: Logger;
  /** The parsed channel configuration. */
  channels: ChannelTree;
  /** The built-in scheduled jobs to register, or false for none. */
  maintenance: Required<MaintenanceOptions> | false;
  /** Whether no-delay mode is on (option or `CONVEYOR_NO_DELAY`). */
  noDelay: boolean;
}

/** True when the environment variable `name` is set to anything but empty, `0` or `false`. */
export function envFlag(name: string): boolean {
  const v = process.env[name];
  return v !== undefined && v !== '' && v !== '0' && v.toLowerCase() !== 'false';
}

/**
 * Check the options of `Conveyor.open()` and resolve them with the `CONVEYOR_*` environment variables.
 * @throws ConfigurationError on an unknown key or a bad value, ChannelConfigError on a bad channel configuration
 */
export function resolveConveyorOptions(options: ConveyorOptions): ResolvedConveyorOptions {
  checkOptions(options, OPTION_KEYS, 'Conveyor.open()');
  const maintenance = checkMaintenanceOptions(options.maintenance);
  const logger =
    typeof options.logger === 'object' && options.logger
      ? options.logger
      : options.logger === 'silent'
        ? silentLogger
        : createLogger({ level: options.logger as LogLevel | undefined });
  if (
    options.contextKeys !== undefined &&
    (!Array.isArray(options.contextKeys) || options.contextKeys.some((k) => typeof k !== 'string'))
  ) {
    throw new ConfigurationError(
      `Conveyor.open(): contextKeys must be an array of strings, got ${describeValue(options.contextKeys)}`,
    );
  }
  const channels = ChannelTree.fromConfig(options.channels ?? process.env.CONVEYOR_CHANNELS ?? '');
  const dbMaxconn =
    options.dbMaxconn ?? (process.env.CONVEYOR_DB_MAXCONN ? Number(process.env.CONVEYOR_DB_MAXCONN) : 64);
  checkInt(dbMaxconn, 'Conveyor.open(): dbMaxconn', 1, 10_000);
  if (options.create !== undefined && typeof options.create !== 'boolean')
    throw new ConfigurationError(`Conveyor.open(): create must be a boolean, got ${describeValue(options.create)}`);
  if (options.unknownChannels !== undefined && !['warn', 'error', 'allow'].includes(options.unknownChannels)) {
    throw new ConfigurationError(
      `Conveyor.open(): unknownChannels must be 'warn', 'error' or 'allow', got ${describeValue(options.unknownChannels)}`,
    );
  }
  return {
    storage: {
      database: options.database ?? process.env.CONVEYOR_DATABASE ?? 'sqlite:./conveyor.db',
      schema: options.schema ?? (process.env.CONVEYOR_SCHEMA || undefined),
      maxConnections: dbMaxconn,
      synchronous: options.synchronous,
      create: options.create !== false,
      migrate: options.migrate !== false,
    },
    logger,
    channels,
    maintenance,
    noDelay: options.noDelay ?? envFlag('CONVEYOR_NO_DELAY'),
  };
}
