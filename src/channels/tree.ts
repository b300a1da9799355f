/**
 * The channel tree built from a configuration: configured channels, the intermediate channels they
 * imply (unlimited), and sub-channels auto-created on demand for jobs stored in unconfigured channels.
 * @module
 */
import {
  type ChannelSpec,
  checkSpecs,
  formatChannels,
  normalizeChannelName,
  parseChannels,
  ROOT_CHANNEL,
} from './parse.ts';

/** A channel of the tree: its settings and whether it was configured or implied. */
export interface ChannelNode {
  /** Full name (`'root.mail'`). */
  readonly name: string;
  /** Maximum jobs `enqueued` + `started` in this channel and below; `null` = unlimited. */
  readonly capacity: number | null;
  /** Jobs run strictly in order, one at a time; a failed job blocks the channel. */
  readonly sequential: boolean;
  /** Minimum milliseconds between two starts in this channel; `0` = none. */
  readonly throttleMs: number;
  /** Nothing runs in this channel nor below it (configured `:paused`, or paused at runtime). */
  readonly paused: boolean;
  /** Set when the channel is paused at runtime (admin API, CLI, dashboard): since when (ms since the epoch). */
  readonly pausedSince?: number;
  /** True when the configuration names this channel; false for root by default, intermediate and auto-created channels. */
  readonly configured: boolean;
}

/**
 * Beyond this many cached names the path cache (and the auto-created nodes) is emptied: a memory guard,
 * not a tuning knob. Auto-created nodes are then rebuilt equal but not identical, so compare nodes by name.
 */
const MAX_CACHED_PATHS = 100_000;

function autoNode(name: string, capacity: number | null = null): ChannelNode {
  return Object.freeze({ name, capacity, sequential: false, throttleMs: 0, paused: false, configured: false });
}

/** The node with a runtime pause applied (paused since `since`), or the node itself when there is none. */
function withPause(node: ChannelNode, since: number | undefined): ChannelNode {
  return since === undefined ? node : Object.freeze({ ...node, paused: true, pausedSince: since });
}

function compareNames(a: string, b: string): number {
  const sa = a.split('.');
  const sb = b.split('.');
  for (let i = 0; i < Math.min(sa.length, sb.length); i++) {
    if (sa[i] !== sb[i]) return sa[i]! < sb[i]! ? -1 : 1;
  }
  return sa.length - sb.length;
}

/**
 * The channel tree: look up the path of a job's channel (root first), list channels for the CLI and the
 * dashboard. Immutable; build one per configuration with {@link ChannelTree.fromConfig}.
 */
export class ChannelTree {
  /** The configured channels, normalised, in configuration order (root is absent unless configured). */
  readonly specs: readonly ChannelSpec[];
  /** Configured, root and intermediate channels by name. */
  readonly #nodes = new Map<string, ChannelNode>();
  /** Auto-created channels (unconfigured, below or beside configured ones) by name. */
  readonly #auto = new Map<string, ChannelNode>();
  /** Path cache, keyed by the channel name as given and by its normalised form. */
  readonly #paths = new Map<string, readonly ChannelNode[]>();
  readonly #sorted: readonly ChannelNode[];
  readonly #sequential: readonly string[];
  readonly #throttled: readonly string[];
  /** Runtime pauses: full channel name → paused since (ms). */
  readonly #pauses: ReadonlyMap<string, number>;

