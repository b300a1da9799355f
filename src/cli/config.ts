/**
 * CLI configuration: one table of options ({@link CLI_OPTIONS}) gives each setting its flag, its
 * `CONVEYOR_*` environment variable and its config-file key (`conveyor.config.json` in the working
 * directory, or `--config <file>` / `CONVEYOR_CONFIG`). Precedence: flags > environment > config file.
 * Adding a runner option to the CLI is one row here.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { ConfigurationError, describeValue } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';
import { didYouMean } from '../internal/options.ts';
import type { RunnerOptions } from '../runner/options.ts';
import { parseBytes } from '../runner/isolation/limits.ts';

/** Settings the CLI understands, by config-file key (values as written: durations and sizes keep their text). */
export interface CliConfig {
  database?: string;
  schema?: string;
  logLevel?: string;
  dbMaxconn?: number;
  channels?: string;
  workers?: number;
  prefetch?: number;
  pollInterval?: string | number;
  lease?: string | number;
  heartbeat?: string | number;
  maxCrashes?: number;
  limitTimeReal?: string | number;
  limitTimeRealCron?: string | number;
  limitTimeCpu?: string | number;
  limitMemorySoft?: string | number;
  limitMemoryHard?: string | number;
  /** Jobs a worker process runs before it is recycled (process isolation; Odoo's `limit_request`). */
  limitRequest?: number;
  killGrace?: string | number;
  shutdownGrace?: string | number;
  isolation?: 'inline' | 'process';
  runnerId?: string;
  dashboardPort?: number;
  dashboardHost?: string;
}

/** How a value is read and checked. */
export type CliOptionType = 'string' | 'int' | 'duration' | 'size' | 'isolation' | 'level';

/** One setting: its config key, flag, environment variable (derived from the key) and where it applies. */
export interface CliOption {
  /** Config-file key; the environment variable is {@link envName} of it. */
  readonly key: keyof CliConfig;
  /** Commander flag syntax, e.g. `'--lease <duration>'`. */
  readonly flag: string;
  readonly description: string;
  readonly type: CliOptionType;
  /** Commands that take the flag (`'global'`: the program itself, before or after the command). */
  readonly commands: readonly string[];
  /** The runner option it sets, when it is one. */
  readonly runner?: keyof RunnerOptions;
}

const RUN = ['run'];

