/**
 * Model definitions: a name and its job methods, validated once, with the settings of each method
 * resolved from the code's defaults (stored overrides are applied on top of them later).
 * @module
 */
import { ConfigurationError, describeValue } from '../errors.ts';
import type { JobContext } from '../job/context.ts';
import { resolveJobFunction, type JobFunctionSettings, type ResolvedJobFunction } from '../job/settings.ts';

/** A job method: gets the job context first, then its arguments. */
// biome-ignore lint/suspicious/noExplicitAny: a method's own parameter types are what MethodArgs infers, so any is needed here
export type JobMethod = (job: JobContext, ...args: any[]) => unknown;

/** A model's methods. */
export type JobMethods = Record<string, JobMethod>;

/** Names a job method may not have (they are record-set members). */
export const RESERVED_METHOD_NAMES = new Set([
  'modelName',
  'ids',
  'browse',
  'withDelay',
  'delayable',
  'methods',
  'settingsOf',
  'then',
  'constructor',
  'toString',
]);

/** The definition behind a model. */
export interface ModelDefinition {
  name: string;
  methods: JobMethods;
  /** Effective settings per method: code defaults with the stored overrides applied. */
  settings: Map<string, ResolvedJobFunction>;
  /** The settings as defined in code. */
  codeSettings: Map<string, ResolvedJobFunction>;
}

/** Validate a model definition. @throws ConfigurationError */
export function defineModel(name: unknown, methods: unknown, settings: unknown): ModelDefinition {
  if (typeof name !== 'string' || !/^[A-Za-z_][\w.-]*$/.test(name)) {
    throw new ConfigurationError(`model name must be a string like 'res.partner', got ${describeValue(name)}`);
  }
  if (!methods || typeof methods !== 'object')
    throw new ConfigurationError(
      `model '${name}': methods must be an object of functions, got ${describeValue(methods)}`,
    );
  const resolved = new Map<string, ResolvedJobFunction>();
  for (const [m, fn] of Object.entries(methods)) {
    if (typeof fn !== 'function')
      throw new ConfigurationError(`model '${name}': method '${m}' must be a function, got ${describeValue(fn)}`);
    if (RESERVED_METHOD_NAMES.has(m))
      throw new ConfigurationError(`model '${name}': '${m}' is reserved and cannot be a job method name`);
  }
  const s = (settings ?? {}) as Record<string, JobFunctionSettings>;
  if (typeof s !== 'object')
    throw new ConfigurationError(
      `model '${name}': settings must be an object keyed by method, got ${describeValue(settings)}`,
    );
  for (const key of Object.keys(s)) {
    if (!(key in (methods as object)))
      throw new ConfigurationError(
        `model '${name}': settings for unknown method '${key}'; methods are ${Object.keys(methods as object).join(', ')}`,
      );
  }
  for (const m of Object.keys(methods as object)) resolved.set(m, resolveJobFunction(name, m, s[m]));
  return { name, methods: methods as JobMethods, settings: new Map(resolved), codeSettings: resolved };
}
