/**
 * Delayables (queue_job's `delayable()`): a recorded call that becomes a job on `delay()`, and the graph
 * nodes `group()` and `chain()` that wire them together (DESIGN §4).
 * @module
 */
import { GraphError, ValidationError } from '../errors.ts';
import type { Job } from '../job/handle.ts';
import { checkDelayOptions, type DelayOptions } from './options.ts';

/** What stores a graph: the Conveyor. */
export interface DelayHost {
  /** Store `nodes` with `edges` (`[childIndex, parentIndex]`) atomically, or run them inline in no-delay mode. */
  storeGraph(nodes: readonly Delayable[], edges: readonly (readonly [number, number])[]): Promise<Job[]>;
  /** Log a warning. */
  warn(message: string): void;
}

/** Something that can be a part of a dependency graph. */
export interface GraphNode {
  /** Jobs that start this node (they get the incoming edges). */
  heads(): Delayable[];
  /** Jobs that end this node (they get the outgoing edges). */
  tails(): Delayable[];
  /** Every delayable inside. */
  members(): Delayable[];
  /** Run `nodes` after this one is done (fan-out from every tail to every head). */
  onDone(...nodes: GraphNode[]): this;
}

function link(from: GraphNode, to: GraphNode): void {
  for (const t of from.tails())
    for (const h of to.heads()) {
      if (t === h) throw new GraphError(`a job cannot depend on itself (${t.toString()})`);
      t.children.add(h);
      h.parents.add(t);
    }
}

/** Collect the connected graph around `start`, ordered topologically; throws on cycles. */
function collect(start: readonly Delayable[]): { nodes: Delayable[]; edges: [number, number][] } {
  const seen = new Set<Delayable>();
  const queue = [...start];
  while (queue.length) {
    const d = queue.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    for (const c of d.children) queue.push(c);
    for (const p of d.parents) queue.push(p);
  }
  // Kahn's algorithm, stable by discovery order
  const all = [...seen];
  const indeg = new Map(all.map((d) => [d, d.parents.size]));
  const order: Delayable[] = [];
  const ready = all.filter((d) => indeg.get(d) === 0);
  while (ready.length) {
    const d = ready.shift()!;
    order.push(d);
    for (const c of d.children) {
      const n = indeg.get(c)! - 1;
      indeg.set(c, n);
      if (n === 0) ready.push(c);
    }
  }
  if (order.length !== all.length) throw new GraphError('the dependency graph has a cycle');
  const index = new Map(order.map((d, i) => [d, i]));
  const edges: [number, number][] = [];
  for (const d of order) for (const p of d.parents) edges.push([index.get(d)!, index.get(p)!]);
  return { nodes: order, edges };
}

async function delayNodes(host: DelayHost, start: readonly Delayable[]): Promise<Map<Delayable, Job>> {
  const { nodes, edges } = collect(start);
  for (const d of nodes) {
    if (d.delayed) throw new GraphError(`${d.toString()} was already delayed; build a new delayable to enqueue again`);
    d.delayed = true;
  }
  const jobs = await host.storeGraph(nodes, edges);
  nodes.forEach((d, i) => {
    d.job = jobs[i];
  });
  return new Map(nodes.map((d, i) => [d, jobs[i]!]));
}

/** One recorded call: `model.browse(ids).delayable().method(args)`. */
export class Delayable<R = unknown> implements GraphNode {
  readonly model: string;
  readonly method: string;
  readonly records: readonly unknown[];
  readonly args: readonly unknown[];
  /** Job properties (priority, eta, …). */
  options: DelayOptions;
  /** Dependants (run after this one). */
  readonly children = new Set<Delayable>();
  /** Dependencies (run before this one). */
  readonly parents = new Set<Delayable>();
  /** Set once stored. */
  delayed = false;
  /** The stored job, once the graph was delayed (queue_job keeps it on the delayable too). */
  job: Job<R> | undefined;
  readonly #host: DelayHost;

  constructor(
    host: DelayHost,
    model: string,
    method: string,
    records: readonly unknown[],
    args: readonly unknown[],
    options: DelayOptions,
  ) {
    this.#host = host;
    this.model = model;
    this.method = method;
    this.records = records;
    this.args = args;
    this.options = options;
  }

  /** Set job properties; unknown keys are an error. Returns this for chaining. */
  set(options: DelayOptions): this {
    this.options = { ...this.options, ...checkDelayOptions(options, `${this.model}.${this.method} set()`) };
    return this;
  }

