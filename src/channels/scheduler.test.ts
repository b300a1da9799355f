import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeChannelName } from './parse.ts';
import { type Candidate, type ChannelSnapshot, type PickResult, pickJobs, planFetch } from './scheduler.ts';
import { ChannelTree } from './tree.ts';

type State = 'pending' | 'enqueued' | 'started' | 'done' | 'failed';
interface SimJob extends Candidate {
  label: string;
  state: State;
}

/**
 * A tiny in-memory queue: the state a driver would keep, driven through planFetch + pickJobs as a
 * claim transaction would (and, as a cross-check, through pickJobs over every pending job).
 * Times are in seconds in the scenarios (as in queue_job's doctests) and converted to ms here.
 */
class Sim {
  readonly tree: ChannelTree;
  readonly jobs = new Map<string, SimJob>();
  readonly lastStartedAt = new Map<string, number>();
  #nextId = 1;
  last: PickResult | undefined;

  constructor(config: string) {
    this.tree = ChannelTree.fromConfig(config);
  }

  add(
    label: string,
    channel: string,
    opts: { priority?: number; createdAt?: number; eta?: number | null; id?: number } = {},
  ): void {
    const id = opts.id ?? this.#nextId++;
    const eta = opts.eta === undefined || opts.eta === null ? null : opts.eta * 1000;
    this.jobs.set(label, {
      label,
      id,
      channel,
      priority: opts.priority ?? 10,
      createdAt: opts.createdAt ?? 0,
      eta,
      state: 'pending',
    });
  }

  /** queue_job's notify(): change state and/or scheduling properties. */
  set(label: string, state: State, patch: { priority?: number; eta?: number | null } = {}): void {
    const job = this.jobs.get(label)!;
    job.state = state;
    if (patch.priority !== undefined) job.priority = patch.priority;
    if (patch.eta !== undefined) job.eta = patch.eta === null ? null : patch.eta * 1000;
  }

  snapshot(nowSeconds: number): ChannelSnapshot {
    const running = new Map<string, number>();
    const pending = new Set<string>();
    for (const job of this.jobs.values()) {
      if (job.state === 'enqueued' || job.state === 'started')
        running.set(job.channel, (running.get(job.channel) ?? 0) + 1);
      if (job.state === 'pending') pending.add(job.channel);
    }
    const sequentialFailed = new Map<string, number>();
    for (const seq of this.tree.sequentialChannels()) {
      for (const job of this.jobs.values()) {
        const name = normalizeChannelName(job.channel);
        if (job.state === 'failed' && (name === seq || name.startsWith(seq + '.'))) sequentialFailed.set(seq, job.id);
      }
    }
    return {
      now: nowSeconds * 1000,
      running,
      sequentialFailed,
      lastStartedAt: new Map(this.lastStartedAt),
      pendingChannels: [...pending],
    };
  }

  /** The driver's query for one plan: the best `limit` pending jobs of the channel, due only unless asked. */
  fetch(channel: string, limit: number, includeNotDue: boolean, now: number): SimJob[] {
    return [...this.jobs.values()]
      .filter(
        (j) => j.state === 'pending' && j.channel === channel && (includeNotDue || j.eta === null || j.eta <= now),
      )
      .sort((a, b) => a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id)
      .slice(0, limit);
  }

  /** One claim at `now` (seconds): returns the labels started, in dispatch order. */
  run(nowSeconds: number, wanted = 100): string[] {
    const snap = this.snapshot(nowSeconds);
    const all = [...this.jobs.values()].filter((j) => j.state === 'pending');
    const full = pickJobs(this.tree, snap, all, wanted);
    const fetched = planFetch(this.tree, snap, wanted).flatMap((p) =>
      this.fetch(p.channel, p.limit, p.includeNotDue, snap.now),
    );
    const planned = pickJobs(this.tree, snap, fetched, wanted);
    const label = (c: Candidate) => (c as SimJob).label;
    assert.deepEqual(
      planned.picked.map(label),
      full.picked.map(label),
      'planFetch + pickJobs must pick what pickJobs over all jobs picks',
    );
    assert.deepEqual(planned.lastStartedAt, full.lastStartedAt);
    for (const c of full.picked) (c as SimJob).state = 'started';
    for (const [channel, at] of full.lastStartedAt) this.lastStartedAt.set(channel, at);
    this.last = full;
    return full.picked.map(label);
  }

