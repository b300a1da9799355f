/** Driver conformance, claiming jobs: order, due times, channel capacities, throttles, sequential channels. */
import assert from 'node:assert/strict';
import { ChannelTree } from '../../src/channels/tree.ts';
import type { Driver } from '../../src/drivers/driver.ts';
import { claimPolicy } from '../../src/runner/claim-policy.ts';
import { conformance, job, T0 } from './suite.ts';

/** The number of running (enqueued or started) jobs, all channels together. */
async function runningCount(d: Driver): Promise<number> {
  const snap = await d.channelSnapshot({ now: T0, sequentialChannels: [], throttledChannels: [] });
  return [...snap.running.values()].reduce((a, b) => a + b, 0);
}

conformance('claim', (it) => {
  it('claims in (priority, created, id) order, each job enqueued for its runner', async ({ d, claim }) => {
    const ins = await d.jobInsertMany({
      jobs: [job({ priority: 10 }), job({ priority: 5 }), job({ priority: 10 })],
      now: T0,
    });
    const got = await claim(10);
    assert.deepEqual(
      got.jobs.map((j) => j.id),
      [ins[1]!.id, ins[0]!.id, ins[2]!.id],
    );
    assert.ok(got.jobs.every((j) => j.state === 'enqueued' && j.attempt === 1 && j.runnerId === 'r1'));
  });

  it('skips jobs not yet due, reports the wake time, and claims them once due', async ({ d, claim }) => {
    const ins = await d.jobInsertMany({
      jobs: [job({ priority: 10 }), job({ priority: 1, eta: T0 + 60_000 })],
      now: T0,
    });
    const got = await claim(10);
    assert.deepEqual(
      got.jobs.map((j) => j.id),
      [ins[0]!.id],
    );
    assert.equal(got.wakeAt, T0 + 60_000);
    const later = await claim(10, 'root:100', T0 + 60_000);
    assert.deepEqual(
      later.jobs.map((j) => j.id),
      [ins[1]!.id],
    );
  });

  it('never exceeds channel capacities, counting enqueued and started jobs', async ({ d, claim }) => {
    await d.jobInsertMany({
      jobs: [
        ...Array.from({ length: 5 }, () => job({ channel: 'root.a' })),
        ...Array.from({ length: 5 }, () => job({ channel: 'root.b' })),
      ],
      now: T0,
    });
    const cfg = 'root:4,root.a:1';
    const first = await claim(10, cfg);
    assert.equal(first.jobs.length, 4);
    assert.equal(first.jobs.filter((j) => j.channel === 'root.a').length, 1);
    assert.equal(first.capacityBlocked, true);
    const second = await claim(10, cfg, T0, 'r2');
    assert.equal(second.jobs.length, 0);
    await d.jobWriteMany('r1', [
      { kind: 'done', id: first.jobs[0]!.id, attempt: 1, startedAt: T0, at: T0 + 1, result: null },
    ]);
    const third = await claim(10, cfg, T0, 'r2');
    assert.equal(third.jobs.length, 1);
    assert.equal(await runningCount(d), 4);
  });

  it('records throttle starts: the next start waits for the throttle interval', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job({ channel: 'root.t' }), job({ channel: 'root.t' })], now: T0 });
    const cfg = 'root:10,root.t:5:throttle=10';
    const a = await claim(10, cfg);
    assert.deepEqual(
      a.jobs.map((j) => j.channel),
      ['root.t'],
    );
    assert.equal(a.wakeAt, T0 + 10_000);
    const b = await claim(10, cfg, T0 + 10_000);
    assert.deepEqual(
      b.jobs.map((j) => j.channel),
      ['root.t'],
    );
    const snap = await d.channelSnapshot({ now: T0, sequentialChannels: [], throttledChannels: ['root.t'] });
    assert.equal(snap.lastStartedAt.get('root.t'), T0 + 10_000);
  });

  it('blocks a sequential channel on a failed job', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job({ channel: 'root.s' }), job({ channel: 'root.s' })], now: T0 });
    const cfg = 'root:10,root.s:1:sequential';
    const a = await claim(10, cfg);
    assert.deepEqual(
      a.jobs.map((j) => j.channel),
      ['root.s'],
    );
    const s = a.jobs[0]!;
    await d.jobWriteMany('r1', [
      {
        kind: 'failed',
        id: s.id,
        attempt: 1,
        startedAt: T0,
        at: T0 + 1,
        outcome: 'failed',
        excName: 'Error',
        excMessage: 'x',
        excInfo: null,
      },
    ]);
    const b = await claim(10, cfg, T0 + 10_000);
    assert.deepEqual(b.jobs, []);
    const snap = await d.channelSnapshot({ now: T0, sequentialChannels: ['root.s'], throttledChannels: [] });
    assert.equal(snap.sequentialFailed.get('root.s'), s.id);
  });

  it('claims throttled and sequential channels side by side', async ({ d, claim }) => {
    await d.jobInsertMany({
      jobs: [
        job({ channel: 'root.t' }),
        job({ channel: 'root.t' }),
        job({ channel: 'root.s' }),
        job({ channel: 'root.s' }),
      ],
      now: T0,
    });
    const cfg = 'root:10,root.t:5:throttle=10,root.s:1:sequential';
    const a = await claim(10, cfg);
    assert.deepEqual(a.jobs.map((j) => j.channel).sort(), ['root.s', 'root.t']);
    assert.equal(a.wakeAt, T0 + 10_000);
  });
});

