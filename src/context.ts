/**
 * The ambient context (queue_job's `env.context`): `conveyor.context.run({ tz, lang }, fn)`.
 * Allow-listed keys are captured at enqueue and restored while the job runs.
 * @module
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** Context values; `noDelay: true` runs delayed calls inline. */
export type ContextValues = Record<string, unknown>;

/** queue_job's default allow-list, in camelCase. */
export const DEFAULT_CONTEXT_KEYS: readonly string[] = [
  'tz',
  'lang',
  'allowedCompanyIds',
  'forceCompany',
  'activeTest',
];

const storage = new AsyncLocalStorage<ContextValues>();

/** Access to the ambient context. */
export class ContextApi {
  readonly #keys: readonly string[];
  constructor(keys: readonly string[]) {
    this.#keys = keys;
  }
  /** Run `fn` with `values` merged over the current context. */
  run<T>(values: ContextValues, fn: () => T): T {
    return storage.run({ ...(storage.getStore() ?? {}), ...values }, fn);
  }
  /** Run `fn` with exactly `values` as the context (nothing inherited from the caller). */
  runExactly<T>(values: ContextValues, fn: () => T): T {
    return storage.run({ ...values }, fn);
  }
  /** True outside any `run` (no ambient context): a job without a stored context can then skip `runExactly`. */
  isEmpty(): boolean {
    return storage.getStore() === undefined;
  }
  /** The current context (empty object outside any `run`). */
  get(): Readonly<ContextValues> {
    return storage.getStore() ?? {};
  }
  /** The allow-listed part of the current context, as stored with a job; null when empty. */
  capture(): ContextValues | null {
    const ctx = storage.getStore();
    if (!ctx) return null;
    const out: ContextValues = {};
    for (const k of this.#keys) if (ctx[k] !== undefined) out[k] = ctx[k];
    return Object.keys(out).length ? out : null;
  }
  /** The allow-list. */
  get keys(): readonly string[] {
    return this.#keys;
  }
}
