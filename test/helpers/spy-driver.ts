/**
 * A spy driver for tests: wraps a real driver, records every call made through it, and lets a test
 * make the next call(s) of one method fail or wait, without patching the driver's methods.
 * Give it to a runner with {@link runnerHost}: `new Runner(runnerHost(conveyor, spy.driver), options)`.
 */
import type { Conveyor } from '../../src/conveyor.ts';
import type { Driver } from '../../src/drivers/driver.ts';
import type { RunnerHost } from '../../src/runner/runner-host.ts';

/** The names of the driver's methods. */
export type DriverMethod = {
  [K in keyof Driver]-?: Driver[K] extends (...args: never[]) => unknown ? K : never;
}[keyof Driver];

/** One call made through the spy. */
export interface DriverCall<M extends DriverMethod = DriverMethod> {
  method: M;
  args: Parameters<Driver[M]>;
}

/** What the next call(s) of a method do instead of (or before) calling the real driver. */
interface Fault {
  /** Wait this long first (ms). */
  delayMs: number;
  /** Then reject with this instead of calling the real driver (undefined: call it). */
  error: unknown;
  /** Calls it still applies to. */
  times: number;
}

/** A driver that records its calls and can inject faults (see the module comment). */
export class SpyDriver {
  /** The driver to hand to the code under test: calls go to the real driver through the spy. */
  readonly driver: Driver;
  /** Every call made through {@link driver}, in order. */
  readonly calls: DriverCall[] = [];
  readonly #faults = new Map<string, Fault[]>();

  constructor(real: Driver) {
    const wrappers = new Map<PropertyKey, unknown>();
    this.driver = new Proxy(real, {
      get: (target, prop) => {
        // the real driver as `this`: its private fields are not on the proxy
        const value: unknown = Reflect.get(target, prop, target);
        if (typeof value !== 'function') return value;
        let wrapper = wrappers.get(prop);
        if (!wrapper) {
          const fn = value as (...args: unknown[]) => unknown;
          wrapper = (...args: unknown[]) => this.#call(String(prop), args, () => fn.apply(target, args));
          wrappers.set(prop, wrapper);
        }
        return wrapper;
      },
    });
  }

  /** The arguments of each call of `method` so far, in order. */
  callsOf<M extends DriverMethod>(method: M): Parameters<Driver[M]>[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.args as Parameters<Driver[M]>);
  }

  /** Make the next `times` calls of `method` reject with `error` (the real driver is not called). */
  failNext(method: DriverMethod, error: unknown, times = 1): this {
    return this.#add(method, { delayMs: 0, error, times });
  }

  /** Make the next `times` calls of `method` wait `ms` before going to the real driver. */
  delayNext(method: DriverMethod, ms: number, times = 1): this {
    return this.#add(method, { delayMs: ms, error: undefined, times });
  }

  /** Forget the calls recorded so far and the faults not yet used. */
  reset(): void {
    this.calls.length = 0;
    this.#faults.clear();
  }

  #add(method: string, fault: Fault): this {
    const list = this.#faults.get(method) ?? [];
    list.push(fault);
    this.#faults.set(method, list);
    return this;
  }

  #call(method: string, args: unknown[], real: () => unknown): unknown {
    this.calls.push({ method, args } as unknown as DriverCall);
    const list = this.#faults.get(method);
    const fault = list?.[0];
    if (!fault) return real();
    if (--fault.times <= 0) list.shift();
    const act = () => (fault.error !== undefined ? Promise.reject(fault.error) : real());
    return fault.delayMs > 0 ? new Promise((resolve) => setTimeout(resolve, fault.delayMs)).then(act) : act();
  }
}

/** A spy on `real` (see {@link SpyDriver}). */
export function spyDriver(real: Driver): SpyDriver {
  return new SpyDriver(real);
}

/** A runner host that is `conveyor` in all but its driver: a runner made with it calls `driver`. */
export function runnerHost(conveyor: Conveyor, driver: Driver): RunnerHost {
  return {
    driver,
    channels: conveyor.channels,
    logger: conveyor.logger,
    clock: conveyor.clock,
    context: conveyor.context,
    events: conveyor.events,
    models: conveyor.models,
    timeoutLog: conveyor.timeoutLog,
    telemetry: conveyor.telemetry,
    loadJobFunctionOverrides: () => conveyor.loadJobFunctionOverrides(),
  };
}
