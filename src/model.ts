/**
 * Models: named groups of job methods, like Odoo models. `browse(ids)` gives a record set;
 * `withDelay()` postpones a call as a job; calling a method directly runs it now, inline.
 * @module
 */
import { ConfigurationError, UnknownMethodError, describeValue } from './errors.ts';
import { Delayable, type DelayHost } from './delay/delayable.ts';
import { checkDelayOptions, type DelayOptions } from './delay/options.ts';
import { didYouMean } from './internal/options.ts';
import type { Job } from './job/handle.ts';
import type { JobContext } from './job/context.ts';
import { resolveJobFunction, type JobFunctionSettings, type ResolvedJobFunction } from './job/settings.ts';

/** A job method: gets the job context first, then its arguments. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type JobMethod = (job: JobContext, ...args: any[]) => unknown;

/** A model's methods. */
export type JobMethods = Record<string, JobMethod>;

/** The arguments of a job method, without the job context. */
export type MethodArgs<F> = F extends (job: JobContext, ...args: infer A) => unknown ? A : never;

/** The resolved result of a job method. */
export type MethodResult<F> = F extends (...args: never[]) => infer R ? Awaited<R> : never;

/** `withDelay()`: each method enqueues a job and resolves to its handle. */
export type DelayProxy<M extends JobMethods> = {
  [K in keyof M]: (...args: MethodArgs<M[K]>) => Promise<Job<MethodResult<M[K]>>>;
};

/** `delayable()`: each method records a call to be delayed later (graphs). */
export type DelayableProxy<M extends JobMethods> = {
  [K in keyof M]: (...args: MethodArgs<M[K]>) => Delayable<MethodResult<M[K]>>;
};

/** Direct calls: each method runs now, inline, and resolves to its result. */
export type InlineMethods<M extends JobMethods> = {
  [K in keyof M]: (...args: MethodArgs<M[K]>) => Promise<MethodResult<M[K]>>;
};

/** A model bound to record ids. */
export type RecordSet<M extends JobMethods> = InlineMethods<M> & {
  /** The model name. */
  readonly modelName: string;
  /** Record ids. */
  readonly ids: readonly unknown[];
  /** The same model on other records. */
  browse(ids: readonly unknown[] | unknown): RecordSet<M>;
  /** Postpone a call as a job. */
  withDelay(options?: DelayOptions): DelayProxy<M>;
  /** Record calls to build graphs (`onDone`, `chain`, `group`, `split`). */
  delayable(options?: DelayOptions): DelayableProxy<M>;
};

/** A model: a record set on no records, plus its definition. */
export type Model<M extends JobMethods> = RecordSet<M> & {
  /** The methods as defined. */
  readonly methods: M;
  /** The resolved settings of a method. */
  settingsOf(method: keyof M & string): ResolvedJobFunction;
};

/** What a model needs from its Conveyor. */
export interface ModelHost extends DelayHost {
  /** Run a method now, inline (a direct call). */
  runInline(model: string, method: string, records: readonly unknown[], args: readonly unknown[]): Promise<unknown>;
}

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

/** Marks the functions on a model, so test helpers can tell which method a function is. */
export const METHOD_TAG = Symbol.for('conveyor.method');

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

/** Build the record set object of a model definition. */
export function makeRecordSet<M extends JobMethods>(
  host: ModelHost,
  def: ModelDefinition,
  ids: readonly unknown[],
): RecordSet<M> {
  const set: Record<string | symbol, unknown> = {
    modelName: def.name,
    ids,
    browse: (next: readonly unknown[] | unknown) =>
      makeRecordSet<M>(host, def, Array.isArray(next) ? [...next] : [next]),
    withDelay: (options?: DelayOptions) => {
      const opts = checkDelayOptions(options, `${def.name}.withDelay()`);
      return methodProxy(
        def,
        'withDelay',
        (method) =>
          (...args: unknown[]) =>
            new Delayable(host, def.name, method, ids, args, opts).delay(),
      );
    },
    delayable: (options?: DelayOptions) => {
      const opts = checkDelayOptions(options, `${def.name}.delayable()`);
      return methodProxy(
        def,
        'delayable',
        (method) =>
          (...args: unknown[]) =>
            new Delayable(host, def.name, method, ids, args, opts),
      );
    },
  };
  for (const m of Object.keys(def.methods)) {
    const fn = (...args: unknown[]) => host.runInline(def.name, m, ids, args);
    Object.defineProperty(fn, METHOD_TAG, { value: { model: def.name, method: m, records: ids } });
    set[m] = fn;
  }
  return set as RecordSet<M>;
}

/** The error of a call to a method the model does not have, with a "did you mean" when one is close. */
function unknownMethodError(def: ModelDefinition, method: string, where: string): UnknownMethodError {
  const methods = Object.keys(def.methods);
  const suggestion = didYouMean(method, methods);
  return new UnknownMethodError(
    `${def.name}.${where}(): model '${def.name}' has no method '${method}'${suggestion === null ? '' : ` (did you mean '${suggestion}'?)`}; methods: ${methods.join(', ') || 'none'}`,
    { details: { model: def.name, method, suggestion } },
  );
}

/** Keys an object is probed for by the language and by libraries (`await`, inspection, JSON): never a job method. */
function isProbe(key: string | symbol): boolean {
  return typeof key === 'symbol' || key === 'then' || key === 'toJSON' || key in Object.prototype;
}

/**
 * The object of `withDelay()` / `delayable()`: one function per method. Calling a name the model does not
 * have (plain JavaScript: `model.withDelay().nope()`) is an {@link UnknownMethodError} instead of a bare
 * `TypeError: … is not a function`: rejected for `withDelay()` (its calls return promises), thrown for
 * `delayable()`. The name itself reads as absent (`in`, `Object.keys`), and the object is not thenable.
 */
function methodProxy(
  def: ModelDefinition,
  where: 'withDelay' | 'delayable',
  make: (method: string) => (...args: unknown[]) => unknown,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const m of Object.keys(def.methods)) out[m] = make(m);
  return new Proxy(out, {
    get(target, key, receiver) {
      if (Object.hasOwn(target, key) || isProbe(key)) return Reflect.get(target, key, receiver);
      const error = () => unknownMethodError(def, String(key), where);
      return where === 'withDelay'
        ? () => Promise.reject(error())
        : () => {
            throw error();
          };
    },
  });
}
