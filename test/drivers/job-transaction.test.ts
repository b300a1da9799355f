/**
 * Driver conformance, the job's own transaction (`jobTransaction`): the callback's writes and the job's completion
 * commit together, fenced by (id, attempt, runner). See suite.ts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Driver } from '../../src/drivers/driver.ts';
import { type Case, conformance, job, T0 } from './suite.ts';

/** The arguments of a transaction for the job `id` at `attempt` by `runnerId`, ending at T0 + 7. */
const params = (id: number, attempt: number, runnerId: string, fn: (db: unknown) => unknown) => ({
  job: { id, attempt, runnerId, startedAt: T0 },
  fn,
  encodeResult: (v: unknown) => JSON.stringify(v),
  now: () => T0 + 7,
});

/** A parent with a child (in one graph) and another job; the parent and the other one claimed by r1. */
async function claimed({ d, claim }: Case) {
  const g = randomUUID();
  const [parent, child, other] = await d.jobInsertMany({
    jobs: [job({ graphUuid: g }), job({ graphUuid: g }), job()],
    edges: [[1, 0]],
    now: T0,
  });
  const got = (await claim(10)).jobs;
  assert.deepEqual(got.map((j) => j.id).sort(), [parent!.id, other!.id].sort());
  return { parent: parent!, child: child!, other: other! };
}

/** Commit the parent's transaction, as the SQLite (sync) or PostgreSQL (async) callback wants it. */
function completeParent(d: Driver, parentId: number, check?: (db: unknown) => void) {
  const sync = d.dialect === 'sqlite';
  return d.jobTransaction(
    params(parentId, 1, 'r1', (db) => {
      check?.(db);
      return sync ? { paid: 1 } : Promise.resolve({ paid: 1 });
    }),
  );
}

conformance('job transaction', (it) => {
  it('rethrows a throw from the callback as it is, and nothing changes', async (c) => {
    const { d } = c;
    const { other } = await claimed(c);
    const boom = new TypeError('boom');
    await assert.rejects(
      d.jobTransaction(
        params(other.id, 1, 'r1', () => {
          throw boom;
        }),
      ),
      (err) => err === boom,
    );
    assert.equal((await d.jobGet(other.id))!.state, 'enqueued');
  });

  it('refuses a lost fence (another runner, another attempt) with a typed error; the callback never runs', async (c) => {
    const { d } = c;
    const { other } = await claimed(c);
    let ran = 0;
    for (const [attempt, runner] of [
      [1, 'r2'],
      [2, 'r1'],
    ] as const) {
      await assert.rejects(
        d.jobTransaction(
          params(other.id, attempt, runner, () => {
            ran++;
          }),
        ),
        (err: Error & { code?: string }) => err.code === 'JOB_LEASE_LOST' && err.name === 'JobLeaseLostError',
      );
    }
    assert.equal(ran, 0);
  });

  it('completes the job with the result from the callback and releases its dependants', async (c) => {
    const { d } = c;
    const { parent, child } = await claimed(c);
    const r = await completeParent(d, parent.id, (db) => assert.ok(db, 'the callback gets the database handle'));
    assert.deepEqual(r, { value: { paid: 1 }, completed: true, at: T0 + 7 });
    const done = (await d.jobGet(parent.id))!;
    assert.equal(done.state, 'done');
    assert.deepEqual(done.result, { paid: 1 });
    assert.equal(done.execTimeMs, 7);
    assert.equal((await d.jobGet(child.id))!.state, 'pending');
  });

  it('says which runner freed capacity when it completes a job', async (c) => {
    const { d } = c;
    const { parent } = await claimed(c);
    let onFreed!: () => void;
    const freed = new Promise<void>((resolve) => {
      onFreed = resolve;
    });
    const sub = await d.subscribe((topic, origin) => {
      if (topic === 'freed' && origin === 'r1') onFreed();
    });
    try {
      await completeParent(d, parent.id);
      await freed;
    } finally {
      await sub.close();
    }
  });

  it('no longer holds the fence once the job is done, for the transaction and the batched writes alike', async (c) => {
    const { d } = c;
    const { parent } = await claimed(c);
    await completeParent(d, parent.id);
    await assert.rejects(
      d.jobTransaction(params(parent.id, 1, 'r1', () => 1)),
      (err: Error & { code?: string }) => err.code === 'JOB_LEASE_LOST',
    );
    assert.deepEqual(
      await d.jobWriteMany('r1', [{ kind: 'done', id: parent.id, attempt: 1, startedAt: T0, at: T0, result: null }]),
      ['stale'],
    );
  });

  it('runs the callback in a transaction alone when there is no job row (a direct call)', async ({ d }) => {
    assert.deepEqual(await d.jobTransaction({ job: null, fn: () => 5, encodeResult: () => null, now: () => T0 }), {
      value: 5,
      completed: false,
      at: T0,
    });
  });
});