  /** queue_job's get_wakeup_time(), in seconds (0 = none), judged on the last claim. */
  wakeup(): number {
    return this.last?.wakeAt == null ? 0 : this.last.wakeAt / 1000;
  }
}

describe('queue_job ChannelManager doctests', () => {
  it('root:4,A:4,B:1 — capacities at each level and priorities across siblings', () => {
    const sim = new Sim('root:4,A:4,B:1');
    for (let i = 1; i <= 6; i++) sim.add(`A${i}`, 'A', { id: i, priority: 10 });
    for (let i = 1; i <= 2; i++) sim.add(`B${i}`, 'B', { id: 10 + i, priority: 5 }); // ids are unique in Conveyor
    // One job from B (capacity 1), three from A to fill root's capacity of 4.
    assert.deepEqual(sim.run(100), ['B1', 'A1', 'A2', 'A3']);
    assert.equal(sim.last?.capacityBlocked, true);
    // A2 done: A4 is next, although B2 has a better priority: B is full.
    sim.set('A2', 'done');
    assert.deepEqual(sim.run(100), ['A4']);
    // B1 done: B2 runs, it has the best priority.
    sim.set('B1', 'done');
    assert.deepEqual(sim.run(100), ['B2']);
    // A1 done and A6 re-prioritised to 5: A6 runs before A5.
    sim.set('A1', 'done');
    sim.set('A6', 'pending', { priority: 5 });
    assert.deepEqual(sim.run(100), ['A6']);
  });

  it('root:4,A:4:throttle=2 — one start per throttle interval', () => {
    const sim = new Sim('root:4,A:4:throttle=2');
    sim.add('A1', 'A');
    sim.add('A2', 'A');
    assert.deepEqual(sim.run(100), ['A1']);
    assert.deepEqual(sim.last?.lastStartedAt, new Map([['root.A', 100_000]]));
    assert.equal(sim.wakeup(), 102);
    assert.deepEqual(sim.run(101), []);
    assert.equal(sim.wakeup(), 102);
    assert.equal(sim.last?.capacityBlocked, true);
    // Two seconds later A2 runs although A1 still runs: there is capacity.
    assert.deepEqual(sim.run(102), ['A2']);
    // queue_job answers 104 (end of the new pause); with nothing left to start Conveyor answers none.
    assert.equal(sim.wakeup(), 0);
  });

  it('root:4,T:2:throttle=2 — throttle together with a full channel', () => {
    const sim = new Sim('root:4,T:2:throttle=2');
    sim.add('T1', 'T', { id: 1 });
    sim.add('T2', 'T', { id: 2 });
    sim.add('T3', 'T', { id: 3 });
    assert.deepEqual(sim.run(100), ['T1']);
    assert.deepEqual(sim.run(102), ['T2']);
    // Full: no job although the throttle delay is over, and no timed wakeup (a completion will wake).
    assert.deepEqual(sim.run(103), []);
    assert.equal(sim.wakeup(), 0);
    assert.deepEqual(sim.run(104), []);
    assert.equal(sim.wakeup(), 0);
    sim.set('T1', 'done');
    assert.deepEqual(sim.run(105), ['T3']);
    assert.equal(sim.wakeup(), 0);
  });

  it('root:4,E:1 — wakeup at an ETA, none while the channel is full', () => {
    const sim = new Sim('root:4,E:1');
    sim.add('E1', 'E', { id: 1 });
    sim.add('E2', 'E', { id: 2 });
    sim.add('E3', 'E', { id: 3 });
    assert.deepEqual(sim.run(100), ['E1']);
    assert.deepEqual(sim.run(101), []);
    sim.set('E1', 'pending', { eta: 105 }); // retried with an ETA
    assert.deepEqual(sim.run(102), ['E2']); // capacity is free again: E2
    assert.deepEqual(sim.run(106), []); // E is full
    assert.equal(sim.wakeup(), 0); // no timed wakeup: no capacity
    sim.set('E2', 'done');
    assert.deepEqual(sim.run(107), ['E1']); // E1's ETA is past and it is older than E3
    assert.equal(sim.wakeup(), 0);
  });

  it('root:4,E:1 — wakeup at the ETA once capacity is back', () => {
    const sim = new Sim('root:4,E:1');
    sim.add('E1', 'E', { id: 1, eta: 105 });
    assert.deepEqual(sim.run(100), []);
    assert.equal(sim.wakeup(), 105);
    assert.equal(sim.last?.capacityBlocked, false);
    assert.deepEqual(sim.run(105), ['E1']);
  });

  it('root:4,S:1:sequential — a failed job blocks, an ETA is waited for in order', () => {
    const sim = new Sim('root:4,S:1:sequential');
    sim.add('S1', 'S', { id: 1 });
    sim.add('S2', 'S', { id: 2 });
    sim.add('S3', 'S', { id: 3 });
    assert.deepEqual(sim.run(100), ['S1']);
    sim.set('S1', 'failed');
    assert.deepEqual(sim.run(101), []);
    assert.equal(sim.last?.capacityBlocked, true);
    sim.set('S2', 'pending', { eta: 105 });
    assert.deepEqual(sim.run(102), []);
    assert.equal(sim.wakeup(), 0); // waiting for the failed job, not for the ETA
    sim.set('S1', 'pending'); // requeued
    assert.deepEqual(sim.run(102), ['S1']);
    assert.deepEqual(sim.run(103), []);
    sim.set('S1', 'done');
    // S2 is next in order and has an ETA of 105: the sequential channel waits for it (S3 does not jump ahead).
    assert.deepEqual(sim.run(103), []);
    assert.equal(sim.wakeup(), 105);
    assert.deepEqual(sim.run(105), ['S2']);
    sim.set('S2', 'done');
    assert.deepEqual(sim.run(105), ['S3']);
    sim.set('S3', 'done');
    assert.deepEqual(sim.run(105), []);
    assert.equal(sim.wakeup(), 0);
  });
});