  heads(): Delayable[] {
    return [this];
  }
  tails(): Delayable[] {
    return [this];
  }
  members(): Delayable[] {
    return [this];
  }

  onDone(...nodes: GraphNode[]): this {
    for (const n of nodes) link(this, n);
    return this;
  }

  /**
   * Cut `records` into chunks of `size`: one job per chunk, described `"<description> (i/n)"`,
   * in a group (parallel) or, with `{ chain: true }`, a chain.
   */
  split(size: number, options: { chain?: boolean } = {}): DelayableGroup | DelayableChain {
    if (!Number.isInteger(size) || size < 1)
      throw new ValidationError(`split(): size must be an integer >= 1, got ${String(size)}`);
    const chunks: unknown[][] = [];
    for (let i = 0; i < this.records.length; i += size) chunks.push(this.records.slice(i, i + size));
    if (!chunks.length) chunks.push([]);
    const base = this.options.description ?? `${this.model}.${this.method}`;
    const parts = chunks.map(
      (records, i) =>
        new Delayable(this.#host, this.model, this.method, records, this.args, {
          ...this.options,
          description: `${base} (${i + 1}/${chunks.length})`,
        }),
    );
    return options.chain ? new DelayableChain(parts) : new DelayableGroup(parts);
  }

  /** Store this job and every job connected to it, in one transaction. */
  async delay(): Promise<Job<R>> {
    if (this.parents.size) {
      this.#host.warn(
        `delay() called on ${this.toString()}, which depends on other jobs: call delay() on the top of the graph; the whole graph is stored anyway`,
      );
    }
    const jobs = await delayNodes(this.#host, [this]);
    return jobs.get(this) as Job<R>;
  }

  /** The host that stores this delayable. */
  get host(): DelayHost {
    return this.#host;
  }

  toString(): string {
    return `${this.model}${this.records.length ? `(${this.records.map(String).join(',')})` : ''}.${this.method}`;
  }
}

abstract class Composite implements GraphNode {
  readonly nodes: readonly GraphNode[];
  constructor(nodes: readonly GraphNode[], what: string) {
    if (!nodes.length) throw new GraphError(`${what}() needs at least one job`);
    for (const n of nodes) {
      if (!(n instanceof Delayable || n instanceof Composite))
        throw new GraphError(`${what}() takes delayables, groups and chains, got ${typeof n}`);
    }
    this.nodes = nodes;
  }
  abstract heads(): Delayable[];
  abstract tails(): Delayable[];
  members(): Delayable[] {
    return this.nodes.flatMap((n) => n.members());
  }
  onDone(...nodes: GraphNode[]): this {
    for (const n of nodes) link(this, n);
    return this;
  }
  /** Store every job of the graph in one transaction; resolves to the jobs in member order. */
  async delay(): Promise<Job[]> {
    const members = this.members();
    const host = members[0]!.host;
    if (members.some((m) => [...m.parents].some((p) => !members.includes(p))))
      host.warn(
        `delay() called on a ${this instanceof DelayableChain ? 'chain' : 'group'} that depends on other jobs: call delay() on the top of the graph; the whole graph is stored anyway`,
      );
    const jobs = await delayNodes(host, members);
    return members.map((m) => jobs.get(m)!);
  }
}

/** Jobs that may run in parallel; `onDone(x)` runs x after all of them (fan-in). */
export class DelayableGroup extends Composite {
  constructor(nodes: readonly GraphNode[]) {
    super(nodes, 'group');
  }
  heads(): Delayable[] {
    return this.nodes.flatMap((n) => n.heads());
  }
  tails(): Delayable[] {
    return this.nodes.flatMap((n) => n.tails());
  }
}

/** Jobs that run one after the other. */
export class DelayableChain extends Composite {
  constructor(nodes: readonly GraphNode[]) {
    super(nodes, 'chain');
    for (let i = 1; i < nodes.length; i++) link(nodes[i - 1]!, nodes[i]!);
  }
  heads(): Delayable[] {
    return this.nodes[0]!.heads();
  }
  tails(): Delayable[] {
    return this.nodes.at(-1)!.tails();
  }
}

/** Jobs that may run in parallel. With no dependants, `group(...).delay()` is a bulk enqueue (one insert). */
export function group(...nodes: GraphNode[]): DelayableGroup {
  return new DelayableGroup(nodes);
}

/** Jobs that run one after the other (each element may be a group). */
export function chain(...nodes: GraphNode[]): DelayableChain {
  return new DelayableChain(nodes);
}
