/**
 * The driver conformance suite: the same cases on SQLite (memory and file) and PostgreSQL.
 * It is the specification of the Driver interface (src/drivers/driver.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ChannelTree } from '../../src/channels/tree.ts';
import { SchemaTooNewError, type Driver } from '../../src/index.ts';
import type { NewJob } from '../../src/drivers/driver.ts';
import { claimPolicy } from '../../src/runner/runner.ts';
import { openDriver } from '../../src/drivers/open.ts';
import { PG_URL, pgUnavailable, uniqueSchema } from '../helpers/backends.ts';

interface Factory {
  name: string;
  open(): Promise<Driver>;
  dispose(d: Driver): Promise<void>;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-conf-'));
const factories: Factory[] = [
  { name: 'sqlite memory', open: () => openDriver('sqlite::memory:'), dispose: (d) => d.close() },
  {
    name: 'sqlite file',
    open: () => openDriver(`sqlite:${path.join(tmp, randomUUID() + '.db')}`),
    dispose: (d) => d.close(),
  },
];
if (!(await pgUnavailable())) {
  factories.push({
    name: 'postgres',
    open: () => openDriver(PG_URL, { schema: uniqueSchema('conf'), maxConnections: 6 }),
    dispose: async (d) => {
      await (d as unknown as { dropSchema(): Promise<void> }).dropSchema();
      await d.close();
    },
  });
}
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

function job(over: Partial<NewJob> = {}): NewJob {
  return {
    uuid: randomUUID(),
    graphUuid: null,
    model: 'm',
    method: 'x',
    records: '[]',
    args: '[]',
    priority: 10,
    eta: null,
    channel: 'root',
    maxRetries: 5,
    description: 'm.x',
    identityKey: null,
    context: null,
    timeLimitMs: null,
    ...over,
  };
}

for (const f of factories) {
  describe(`driver conformance: ${f.name}`, () => {
    let d: Driver;
    before(async () => {
      d = await f.open();
      await d.migrate();
    });
    after(() => f.dispose(d));

    const claim = (wanted: number, channels = 'root:100', now = T0, runnerId = 'r1') =>
      d.jobClaim({ runnerId, now, wanted, policy: claimPolicy(ChannelTree.fromConfig(channels)) });
    const clean = async () => {
      const all = await d.jobList({ limit: 10_000 });
      const ids = all.jobs.map((j) => j.id);
      if (ids.length) {
        await d.jobCancel({ ids, now: T0 });
        await d.jobPrune({ before: Number.MAX_SAFE_INTEGER, states: ['done', 'cancelled', 'failed'] });
      }
    };

    it('migrates idempotently and reports the version', async () => {
      assert.deepEqual(await d.migrate(), []);
      const v = await d.schemaVersion();
      assert.equal(v.current, v.latest);
      assert.ok(v.latest >= 1);
    });

    it('inserts jobs and reads them back with every field', async () => {
      await clean();
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
      assert.equal((await d.jobGet(row.uuid))!.id, row.id);
      assert.equal(await d.jobGet(999_999), null);
    });

    it('deduplicates identity keys against open jobs, within a batch too', async () => {
      await clean();
      const [a] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
      const [b, c, e] = await d.jobInsertMany({
        jobs: [job({ identityKey: 'k1' }), job({ identityKey: 'k2' }), job({ identityKey: 'k2' })],
        now: T0,
      });
      assert.equal(b!.id, a!.id);
      assert.equal(b!.existing, true);
      assert.equal(c!.existing, false);
      assert.equal(e!.id, c!.id);
      assert.equal(e!.existing, true);
      // a started job no longer blocks its key (queue_job)
      const got = await claim(10);
      await d.jobFinishMany(
        'r1',
        got.jobs.map((j) => ({ kind: 'start' as const, id: j.id, attempt: j.attempt, at: T0 })),
      );
      const [n] = await d.jobInsertMany({ jobs: [job({ identityKey: 'k1' })], now: T0 });
      assert.equal(n!.existing, false);
    });

    it('deduplicates identity keys under concurrent enqueues', async () => {
      await clean();
      const results = await Promise.all(
        Array.from({ length: 8 }, () => d.jobInsertMany({ jobs: [job({ identityKey: 'same' })], now: T0 })),
      );
      const ids = new Set(results.map((r) => r[0]!.id));
      assert.equal(ids.size, 1);
      assert.equal(results.filter((r) => !r[0]!.existing).length, 1);
    });

    it('claims in (priority, created, id) order, skips jobs not yet due, and reports the wake time', async () => {
      await clean();
      const ins = await d.jobInsertMany({
        jobs: [
          job({ priority: 10 }),
          job({ priority: 5 }),
          job({ priority: 1, eta: T0 + 60_000 }),
          job({ priority: 10 }),
        ],
        now: T0,
      });
      const got = await claim(10);
      assert.deepEqual(
        got.jobs.map((j) => j.id),
        [ins[1]!.id, ins[0]!.id, ins[3]!.id],
      );
      assert.ok(got.jobs.every((j) => j.state === 'enqueued' && j.attempt === 1 && j.runnerId === 'r1'));
      assert.equal(got.wakeAt, T0 + 60_000);
      const later = await claim(10, 'root:100', T0 + 60_000);
      assert.deepEqual(
        later.jobs.map((j) => j.id),
        [ins[2]!.id],
      );
    });

    it('never exceeds channel capacities, counting enqueued and started jobs', async () => {
      await clean();
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
      await d.jobFinishMany('r1', [
        { kind: 'done', id: first.jobs[0]!.id, attempt: 1, startedAt: T0, at: T0 + 1, result: null },
      ]);
      const third = await claim(10, cfg, T0, 'r2');
      assert.equal(third.jobs.length, 1);
      const snap = await d.channelSnapshot({ now: T0, sequentialChannels: [], throttledChannels: [] });
      assert.equal(
        [...snap.running.values()].reduce((a, b) => a + b, 0),
        4,
      );
    });

    it('applies a claim shaped ahead only as the scheduler would: capacities, other pending channels, unknown running channels', async () => {
      // a policy that has seen `last` (as after an earlier claim) offers the driver a guess; PostgreSQL applies
      // it in its one-round-trip claim and falls back to the planned claim when it does not hold
      const shaped = (channels: string, pending: string[], running: [string, number][] = []) => {
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
      };
      const claimWith = (policy: ReturnType<typeof claimPolicy>, runnerId: string, wanted = 10, startCount = 0) =>
        d.jobClaim({ runnerId, now: T0, wanted, startCount, policy });
      await clean();
      const ins = await d.jobInsertMany({
        jobs: [job({ priority: 5 }), job({ priority: 1 }), job(), job(), job()],
        now: T0,
      });
      // applies: capacity 3 of 5, best first, the first one started
      const first = await claimWith(shaped('root:3', ['root']), 'r1', 10, 1);
      assert.deepEqual(
        first.jobs.map((j) => j.id),
        [ins[1]!.id, ins[0]!.id, ins[2]!.id],
      );
      assert.deepEqual(
        first.jobs.map((j) => j.state),
        ['started', 'enqueued', 'enqueued'],
      );
      assert.ok(first.jobs.every((j) => j.attempt === 1 && j.runnerId === 'r1'));
      // a stale view (nothing running) still counts the live running jobs: root is full
      const second = await claimWith(shaped('root:3', ['root']), 'r2');
      assert.deepEqual(second.jobs, []);
      await d.jobFinishMany('r1', [
        { kind: 'done', id: first.jobs[0]!.id, attempt: 1, startedAt: T0, at: T0 + 1, result: null },
      ]);
      const third = await claimWith(shaped('root:3', ['root']), 'r2');
      assert.deepEqual(
        third.jobs.map((j) => j.id),
        [ins[3]!.id],
      );

      // another channel has pending jobs (a better one): the claim is the planned one, best first
      await clean();
      const two = await d.jobInsertMany({ jobs: [job(), job({ channel: 'root.b', priority: 1 }), job()], now: T0 });
      const mixed = await claimWith(shaped('root:10', ['root']), 'r1');
      assert.deepEqual(
        mixed.jobs.map((j) => j.id),
        [two[1]!.id, two[0]!.id, two[2]!.id],
      );

      // a job runs in a channel the guess does not know, under the same capped root: it is counted
      await clean();
      await d.jobInsertMany({ jobs: [job({ channel: 'root.x' })], now: T0 });
      assert.equal((await claim(10, 'root:2')).jobs.length, 1);
      await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
      const unknown = await claimWith(shaped('root:2', ['root']), 'r2');
      assert.equal(unknown.jobs.length, 1);
      const snap = await d.channelSnapshot({ now: T0, sequentialChannels: [], throttledChannels: [] });
      assert.equal(
        [...snap.running.values()].reduce((a, b) => a + b, 0),
        2,
      );
    });

    it('records throttle starts and blocks sequential channels on a failed job', async () => {
      await clean();
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
      const s = a.jobs.find((j) => j.channel === 'root.s')!;
      await d.jobFinishMany('r1', [
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
      assert.deepEqual(
        b.jobs.map((j) => j.channel),
        ['root.t'],
      );
      const snap = await d.channelSnapshot({ now: T0, sequentialChannels: ['root.s'], throttledChannels: ['root.t'] });
      assert.equal(snap.sequentialFailed.get('root.s'), s.id);
      assert.equal(snap.lastStartedAt.get('root.t'), T0 + 10_000);
    });

    it('fences every write by (id, attempt, runner) and reports stale writes', async () => {
      await clean();
      await d.jobInsertMany({ jobs: [job(), job()], now: T0 });
      const [a, b] = (await claim(10)).jobs;
      const res = await d.jobFinishMany('r1', [
        { kind: 'start', id: a!.id, attempt: 1, at: T0 },
        { kind: 'done', id: b!.id, attempt: 2, startedAt: T0, at: T0 + 5, result: null },
      ]);
      assert.deepEqual(res, ['ok', 'stale']);
      assert.deepEqual(
        await d.jobFinishMany('other', [
          { kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: null },
        ]),
        ['stale'],
      );
      assert.deepEqual(
        await d.jobFinishMany('r1', [
          { kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: '{"ok":true}' },
        ]),
        ['ok'],
      );
      const done = (await d.jobGet(a!.id))!;
      assert.equal(done.state, 'done');
      assert.deepEqual(done.result, { ok: true });
      assert.equal(done.execTimeMs, 5);
      assert.deepEqual(
        await d.jobFinishMany('r1', [{ kind: 'done', id: a!.id, attempt: 1, startedAt: T0, at: T0 + 5, result: null }]),
        ['stale'],
      );
    });

    it('completes a job in its own transaction, fenced: result from the callback, dependants released, freed sent; a throw or a lost fence rolls back', async () => {
      await clean();
      const g = randomUUID();
      const [parent, child, other] = await d.jobInsertMany({
        jobs: [job({ graphUuid: g }), job({ graphUuid: g }), job()],
        edges: [[1, 0]],
        now: T0,
      });
      const got = (await claim(10)).jobs;
      assert.deepEqual(got.map((j) => j.id).sort(), [parent!.id, other!.id].sort());
      let onFreed!: () => void;
      const freed = new Promise<void>((resolve) => {
        onFreed = resolve;
      });
      const sub = await d.subscribe((topic, origin) => {
        if (topic === 'freed' && origin === 'r1') onFreed();
      });
      const params = (id: number, attempt: number, runnerId: string, fn: (db: unknown) => unknown) => ({
        job: { id, attempt, runnerId, startedAt: T0 },
        fn,
        encodeResult: (v: unknown) => JSON.stringify(v),
        now: () => T0 + 7,
      });
      // a throw from the callback is rethrown as it is, and nothing changes
      const boom = new TypeError('boom');
      await assert.rejects(
        d.jobTransaction(
          params(other!.id, 1, 'r1', () => {
            throw boom;
          }),
        ),
        (err) => err === boom,
      );
      assert.equal((await d.jobGet(other!.id))!.state, 'enqueued');
      // a lost fence (another runner, another attempt): typed error, the callback never runs
      let ran = 0;
      for (const [attempt, runner] of [
        [1, 'r2'],
        [2, 'r1'],
      ] as const) {
        await assert.rejects(
          d.jobTransaction(
            params(other!.id, attempt, runner, () => {
              ran++;
            }),
          ),
          (err: Error & { code?: string }) => err.code === 'JOB_LEASE_LOST' && err.name === 'JobLeaseLostError',
        );
      }
      assert.equal(ran, 0);
      const sync = d.dialect === 'sqlite';
      const r = await d.jobTransaction(
        params(parent!.id, 1, 'r1', (db) => {
          assert.ok(db, 'the callback gets the database handle');
          return sync ? { paid: 1 } : Promise.resolve({ paid: 1 });
        }),
      );
      assert.deepEqual(r, { value: { paid: 1 }, completed: true, at: T0 + 7 });
      const done = (await d.jobGet(parent!.id))!;
      assert.equal(done.state, 'done');
      assert.deepEqual(done.result, { paid: 1 });
      assert.equal(done.execTimeMs, 7);
      assert.equal((await d.jobGet(child!.id))!.state, 'pending');
      // done: the fence no longer holds, for the transaction and for the batched writes alike
      await assert.rejects(
        d.jobTransaction(params(parent!.id, 1, 'r1', () => 1)),
        (err: Error & { code?: string }) => err.code === 'JOB_LEASE_LOST',
      );
      assert.deepEqual(
        await d.jobFinishMany('r1', [
          { kind: 'done', id: parent!.id, attempt: 1, startedAt: T0, at: T0, result: null },
        ]),
        ['stale'],
      );
      // no job row (a direct call): the callback runs in a transaction alone
      assert.deepEqual(await d.jobTransaction({ job: null, fn: () => 5, encodeResult: () => null, now: () => T0 }), {
        value: 5,
        completed: false,
        at: T0,
      });
      await freed; // the completion said which runner freed capacity
      await sub.close();
    });

    it('retries with an ETA, fails, releases, and keeps the attempts history', async () => {
      await clean();
      await d.jobInsertMany({ jobs: [job(), job(), job()], now: T0 });
      const [a, b, c] = (await claim(10)).jobs;
      const exc = { excName: 'RetryableJobError', excMessage: 'later', excInfo: 'stack' };
      assert.deepEqual(
        await d.jobFinishMany('r1', [
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
      const ra = (await d.jobGet(a!.id))!;
      assert.equal(ra.state, 'pending');
      assert.equal(ra.eta, T0 + 60_000);
      assert.equal(ra.attempt, 1);
      assert.equal(ra.excMessage, 'later');
      const rb = (await d.jobGet(b!.id))!;
      assert.equal(rb.state, 'failed');
      assert.equal(rb.excName, 'TypeError');
      const rc = (await d.jobGet(c!.id))!;
      assert.equal(rc.state, 'pending');
      assert.equal(rc.attempt, 0);
      const attempts = await d.jobAttempts(a!.id);
      assert.equal(attempts.length, 1);
      assert.equal(attempts[0]!.outcome, 'retried');
      assert.equal(attempts[0]!.startedAt, T0);
      assert.equal(attempts[0]!.endedAt, T0 + 10);
      // a retry that does not count gives the try back
      const again = (await claim(10, 'root:100', T0 + 60_000)).jobs.find((j) => j.id === a!.id)!;
      assert.equal(again.attempt, 2);
      await d.jobFinishMany('r1', [
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

    it('releases dependants when all their parents are done, and keeps them waiting otherwise', async () => {
      await clean();
      const g = randomUUID();
      // 0 and 1 are parents of 2; 2 is the parent of 3
      const r = await d.jobInsertMany({
        jobs: [job({ graphUuid: g }), job({ graphUuid: g }), job({ graphUuid: g }), job({ graphUuid: g })],
        edges: [
          [2, 0],
          [2, 1],
          [3, 2],
        ],
        now: T0,
      });
      assert.deepEqual(
        r.map((x) => x.state),
        ['pending', 'pending', 'wait_dependencies', 'wait_dependencies'],
      );
      const got = (await claim(10)).jobs;
      assert.equal(got.length, 2);
      await d.jobFinishMany('r1', [{ kind: 'done', id: r[0]!.id, attempt: 1, startedAt: T0, at: T0, result: null }]);
      assert.equal((await d.jobGet(r[2]!.id))!.state, 'wait_dependencies');
      await d.jobFinishMany('r1', [
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
      assert.deepEqual(await d.jobDependencies(r[2]!.id), { dependsOn: [r[0]!.id, r[1]!.id], dependants: [r[3]!.id] });
    });

    it('releases a dependant exactly once when its parents finish concurrently', async () => {
      await clean();
      const parents = Array.from({ length: 6 }, () => job());
      const r = await d.jobInsertMany({
        jobs: [...parents, job()],
        edges: parents.map((_, i) => [6, i] as [number, number]),
        now: T0,
      });
      const got = (await claim(10)).jobs;
      await Promise.all(
        got.map((j) =>
          d.jobFinishMany('r1', [{ kind: 'done', id: j.id, attempt: 1, startedAt: T0, at: T0, result: null }]),
        ),
      );
      assert.equal((await d.jobGet(r[6]!.id))!.state, 'pending');
    });

    it('requeues, sets done and cancels (with cascade) from the admin API', async () => {
      await clean();
      const r = await d.jobInsertMany({
        jobs: [job(), job(), job()],
        edges: [
          [1, 0],
          [2, 1],
        ],
        now: T0,
      });
      assert.deepEqual(await d.jobCancel({ ids: [r[0]!.id], now: T0, cascade: true }), [r[0]!.id, r[1]!.id, r[2]!.id]);
      assert.equal((await d.jobGet(r[2]!.id))!.state, 'cancelled');
      assert.deepEqual(await d.jobRequeue({ ids: [r[0]!.id], now: T0 }), [r[0]!.id]);
      assert.equal((await d.jobGet(r[0]!.id))!.state, 'pending');
      assert.deepEqual(await d.jobRequeue({ ids: [r[1]!.id], now: T0 }), [r[1]!.id]);
      assert.equal((await d.jobGet(r[1]!.id))!.state, 'wait_dependencies', 'a requeued job waits for its parents');
      assert.deepEqual(await d.jobSetDone({ ids: [r[0]!.id], now: T0 }), [r[0]!.id]);
      assert.equal((await d.jobGet(r[1]!.id))!.state, 'pending');
    });

    it('lists with filters and keyset paging, and counts by group', async () => {
      await clean();
      await d.jobInsertMany({
        jobs: Array.from({ length: 25 }, (_, i) =>
          job({ channel: i % 2 ? 'root.odd' : 'root.even', model: 'res.partner', description: `job ${i} <b>` }),
        ),
        now: T0,
      });
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
      const byPrio = await d.jobList({ limit: 5, sort: 'priority', direction: 'asc', text: 'JOB 1' });
      assert.ok(byPrio.jobs.every((j) => j.description.startsWith('job 1')));
      const counts = await d.jobCount({ groupBy: ['channel', 'state'] });
      assert.deepEqual(
        counts.map((c) => [c.key.channel, c.key.state, c.count]),
        [
          ['root.even', 'pending', 13],
          ['root.odd', 'pending', 12],
        ],
      );
      assert.deepEqual(await d.jobCount({ groupBy: [], state: 'pending' }), [{ key: {}, count: 25 }]);
      const [one] = (await claim(1)).jobs;
      await d.jobFinishMany('r1', [
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

    it("judges leases on the database's clock: a heartbeat that lands renews it, whatever the runner's clock says", async () => {
      await clean();
      const before = Date.now();
      await d.runnerRegister({ id: 'live', host: 'h', pid: 1, workers: 1, startedAt: T0, leaseMs: 60_000, info: {} });
      await d.runnerRegister({ id: 'late', host: 'h', pid: 2, workers: 1, startedAt: T0, leaseMs: 60_000, info: {} });
      await d.jobInsertMany({ jobs: [job(), job()], now: T0 });
      const [a] = (await claim(1, 'root:10', T0, 'live')).jobs;
      const [b] = (await claim(1, 'root:10', T0, 'late')).jobs;
      const live = (await d.runnerList()).find((r) => r.id === 'live')!;
      // the lease runs from the database's clock (here the same host's), not from T0
      assert.ok(
        live.heartbeatAt >= before - 1000 && live.leaseUntil >= live.heartbeatAt + 60_000 - 1,
        `lease from the database clock: ${JSON.stringify(live)}`,
      );
      assert.deepEqual(await d.jobRescue({ maxCrashes: 3 }), [], 'no lease has expired on the database clock');
      // a heartbeat whose lease is already over (as if it landed a minute late): expired at once
      assert.equal(await d.runnerHeartbeat({ id: 'late', leaseMs: -1, info: {} }), true);
      const rescued = await d.jobRescue({ maxCrashes: 3 });
      assert.deepEqual(
        rescued.map((r) => r.id),
        [b!.id],
      );
      assert.equal((await d.jobGet(a!.id))!.state, 'enqueued', "the live runner's job is kept");
      assert.deepEqual(
        (await d.runnerList()).map((r) => r.id),
        ['live'],
      );
      await d.runnerRemove('live');
    });

    it('rescues jobs of dead runners: enqueued back to pending, started counted as a crash', async () => {
      await clean();
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
      await d.jobFinishMany('dead', [{ kind: 'start', id: a!.id, attempt: 1, at: T0 }]);
      assert.deepEqual(await d.jobRescue({ now: T0 + 500, maxCrashes: 2 }), []);
      const rescued = await d.jobRescue({ now: T0 + 2000, maxCrashes: 2 });
      assert.deepEqual(
        rescued.map((r) => [r.id, r.state, r.wasStarted]).sort(),
        [
          [a!.id, 'pending', true],
          [b!.id, 'pending', false],
        ].sort(),
      );
      const ra = (await d.jobGet(a!.id))!;
      assert.equal(ra.crashCount, 1);
      assert.equal(ra.excName, 'JobFoundDead');
      assert.equal((await d.jobGet(b!.id))!.attempt, 0);
      assert.equal((await d.jobGet(c!.id))!.state, 'enqueued');
      assert.deepEqual(
        (await d.runnerList()).map((r) => r.id),
        ['alive'],
      );
      assert.equal(await d.runnerHeartbeat({ id: 'dead', now: T0, leaseMs: 1, info: {} }), false);
      // second crash fails it
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
      const again = (await claim(5, 'root:10', T0 + 2000, 'dead2')).jobs.find((j) => j.id === a!.id)!;
      await d.jobFinishMany('dead2', [{ kind: 'start', id: again.id, attempt: again.attempt, at: T0 }]);
      await d.jobRescue({ now: T0 + 5000, maxCrashes: 2 });
      const failed = (await d.jobGet(a!.id))!;
      assert.equal(failed.state, 'failed');
      assert.equal(failed.crashCount, 2);
      assert.equal((await d.jobAttempts(a!.id)).filter((x) => x.outcome === 'crashed').length, 2);
    });

    it('stores progress and checkpoints, fenced', async () => {
      await clean();
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
      assert.equal(await d.jobCheckpoint({ id: a!.id, attempt: 1, runnerId: 'r1', checkpoint: '{"next":3}' }), 'ok');
      assert.equal(await d.jobCheckpoint({ id: a!.id, attempt: 9, runnerId: 'r1', checkpoint: '{}' }), 'stale');
      const row = (await d.jobGet(a!.id))!;
      assert.deepEqual(row.progress, { done: 3, total: 10, message: 'x', at: T0 });
      assert.deepEqual(row.checkpoint, { next: 3 });
    });

    it('keeps the timeout log: statistics and cleanup', async () => {
      await d.timeoutLogInsert({
        at: T0,
        operation: 'a.b',
        kind: 'timeout',
        model: 'a',
        method: 'b',
        thresholdMs: 100,
        durationMs: 150,
        exceeded: true,
        host: 'h',
      });
      await d.timeoutLogInsert({
        at: T0,
        operation: 'a.b',
        kind: 'monitor',
        model: 'a',
        method: 'b',
        thresholdMs: 100,
        durationMs: 50,
        exceeded: false,
        host: 'h',
      });
      await d.timeoutLogInsert({
        at: T0 - 40 * 86_400_000,
        operation: 'old',
        kind: 'monitor',
        thresholdMs: 1,
        durationMs: 2,
        exceeded: true,
        host: null,
      });
      const s = await d.timeoutLogStatistics({ since: T0 - 86_400_000 });
      assert.equal(s.totalCount, 2);
      assert.equal(s.exceededCount, 1);
      assert.equal(s.avgDurationMs, 100);
      assert.deepEqual(s.byMethod['a.b'], { count: 2, exceeded: 1, avgDurationMs: 100 });
      assert.equal((await d.timeoutLogList({ limit: 10, model: 'a' })).length, 2);
      assert.equal(await d.timeoutLogCleanup({ before: T0 - 30 * 86_400_000 }), 1);
    });

    it('wakes subscribers on enqueue', async () => {
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

    it('says which runner freed capacity: done, and retry or release in the transactional path', async () => {
      await clean();
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
        await d.jobFinishMany('r1', [
          { kind: 'done', id: a!.id, attempt: a!.attempt, startedAt: T0, at: T0 + 1, result: null },
        ]);
        await woke;
        wanted = 2;
        woke = new Promise<void>((r) => {
          resolve = r;
        });
        await d.jobFinishMany('r1', [
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

    it('refuses a database written by a newer version', async () => {
      const v = await d.schemaVersion();
      const other = await f.open();
      try {
        if (other.dialect === 'sqlite' && f.name === 'sqlite memory') return; // a new memory database is empty
        await other.migrate();
        // simulate a newer writer
        const raw = other as unknown as { dialect: string };
        if (raw.dialect === 'postgres') {
          const { default: pg } = await import('pg');
          const c = new pg.Client({ connectionString: PG_URL });
          await c.connect();
          await c.query(
            `INSERT INTO "${(other as unknown as { schema: string }).schema}".migrations (version, name) VALUES ($1, 'future')`,
            [v.latest + 1],
          );
          await c.end();
        } else {
          const file = other.location.slice('sqlite:'.length);
          const { DatabaseSync } = await import('node:sqlite');
          const db = new DatabaseSync(file);
          db.prepare('INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
            v.latest + 1,
            'future',
            0,
          );
          db.close();
        }
        await assert.rejects(
          other.migrate(),
          (err: unknown) => err instanceof SchemaTooNewError && /newer than this Conveyor knows/.test(err.message),
        );
      } finally {
        await f.dispose(other);
      }
    });
  });
}
