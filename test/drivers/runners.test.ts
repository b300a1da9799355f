/** Driver conformance, runners and their leases: registration, heartbeats, and the rescue of dead runners' jobs. */
import assert from 'node:assert/strict';
import { type Case, conformance, job, T0 } from './suite.ts';

/** Runners `live` and `late` (60 s leases from the database's clock), each with one claimed job. */
async function liveAndLate({ d, claim }: Case) {
  const before = Date.now();
  await d.runnerRegister({ id: 'live', host: 'h', pid: 1, workers: 1, startedAt: T0, leaseMs: 60_000, info: {} });
  await d.runnerRegister({ id: 'late', host: 'h', pid: 2, workers: 1, startedAt: T0, leaseMs: 60_000, info: {} });
  await d.jobInsertMany({ jobs: [job(), job()], now: T0 });
  const [a] = (await claim(1, 'root:10', T0, 'live')).jobs;
  const [b] = (await claim(1, 'root:10', T0, 'late')).jobs;
  return { before, a: a!, b: b! };
}

conformance("leases on the database's clock", (it) => {
  it("runs a lease from the database clock, not from the runner's", async (c) => {
    const { before } = await liveAndLate(c);
    const live = (await c.d.runnerList()).find((r) => r.id === 'live')!;
    // the lease runs from the database's clock (here the same host's), not from T0
    assert.ok(
      live.heartbeatAt >= before - 1000 && live.leaseUntil >= live.heartbeatAt + 60_000 - 1,
      `lease from the database clock: ${JSON.stringify(live)}`,
    );
  });

  it('rescues nothing while the leases hold on the database clock', async (c) => {
    await liveAndLate(c);
    assert.deepEqual(await c.d.jobRescue({ maxCrashes: 3 }), [], 'no lease has expired on the database clock');
  });

  it("expires at once a heartbeat whose lease is already over: its runner's jobs are rescued, the others kept", async (c) => {
    const { d } = c;
    const { a, b } = await liveAndLate(c);
    // a heartbeat whose lease is already over (as if it landed a minute late)
    assert.equal(await d.runnerHeartbeat({ id: 'late', leaseMs: -1, info: {} }), true);
    const rescued = await d.jobRescue({ maxCrashes: 3 });
    assert.deepEqual(
      rescued.map((r) => r.id),
      [b.id],
    );
    assert.equal((await d.jobGet(a.id))!.state, 'enqueued', "the live runner's job is kept");
    assert.deepEqual(
      (await d.runnerList()).map((r) => r.id),
      ['live'],
    );
  });

  it('removes a runner', async (c) => {
    await liveAndLate(c);
    await c.d.runnerRemove('live');
    assert.deepEqual(
      (await c.d.runnerList()).map((r) => r.id),
      ['late'],
    );
  });
});

/** Runners `dead` (lease over at T0 + 1 s) with jobs a (started) and b, and `alive` with job c. */
async function deadAndAlive({ d, claim }: Case) {
  await d.runnerRegister({
    id: 'dead',
    host: 'h',
    pid: 1,
    workers: 2,
    startedAt: T0,
    leaseMs: 1000,
    now: T0,
    info: {},
  });
  await d.runnerRegister({
    id: 'alive',
    host: 'h',
    pid: 2,
    workers: 2,
    startedAt: T0,
    leaseMs: 100_000,
    now: T0,
    info: {},
  });
  await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
  const [a, b] = (await claim(2, 'root:10', T0, 'dead')).jobs;
  const [c] = (await claim(1, 'root:10', T0, 'alive')).jobs;
  await d.jobWriteMany('dead', [{ kind: 'start', id: a!.id, attempt: 1, at: T0 }]);
  return { a: a!, b: b!, c: c! };
}

conformance('rescue', (it) => {
  it('rescues nothing before the lease ends', async (ctx) => {
    await deadAndAlive(ctx);
    assert.deepEqual(await ctx.d.jobRescue({ now: T0 + 500, maxCrashes: 2 }), []);
  });

  it('rescues jobs of dead runners: enqueued back to pending, started counted as a crash', async (ctx) => {
    const { d } = ctx;
    const { a, b, c } = await deadAndAlive(ctx);
    const rescued = await d.jobRescue({ now: T0 + 2000, maxCrashes: 2 });
    assert.deepEqual(
      rescued.map((r) => [r.id, r.state, r.wasStarted]).sort(),
      [
        [a.id, 'pending', true],
        [b.id, 'pending', false],
      ].sort(),
    );
    const ra = (await d.jobGet(a.id))!;
    assert.equal(ra.crashCount, 1);
    assert.equal(ra.excName, 'JobFoundDead');
    assert.equal((await d.jobGet(b.id))!.attempt, 0);
    assert.equal((await d.jobGet(c.id))!.state, 'enqueued');
  });

  it('removes a dead runner: gone from the list, its heartbeat refused', async (ctx) => {
    const { d } = ctx;
    await deadAndAlive(ctx);
    await d.jobRescue({ now: T0 + 2000, maxCrashes: 2 });
    assert.deepEqual(
      (await d.runnerList()).map((r) => r.id),
      ['alive'],
    );
    assert.equal(await d.runnerHeartbeat({ id: 'dead', now: T0, leaseMs: 1, info: {} }), false);
  });

  it('fails a job on its last allowed crash', async (ctx) => {
    const { d, claim } = ctx;
    const { a } = await deadAndAlive(ctx);
    await d.jobRescue({ now: T0 + 2000, maxCrashes: 2 });
    await d.runnerRegister({
      id: 'dead2',
      host: 'h',
      pid: 3,
      workers: 2,
      startedAt: T0,
      leaseMs: 3000,
      now: T0,
      info: {},
    });
    const again = (await claim(5, 'root:10', T0 + 2000, 'dead2')).jobs.find((j) => j.id === a.id)!;
    await d.jobWriteMany('dead2', [{ kind: 'start', id: again.id, attempt: again.attempt, at: T0 }]);
    await d.jobRescue({ now: T0 + 5000, maxCrashes: 2 });
    const failed = (await d.jobGet(a.id))!;
    assert.equal(failed.state, 'failed');
    assert.equal(failed.crashCount, 2);
    assert.equal((await d.jobAttempts(a.id)).filter((x) => x.outcome === 'crashed').length, 2);
  });
});
