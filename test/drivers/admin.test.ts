/** Driver conformance, the admin API: cancel, requeue, set done; listing with filters and keyset paging; counts. */
import assert from 'node:assert/strict';
import type { Driver } from '../../src/drivers/driver.ts';
import { conformance, job, T0 } from './suite.ts';

/** A chain of three (0 → 1 → 2), cancelled from its head with cascade. */
async function cancelledChain(d: Driver) {
  const r = await d.jobInsertMany({
    jobs: [job(), job(), job()],
    edges: [
      [1, 0],
      [2, 1],
    ],
    now: T0,
  });
  const cancelled = await d.jobCancel({ ids: [r[0]!.id], now: T0, cascade: true });
  return { r, cancelled };
}

conformance('admin', (it) => {
  it('cancels with cascade: the job and its dependants', async ({ d }) => {
    const { r, cancelled } = await cancelledChain(d);
    assert.deepEqual(cancelled, [r[0]!.id, r[1]!.id, r[2]!.id]);
    assert.equal((await d.jobGet(r[2]!.id))!.state, 'cancelled');
  });

  it('requeues a job: pending, or waiting while its parents are not done', async ({ d }) => {
    const { r } = await cancelledChain(d);
    assert.deepEqual(await d.jobRequeue({ ids: [r[0]!.id], now: T0 }), [r[0]!.id]);
    assert.equal((await d.jobGet(r[0]!.id))!.state, 'pending');
    assert.deepEqual(await d.jobRequeue({ ids: [r[1]!.id], now: T0 }), [r[1]!.id]);
    assert.equal((await d.jobGet(r[1]!.id))!.state, 'wait_dependencies', 'a requeued job waits for its parents');
  });

  it('sets a job done, releasing its dependants', async ({ d }) => {
    const { r } = await cancelledChain(d);
    await d.jobRequeue({ ids: [r[0]!.id], now: T0 });
    await d.jobRequeue({ ids: [r[1]!.id], now: T0 });
    assert.deepEqual(await d.jobSetDone({ ids: [r[0]!.id], now: T0 }), [r[0]!.id]);
    assert.equal((await d.jobGet(r[1]!.id))!.state, 'pending');
  });
});

/** 25 jobs, alternately in root.even and root.odd, described `job <i> <b>`. */
async function twentyFive(d: Driver) {
  await d.jobInsertMany({
    jobs: Array.from({ length: 25 }, (_, i) =>
      job({ channel: i % 2 ? 'root.odd' : 'root.even', model: 'res.partner', description: `job ${i} <b>` }),
    ),
    now: T0,
  });
}

conformance('reads', (it) => {
  it('lists with a filter and keyset paging, newest first', async ({ d }) => {
    await twentyFive(d);
    const seen: number[] = [];
    let cursor: string | null = null;
    do {
      const page = await d.jobList({ limit: 10, cursor, channel: 'root.odd' });
      seen.push(...page.jobs.map((j) => j.id));
      cursor = page.nextCursor;
    } while (cursor);
    assert.equal(seen.length, 12);
    assert.deepEqual(
      seen,
      [...seen].sort((a, b) => b - a),
    );
  });

  it('lists by a text search, whatever its case, sorted by priority', async ({ d }) => {
    await twentyFive(d);
    const byPrio = await d.jobList({ limit: 5, sort: 'priority', direction: 'asc', text: 'JOB 1' });
    assert.ok(byPrio.jobs.every((j) => j.description.startsWith('job 1')));
  });

  it('counts by group, and in all with a filter', async ({ d }) => {
    await twentyFive(d);
    const counts = await d.jobCount({ groupBy: ['channel', 'state'] });
    assert.deepEqual(
      counts.map((c) => [c.key.channel, c.key.state, c.count]),
      [
        ['root.even', 'pending', 13],
        ['root.odd', 'pending', 12],
      ],
    );
    assert.deepEqual(await d.jobCount({ groupBy: [], state: 'pending' }), [{ key: {}, count: 25 }]);
  });

  it("lists and counts by a failed job's exception", async ({ d, claim }) => {
    await twentyFive(d);
    const [one] = (await claim(1)).jobs;
    await d.jobWriteMany('r1', [
      {
        kind: 'failed',
        id: one!.id,
        attempt: 1,
        startedAt: T0,
        at: T0,
        outcome: 'failed',
        excName: 'TypeError',
        excMessage: 'x',
        excInfo: null,
      },
    ]);
    assert.deepEqual(
      (await d.jobList({ limit: 10, excName: 'TypeError' })).jobs.map((j) => j.id),
      [one!.id],
    );
    assert.deepEqual(await d.jobCount({ groupBy: ['excName'], state: 'failed' }), [
      { key: { excName: 'TypeError' }, count: 1 },
    ]);
  });
});
