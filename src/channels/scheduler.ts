/**
 * The pure scheduler: decides which jobs start, given the channel tree and a snapshot of the queue.
 * Each storage driver's claim transaction calls {@link planFetch}, runs one query per plan, then
 * {@link pickJobs}, and marks the picked jobs as taken. No I/O, no clock: `now` comes in the snapshot.
 *
 * Semantics (queue_job's, global and hierarchical): a channel's capacity bounds the jobs `enqueued` +
 * `started` in it and all its sub-channels. Due jobs compete by `(priority, createdAt, id)`; a job starts
 * when every channel from root to its own has room. This greedy best-first pass with per-level checks
 * picks exactly what queue_job's recursive child → parent merge yields (proved by a model-based
 * property test in `scheduler.property.test.ts`).
 * @module
 */
import type { ChannelNode, ChannelTree } from './tree.ts';

/** What the claim transaction read from the database, at one instant. */
export interface ChannelSnapshot {
  /** The current time, ms since the epoch. */
  now: number;
  /** Stored job channel name → number of its jobs `enqueued` or `started`. */
  running: ReadonlyMap<string, number>;
  /** Configured sequential channel → id of a failed job in it or below (the channel is blocked). */
  sequentialFailed: ReadonlyMap<string, number>;
  /** Throttled channel → ms epoch of its last job start. */
  lastStartedAt: ReadonlyMap<string, number>;
  /** Stored channel names that have pending jobs (due or not). */
  pendingChannels: readonly string[];
}

/** One query for the driver to run: the best `limit` pending jobs of `channel` by `(priority, createdAt, id)`. */
export interface FetchPlan {
  /** The stored channel name, exactly as in `pendingChannels`. */
  channel: string;
  /** How many jobs to fetch at most (> 0). */
  limit: number;
  /** Fetch pending jobs whether due or not (channels under a sequential channel); else due jobs only. */
  includeNotDue: boolean;
}

/** A pending job as the scheduler needs it. */
export interface Candidate {
  /** Job id (the final tie-breaker). */
  id: number;
  /** Stored channel name. */
  channel: string;
  /** Lower runs first. */
  priority: number;
  /** Creation time, ms epoch. */
  createdAt: number;
  /** Not before this ms epoch; `null` = due at once. */
  eta: number | null;
}

/** What {@link pickJobs} decided. */
export interface PickResult {
  /** The jobs to start, in dispatch order. */
  picked: Candidate[];
  /** Throttled channels that started a job now → `now` (to persist as their last start). */
  lastStartedAt: Map<string, number>;
  /**
   * Some due candidate was left only because of a capacity, throttle or sequential limit (not paused /
   * capacity 0), or some pending channel could start nothing from the outset for such a limit.
   */
  capacityBlocked: boolean;
  /** Earliest future ms epoch at which something seen could become runnable (a not-due ETA, a throttle end), else null. */
  wakeAt: number | null;
  /**
   * Every due candidate was picked (or sits under a paused channel or one of capacity 0) and no channel
   * held jobs back: with candidates fetched as {@link planFetch} plans, no due job was left behind.
   */
  drained: boolean;
}

/** Per-call state of one channel node. */
interface NodeState {
  readonly node: ChannelNode;
  /** Jobs enqueued + started through this node at the start of the call. */
  running: number;
  /** Jobs picked through this node during the call. */
  picked: number;
  /** End of the throttle pause from the last start (> now when throttled now), else 0. */
  readonly throttleEnd: number;
  /** Id of the failed job blocking this sequential node. */
  readonly failedJob: number | undefined;
  /** For sequential nodes: the first candidate (due or not) in the subtree, among those not blocked below it. */
  seqHead: Candidate | undefined;
}

/** Builds and caches per-node states for one call. */
class CallState {
  readonly now: number;
  readonly #tree: ChannelTree;
  readonly #snap: ChannelSnapshot;
  /** By node name (auto-created nodes may be rebuilt, names are stable). */
  readonly states = new Map<string, NodeState>();
  readonly #paths = new Map<string, NodeState[]>();

