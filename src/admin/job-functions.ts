/**
 * Job functions as data (`conveyor.jobFunctions`): an operator changes a job function's channel,
 * retries or limits without a deploy. Overrides are stored in the database and applied over the
 * settings from code; other processes pick them up at their next runner heartbeat.
 * @module
 */
import type { Driver } from '../drivers/driver.ts';
import { UnknownMethodError, ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import type { Logger } from '../internal/logger.ts';
import {
  applyOverride,
  validateOverride,
  type JobFunctionOverride,
  type ResolvedJobFunction,
} from '../job/settings.ts';
import type { ModelDefinition } from '../model/definition.ts';

/** One job function (a model's method) with its settings from code, the stored override, and the result. */
export interface JobFunctionInfo {
  /** `model.method`. */
  name: string;
  /** Model name. */
  model: string;
  /** Method name. */
  method: string;
  /** The settings given in code. */
  code: ResolvedJobFunction;
  /** The stored override, if any. */
  override: JobFunctionOverride | null;
  /** The settings jobs get: the code's with the override applied. */
  effective: ResolvedJobFunction;
}

/**
 * Job functions as data: an operator changes a function's channel, retries or limits without a deploy.
 * Overrides live in the database; other processes pick them up at their next runner heartbeat.
 */
export interface JobFunctionsApi {
  /** Every job function of the defined models. */
  list(): Promise<JobFunctionInfo[]>;
  /** Merge `patch` into the stored override (a key set to null is removed). @throws on invalid values */
  update(name: string, patch: Record<string, unknown>): Promise<JobFunctionInfo>;
  /** Remove the override: back to the code's settings. */
  reset(name: string): Promise<JobFunctionInfo>;
  /** Reload the overrides from the database. */
  refresh(): Promise<void>;
}

/** What the overrides need from their Conveyor. */
export interface JobFunctionsHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly models: ReadonlyMap<string, ModelDefinition>;
}

/** The stored overrides of one Conveyor, applied to its model definitions. */
export class JobFunctionOverrides {
  readonly #host: JobFunctionsHost;
  #overrides = new Map<string, JobFunctionOverride>();

  /** Overrides of the models of `host` (none until {@link load}). */
  constructor(host: JobFunctionsHost) {
    this.#host = host;
  }

  /** The stored override of `model.method`, if any. */
  get(name: string): JobFunctionOverride | undefined {
    return this.#overrides.get(name);
  }

  /** Set the effective settings of every method of `def`; an invalid stored override is logged and ignored. */
  apply(def: ModelDefinition): void {
    for (const [method, code] of def.codeSettings) {
      const o = this.#overrides.get(`${def.name}.${method}`);
      try {
        def.settings.set(method, applyOverride(def.name, method, code, o));
      } catch (err) {
        this.#host.logger.error(
          { jobFunction: `${def.name}.${method}`, err },
          'ignoring an invalid stored job function override',
        );
        def.settings.set(method, code);
      }
    }
  }

  /** Load the stored overrides and apply them to every model. */
  async load(): Promise<void> {
    const rows = await this.#host.driver.jobFunctionList();
    const next = new Map<string, JobFunctionOverride>();
    for (const r of rows) {
      try {
        next.set(r.name, JSON.parse(r.settings) as JobFunctionOverride);
      } catch {
        /* a broken row is skipped: the code's settings apply */
      }
    }
    this.#overrides = next;
    for (const def of this.#host.models.values()) this.apply(def);
  }
}

/** Build `conveyor.jobFunctions` over the overrides. */
export function createJobFunctionsApi(host: JobFunctionsHost, overrides: JobFunctionOverrides): JobFunctionsApi {
  const info = (name: string): JobFunctionInfo => {
    const dot = name.lastIndexOf('.');
    const model = name.slice(0, dot);
    const method = name.slice(dot + 1);
    const def = host.models.get(model);
    const code = def?.codeSettings.get(method);
    if (!def || !code)
      throw new UnknownMethodError(`unknown job function '${name}' (expected model.method of a defined model)`);
    return { name, model, method, code, override: overrides.get(name) ?? null, effective: def.settings.get(method)! };
  };
  return {
    list: async () =>
      [...host.models.values()].flatMap((d) => [...d.codeSettings.keys()].map((m) => info(`${d.name}.${m}`))),
    update: async (name, patch) => {
      info(name);
      if (!patch || typeof patch !== 'object')
        throw new ValidationError(`jobFunctions.update(): patch must be an object, got ${describeValue(patch)}`);
      const merged: Record<string, unknown> = { ...(overrides.get(name) ?? {}) };
      for (const [k, v] of Object.entries(patch)) {
        if (v === null) delete merged[k];
        else merged[k] = v;
      }
      const valid = validateOverride(name, merged);
      await host.driver.jobFunctionSet({
        name,
        settings: Object.keys(valid).length ? JSON.stringify(valid) : null,
        now: host.clock.now(),
      });
      await overrides.load();
      return info(name);
    },
    reset: async (name) => {
      info(name);
      await host.driver.jobFunctionSet({ name, settings: null, now: host.clock.now() });
      await overrides.load();
      return info(name);
    },
    refresh: () => overrides.load(),
  };
}
