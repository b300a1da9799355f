/** Driver conformance, inserting jobs and identity keys: see suite.ts. */
import assert from 'node:assert/strict';
import { conformance, job, T0 } from './suite.ts';

conformance('insert', (it) => {
  it('inserts jobs and reads them back with every field', async ({ d }) => {
    const [r] = await d.jobInsertMany({
      jobs: [
        job({
          records: '[1,2]',
          args: '["a",{"$date":"2026-01-01T00:00:00.000Z"}]',
          priority: 3,
          eta: T0 + 5000,
          channel: 'root.mail',
          description: 'hello',
          context: '{"lang":"fr"}',
        }),
      ],
      now: T0,
    });
    assert.equal(r!.state, 'pending');
    assert.equal(r!.existing, false);
    const row = (await d.jobGet(r!.id))!;
    assert.deepEqual(row.records, [1, 2]);
    assert.deepEqual(row.args, ['a', new Date('2026-01-01T00:00:00.000Z')]);
    assert.equal(row.priority, 3);
    assert.equal(row.eta, T0 + 5000);
    assert.equal(row.createdAt, T0);
    assert.equal(row.channel, 'root.mail');
    assert.equal(row.attempt, 0);
    assert.deepEqual(row.context, { lang: 'fr' });
  });

  it('gets a job by its uuid too, and null for an unknown id', async ({ d }) => {
    const [r] = await d.jobInsertMany({ jobs: [job()], now: T0 });
    const row = (await d.jobGet(r!.id))!;
    assert.equal((await d.jobGet(row.uuid))!.id, row.id);
    assert.equal(await d.jobGet(999_999), null);
  });
});

conformance('identity keys', (it) => {
  it('deduplicates an identity key against an open job', async ({ d }) => {
    const [a] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
    const [b] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
    assert.equal(b!.id, a!.id);
    assert.equal(b!.existing, true);
  });

  it('deduplicates an identity key within a batch', async ({ d }) => {
    const [c, e] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k2' }), job({ identityKey: 'k2' })], now: T0 });
    assert.equal(c!.existing, false);
    assert.equal(e!.id, c!.id);
    assert.equal(e!.existing, true);
  });

  it('lets a started job no longer block its key (queue_job)', async ({ d, claim }) => {
    await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
    const got = await claim(10);
    await d.jobWriteMany(
      'r1',
      got.jobs.map((j) => ({ kind: 'start' as const, id: j.id, attempt: j.attempt, at: T0 })),
    );
    const [n] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
    assert.equal(n!.existing, false);
  });

  it('deduplicates identity keys under concurrent enqueues', async ({ d }) => {
    const results = await Promise.all(
      Array.from({ length: 8 }, () => d.jobInsertMany({ jobs: [job({ identityKey: 'same' })], now: T0 })),
    );
    const ids = new Set(results.map((r) => r[0]!.id));
    assert.equal(ids.size, 1);
    assert.equal(results.filter((r) => !r[0]!.existing).length, 1);
  });
});
