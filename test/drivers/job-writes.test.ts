/** Driver conformance, finishing jobs (the batched writes of `jobWriteMany`), fenced, and their progress. */
import assert from 'node:assert/strict';
import { conformance, job, T0 } from './suite.ts';

conformance('fence', (it) => {
  it('fences every write by (id, attempt, runner): a write for another attempt is stale', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job(), job()], now: T0 });
    const [a, b] = (await claim(10)).jobs;
    const res = await d.jobWriteMany('r1', [
      { kind: 'start', id: a!.id, attempt: 1, at: T0 },
      { kind: 'done', id: b!.id, attempt: 2, startedAt: T0, at: T0 + 5, result: null },
    ]);
    assert.deepEqual(res, ['ok', 'stale']);
  });

  it('reports a write from another runner as stale', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(10)).jobs;
    assert.deepEqual(
      await d.jobWriteMany('other', [{ kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: null }]),
      ['stale'],
    );
  });

  it('records a job done with its result and run time, once: a second write is stale', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(10)).jobs;
    await d.jobWriteMany('r1', [{ kind: 'start', id: a!.id, attempt: 1, at: T0 }]);
    assert.deepEqual(
      await d.jobWriteMany('r1', [
        { kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: '{"ok":true}' },
      ]),
      ['ok'],
    );
    const done = (await d.jobGet(a!.id))!;
    assert.equal(done.state, 'done');
    assert.deepEqual(done.result, { ok: true });
    assert.equal(done.execTimeMs, 5);
    assert.deepEqual(
      await d.jobWriteMany('r1', [{ kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: null }]),
      ['stale'],
    );
  });
});

const exc = { excName: 'RetryableJobError', excMessage: 'later', excInfo: 'stack' };

conformance('finish', (it) => {
  it('applies a batch of writes of different kinds, one status per write', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
    const [a, b, c] = (await claim(10)).jobs;
    assert.deepEqual(
      await d.jobWriteMany('r1', [
        {
          kind: 'retry',
          id: a!.id,
          attempt: 1,
          startedAt: T0,
          at: T0 + 10,
          eta: T0 + 60_000,
          countTry: true,
          outcome: 'retried',
          ...exc,
        },
        {
          kind: 'failed',
          id: b!.id,
          attempt: 1,
          startedAt: T0,
          at: T0 + 10,
          outcome: 'failed',
          excName: 'TypeError',
          excMessage: 'bad',
          excInfo: 'st',
        },
        { kind: 'release', id: c!.id, attempt: 1, at: T0 },
      ]),
      ['ok', 'ok', 'ok'],
    );
  });

  it('retries with an ETA and keeps the attempt in the history', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(10)).jobs;
    await d.jobWriteMany('r1', [
      {
        kind: 'retry',
        id: a!.id,
        attempt: 1,
        startedAt: T0,
        at: T0 + 10,
        eta: T0 + 60_000,
        countTry: true,
        outcome: 'retried',
        ...exc,
      },
    ]);
    const ra = (await d.jobGet(a!.id))!;
    assert.equal(ra.state, 'pending');
    assert.equal(ra.eta, T0 + 60_000);
    assert.equal(ra.attempt, 1);
    assert.equal(ra.excMessage, 'later');
    const attempts = await d.jobAttempts(a!.id);
    assert.equal(attempts.length, 1);
    assert.equal(attempts[0]!.outcome, 'retried');
    assert.equal(attempts[0]!.startedAt, T0);
    assert.equal(attempts[0]!.endedAt, T0 + 10);
  });

  it('gives the try back on a retry that does not count', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(10)).jobs;
    await d.jobWriteMany('r1', [
      {
        kind: 'retry',
        id: a!.id,
        attempt: 1,
        startedAt: T0,
        at: T0 + 10,
        eta: T0 + 60_000,
        countTry: true,
        outcome: 'retried',
        ...exc,
      },
    ]);
    const again = (await claim(10, 'root:100', T0 + 60_000)).jobs.find((j) => j.id === a!.id)!;
    assert.equal(again.attempt, 2);
    await d.jobWriteMany('r1', [
      {
        kind: 'retry',
        id: a!.id,
        attempt: 2,
        startedAt: T0,
        at: T0,
        eta: T0,
        countTry: false,
        outcome: 'retried',
        ...exc,
      },
    ]);
    assert.equal((await d.jobGet(a!.id))!.attempt, 1);
  });

  it('fails a job with its exception', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [b] = (await claim(10)).jobs;
    await d.jobWriteMany('r1', [
      {
        kind: 'failed',
        id: b!.id,
        attempt: 1,
        startedAt: T0,
        at: T0 + 10,
        outcome: 'failed',
        excName: 'TypeError',
        excMessage: 'bad',
        excInfo: 'st',
      },
    ]);
    const rb = (await d.jobGet(b!.id))!;
    assert.equal(rb.state, 'failed');
    assert.equal(rb.excName, 'TypeError');
  });

  it('releases a job back to pending without counting the try', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [c] = (await claim(10)).jobs;
    await d.jobWriteMany('r1', [{ kind: 'release', id: c!.id, attempt: 1, at: T0 }]);
    const rc = (await d.jobGet(c!.id))!;
    assert.equal(rc.state, 'pending');
    assert.equal(rc.attempt, 0);
  });
});

conformance('progress', (it) => {
  it('stores progress, fenced', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(1)).jobs;
    assert.equal(
      await d.jobProgress({
        id: a!.id,
        attempt: 1,
        runnerId: 'r1',
        progress: { done: 3, total: 10, message: 'x', at: T0 },
      }),
      'ok',
    );
    assert.deepEqual((await d.jobGet(a!.id))!.progress, { done: 3, total: 10, message: 'x', at: T0 });
  });

  it('stores a checkpoint, fenced: another attempt is stale', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job()], now: T0 });
    const [a] = (await claim(1)).jobs;
    assert.equal(await d.jobCheckpoint({ id: a!.id, attempt: 1, runnerId: 'r1', checkpoint: '{"next":3}' }), 'ok');
    assert.equal(await d.jobCheckpoint({ id: a!.id, attempt: 9, runnerId: 'r1', checkpoint: '{}' }), 'stale');
    assert.deepEqual((await d.jobGet(a!.id))!.checkpoint, { next: 3 });
  });
});
