/**
 * Model-based tests of the scheduler: pickJobs (greedy best-first with per-level checks) against a
 * naive reference written here the way queue_job dispatches — a recursive child → parent merge where
 * each channel passes its best jobs down to its parent up to its capacity — plus invariants and the
 * equivalence of planFetch + per-channel queries with a pick over every pending job.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { type ChannelSpec, formatChannels, normalizeChannelName, parseChannels } from './parse.ts';
import { type Candidate, type ChannelSnapshot, guessClaim, guessLimit, pickJobs, planFetch } from './scheduler.ts';
import { ChannelTree } from './tree.ts';

fc.configureGlobal({
  seed: Number(process.env.FAST_CHECK_SEED ?? 42),
  numRuns: Number(process.env.FAST_CHECK_RUNS ?? 1000),
});

// ---------------------------------------------------------------------------------------------
// The naive reference model (no caching, no shared code with the scheduler beyond the parser).

interface RefResult {
  picked: number[];
  lastStartedAt: Map<string, number>;
  wakeAt: number | null;
  capacityBlocked: boolean;
}

function reference(config: string, snap: ChannelSnapshot, candidates: readonly Candidate[], wanted: number): RefResult {
  const specs = new Map(parseChannels(config).map((s) => [s.name, s]));
  const now = snap.now;
  const cfg = (name: string): Omit<ChannelSpec, 'name'> =>
    specs.get(name) ?? { capacity: null, sequential: false, throttleMs: 0, paused: false };
  const under = (channel: string, ancestor: string) => channel === ancestor || channel.startsWith(ancestor + '.');
  const due = (c: Candidate) => c.eta === null || c.eta <= now;
  const cmp = (a: Candidate, b: Candidate) => a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id;

  const seen = new Set<number>();
  const jobs = candidates
    .filter((c) => (seen.has(c.id) ? false : (seen.add(c.id), true)))
    .map((c) => ({ ...c, channel: normalizeChannelName(c.channel) }));
  const original = new Map(candidates.map((c) => [c.id, c]));

  const names = new Set<string>(['root']);
  const addWithParents = (name: string) => {
    const parts = name.split('.');
    for (let i = 1; i <= parts.length; i++) names.add(parts.slice(0, i).join('.'));
  };
  for (const name of specs.keys()) addWithParents(name);
  for (const job of jobs) addWithParents(job.channel);
  const children = (name: string) =>
    [...names].filter((n) => n.startsWith(name + '.') && !n.slice(name.length + 1).includes('.'));

  const running = (name: string) => {
    let total = 0;
    for (const [channel, count] of snap.running)
      if (count > 0 && under(normalizeChannelName(channel), name)) total += count;
    return total;
  };
  const failed = (name: string) => cfg(name).sequential && snap.sequentialFailed.has(name);
  const throttleEnd = (name: string) => {
    const { throttleMs } = cfg(name);
    const last = snap.lastStartedAt.get(name);
    return throttleMs > 0 && last !== undefined && last + throttleMs > now ? last + throttleMs : 0;
  };
  const blocked = (name: string) => {
    const c = cfg(name);
    return (
      c.paused ||
      c.capacity === 0 ||
      failed(name) ||
      (c.capacity !== null && running(name) >= c.capacity) ||
      throttleEnd(name) > 0
    );
  };

  // Sequential heads, kept for the wakeup computation.
  const heads = new Map<string, Candidate | undefined>();

  /** What a channel passes to its parent: its best ready jobs (up to its room), and the not-due jobs seen through it. */
  function flow(name: string): { ready: Candidate[]; notDue: Candidate[] } {
    const kids = children(name).map(flow);
    if (blocked(name)) return { ready: [], notDue: [] };
    const own = jobs.filter((j) => j.channel === name);
    const queue = [...own.filter(due), ...kids.flatMap((k) => k.ready)].sort(cmp);
    const notDue = [...own.filter((j) => !due(j)), ...kids.flatMap((k) => k.notDue)];
    const c = cfg(name);
    if (c.sequential) {
      const head = [...queue, ...notDue].sort(cmp)[0];
      heads.set(name, head);
      if (head !== undefined && !due(head)) return { ready: [], notDue };
    }
    let room = c.capacity === null ? Infinity : c.capacity - running(name);
    if (c.throttleMs > 0) room = Math.min(room, 1);
    return { ready: queue.slice(0, room), notDue };
  }

  const picked = flow('root').ready.slice(0, Math.max(0, wanted));
  const pickedIds = new Set(picked.map((p) => p.id));
  const picksUnder = (name: string) => picked.filter((p) => under(p.channel, name)).length;

  const lastStartedAt = new Map<string, number>();
  for (const [name, spec] of specs) if (spec.throttleMs > 0 && picksUnder(name) > 0) lastStartedAt.set(name, now);

  // queue_job's get_wakeup_time on the state after the picks, restricted to what was seen.
  const pathOf = (channel: string) => {
    const parts = channel.split('.');
    return parts.map((_, i) => parts.slice(0, i + 1).join('.'));
  };
  const hard = (name: string) => cfg(name).paused || cfg(name).capacity === 0;
  const left = jobs.filter((j) => !pickedIds.has(j.id) && !pathOf(j.channel).some(hard));
  const fullAfter = (name: string) => {
    const c = cfg(name);
    return c.capacity !== null && running(name) + picksUnder(name) >= c.capacity;
  };
  const endAfter = (name: string) =>
    cfg(name).throttleMs > 0 && picksUnder(name) > 0 ? now + cfg(name).throttleMs : throttleEnd(name);
  const minOf = (values: (number | null)[]) =>
    values.reduce<number | null>((m, v) => (v === null ? m : m === null || v < m ? v : m), null);
  function wake(name: string): number | null {
    if (!left.some((j) => under(j.channel, name))) return null;
    if (hard(name) || failed(name) || fullAfter(name)) return null;
    const end = endAfter(name);
    if (end > now) return end;
    const head = heads.get(name);
    if (cfg(name).sequential && head !== undefined && !due(head)) return head.eta;
    return minOf([...left.filter((j) => j.channel === name && !due(j)).map((j) => j.eta), ...children(name).map(wake)]);
  }

  const limitedAfter = (job: Candidate) =>
    pathOf(job.channel).some((name) => {
      const head = heads.get(name);
      return (
        failed(name) ||
        fullAfter(name) ||
        endAfter(name) > now ||
        (cfg(name).sequential && head !== undefined && !due(head))
      );
    });

  // a pending channel that can start nothing from the outset for a limit (not a hard block) holds its jobs
  // back too, due or not (the driver does not fetch them, the snapshot says they are there)
  const heldFromOutset = snap.pendingChannels.some((ch) => {
    const path = pathOf(normalizeChannelName(ch));
    return !path.some(hard) && path.some(blocked);
  });
  return {
    picked: picked.map((p) => original.get(p.id)!.id),
    lastStartedAt,
    wakeAt: wake('root'),
    capacityBlocked: left.some((j) => due(j) && limitedAfter(j)) || heldFromOutset,
  };
}

