/**
 * Runner options → process pool options: `isolation` (or `CONVEYOR_ISOLATION`), `module`, and the
 * limits with their environment fallbacks and defaults (Odoo's, where Odoo has one).
 * @module
 */
import { ConfigurationError, describeValue } from '../../errors.ts';
import { parseDuration } from '../../internal/duration.ts';
import type { Logger } from '../../internal/logger.ts';
import { parseBytes } from './limits.ts';
import type { ProcessPoolOptions } from './pool-options.ts';
import type { RunnerOptions } from '../options.ts';

/** The runner options this module reads. */
export type IsolationOptions = Pick<
  RunnerOptions,
  'isolation' | 'module' | 'limitTimeCpu' | 'limitMemorySoft' | 'limitMemoryHard' | 'killGrace' | 'limitRequest'
>;

/** Default CPU time of one run: 600 s. */
export const DEFAULT_LIMIT_TIME_CPU = '600s';
/** Default soft memory limit of a worker process: 2048 MiB (Odoo's `limit_memory_soft`). */
export const DEFAULT_LIMIT_MEMORY_SOFT = 2048 * 1024 ** 2;
/** Default hard memory limit of a worker process: 2560 MiB (Odoo's `limit_memory_hard`). */
export const DEFAULT_LIMIT_MEMORY_HARD = 2560 * 1024 ** 2;

/**
 * Default number of jobs a worker process runs before it is recycled: 65536, Odoo's `limit_request`
 * default (since Odoo 15; 8192 before). High enough that the restart (~0.25 s) never matters; the
 * memory limits recycle a leaking worker long before.
 */
export const DEFAULT_LIMIT_REQUEST = 65_536;

/** `limitRequest` from the option (a number) or the environment (a digit string). @throws ConfigurationError */
function parseLimitRequest(option: unknown, env: string | undefined): number {
  const fromEnv = option === undefined && env !== undefined && env !== '';
  const value =
    option !== undefined ? option : fromEnv ? (/^\s*\d+\s*$/.test(env!) ? Number(env) : env) : DEFAULT_LIMIT_REQUEST;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigurationError(
      `${fromEnv ? 'CONVEYOR_LIMIT_REQUEST (runner option limitRequest)' : 'runner option limitRequest'}: expected an integer >= 0 (jobs a worker process runs before it is recycled; 0 = never), got ${describeValue(fromEnv ? env : option)}`,
      { details: { option: 'limitRequest' } },
    );
  }
  return value;
}

/**
 * The pool options of a runner, or null for inline isolation.
 * @throws ConfigurationError on a bad isolation value, a missing module, or a bad limit
 */
export function processPoolOptions(
  options: IsolationOptions,
  context: { size: number; logger: Logger; now: () => number },
): ProcessPoolOptions | null {
  const env = process.env;
  const isolation = options.isolation ?? (env.CONVEYOR_ISOLATION || undefined) ?? 'inline';
  if (isolation !== 'inline' && isolation !== 'process') {
    throw new ConfigurationError(`CONVEYOR_ISOLATION: expected 'inline' or 'process', got ${describeValue(isolation)}`);
  }
  if (isolation === 'inline') return null;
  if (options.module === undefined || options.module === '') {
    throw new ConfigurationError(
      "runner option isolation: 'process' needs the option module: the path of the module whose default export is the Conveyor with its models (conveyor run <module> passes it)",
    );
  }
  if (typeof options.module !== 'string')
    throw new ConfigurationError(
      `runner option module: expected a path or file URL, got ${describeValue(options.module)}`,
    );
  const soft = parseBytes(
    options.limitMemorySoft ?? env.CONVEYOR_LIMIT_MEMORY_SOFT ?? DEFAULT_LIMIT_MEMORY_SOFT,
    'runner option limitMemorySoft',
  );
  const hard = parseBytes(
    options.limitMemoryHard ?? env.CONVEYOR_LIMIT_MEMORY_HARD ?? DEFAULT_LIMIT_MEMORY_HARD,
    'runner option limitMemoryHard',
  );
  if (soft > 0 && hard > 0 && soft > hard) {
    context.logger.warn(
      { limitMemorySoft: soft, limitMemoryHard: hard },
      'limitMemorySoft is above limitMemoryHard: workers will be killed before they can be recycled',
    );
  }
  return {
    module: options.module,
    size: context.size,
    logger: context.logger,
    now: context.now,
    limits: {
      timeCpuMs: parseDuration(
        options.limitTimeCpu ?? env.CONVEYOR_LIMIT_TIME_CPU ?? DEFAULT_LIMIT_TIME_CPU,
        'runner option limitTimeCpu',
      ),
      memorySoftBytes: soft,
      memoryHardBytes: hard,
      graceMs: parseDuration(options.killGrace ?? '1500ms', 'runner option killGrace'),
      requests: parseLimitRequest(options.limitRequest, env.CONVEYOR_LIMIT_REQUEST),
    },
  };
}
