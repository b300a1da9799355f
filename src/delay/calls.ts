/**
 * The path of a delayed call once `delay()` hands it over: recorded by a trap (`trapJobs`), run
 * inline (no-delay mode), or stored; and direct calls, run inline. Wires the store, the channel check
 * and the call resolution of one Conveyor.
 * @module
 */
import { GraphError, ValidationError, describeValue } from '../errors.ts';
import type { Job } from '../job/handle.ts';
import { ChannelChecker, type ChannelCheckHost, type UnknownChannelMode } from './channel-check.ts';
import { Delayable } from './delayable.ts';
import { resolveCall, type ResolvedCall } from './resolve-call.ts';
import { runGraphInline, runInline, type InlineHost } from './run-inline.ts';
import { JobStore, type StoreHost } from './store.ts';

/** A trap recording delayed calls instead of storing them (`trapJobs`). */
export type Trap = (nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]) => Job[];

/** What the call path needs from its Conveyor. */
export type CallsHost = Omit<StoreHost, 'resolveCall'> & InlineHost & ChannelCheckHost;

/**
 * The delayables of `conveyor.delayMany()`, checked to be lone delayables.
 * @throws ValidationError unless an array of delayables, GraphError when one has edges
 */
export function checkLoneDelayables(delayables: readonly Delayable[]): readonly Delayable[] {
  if (!Array.isArray(delayables))
    throw new ValidationError(`delayMany() takes an array of delayables, got ${describeValue(delayables)}`);
  for (const d of delayables) {
    if (!(d instanceof Delayable))
      throw new ValidationError(
        `delayMany() takes delayables (model.delayable().method(...)), got ${describeValue(d)}`,
      );
    if (d.parents.size || d.children.size)
      throw new GraphError('delayMany() takes lone delayables; use chain()/group() for graphs');
  }
  return delayables;
}

/** The delayed and direct calls of one Conveyor. */
export class DelayedCalls {
  readonly #host: CallsHost;
  readonly #noDelay: boolean;
  readonly #store: JobStore;
  readonly #channels: ChannelChecker;
  #traps: Trap[] = [];

  /** The call path of `host`; `noDelay` runs every delayed call inline. */
  constructor(host: CallsHost, options: { noDelay: boolean; unknownChannels: UnknownChannelMode }) {
    this.#host = host;
    this.#noDelay = options.noDelay;
    this.#channels = new ChannelChecker(host, options.unknownChannels);
    this.#store = new JobStore({ ...host, resolveCall: (d, now) => this.resolve(d, now) });
  }

  /** Whether no-delay mode is on (option, env, or the ambient context's `noDelay`). */
  get noDelay(): boolean {
    return this.#noDelay || this.#host.context.get().noDelay === true;
  }

  /** Trap, run inline, or store `nodes` with `edges` (`[childIndex, parentIndex]`). */
  async store(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Promise<Job[]> {
    const trap = this.#traps.at(-1);
    if (trap) return trap(nodes, edges);
    if (this.noDelay) return runGraphInline(this.#host, nodes);
    return this.#store.store(nodes, edges);
  }

  /** What a delayed call stands for once its job function's defaults and its options are applied. */
  resolve(d: Delayable, now: number): ResolvedCall {
    const { models, channels } = this.#host;
    return resolveCall({ models, channels, checkChannel: (c, job) => this.#channels.check(c, job) }, d, now);
  }

  /** Run a method now, inline; its errors propagate. */
  runInline(
    model: string,
    method: string,
    records: readonly unknown[],
    args: readonly unknown[],
    maxRetries = 1,
  ): Promise<unknown> {
    return runInline(this.#host, model, method, records, args, maxRetries);
  }

  /** Record delayed calls with `trap` instead of storing them; returns a function that removes it. */
  installTrap(trap: Trap): () => void {
    this.#traps.push(trap);
    return () => {
      this.#traps = this.#traps.filter((t) => t !== trap);
    };
  }
}