describe('queue_job ChannelQueue doctests (one pop = one claim of one job)', () => {
  it('jobs with an ETA are set aside until due, then compete normally', () => {
    const sim = new Sim('root:10');
    sim.add('j1', 'root', { id: 1, createdAt: 1, priority: 1, eta: 10 });
    sim.add('j2', 'root', { id: 2, createdAt: 2, priority: 1 });
    sim.add('j3', 'root', { id: 3, createdAt: 3, priority: 1 });
    assert.deepEqual(sim.run(1, 1), ['j2']);
    assert.equal(sim.wakeup(), 10);
    assert.deepEqual(sim.run(11, 1), ['j1']);
    assert.equal(sim.wakeup(), 0);
    assert.deepEqual(sim.run(12, 1), ['j3']);
    assert.deepEqual(sim.run(13, 1), []);
  });

  it('a job with a past ETA still runs after a job of better priority', () => {
    const sim = new Sim('root:10');
    sim.add('j4', 'root', { id: 4, createdAt: 4, priority: 10, eta: 20 });
    sim.add('j5', 'root', { id: 5, createdAt: 5, priority: 1 });
    assert.deepEqual(sim.run(21, 1), ['j5']);
    assert.deepEqual(sim.run(22, 1), ['j4']);
  });

  it('a sequential queue waits for the ETA of its next job', () => {
    const sim = new Sim('root:10,sq:1:sequential');
    sim.add('j6', 'sq', { id: 6, createdAt: 6, priority: 1 });
    sim.add('j7', 'sq', { id: 7, createdAt: 7, priority: 1, eta: 20 });
    sim.add('j8', 'sq', { id: 8, createdAt: 8, priority: 1 });
    assert.deepEqual(sim.run(10), ['j6']);
    sim.set('j6', 'done');
    assert.deepEqual(sim.run(15), []);
    assert.equal(sim.wakeup(), 20);
    assert.deepEqual(sim.run(20), ['j7']);
    sim.set('j7', 'done');
    assert.deepEqual(sim.run(30), ['j8']);
  });
});