  constructor(tree: ChannelTree, snap: ChannelSnapshot) {
    this.#tree = tree;
    this.#snap = snap;
    this.now = snap.now;
    for (const [channel, count] of snap.running) {
      if (!(count > 0)) continue;
      for (const state of this.path(channel)) state.running += count;
    }
  }

  path(channel: string): NodeState[] {
    let states = this.#paths.get(channel);
    if (states === undefined) {
      states = this.#tree.path(channel).map((node) => this.#state(node));
      this.#paths.set(channel, states);
    }
    return states;
  }

  #state(node: ChannelNode): NodeState {
    let state = this.states.get(node.name);
    if (state === undefined) {
      let throttleEnd = 0;
      if (node.throttleMs > 0) {
        const last = this.#snap.lastStartedAt.get(node.name);
        if (last !== undefined && last + node.throttleMs > this.now) throttleEnd = last + node.throttleMs;
      }
      const failedJob = node.sequential ? this.#snap.sequentialFailed.get(node.name) : undefined;
      state = { node, running: 0, picked: 0, throttleEnd, failedJob, seqHead: undefined };
      this.states.set(node.name, state);
    }
    return state;
  }
}

/** Paused or capacity 0: nothing will ever run there until the configuration changes. */
function hardBlocked(node: ChannelNode): boolean {
  return node.paused || node.capacity === 0;
}

/** Blocked for the whole call, judged at its start (hard blocks, failed sequential, full, throttled). */
function blockedAtStart(state: NodeState): boolean {
  const { node } = state;
  return (
    hardBlocked(node) ||
    state.failedJob !== undefined ||
    (node.capacity !== null && state.running >= node.capacity) ||
    state.throttleEnd > 0
  );
}

function isDue(candidate: Candidate, now: number): boolean {
  return candidate.eta === null || candidate.eta <= now;
}

/** Dispatch order: `(priority, createdAt, id)` ascending; the ETA gives no head start once due. */
export function compareCandidates(a: Candidate, b: Candidate): number {
  return a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id;
}

function normalizeWanted(wanted: number): number {
  if (Number.isNaN(wanted) || wanted <= 0) return 0;
  return wanted === Infinity ? Infinity : Math.floor(wanted);
}

/**
 * Which channels to query, and how many jobs from each, for a claim of up to `wanted` jobs.
 * Channels with nothing able to start (paused, capacity 0 or full along the path, throttled now,
 * sequential with a failed job) are left out. `limit = min(wanted, room left along the path) + 1`, and
 * 2 under a throttled channel: every job that could start, and one more, which is never picked but lets
 * {@link pickJobs} see that due jobs are held back by a limit. So its `capacityBlocked` is what a pick
 * over every pending job says, and a runner that trusts it waits for freed capacity, not for its poll.
 * @throws ChannelConfigError when a stored channel name is invalid (names are checked at enqueue).
 */
export function planFetch(tree: ChannelTree, snap: ChannelSnapshot, wanted: number): FetchPlan[] {
  const max = normalizeWanted(wanted);
  if (max === 0) return [];
  const call = new CallState(tree, snap);
  const plans: FetchPlan[] = [];
  const seen = new Set<string>();
  for (const channel of snap.pendingChannels) {
    if (seen.has(channel)) continue;
    seen.add(channel);
    let limit = max;
    let includeNotDue = false;
    for (const state of call.path(channel)) {
      if (blockedAtStart(state)) {
        limit = 0;
        break;
      }
      const { node } = state;
      if (node.capacity !== null) limit = Math.min(limit, node.capacity - state.running);
      if (node.throttleMs > 0) limit = Math.min(limit, 1);
      if (node.sequential) includeNotDue = true;
    }
    if (limit > 0) plans.push({ channel, limit: limit + 1, includeNotDue });
  }
  return plans;
}