// ---------------------------------------------------------------------------------------------
// Generators: small trees so that capacities, throttles and sequential channels interact often.

const NOW = 1_000_000;
const channelNames = ['root', 'root.a', 'root.b', 'root.a.x', 'root.a.y', 'root.b.x', 'root.a.x.deep', 'root.c'];
const storedName = fc.constantFrom(...channelNames, 'a', 'b.x', '', 'root.a.z', 'root.c.new');

const specArb = (name: string) =>
  fc
    .record({
      capacity: fc.oneof(
        { weight: 6, arbitrary: fc.integer({ min: 1, max: 4 }) },
        { weight: 1, arbitrary: fc.constant(0) },
      ),
      sequential: fc.oneof({ weight: 3, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      throttleMs: fc.oneof(
        { weight: 3, arbitrary: fc.constant(0) },
        { weight: 1, arbitrary: fc.constantFrom(1000, 5000) },
      ),
      paused: fc.oneof({ weight: 8, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map((s): ChannelSpec => ({ name, ...s, capacity: s.sequential ? 1 : s.capacity }));

const rootArb = fc.option(
  fc
    .record({
      capacity: fc.integer({ min: 1, max: 8 }),
      paused: fc.oneof({ weight: 15, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
    })
    .map((r): ChannelSpec => ({ name: 'root', sequential: false, throttleMs: 0, ...r })),
  { nil: undefined, freq: 5 },
);

const configArb: fc.Arbitrary<string> = fc
  .tuple(rootArb, fc.subarray(channelNames.slice(1)))
  .chain(([root, names]) =>
    (names.length === 0 ? fc.constant([] as ChannelSpec[]) : fc.tuple(...names.map(specArb)).map((t) => [...t])).map(
      (specs) => (root === undefined ? specs : [root, ...specs]),
    ),
  )
  .map((specs) => formatChannels(specs));

const candidateArb = (id: number) =>
  fc.record({
    id: fc.constant(id),
    channel: storedName,
    priority: fc.integer({ min: 0, max: 3 }),
    createdAt: fc.integer({ min: 0, max: 3 }),
    eta: fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 2, arbitrary: fc.integer({ min: -3, max: 3 }).map((d) => NOW + d * 1000) },
    ),
  });

const scenarioArb = fc
  .record({
    config: configArb,
    candidates: fc
      .integer({ min: 0, max: 14 })
      .chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => candidateArb(i + 1)))),
    duplicates: fc.array(fc.nat(), { maxLength: 2 }),
    running: fc.array(fc.tuple(storedName, fc.integer({ min: 0, max: 2 })), { maxLength: 3 }),
    failedSeed: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
    lastSeed: fc.array(fc.option(fc.integer({ min: -6, max: 0 }), { nil: undefined }), { minLength: 8, maxLength: 8 }),
    wanted: fc.oneof(fc.integer({ min: 0, max: 6 }), fc.constant(100)),
  })
  .map(({ config, candidates, duplicates, running, failedSeed, lastSeed, wanted }) => {
    const tree = ChannelTree.fromConfig(config);
    const runningMap = new Map<string, number>();
    for (const [name, count] of running) runningMap.set(name, (runningMap.get(name) ?? 0) + count);
    const sequentialFailed = new Map<string, number>();
    tree.sequentialChannels().forEach((name, i) => {
      if (failedSeed[i]) sequentialFailed.set(name, 900 + i);
    });
    const lastStartedAt = new Map<string, number>();
    tree.throttledChannels().forEach((name, i) => {
      const d = lastSeed[i];
      if (d !== undefined) lastStartedAt.set(name, NOW + d * 1000);
    });
    const list: Candidate[] = [...candidates];
    for (const d of duplicates) if (list.length > 0) list.push(list[d % list.length]!);
    const snap: ChannelSnapshot = {
      now: NOW,
      running: runningMap,
      sequentialFailed,
      lastStartedAt,
      pendingChannels: [...new Set(list.map((c) => c.channel))],
    };
    return { config, tree, snap, candidates: list, wanted };
  });

// ---------------------------------------------------------------------------------------------

describe('pickJobs against the recursive reference model', () => {
  it('picks exactly what the child → parent merge yields, in the same order, with the same side results', () => {
    fc.assert(
      fc.property(scenarioArb, ({ config, tree, snap, candidates, wanted }) => {
        const got = pickJobs(tree, snap, candidates, wanted);
        const want = reference(config, snap, candidates, wanted);
        assert.deepEqual(
          got.picked.map((c) => c.id),
          want.picked,
          config,
        );
        assert.deepEqual(got.lastStartedAt, want.lastStartedAt);
        assert.equal(got.wakeAt, want.wakeAt);
        assert.equal(got.capacityBlocked, want.capacityBlocked);
      }),
    );
  });

  it('exercises the interesting cases (the generator is not vacuous)', () => {
    let multiLevel = 0,
      throttled = 0,
      sequentialWaits = 0,
      capacityBlocked = 0;
    fc.assert(
      fc.property(scenarioArb, ({ tree, snap, candidates, wanted }) => {
        const got = pickJobs(tree, snap, candidates, wanted);
        if (got.picked.length >= 2) multiLevel++;
        if (got.lastStartedAt.size > 0) throttled++;
        if (got.capacityBlocked) capacityBlocked++;
        if (tree.sequentialChannels().length > 0 && got.wakeAt !== null) sequentialWaits++;
      }),
    );
    assert.ok(
      multiLevel > 100 && throttled > 15 && sequentialWaits > 15 && capacityBlocked > 100,
      JSON.stringify({ multiLevel, throttled, sequentialWaits, capacityBlocked }),
    );
  });
});

describe('pickJobs invariants', () => {
  it('never exceeds a capacity, respects pause, throttle, failed sequential channels, ETAs and wanted', () => {
    fc.assert(
      fc.property(scenarioArb, ({ tree, snap, candidates, wanted }) => {
        const { picked, lastStartedAt, wakeAt } = pickJobs(tree, snap, candidates, wanted);
        assert.ok(picked.length <= wanted);
        assert.equal(new Set(picked.map((c) => c.id)).size, picked.length);
        for (const c of picked) assert.ok(c.eta === null || c.eta <= snap.now, 'a not-due job was picked');
        for (let i = 1; i < picked.length; i++) {
          const [a, b] = [picked[i - 1]!, picked[i]!];
          assert.ok(
            a.priority < b.priority ||
              (a.priority === b.priority &&
                (a.createdAt < b.createdAt || (a.createdAt === b.createdAt && a.id < b.id))),
          );
        }
        const names = new Set<string>();
        for (const c of [...candidates, ...picked]) for (const n of tree.path(c.channel)) names.add(n.name);
        for (const name of names) {
          const node = [...candidates].flatMap((c) => tree.path(c.channel)).find((n) => n.name === name)!;
          const inside = (channel: string) => tree.path(channel).some((n) => n.name === name);
          let running = 0;
          for (const [ch, n] of snap.running) if (n > 0 && inside(ch)) running += n;
          const picks = picked.filter((c) => inside(c.channel)).length;
          if (node.capacity !== null)
            assert.ok(picks === 0 || running + picks <= node.capacity, `${name} over capacity`);
          if (node.paused || node.capacity === 0) assert.equal(picks, 0, `${name} is paused or has capacity 0`);
          if (node.sequential && snap.sequentialFailed.has(name))
            assert.equal(picks, 0, `${name} is blocked by a failed job`);
          if (node.throttleMs > 0) {
            assert.ok(picks <= 1, `${name} started more than one job`);
            const last = snap.lastStartedAt.get(name);
            if (last !== undefined && snap.now < last + node.throttleMs) assert.equal(picks, 0, `${name} is throttled`);
            assert.equal(lastStartedAt.get(name), picks > 0 ? snap.now : undefined);
          }
        }
        if (wakeAt !== null) assert.ok(wakeAt > snap.now);
      }),
    );
  });

  it('planFetch + per-channel queries pick, and see held back, what a pick over every pending job does', () => {
    fc.assert(
      fc.property(scenarioArb, ({ tree, snap, candidates, wanted }) => {
        const unique = [...new Map(candidates.map((c) => [c.id, c])).values()];
        const all = pickJobs(tree, snap, unique, wanted);
        const plans = planFetch(tree, snap, wanted);
        for (const plan of plans) assert.ok(plan.limit > 0 && plan.limit <= wanted + 1);
        const fetched = plans.flatMap((plan) =>
          unique
            .filter((c) => c.channel === plan.channel && (plan.includeNotDue || c.eta === null || c.eta <= snap.now))
            .sort((a, b) => a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id)
            .slice(0, plan.limit),
        );
        const viaPlan = pickJobs(tree, snap, fetched, wanted);
        assert.deepEqual(
          viaPlan.picked.map((c) => c.id),
          all.picked.map((c) => c.id),
        );
        assert.deepEqual(viaPlan.lastStartedAt, all.lastStartedAt);
        // (with nothing wanted nothing is fetched, and no claim is made)
        if (wanted > 0) {
          assert.equal(
            viaPlan.capacityBlocked,
            all.capacityBlocked,
            'capacityBlocked must not depend on which jobs were fetched',
          );
          assert.equal(viaPlan.drained, all.drained, 'drained must not depend on which jobs were fetched');
          if (viaPlan.drained) {
            // then no due job is left, but under a paused channel or one of capacity 0
            const took = new Set(all.picked.map((c) => c.id));
            const left = unique.filter(
              (c) =>
                !took.has(c.id) &&
                (c.eta === null || c.eta <= snap.now) &&
                !tree.path(c.channel).some((n) => n.paused || n.capacity === 0),
            );
            assert.deepEqual(left, [], 'a drained claim left due jobs behind');
          }
        }
      }),
    );
  });

  it('picks are stable: nothing new starts when the picked jobs are added as running', () => {
    fc.assert(
      fc.property(scenarioArb, ({ tree, snap, candidates }) => {
        const first = pickJobs(tree, snap, candidates, Infinity);
        const running = new Map(snap.running);
        for (const c of first.picked) running.set(c.channel, (running.get(c.channel) ?? 0) + 1);
        const lastStartedAt = new Map([...snap.lastStartedAt, ...first.lastStartedAt]);
        const ids = new Set(first.picked.map((c) => c.id));
        const second = pickJobs(
          tree,
          { ...snap, running, lastStartedAt },
          candidates.filter((c) => !ids.has(c.id)),
          Infinity,
        );
        assert.deepEqual(second.picked, []);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The claim shaped ahead (guessClaim → guessLimit), which a driver applies in SQL in one round trip.

/** A scenario whose pending jobs are often in one channel, and the state seen after the previous claim. */
const guessScenarioArb = fc
  .record({
    base: scenarioArb,
    oneChannel: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    lastRunning: fc.array(fc.tuple(storedName, fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
    sameRunningChannels: fc.boolean(),
    lastPending: fc.option(storedName, { nil: undefined, freq: 4 }),
  })
  .map(({ base, oneChannel, lastRunning, sameRunningChannels, lastPending }) => {
    // the state changed since the last claim: other counts, maybe other channels (another runner's jobs)
    if (sameRunningChannels)
      lastRunning = [...lastRunning, ...[...base.snap.running.keys()].map((k, i): [string, number] => [k, i % 3])];
    const candidates =
      oneChannel && base.candidates.length
        ? base.candidates.map((c) => ({ ...c, channel: base.candidates[0]!.channel }))
        : base.candidates;
    const snap: ChannelSnapshot = { ...base.snap, pendingChannels: [...new Set(candidates.map((c) => c.channel))] };
    const last: ChannelSnapshot = {
      ...snap,
      running: new Map(lastRunning),
      pendingChannels: [lastPending ?? snap.pendingChannels[0] ?? 'root'],
    };
    return { ...base, candidates, snap, last };
  });

describe('the claim shaped ahead (guessClaim, guessLimit)', () => {
  it('takes exactly what pickJobs picks whenever it applies: the best due jobs of its channel, up to its limit', () => {
    let applied = 0,
      took = 0,
      limited = 0;
    fc.assert(
      fc.property(guessScenarioArb, ({ tree, snap, last, candidates, wanted }) => {
        const guess = guessClaim(tree, last, wanted);
        if (guess === null) return;
        const limit = guessLimit(guess, snap);
        if (limit === null) return;
        applied++;
        const unique = [...new Map(candidates.map((c) => [c.id, c])).values()];
        const fast = unique
          .filter((c) => c.channel === guess.channel && (c.eta === null || c.eta <= snap.now))
          .sort((a, b) => a.priority - b.priority || a.createdAt - b.createdAt || a.id - b.id)
          .slice(0, limit);
        const planned = pickJobs(tree, snap, unique, wanted);
        assert.deepEqual(
          fast.map((c) => c.id),
          planned.picked.map((c) => c.id),
        );
        if (fast.length) took++;
        if (limit < wanted) limited++;
      }),
      { numRuns: 2000 },
    ); // enough runs that the coverage check below holds whatever the seed
    assert.ok(applied > 150 && took > 75 && limited > 75, JSON.stringify({ applied, took, limited }));
  });

  it('is not shaped through a sequential, throttled, paused or capacity-0 channel, nor for other than one pending channel', () => {
    fc.assert(
      fc.property(guessScenarioArb, ({ tree, last, wanted }) => {
        const guess = guessClaim(tree, last, wanted);
        if (guess === null) return;
        assert.equal(last.pendingChannels.length, 1);
        for (const node of tree.path(guess.channel)) {
          assert.ok(!node.sequential && node.throttleMs === 0 && !node.paused && node.capacity !== 0, node.name);
        }
        assert.ok(guess.known.includes(guess.channel));
        assert.equal(guess.bounds.length, tree.path(guess.channel).filter((n) => n.capacity !== null).length);
      }),
    );
  });

  it('does not apply when another channel has pending jobs or an unknown channel has running ones', () => {
    const tree = ChannelTree.fromConfig('root:4,root.a:2');
    const last: ChannelSnapshot = {
      now: NOW,
      running: new Map([['root.a', 1]]),
      sequentialFailed: new Map(),
      lastStartedAt: new Map(),
      pendingChannels: ['root.a'],
    };
    const guess = guessClaim(tree, last, 10)!;
    assert.deepEqual(guess.bounds, [
      { channels: ['root.a'], capacity: 4 },
      { channels: ['root.a'], capacity: 2 },
    ]);
    assert.equal(guessLimit(guess, { ...last, running: new Map([['root.a', 1]]) }), 1);
    assert.equal(guessLimit(guess, { ...last, pendingChannels: ['root.a', 'root.b'] }), null);
    assert.equal(
      guessLimit(guess, {
        ...last,
        running: new Map([
          ['root.a', 1],
          ['root.b', 1],
        ]),
      }),
      null,
    );
    assert.equal(guessLimit(guess, { ...last, running: new Map([['root.a', 3]]) }), 0);
  });
});
