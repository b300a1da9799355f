/**
 * Models: named groups of job methods, like Odoo models. `browse(ids)` gives a record set;
 * `withDelay()` postpones a call as a job; calling a method directly runs it now, inline.
 * @module
 */
import { Delayable, type DelayHost } from '../delay/delayable.ts';
import { checkDelayOptions, type DelayOptions } from '../delay/options.ts';
import { UnknownMethodError } from '../errors.ts';
import { didYouMean } from '../internal/options.ts';
import type { JobContext } from '../job/context.ts';
import type { Job } from '../job/handle.ts';
import type { ResolvedJobFunction } from '../job/settings.ts';
import type { JobMethods, ModelDefinition } from './definition.ts';
import { tagMethod } from './method-ref.ts';

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
    set[m] = tagMethod((...args: unknown[]) => host.runInline(def.name, m, ids, args), {
      model: def.name,
      method: m,
      records: ids,
    });
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