interface Entry {
  readonly candidate: Candidate;
  readonly path: NodeState[];
  readonly due: boolean;
  picked: boolean;
}

/** Whether a due entry may start now, given the picks made so far in this call. */
function canStart(path: readonly NodeState[], now: number): boolean {
  for (const state of path) {
    const { node } = state;
    if (hardBlocked(node) || state.failedJob !== undefined) return false;
    if (node.sequential && state.seqHead !== undefined && !isDue(state.seqHead, now)) return false;
    if (node.capacity !== null && state.running + state.picked >= node.capacity) return false;
    if (node.throttleMs > 0 && (state.throttleEnd > 0 || state.picked > 0)) return false;
  }
  return true;
}

/**
 * Choose the jobs to start among `candidates` (at most `wanted`), keeping every channel on each job's
 * path within its capacity, one start per throttled channel and call, sequential channels in strict
 * order. Not-due candidates never start; they only feed `wakeAt` and the sequential order.
 * Runs in O(candidates × depth) plus one sort of the candidates.
 * @throws ChannelConfigError when a stored channel name is invalid (names are checked at enqueue).
 */
export function pickJobs(
  tree: ChannelTree,
  snap: ChannelSnapshot,
  candidates: readonly Candidate[],
  wanted: number,
): PickResult {
  const call = new CallState(tree, snap);
  const now = snap.now;
  const max = normalizeWanted(wanted);

  const entries: Entry[] = [];
  const ids = new Set<number>();
  for (const candidate of candidates) {
    if (ids.has(candidate.id)) continue;
    ids.add(candidate.id);
    entries.push({ candidate, path: call.path(candidate.channel), due: isDue(candidate, now), picked: false });
  }
  entries.sort((a, b) => compareCandidates(a.candidate, b.candidate));

  // Sequential heads: the first candidate (due or not) of each sequential channel's subtree, ignoring
  // candidates behind a channel blocked below it (the driver does not fetch those either).
  for (const entry of entries) {
    const path = entry.path;
    let from = 0;
    for (let i = path.length - 1; i > 0; i--) {
      if (blockedAtStart(path[i]!)) {
        from = i;
        break;
      }
    }
    for (let i = from; i < path.length; i++) {
      const state = path[i]!;
      if (state.node.sequential && state.seqHead === undefined) state.seqHead = entry.candidate;
    }
  }

  // Greedy best-first with per-level checks.
  const picked: Candidate[] = [];
  for (const entry of entries) {
    if (picked.length >= max) break;
    if (!entry.due || !canStart(entry.path, now)) continue;
    entry.picked = true;
    picked.push(entry.candidate);
    for (const state of entry.path) state.picked++;
  }

  const lastStartedAt = new Map<string, number>();
  for (const state of call.states.values()) {
    if (state.node.throttleMs > 0 && state.picked > 0) lastStartedAt.set(state.node.name, now);
  }

  // What is left: why, and when it could start (judged on the state after the picks, as queue_job).
  let capacityBlocked = false;
  let leftDue = false;
  let wakeAt: number | null = null;
  for (const entry of entries) {
    if (entry.picked) continue;
    const path = entry.path;
    if (path.some((state) => hardBlocked(state.node))) continue;
    if (entry.due) leftDue = true;
    let limited = false;
    let wake: number | null = null;
    for (const state of path) {
      const { node } = state;
      if (state.failedJob !== undefined) {
        limited = true;
        break;
      }
      if (
        node.sequential &&
        state.seqHead !== undefined &&
        state.seqHead !== entry.candidate &&
        !isDue(state.seqHead, now)
      ) {
        limited = true;
        break;
      }
      if (node.capacity !== null && state.running + state.picked >= node.capacity) {
        limited = true;
        break;
      }
      if (node.throttleMs > 0) {
        const end = state.picked > 0 ? now + node.throttleMs : state.throttleEnd;
        if (end > now) {
          limited = true;
          wake = end;
          break;
        }
      }
    }
    if (!limited && !entry.due) wake = entry.candidate.eta;
    if (limited && entry.due) capacityBlocked = true;
    if (wake !== null && (wakeAt === null || wake < wakeAt)) wakeAt = wake;
  }
  // A pending channel that could start nothing from the outset (full, throttled, or behind a failed job
  // in a sequential channel, but not paused or of capacity 0) is held back too: planFetch fetches nothing
  // there, so its jobs are not among the candidates. Judged from the snapshot, whether its jobs are due
  // or not (a full channel of future jobs costs a few claims that find nothing, never a missed one).
  if (!capacityBlocked) {
    for (const channel of snap.pendingChannels) {
      const path = call.path(channel);
      if (!path.some((state) => hardBlocked(state.node)) && path.some(blockedAtStart)) {
        capacityBlocked = true;
        break;
      }
    }
  }

  return { picked, lastStartedAt, capacityBlocked, wakeAt, drained: !leftDue && !capacityBlocked };
}

