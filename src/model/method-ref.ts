/**
 * Method references: the ways a caller names a job method, and the one rule that turns a reference
 * into a model, a method and the records it is bound to. Scheduled jobs (`cron()` targets) and the
 * test kit's assertions both name methods this way.
 * @module
 */
import { UnknownMethodError, UnknownModelError, describeValue } from '../errors.ts';
import type { ResolvedJobFunction } from '../job/settings.ts';
import type { ModelDefinition } from './definition.ts';

/** Marks the functions on a model, so a function can be traced back to its model, method and records. */
export const METHOD_TAG = Symbol.for('conveyor.method');

/**
 * A job method to name: a model's function (`partners.sendNewsletter`, `partners.browse([1]).sendNewsletter`),
 * the function as defined (`partners.methods.sendNewsletter`), `'res.partner.sendNewsletter'`, or
 * `{ model, method, records? }`.
 */
export type MethodRef =
  | ((...args: never[]) => unknown)
  | string
  | { model: string; method: string; records?: readonly unknown[] };

/** A method reference resolved against a Conveyor's models. */
export interface ResolvedMethodRef {
  model: string;
  method: string;
  /** The records the function is bound to (empty for the model itself, a string or an object without records). */
  records: readonly unknown[];
}

/** How a caller resolves references: its name in messages, and what it accepts. */
export interface MethodRefRules {
  /** Names the caller in messages, e.g. `cron('nightly')` or `assertEnqueuedJob()`. */
  what: string;
  /** What the reference stands for in messages: `'target'` for a scheduled job, `'method'` for an assertion. */
  noun: string;
  /**
   * The error for a value that is no method reference: a ConfigurationError for a definition read at
   * start-up, a ValidationError for a call's argument.
   */
  invalid: (message: string) => Error;
  /** Whether the `{ model, method, records? }` form is accepted. */
  objects: boolean;
}

/**
 * Mark `fn` as the function of `ref`'s method (non-enumerable, read-only), so {@link resolveMethodRef}
 * recognises it.
 */
export function tagMethod<F extends (...args: never[]) => unknown>(fn: F, ref: ResolvedMethodRef): F {
  Object.defineProperty(fn, METHOD_TAG, { value: ref });
  return fn;
}

/** The reference a model put on one of its functions, or undefined for any other value. */
function taggedRef(fn: (...args: never[]) => unknown): ResolvedMethodRef | undefined {
  return (fn as unknown as Record<symbol, ResolvedMethodRef | undefined>)[METHOD_TAG];
}

/**
 * The settings of the job method `model.method`, which must be defined: the one check behind an enqueue, a
 * scheduled job's target and the test kit's assertions.
 * @param prefix put before the message (says what named the method, e.g. `cron 'nightly': `)
 * @throws UnknownModelError, UnknownMethodError (with `details.model` / `details.method`)
 */
export function jobMethodSettings(
  models: ReadonlyMap<string, ModelDefinition>,
  model: string,
  method: string,
  prefix = '',
): ResolvedJobFunction {
  const def = models.get(model);
  if (!def)
    throw new UnknownModelError(
      `${prefix}unknown model '${model}' (defined: ${[...models.keys()].join(', ') || 'none'})`,
      {
        details: { model },
      },
    );
  const settings = def.settings.get(method);
  if (!settings)
    throw new UnknownMethodError(
      `${prefix}model '${model}' has no method '${method}' (methods: ${[...def.settings.keys()].join(', ')})`,
      { details: { model, method } },
    );
  return settings;
}

/**
 * Resolve `ref` against `models`: the model and method must exist. A function taken from a model or a
 * record set carries its model, method and records; a function as defined is looked up among the models'
 * methods (bound to no records).
 * @throws UnknownModelError, UnknownMethodError, or `rules.invalid`'s error for any other value
 */
export function resolveMethodRef(
  models: ReadonlyMap<string, ModelDefinition>,
  ref: unknown,
  rules: MethodRefRules,
): ResolvedMethodRef {
  const { what } = rules;
  const check = (model: string, method: string): void => {
    jobMethodSettings(models, model, method, `${what}: `);
  };
  if (typeof ref === 'function') {
    const tag = taggedRef(ref as (...args: never[]) => unknown);
    if (tag) {
      check(tag.model, tag.method);
      return { model: tag.model, method: tag.method, records: tag.records };
    }
    for (const def of models.values()) {
      for (const [name, fn] of Object.entries(def.methods))
        if (fn === ref) return { model: def.name, method: name, records: [] };
    }
    throw rules.invalid(
      `${what}: this function is not a job method of a model of this Conveyor (pass e.g. partners.sendNewsletter, or 'res.partner.sendNewsletter')`,
    );
  }
  if (typeof ref === 'string') {
    const dot = ref.lastIndexOf('.');
    if (dot <= 0 || dot === ref.length - 1)
      throw rules.invalid(`${what}: expected a ${rules.noun} 'model.method', got ${describeValue(ref)}`);
    const model = ref.slice(0, dot);
    const method = ref.slice(dot + 1);
    check(model, method);
    return { model, method, records: [] };
  }
  if (rules.objects && isObjectRef(ref)) {
    check(ref.model, ref.method);
    return { model: ref.model, method: ref.method, records: ref.records ?? [] };
  }
  const forms = rules.objects
    ? "a job method (partners.sendNewsletter), 'model.method' or { model, method }"
    : "a job method (partners.sendNewsletter) or 'model.method'";
  throw rules.invalid(`${what}: expected ${forms} as the ${rules.noun}, got ${describeValue(ref)}`);
}

function isObjectRef(ref: unknown): ref is { model: string; method: string; records?: readonly unknown[] } {
  const r = ref as { model?: unknown; method?: unknown } | null;
  return r !== null && typeof r === 'object' && typeof r.model === 'string' && typeof r.method === 'string';
}
