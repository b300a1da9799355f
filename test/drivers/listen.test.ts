/** Driver conformance, notifications: subscribers hear of new jobs and of freed capacity. See suite.ts. */
import assert from 'node:assert/strict';
import { conformance, job, T0 } from './suite.ts';

conformance('listen', (it) => {
  it('wakes subscribers on enqueue', async ({ d }) => {
    let resolve!: (t: string) => void;
    const woke = new Promise<string>((r) => {
      resolve = r;
    });
    const sub = await d.subscribe((t) => {
      if (t === 'jobs') resolve(t);
    });
    try {
      await d.jobInsertMany({ jobs: [job()], now: T0 });
      assert.equal(await woke, 'jobs');
    } finally {
      await sub.close();
    }
  });

  it('says which runner freed capacity: done, and release with done in one batch', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
    const got = await claim(3);
    assert.equal(got.jobs.length, 3);
    const seen: [string, string | null][] = [];
    let resolve!: () => void;
    let wanted = 1;
    let woke = new Promise<void>((r) => {
      resolve = r;
    });
    const sub = await d.subscribe((t, origin) => {
      if (t === 'freed') {
        seen.push([t, origin]);
        if (seen.length >= wanted) resolve();
      }
    });
    try {
      const [a, b, c] = got.jobs;
      await d.jobWriteMany('r1', [
        { kind: 'done', id: a!.id, attempt: a!.attempt, startedAt: T0, at: T0 + 1, result: null },
      ]);
      await woke;
      wanted = 2;
      woke = new Promise<void>((r) => {
        resolve = r;
      });
      await d.jobWriteMany('r1', [
        { kind: 'release', id: b!.id, attempt: b!.attempt, at: T0 + 2 },
        { kind: 'done', id: c!.id, attempt: c!.attempt, startedAt: T0, at: T0 + 2, result: null },
      ]);
      await woke;
      assert.deepEqual(seen.slice(0, 2), [
        ['freed', 'r1'],
        ['freed', 'r1'],
      ]);
    } finally {
      await sub.close();
    }
  });
});