/**
 * A claim shaped before the snapshot is read, for a driver that can apply it inside its claim
 * statement and so take jobs in one round trip. It applies when, at claim time, no channel other than
 * `channel` has pending jobs and no stored channel outside `known` has running jobs. Then the claim is
 * the best due jobs of `channel`, as many as {@link guessLimit} allows: at most `wanted`, and for each
 * bound, its `capacity` minus the running jobs of its `channels` (a channel with a capacity on the path
 * of `channel`, and the known channels under it). That is exactly what {@link pickJobs} would take.
 */
export interface ClaimGuess {
  /** The stored channel to take from. */
  channel: string;
  /** Most jobs to take (> 0). */
  wanted: number;
  /** Stored channels that may have running jobs (includes `channel`). */
  known: string[];
  /** One per channel with a capacity on the path of `channel`. */
  bounds: { channels: string[]; capacity: number }[];
}

/**
 * The claim to try first, from the state after the previous claim, or null when it cannot be shaped
 * ahead: not exactly one pending channel, or a sequential, throttled, paused or capacity-0 channel on
 * its path. Pure; the driver applies it against the live state as {@link guessLimit} does.
 * @throws ChannelConfigError when a stored channel name is invalid (names are checked at enqueue).
 */
export function guessClaim(tree: ChannelTree, last: ChannelSnapshot, wanted: number): ClaimGuess | null {
  const max = normalizeWanted(wanted);
  if (max === 0 || max === Infinity || last.pendingChannels.length !== 1) return null;
  const channel = last.pendingChannels[0]!;
  const known = [...new Set([channel, ...last.running.keys()])];
  const paths = known.map((k) => tree.path(k));
  const bounds: ClaimGuess['bounds'] = [];
  for (const node of tree.path(channel)) {
    if (hardBlocked(node) || node.sequential || node.throttleMs > 0) return null;
    if (node.capacity === null) continue;
    bounds.push({
      channels: known.filter((_, i) => paths[i]!.some((n) => n.name === node.name)),
      capacity: node.capacity,
    });
  }
  return { channel, wanted: max, known, bounds };
}

/**
 * How many of the best due jobs of the guess's channel to take, given the live state; null when the
 * guess does not apply (another channel has pending jobs, or a channel outside `known` has running
 * jobs). The driver runs this same test in its claim statement; here it serves tests and documents it.
 */
export function guessLimit(guess: ClaimGuess, snap: ChannelSnapshot): number | null {
  if (snap.pendingChannels.some((c) => c !== guess.channel)) return null;
  for (const [channel, n] of snap.running) if (n > 0 && !guess.known.includes(channel)) return null;
  let limit = guess.wanted;
  for (const b of guess.bounds)
    limit = Math.min(limit, b.capacity - b.channels.reduce((sum, c) => sum + (snap.running.get(c) ?? 0), 0));
  return Math.max(0, limit);
}