describe('channel semantics beyond the doctests', () => {
  it('parent fallback: unconfigured sub-channels are limited by the nearest configured ancestor', () => {
    const sim = new Sim('root:4,root.sub:2');
    sim.add('x1', 'root.sub.not.configured');
    sim.add('x2', 'root.sub.other');
    sim.add('x3', 'root.sub.not.configured');
    sim.add('r1', 'root', { priority: 20 });
    assert.deepEqual(sim.run(0), ['x1', 'x2', 'r1']);
  });

  it('auto-created sub-channels share their configured parent (water channels)', () => {
    const sim = new Sim('root:3');
    sim.add('t1a', 'tenant1', { createdAt: 1 });
    sim.add('t1b', 'tenant1', { createdAt: 2 });
    sim.add('t2a', 'tenant2', { createdAt: 3 });
    sim.add('t3a', 'tenant3.jobs', { createdAt: 4, priority: 1 });
    sim.add('t3b', 'tenant3.jobs', { createdAt: 5 });
    assert.deepEqual(sim.run(0), ['t3a', 't1a', 't1b']);
    sim.set('t1a', 'done');
    assert.deepEqual(sim.run(0), ['t2a']);
  });

  it('a parent smaller than the sum of its children makes them compete by priority', () => {
    const sim = new Sim('root:10,parent:2,parent.a:2,parent.b:2');
    sim.add('a1', 'parent.a', { priority: 5, createdAt: 1 });
    sim.add('a2', 'parent.a', { priority: 5, createdAt: 2 });
    sim.add('b1', 'parent.b', { priority: 1, createdAt: 3 });
    sim.add('o1', 'other', { priority: 50 });
    assert.deepEqual(sim.run(0), ['b1', 'a1', 'o1']);
  });

  it('a paused channel runs nothing, nor do its sub-channels', () => {
    const sim = new Sim('root:4,P:2:paused,Q:1');
    sim.add('p1', 'P');
    sim.add('p2', 'P.sub');
    sim.add('q1', 'Q');
    assert.deepEqual(sim.run(0), ['q1']);
    assert.equal(sim.last?.capacityBlocked, false);
    assert.equal(sim.wakeup(), 0);
  });

  it('capacity 0 runs nothing (root:0 disables the whole queue)', () => {
    const sim = new Sim('root:4,zero:0');
    sim.add('z1', 'zero', { priority: 0 });
    sim.add('z2', 'zero.child', { priority: 0 });
    sim.add('r1', 'root');
    assert.deepEqual(sim.run(0), ['r1']);
    const off = new Sim('root:0');
    off.add('x', 'anything');
    assert.deepEqual(off.run(0), []);
    assert.equal(off.last?.capacityBlocked, false);
  });

  it('a sequential channel is blocked by a failed job in a sub-channel too', () => {
    const sim = new Sim('root:4,seq:1:sequential');
    sim.add('s1', 'seq.a', { id: 1 });
    sim.add('s2', 'seq.b', { id: 2 });
    assert.deepEqual(sim.run(0), ['s1']);
    sim.set('s1', 'failed');
    assert.deepEqual(sim.run(1), []);
    sim.set('s1', 'done'); // set done by hand
    assert.deepEqual(sim.run(2), ['s2']);
  });

  it('a sequential channel keeps order across its sub-channels, not-due jobs included', () => {
    const sim = new Sim('root:4,seq:1:sequential');
    sim.add('s1', 'seq.a', { id: 1, eta: 50 });
    sim.add('s2', 'seq.b', { id: 2 });
    assert.deepEqual(sim.run(0), []);
    assert.equal(sim.wakeup(), 50);
    assert.deepEqual(sim.run(50), ['s1']);
  });

  it('a sequential channel ignores jobs of a sub-channel that is blocked on its own (not fetched either)', () => {
    const sim = new Sim('root:4,seq:1:sequential,seq.slow:1:throttle=60,seq.off:1:paused');
    sim.lastStartedAt.set('root.seq.slow', 0);
    sim.add('s1', 'seq.slow', { id: 1, eta: 50 }); // first in order, not due, behind a throttle
    sim.add('s2', 'seq.off', { id: 2 }); // due, behind a pause
    sim.add('s3', 'seq.fast', { id: 3 });
    assert.deepEqual(sim.run(10), ['s3']);
  });

  it('a throttled parent starts one job per call whatever the child', () => {
    const sim = new Sim('root:10,api:5:throttle=10');
    sim.add('a', 'api.x', { priority: 2 });
    sim.add('b', 'api.y', { priority: 1 });
    sim.add('c', 'other', { priority: 3 });
    assert.deepEqual(sim.run(0), ['b', 'c']);
    assert.equal(sim.wakeup(), 10);
    assert.deepEqual(sim.run(9), []);
    assert.deepEqual(sim.run(10), ['a']);
  });

  it('wanted caps the picks, best first', () => {
    const sim = new Sim('root:10');
    for (let i = 1; i <= 5; i++) sim.add(`j${i}`, 'root', { priority: 10 - i });
    assert.deepEqual(sim.run(0, 2), ['j5', 'j4']);
    assert.equal(sim.last?.capacityBlocked, false);
    assert.deepEqual(sim.run(0, 0), []);
  });
});