/** A policy that has seen `pending` and `running` (as after an earlier claim), so it offers the driver a guess. */
function shaped(channels: string, pending: string[], running: [string, number][] = []) {
  const policy = claimPolicy(ChannelTree.fromConfig(channels));
  policy.observe!(
    {
      now: T0,
      running: new Map(running),
      sequentialFailed: new Map(),
      lastStartedAt: new Map(),
      pendingChannels: pending,
    },
    [],
  );
  assert.ok(policy.guess!(10), 'the policy offers a guess');
  return policy;
}

const claimWith = (d: Driver, policy: ReturnType<typeof claimPolicy>, runnerId: string, wanted = 10, startCount = 0) =>
  d.jobClaim({ runnerId, now: T0, wanted, startCount, policy });

// a policy that has seen the channels (as after an earlier claim) offers the driver a guess; PostgreSQL applies
// it in its one-round-trip claim and falls back to the planned claim when it does not hold
conformance('claim shaped ahead', (it) => {
  /** Five root jobs (priorities 5, 1, 10, 10, 10) and r1's shaped claim of three, the first of them started. */
  async function claimThreeOfFive(d: Driver) {
    const ins = await d.jobInsertMany({
      jobs: [job({ priority: 5 }), job({ priority: 1 }), job(), job(), job()],
      now: T0,
    });
    const first = await claimWith(d, shaped('root:3', ['root']), 'r1', 10, 1);
    return { ins, first };
  }

  it('applies within the capacity, best first, the first one started', async ({ d }) => {
    const { ins, first } = await claimThreeOfFive(d);
    assert.deepEqual(
      first.jobs.map((j) => j.id),
      [ins[1]!.id, ins[0]!.id, ins[2]!.id],
    );
    assert.deepEqual(
      first.jobs.map((j) => j.state),
      ['started', 'enqueued', 'enqueued'],
    );
    assert.ok(first.jobs.every((j) => j.attempt === 1 && j.runnerId === 'r1'));
  });

  it('counts the live running jobs whatever the stale view says', async ({ d }) => {
    const { ins, first } = await claimThreeOfFive(d);
    // a stale view (nothing running): root is full
    const second = await claimWith(d, shaped('root:3', ['root']), 'r2');
    assert.deepEqual(second.jobs, []);
    await d.jobWriteMany('r1', [
      { kind: 'done', id: first.jobs[0]!.id, attempt: 1, startedAt: T0, at: T0 + 1, result: null },
    ]);
    const third = await claimWith(d, shaped('root:3', ['root']), 'r2');
    assert.deepEqual(
      third.jobs.map((j) => j.id),
      [ins[3]!.id],
    );
  });

  it('is the planned claim, best first, when another channel has pending jobs', async ({ d }) => {
    const two = await d.jobInsertMany({ jobs: [job(), job({ channel: 'root.b', priority: 1 }), job()], now: T0 });
    const mixed = await claimWith(d, shaped('root:10', ['root']), 'r1');
    assert.deepEqual(
      mixed.jobs.map((j) => j.id),
      [two[1]!.id, two[0]!.id, two[2]!.id],
    );
  });

  it('counts a job running in a channel the guess does not know, under the same capped root', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job({ channel: 'root.x' })], now: T0 });
    assert.equal((await claim(10, 'root:2')).jobs.length, 1);
    await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
    const unknown = await claimWith(d, shaped('root:2', ['root']), 'r2');
    assert.equal(unknown.jobs.length, 1);
    assert.equal(await runningCount(d), 2);
  });
});