/** Every CLI setting. */
export const CLI_OPTIONS: readonly CliOption[] = [
  {
    key: 'database',
    flag: '--database <url>',
    type: 'string',
    commands: ['global'],
    description:
      'database URL: sqlite:./conveyor.db, postgres://… (`run`: for a module that opens Conveyor without one)',
  },
  {
    key: 'schema',
    flag: '--schema <name>',
    type: 'string',
    commands: ['global'],
    description: 'PostgreSQL schema (default conveyor)',
  },
  {
    key: 'logLevel',
    flag: '--log-level <level>',
    type: 'level',
    commands: ['global'],
    description: 'debug | info | warn | error | silent',
  },
  {
    key: 'dbMaxconn',
    flag: '--db-maxconn <n>',
    type: 'int',
    commands: ['global'],
    description: 'PostgreSQL pool size (default 64)',
  },
  {
    key: 'channels',
    flag: '--channels <config>',
    type: 'string',
    commands: ['run', 'channels'],
    runner: 'channels',
    description: "channel capacities, e.g. 'root:4,root.mail:2'",
  },
  {
    key: 'workers',
    flag: '--workers <n>',
    type: 'int',
    commands: RUN,
    runner: 'workers',
    description: 'job slots (default 4)',
  },
  {
    key: 'prefetch',
    flag: '--prefetch <n>',
    type: 'int',
    commands: RUN,
    runner: 'prefetch',
    description:
      'jobs claimed ahead into the local buffer (default: adaptive, about one claim round trip of work, at most 50 ms of it and 500 jobs)',
  },
  {
    key: 'isolation',
    flag: '--isolation <mode>',
    type: 'isolation',
    commands: RUN,
    runner: 'isolation',
    description: 'inline (jobs in the event loop) or process (worker processes, hard limits)',
  },
  {
    key: 'limitTimeReal',
    flag: '--limit-time-real <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'limitTimeReal',
    description: 'wall-clock limit of one job run (default 1200s)',
  },
  {
    key: 'limitTimeRealCron',
    flag: '--limit-time-real-cron <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'limitTimeRealCron',
    description: 'wall-clock limit of a run of a job enqueued by a scheduled job (default 3600s)',
  },
  {
    key: 'limitTimeCpu',
    flag: '--limit-time-cpu <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'limitTimeCpu',
    description: 'CPU time of one job run, process isolation (default 600s)',
  },
  {
    key: 'limitMemorySoft',
    flag: '--limit-memory-soft <size>',
    type: 'size',
    commands: RUN,
    runner: 'limitMemorySoft',
    description: "recycle a worker process above this RSS after its job, e.g. '2048mb' (default 2048mb)",
  },
  {
    key: 'limitMemoryHard',
    flag: '--limit-memory-hard <size>',
    type: 'size',
    commands: RUN,
    runner: 'limitMemoryHard',
    description: 'kill a worker process above this RSS at once (default 2560mb)',
  },
  {
    key: 'limitRequest',
    flag: '--limit-request <n>',
    type: 'int',
    commands: RUN,
    runner: 'limitRequest',
    description: 'recycle a worker process after it has run n jobs, process isolation; 0 = never (default 65536)',
  },
  {
    key: 'killGrace',
    flag: '--kill-grace <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'killGrace',
    description: 'process isolation: SIGTERM to SIGKILL delay on a limit (default 1500ms)',
  },
  {
    key: 'shutdownGrace',
    flag: '--shutdown-grace <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'shutdownGrace',
    description: 'time running jobs get to finish on stop (default 30s)',
  },
  {
    key: 'lease',
    flag: '--lease <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'lease',
    description:
      'runner lease: an outage shorter than this never gets a live runner declared dead; a silent one is dead after lease + heartbeat + 1s (default 30s)',
  },
  {
    key: 'heartbeat',
    flag: '--heartbeat <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'heartbeat',
    description: 'heartbeat period (default lease/3)',
  },
  {
    key: 'maxCrashes',
    flag: '--max-crashes <n>',
    type: 'int',
    commands: RUN,
    runner: 'maxCrashes',
    description: 'a job whose runner died this many times fails (default 3)',
  },
  {
    key: 'pollInterval',
    flag: '--poll-interval <duration>',
    type: 'duration',
    commands: RUN,
    runner: 'pollInterval',
    description: 'polling fallback (default 1s on SQLite, 5s on PostgreSQL)',
  },
  {
    key: 'runnerId',
    flag: '--runner-id <id>',
    type: 'string',
    commands: RUN,
    runner: 'id',
    description: 'runner id (default <host>:<pid>:<random>)',
  },
  {
    key: 'dashboardPort',
    flag: '--port <n>',
    type: 'int',
    commands: ['dashboard'],
    description: 'dashboard port (default 8790; `run --dashboard [port]` too)',
  },
  {
    key: 'dashboardHost',
    flag: '--host <host>',
    type: 'string',
    commands: ['dashboard'],
    description: 'dashboard bind address (default 127.0.0.1; non-local needs --token)',
  },
];

const KEYS = CLI_OPTIONS.map((o) => o.key);

/** `limitTimeReal` → `CONVEYOR_LIMIT_TIME_REAL`. */
export function envName(key: string): string {
  return 'CONVEYOR_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
}

/** Add the table's flags for `command` (`'global'` for the program), each with its environment variable. */
export function addOptions(cmd: Command, command: string): Command {
  for (const o of CLI_OPTIONS) {
    if (!o.commands.includes(command)) continue;
    // values are checked by resolveOptions() (not commander's choices(), which would reject an empty variable)
    cmd.addOption(new Option(o.flag, o.description).env(envName(o.key)));
  }
  return cmd;
}