describe('planFetch', () => {
  const snap = (over: Partial<ChannelSnapshot>): ChannelSnapshot => ({
    now: 1_000_000,
    running: new Map(),
    sequentialFailed: new Map(),
    lastStartedAt: new Map(),
    pendingChannels: [],
    ...over,
  });

  it('gives each pending channel min(wanted, room left along its path) + 1', () => {
    const tree = ChannelTree.fromConfig('root:10,mail:4,mail.bulk:2');
    const plans = planFetch(
      tree,
      snap({
        running: new Map([
          ['root.mail', 1],
          ['root.other', 3],
        ]),
        pendingChannels: ['root.mail', 'root.mail.bulk', 'root.other', 'root.mail.bulk'],
      }),
      50,
    );
    assert.deepEqual(plans, [
      { channel: 'root.mail', limit: 4, includeNotDue: false },
      { channel: 'root.mail.bulk', limit: 3, includeNotDue: false },
      { channel: 'root.other', limit: 7, includeNotDue: false },
    ]);
    assert.deepEqual(planFetch(tree, snap({ pendingChannels: ['root.mail'] }), 2), [
      { channel: 'root.mail', limit: 3, includeNotDue: false },
    ]);
  });

  it('skips channels that cannot start anything', () => {
    const tree = ChannelTree.fromConfig('root:10,full:1,off:0,stop:3:paused,seq:1:sequential,api:3:throttle=60');
    const plans = planFetch(
      tree,
      snap({
        running: new Map([['full', 1]]),
        sequentialFailed: new Map([['root.seq', 42]]),
        lastStartedAt: new Map([['root.api', 1_000_000 - 30_000]]),
        pendingChannels: ['full', 'full.sub', 'off', 'stop.x', 'seq', 'api', 'free'],
      }),
      5,
    );
    assert.deepEqual(plans, [{ channel: 'free', limit: 6, includeNotDue: false }]);
  });

  it('asks for not-due jobs under a sequential channel and two jobs under a throttled one', () => {
    const tree = ChannelTree.fromConfig('root:10,seq:1:sequential,api:3:throttle=60');
    const plans = planFetch(
      tree,
      snap({
        lastStartedAt: new Map([['root.api', 1_000_000 - 60_000]]),
        pendingChannels: ['seq', 'seq.sub', 'api'],
      }),
      5,
    );
    assert.deepEqual(plans, [
      { channel: 'seq', limit: 2, includeNotDue: true },
      { channel: 'seq.sub', limit: 2, includeNotDue: true },
      { channel: 'api', limit: 2, includeNotDue: false },
    ]);
  });

  it('returns nothing when nothing is wanted or root is full', () => {
    const tree = ChannelTree.fromConfig('root:2');
    assert.deepEqual(planFetch(tree, snap({ pendingChannels: ['a'] }), 0), []);
    assert.deepEqual(planFetch(tree, snap({ pendingChannels: ['a'], running: new Map([['b', 2]]) }), 5), []);
  });

  it("lets pickJobs see jobs held back past a channel's room, and in a channel full from the outset", () => {
    const tree = ChannelTree.fromConfig('root:10,full:1,small:2,off:0');
    const cand = (id: number, channel: string): Candidate => ({ id, channel, priority: 10, createdAt: id, eta: null });
    // room for 2 in small: the plan asks for 3, the third is left and seen
    const s1 = snap({ pendingChannels: ['small'] });
    assert.deepEqual(planFetch(tree, s1, 5), [{ channel: 'small', limit: 3, includeNotDue: false }]);
    const r1 = pickJobs(tree, s1, [cand(1, 'small'), cand(2, 'small'), cand(3, 'small')], 5);
    assert.deepEqual(
      r1.picked.map((c) => c.id),
      [1, 2],
    );
    assert.equal(r1.capacityBlocked, true);
    assert.equal(pickJobs(tree, s1, [cand(1, 'small'), cand(2, 'small')], 5).capacityBlocked, false);
    // full from the outset: nothing fetched there, the snapshot says it is held back; not so when paused or capacity 0
    const s2 = snap({ running: new Map([['full', 1]]), pendingChannels: ['full', 'free'] });
    assert.deepEqual(planFetch(tree, s2, 5), [{ channel: 'free', limit: 6, includeNotDue: false }]);
    const r2 = pickJobs(tree, s2, [cand(4, 'free')], 5);
    assert.deepEqual(
      r2.picked.map((c) => c.id),
      [4],
    );
    assert.equal(r2.capacityBlocked, true);
    assert.equal(
      pickJobs(tree, snap({ pendingChannels: ['off', 'free'] }), [cand(4, 'free')], 5).capacityBlocked,
      false,
    );
  });
});