  private constructor(specs: readonly ChannelSpec[], pauses: ReadonlyMap<string, number> = new Map()) {
    this.specs = Object.freeze(specs.map((spec) => Object.freeze({ ...spec })));
    this.#pauses = pauses;
    for (const spec of this.specs) {
      this.#nodes.set(spec.name, Object.freeze({ ...spec, configured: true }));
    }
    // root unconfigured has no limit of its own: the runners' slots bound it (queue_job's default
    // `root:1` made a runner with 8 workers run one job at a time, in silence)
    if (!this.#nodes.has(ROOT_CHANNEL)) this.#nodes.set(ROOT_CHANNEL, autoNode(ROOT_CHANNEL));
    // a channel paused at runtime is listed even when it is not configured (with its parents)
    for (const name of [...this.specs.map((spec) => spec.name), ...pauses.keys()]) {
      const segments = name.split('.');
      for (let i = 1; i <= segments.length; i++) {
        const prefix = segments.slice(0, i).join('.');
        if (!this.#nodes.has(prefix)) this.#nodes.set(prefix, autoNode(prefix));
      }
    }
    for (const [name, since] of pauses) this.#nodes.set(name, withPause(this.#nodes.get(name)!, since));
    this.#sorted = Object.freeze([...this.#nodes.values()].sort((a, b) => compareNames(a.name, b.name)));
    this.#sequential = Object.freeze(this.#sorted.filter((n) => n.sequential).map((n) => n.name));
    this.#throttled = Object.freeze(this.#sorted.filter((n) => n.throttleMs > 0).map((n) => n.name));
  }

  /**
   * Build a tree from a configuration string (`'root:4,mail:2'`) or from specs. Missing intermediate
   * channels are created unlimited, and so is root unless configured (an explicit `root:N` bounds all runners together).
   * @throws ChannelConfigError when the configuration is invalid.
   */
  static fromConfig(config: string | readonly ChannelSpec[]): ChannelTree {
    return new ChannelTree(typeof config === 'string' ? parseChannels(config) : checkSpecs(config));
  }

  /**
   * The channels from root to the job's channel, root first. A stored name may be short (`'mail'`) or
   * empty (root). Unconfigured parts get auto-created unlimited nodes under the nearest configured
   * ancestor, which therefore limits them. Cached: cheap to call per job in the claim path.
   * @throws ChannelConfigError when the name is not a valid channel name.
   */
  path(channel: string): readonly ChannelNode[] {
    const cached = this.#paths.get(channel);
    if (cached !== undefined) return cached;
    const name = normalizeChannelName(channel);
    let path = this.#paths.get(name);
    if (path === undefined) {
      if (this.#paths.size >= MAX_CACHED_PATHS) {
        this.#paths.clear();
        this.#auto.clear();
      }
      const segments = name.split('.');
      const nodes: ChannelNode[] = [];
      for (let i = 1; i <= segments.length; i++) {
        const prefix = i === segments.length ? name : segments.slice(0, i).join('.');
        let node = this.#nodes.get(prefix) ?? this.#auto.get(prefix);
        if (node === undefined) {
          node = withPause(autoNode(prefix), this.#pauses.get(prefix));
          this.#auto.set(prefix, node);
        }
        nodes.push(node);
      }
      path = Object.freeze(nodes);
      this.#paths.set(name, path);
    }
    this.#paths.set(channel, path);
    return path;
  }

  /** A configured, root or intermediate channel by name (short names accepted); undefined otherwise. */
  node(name: string): ChannelNode | undefined {
    let normalized: string;
    try {
      normalized = normalizeChannelName(name);
    } catch {
      return undefined;
    }
    return this.#nodes.get(normalized);
  }

  /**
   * This tree with the channels paused at runtime (stored by the admin API) paused too; `this` when the
   * pauses are the same as this tree's. Names are normalised (`mail` is `root.mail`).
   * @throws ChannelConfigError when a name is not a valid channel name.
   */
  withPauses(pauses: Iterable<{ channel: string; pausedAt: number }>): ChannelTree {
    const map = new Map<string, number>();
    for (const p of pauses) map.set(normalizeChannelName(p.channel), p.pausedAt);
    if (map.size === this.#pauses.size && [...map].every(([k, v]) => this.#pauses.get(k) === v)) return this;
    return new ChannelTree(this.specs, map);
  }

  /** Runtime pauses applied to this tree (channel → since, ms). */
  get pauses(): ReadonlyMap<string, number> {
    return this.#pauses;
  }

  /** Names of the sequential channels (drivers look up failed jobs in them and below). */
  sequentialChannels(): readonly string[] {
    return this.#sequential;
  }

  /** Names of the throttled channels (drivers keep their last start time). */
  throttledChannels(): readonly string[] {
    return this.#throttled;
  }

  /** Root, configured and intermediate channels, parents before children, siblings by name. */
  nodes(): readonly ChannelNode[] {
    return this.#sorted;
  }

  /** The configuration in the channel syntax (`formatChannels(specs)`). */
  toString(): string {
    return formatChannels(this.specs);
  }
}
