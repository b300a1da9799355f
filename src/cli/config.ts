/**
 * CLI configuration: flags > `CONVEYOR_*` environment variables > config file (`conveyor.config.json`
 * in the working directory, or `--config <file>`).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { ConfigurationError } from '../errors.ts';

/** Settings the CLI understands. */
export interface CliConfig {
  database?: string;
  schema?: string;
  channels?: string;
  workers?: number;
  prefetch?: number;
  limitTimeReal?: string | number;
  limitTimeCpu?: string | number;
  limitTimeRealCron?: string | number;
  limitMemorySoft?: string | number;
  limitMemoryHard?: string | number;
  /** Jobs a worker process runs before it is recycled (process isolation; Odoo's `limit_request`). */
  limitRequest?: number;
  dbMaxconn?: number;
  logLevel?: string;
  dashboardPort?: number;
  dashboardHost?: string;
}

const KEYS: (keyof CliConfig)[] = ['database', 'schema', 'channels', 'workers', 'prefetch', 'limitTimeReal', 'limitTimeCpu', 'limitTimeRealCron',
  'limitMemorySoft', 'limitMemoryHard', 'dbMaxconn', 'logLevel', 'dashboardPort', 'dashboardHost', 'limitRequest'];
const NUMERIC = new Set<keyof CliConfig>(['workers', 'prefetch', 'dbMaxconn', 'dashboardPort', 'limitRequest']);

/** `limitTimeReal` → `CONVEYOR_LIMIT_TIME_REAL`. */
export function envName(key: string): string {
  return 'CONVEYOR_' + key.replace(/[A-Z]/g, (c) => '_' + c).toUpperCase();
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
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new ConfigurationError(`config file '${p}' must hold a JSON object`);
  for (const k of Object.keys(parsed)) {
    if (!KEYS.includes(k as keyof CliConfig)) throw new ConfigurationError(`config file '${p}': unknown key '${k}'; expected one of ${KEYS.join(', ')}`);
  }
  return parsed as CliConfig;
}

/** Merge flags over environment over file. */
export function resolveConfig(flags: Record<string, unknown>, file?: string): CliConfig {
  const out: Record<string, unknown> = { ...readConfigFile(file) };
  for (const k of KEYS) {
    const env = process.env[envName(k)];
    if (env !== undefined && env !== '') out[k] = env;
    if (flags[k] !== undefined) out[k] = flags[k];
    if (NUMERIC.has(k) && out[k] !== undefined) {
      const n = Number(out[k]);
      if (!Number.isInteger(n)) throw new ConfigurationError(`${k}: expected an integer, got '${String(out[k])}'`);
      out[k] = n;
    }
  }
  return out as CliConfig;
}
