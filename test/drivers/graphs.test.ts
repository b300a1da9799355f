/** Driver conformance, job graphs: dependants wait for all their parents. See suite.ts. */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { Driver } from '../../src/drivers/driver.ts';
import { conformance, job, T0 } from './suite.ts';

/** A graph of four: 0 and 1 are parents of 2; 2 is the parent of 3. */
async function diamond(d: Driver) {
  const g = randomUUID();
  const r = await d.jobInsertMany({
    jobs: [job({ graphUuid: g }), job({ graphUuid: g }), job({ graphUuid: g }), job({ graphUuid: g })],
    edges: [
      [2, 0],
      [2, 1],
      [3, 2],
    ],
    now: T0,
  });
  return { g, r };
}

conformance('graphs', (it) => {
  it('inserts a graph: jobs without parents pending, dependants waiting', async ({ d }) => {
    const { r } = await diamond(d);
    assert.deepEqual(
      r.map((x) => x.state),
      ['pending', 'pending', 'wait_dependencies', 'wait_dependencies'],
    );
  });

  it('releases dependants when all their parents are done, and keeps them waiting otherwise', async ({ d, claim }) => {
    const { r } = await diamond(d);
    const got = (await claim(10)).jobs;
    assert.equal(got.length, 2);
    await d.jobWriteMany('r1', [{ kind: 'done', id: r[0]!.id, attempt: 1, startedAt: T0, at: T0, result: null }]);
    assert.equal((await d.jobGet(r[2]!.id))!.state, 'wait_dependencies');
    await d.jobWriteMany('r1', [
      {
        kind: 'failed',
        id: r[1]!.id,
        attempt: 1,
        startedAt: T0,
        at: T0,
        outcome: 'failed',
        excName: 'E',
        excMessage: 'x',
        excInfo: null,
      },
    ]);
    assert.equal((await d.jobGet(r[2]!.id))!.state, 'wait_dependencies');
    assert.deepEqual(await d.jobSetDone({ ids: [r[1]!.id], now: T0 }), [r[1]!.id]);
    assert.equal((await d.jobGet(r[2]!.id))!.state, 'pending');
    assert.equal((await d.jobGet(r[3]!.id))!.state, 'wait_dependencies');
  });

  it('reads a graph back: its nodes and edges', async ({ d }) => {
    const { g, r } = await diamond(d);
    const graph = (await d.graphGet(g))!;
    assert.equal(graph.nodes.length, 4);
    assert.deepEqual(
      graph.edges.sort(),
      [
        [r[0]!.id, r[2]!.id],
        [r[1]!.id, r[2]!.id],
        [r[2]!.id, r[3]!.id],
      ].sort(),
    );
  });

  it("lists a job's parents and dependants", async ({ d }) => {
    const { r } = await diamond(d);
    assert.deepEqual(await d.jobDependencies(r[2]!.id), { dependsOn: [r[0]!.id, r[1]!.id], dependants: [r[3]!.id] });
  });

  it('releases a dependant exactly once when its parents finish concurrently', async ({ d, claim }) => {
    const parents = Array.from({ length: 6 }, () => job());
    const r = await d.jobInsertMany({
      jobs: [...parents, job()],
      edges: parents.map((_, i) => [6, i] as [number, number]),
      now: T0,
    });
    const got = (await claim(10)).jobs;
    await Promise.all(
      got.map((j) =>
        d.jobWriteMany('r1', [{ kind: 'done', id: j.id, attempt: 1, startedAt: T0, at: T0, result: null }]),
      ),
    );
    assert.equal((await d.jobGet(r[6]!.id))!.state, 'pending');
  });
});