/** Read the config file, if any. @throws ConfigurationError on unreadable JSON or unknown keys */
export function readConfigFile(file?: string): CliConfig {
  const p = file ?? (fs.existsSync('conveyor.config.json') ? 'conveyor.config.json' : undefined);
  if (!p) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path.resolve(p), 'utf8'));
  } catch (err) {
    throw new ConfigurationError(`cannot read config file '${p}': ${(err as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new ConfigurationError(`config file '${p}' must hold a JSON object`);
  const config: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(parsed)) {
    const spec = CLI_OPTIONS.find((o) => o.key === k);
    if (!spec) {
      const best = didYouMean(k, KEYS);
      throw new ConfigurationError(
        `config file '${p}': unknown key '${k}'${best === null ? '' : ` (did you mean '${best}'?)`}; expected one of ${KEYS.join(', ')}`,
      );
    }
    config[k] = checkValue(spec, v, `config file '${p}': ${k}`);
  }
  return config as CliConfig;
}

/** Check and convert one value; `where` names its source in the error. */
function checkValue(spec: CliOption, value: unknown, where: string): unknown {
  switch (spec.type) {
    case 'int': {
      const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
      if (typeof n !== 'number' || !Number.isInteger(n))
        throw new ConfigurationError(`${where}: expected an integer, got ${describeValue(value)}`);
      return n;
    }
    case 'duration':
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new ConfigurationError(`${where}: expected a duration like '30s', got ${describeValue(value)}`);
      parseDuration(value, where);
      return value;
    case 'size':
      if (typeof value !== 'string' && typeof value !== 'number')
        throw new ConfigurationError(`${where}: expected a size like '512mb', got ${describeValue(value)}`);
      parseBytes(value, where);
      return value;
    case 'isolation':
      if (value !== 'inline' && value !== 'process')
        throw new ConfigurationError(`${where}: expected 'inline' or 'process', got ${describeValue(value)}`);
      return value;
    case 'level':
      if (typeof value !== 'string' || !['debug', 'info', 'warn', 'error', 'silent'].includes(value)) {
        throw new ConfigurationError(
          `${where}: expected debug, info, warn, error or silent, got ${describeValue(value)}`,
        );
      }
      return value;
    default:
      if (typeof value !== 'string' || !value)
        throw new ConfigurationError(`${where}: expected a non-empty string, got ${describeValue(value)}`);
      return value;
  }
}

/**
 * Every setting for a run of `command` parsed by `cmd`: its flag (when `command` or the program has it),
 * else its environment variable (an empty one counts as unset), else the config file (`--config` /
 * `CONVEYOR_CONFIG` / `./conveyor.config.json`). @throws ConfigurationError naming the flag, variable or file of a bad value
 */
export function resolveOptions(cmd: Command, command: string): CliConfig {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const file = readConfigFile((opts.config as string | undefined) || undefined);
  const out: Record<string, unknown> = {};
  for (const spec of CLI_OPTIONS) {
    const flagged = spec.commands.includes('global') || spec.commands.includes(command);
    const attr = new Option(spec.flag).attributeName();
    // a setting without a flag on this command still comes from its variable or the config file
    const value = flagged ? opts[attr] : process.env[envName(spec.key)];
    const source = flagged ? cmd.getOptionValueSourceWithGlobals(attr) : 'env';
    if (value !== undefined && value !== '' && (source === 'cli' || source === 'env')) {
      out[spec.key] = checkValue(spec, value, source === 'cli' ? spec.flag.split(' ')[0]! : envName(spec.key));
    } else if (file[spec.key] !== undefined) {
      out[spec.key] = file[spec.key];
    }
  }
  return out as CliConfig;
}

/** The runner options among the settings. */
export function runnerOptions(config: CliConfig): RunnerOptions {
  const options: Record<string, unknown> = {};
  for (const spec of CLI_OPTIONS) {
    if (spec.runner && config[spec.key] !== undefined) options[spec.runner] = config[spec.key];
  }
  return options as RunnerOptions;
}