describe('pickJobs details', () => {
  const base = { running: new Map(), sequentialFailed: new Map(), lastStartedAt: new Map(), pendingChannels: [] };
  it('ignores duplicate candidates and never starts a not-due job', () => {
    const tree = ChannelTree.fromConfig('root:5');
    const a = { id: 1, channel: 'root', priority: 10, createdAt: 0, eta: null };
    const b = { id: 2, channel: 'root', priority: 1, createdAt: 0, eta: 2000 };
    const result = pickJobs(tree, { ...base, now: 1000 }, [a, a, b], 10);
    assert.deepEqual(result.picked, [a]);
    assert.equal(result.wakeAt, 2000);
    assert.equal(result.capacityBlocked, false);
  });

  it('counts running jobs already over capacity (after a configuration change) as full', () => {
    const tree = ChannelTree.fromConfig('root:5,mail:1');
    const result = pickJobs(
      tree,
      { ...base, now: 0, running: new Map([['mail', 3]]) },
      [
        { id: 1, channel: 'mail', priority: 1, createdAt: 0, eta: null },
        { id: 2, channel: 'root', priority: 9, createdAt: 0, eta: null },
      ],
      10,
    );
    assert.deepEqual(
      result.picked.map((c) => c.id),
      [2],
    );
    assert.equal(result.capacityBlocked, true);
  });

  it('orders by priority, then creation, then id', () => {
    const tree = ChannelTree.fromConfig('root:10');
    const c = (id: number, priority: number, createdAt: number) => ({
      id,
      channel: '',
      priority,
      createdAt,
      eta: null,
    });
    const result = pickJobs(tree, { ...base, now: 0 }, [c(5, 2, 1), c(4, 1, 9), c(3, 2, 1), c(2, 2, 0)], 10);
    assert.deepEqual(
      result.picked.map((x) => x.id),
      [4, 2, 3, 5],
    );
  });
});
