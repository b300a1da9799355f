/**
 * The runner end to end, on SQLite and PostgreSQL: outcomes, retries, limits, shutdown, bad input.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import {
  ChannelConfigError,
  ConfigurationError,
  Conveyor,
  DatabaseError,
  NothingToDoJob,
  RetryableJobError,
  Runner,
  UnknownMethodError,
  UnknownModelError,
  ValidationError,
  type JobContext,
} from '../src/index.ts';
import { BACKENDS, PG_URL } from './helpers/backends.ts';
import { runnerHost, spyDriver, type SpyDriver } from './helpers/spy-driver.ts';
import { until } from './dashboard/fixtures.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

for (const backend of BACKENDS) {
  describe(`runner on ${backend.name}`, () => {
    let c: Conveyor;
    const started = new Map<string, ReturnType<typeof deferred<void>>>();
    const gate = deferred();
    const holds = new Map<string, ReturnType<typeof deferred<void>>>();
    let models: ReturnType<typeof define>;

    function define(conveyor: Conveyor) {
      return conveyor.model(
        'res.partner',
        {
          async hello(job: JobContext, name: string, when: Date, big: bigint) {
            return {
              name,
              records: job.records,
              when,
              big: big * 2n,
              attempt: job.attempt,
              lang: job.context.lang ?? null,
            };
          },
          async flaky(job: JobContext) {
            if (job.attempt < 3) throw new RetryableJobError(`not yet (${job.attempt})`, { seconds: 0 });
            return job.attempt;
          },
          async alwaysRetry() {
            throw new RetryableJobError('never works', { seconds: 0 });
          },
          async boom() {
            throw new TypeError('the record is broken');
          },
          async nothing() {
            throw new NothingToDoJob('already synced');
          },
          async stuck(job: JobContext, key: string) {
            started.get(key)?.resolve();
            await new Promise(() => {}); // ignores its signal on purpose
            return job.id;
          },
          async polite(job: JobContext, key: string) {
            started.get(key)?.resolve();
            await new Promise((resolve, reject) => {
              job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true });
              void gate.promise.then(resolve);
            });
            return 'finished';
          },
          async held(job: JobContext, key: string) {
            started.get(key)?.resolve();
            await holds.get(key)!.promise;
            return job.id;
          },
          async patterned(job: JobContext) {
            if (job.attempt === 1) throw new RetryableJobError('use the pattern');
            return job.attempt;
          },
          async badResult() {
            return { fn: () => 1 };
          },
        },
        {
          stuck: { timeLimit: 50, maxRetries: 2, retryPattern: { 1: 0 } },
          polite: { timeLimit: '10m' },
          alwaysRetry: { maxRetries: 3 },
          patterned: { retryPattern: { 1: 0 } },
        },
      );
    }

    before(async () => {
      c = await backend.open({ channels: 'root:8' });
      models = define(c);
    });
    after(async () => {
      await backend.dispose(c);
    });

    async function withRunner<T>(fn: () => Promise<T>, options = {}): Promise<T> {
      const r = c.runner({ workers: 4, ...options });
      await r.start();
      try {
        return await fn();
      } finally {
        await r.stop();
      }
    }

    /** Run `fn` with a started runner (as {@link withRunner}) whose driver calls go through a spy. */
    async function withSpiedRunner<T>(spy: SpyDriver, fn: () => Promise<T>, options = {}): Promise<T> {
      const r = new Runner(runnerHost(c, spy.driver), { workers: 4, ...options });
      await r.start();
      try {
        return await fn();
      } finally {
        await r.stop();
      }
    }

    /**
     * Run a runner as {@link withRunner} does, with its driver calls going through a spy; `fn` gets what
     * each claim so far asked the driver for.
     */
    async function withClaimsSeen<T>(fn: (wanted: () => number[]) => Promise<T>, options = {}): Promise<T> {
      const spy = spyDriver(c.driver);
      return withSpiedRunner(spy, () => fn(() => spy.callsOf('jobClaim').map(([p]) => p.wanted)), options);
    }

    /** Claims per job for `jobs` enqueued one after the other on an idle queue, each awaited to its end. */
    async function claimsPerJob(
      jobs: readonly (() => Promise<{ result(): Promise<unknown> }>)[],
      options = {},
    ): Promise<number> {
      return withClaimsSeen(async (wanted) => {
        const before = wanted().length;
        for (const enqueue of jobs) await (await enqueue()).result();
        return (wanted().length - before) / jobs.length;
      }, options);
    }

    it('runs a job and stores its result, with records, Date and bigint round-tripping', async () => {
      const when = new Date('2026-11-23T10:00:00.123Z');
      const job = await c.context.run({ lang: 'fr_BE', secret: 'x' }, () =>
        models.browse([7, 8]).withDelay({ priority: 3 }).hello('Ada', when, 21n),
      );
      assert.equal(job.state, 'pending');
      const result = await withRunner(() => job.result());
      assert.deepEqual(result, { name: 'Ada', records: [7, 8], when, big: 42n, attempt: 1, lang: 'fr_BE' });
      const row = (await c.jobs.get(job.id))!;
      assert.equal(row.state, 'done');
      assert.equal(row.priority, 3);
      assert.deepEqual(row.context, { lang: 'fr_BE' });
      assert.ok(row.startedAt! <= row.doneAt!);
      assert.equal(typeof row.execTimeMs, 'number');
    });

    it('retries RetryableJobError until it works, keeping every attempt', async () => {
      const job = await models.withDelay().flaky();
      assert.equal(await withRunner(() => job.result()), 3);
      const attempts = await c.jobs.attempts(job.id);
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.outcome, a.excMessage]),
        [
          [1, 'retried', 'not yet (1)'],
          [2, 'retried', 'not yet (2)'],
        ],
      );
    });

    it('fails after maxRetries runs in all', async () => {
      const job = await models.withDelay().alwaysRetry();
      const row = await withRunner(() => job.wait());
      assert.equal(row.state, 'failed');
      assert.equal(row.attempt, 3);
      assert.match(row.excMessage!, /^Max\. retries \(3\) reached: never works$/);
      await assert.rejects(job.result(), /failed/);
    });

    it('uses the retry pattern when the error gives no delay', async () => {
      const job = await models.withDelay().patterned();
      assert.equal(await withRunner(() => job.result()), 2);
    });

    it('fails on an ordinary error with name, message and stack kept, and goes on with other jobs', async () => {
      const bad = await models.withDelay().boom();
      const ok = await models.withDelay().hello('x', new Date(0), 1n);
      const [row] = await withRunner(() => Promise.all([bad.wait(), ok.wait()]));
      assert.equal(row.state, 'failed');
      assert.equal(row.excName, 'TypeError');
      assert.equal(row.excMessage, 'the record is broken');
      assert.match(row.excInfo!, /TypeError: the record is broken/);
      assert.equal((await ok.refresh()).state, 'done');
    });

    it('treats NothingToDoJob as done', async () => {
      const job = await models.withDelay().nothing();
      assert.equal(await withRunner(() => job.result()), 'already synced');
    });

    it('fails a job whose result cannot be stored, naming the path', async () => {
      const job = await models.withDelay().badResult();
      const row = await withRunner(() => job.wait());
      assert.equal(row.state, 'failed');
      assert.match(row.excMessage!, /result\.fn must be JSON-serialisable/);
    });

    it('fails a job of an unknown model at run time with a clear message, and keeps running', async () => {
      const [ghost] = await c.driver.jobInsertMany({
        jobs: [
          {
            uuid: randomUUID(),
            graphUuid: null,
            model: 'ghost.model',
            method: 'x',
            records: '[]',
            args: '[]',
            priority: 10,
            eta: null,
            channel: 'root',
            maxRetries: 5,
            description: 'ghost',
            identityKey: null,
            context: null,
            timeLimitMs: null,
          },
        ],
        now: Date.now(),
      });
      const ok = await models.withDelay().hello('after ghost', new Date(0), 1n);
      await withRunner(async () => {
        const row = await c.jobs.wait(ghost!.id);
        assert.equal(row.state, 'failed');
        assert.equal(row.excName, 'UnknownModelError');
        assert.match(row.excMessage!, /unknown model 'ghost\.model'/);
        assert.equal((await ok.wait()).state, 'done');
      });
    });

    it('stops a job at its time limit even if it ignores its signal, logs it, and retries it', async () => {
      started.set('stuck', deferred());
      const timedOut = deferred<number>();
      const off = c.on('job_timed_out', (e) => timedOut.resolve(e.limitMs));
      const job = await models.withDelay().stuck('stuck');
      const row = await withRunner(() => job.wait());
      off();
      assert.equal(await timedOut.promise, 50);
      assert.equal(row.state, 'failed', 'retried once (maxRetries 2), then failed');
      assert.equal(row.attempt, 2);
      assert.equal(row.excName, 'TimeoutError');
      const attempts = await c.jobs.attempts(job.id);
      assert.deepEqual(
        attempts.map((a) => a.outcome),
        ['timed_out', 'timed_out'],
      );
      const log = await c.timeoutLog.list({ model: 'res.partner', method: 'stuck' });
      assert.equal(log.length, 2);
      assert.ok(log.every((e) => e.kind === 'timeout' && e.exceeded && e.thresholdMs === 50 && e.jobId === job.id));
    });

    it('releases running jobs on a graceful stop after the grace period, giving the try back', async () => {
      started.set('polite', deferred());
      const job = await models.withDelay().polite('polite');
      const r = c.runner({ workers: 2, shutdownGrace: 20 });
      await r.start();
      await started.get('polite')!.promise;
      await r.stop();
      const row = await job.refresh();
      assert.equal(row.state, 'pending');
      assert.equal(row.attempt, 0);
      // and a later runner finishes it
      gate.resolve();
      assert.equal(await withRunner(() => job.result()), 'finished');
    });

    it('stores a buffered job as started once it runs a while, and a short one as done in a single write', async () => {
      for (const k of ['first', 'second']) {
        started.set(k, deferred());
        holds.set(k, deferred());
      }
      const first = await models.withDelay().held('first');
      const second = await models.withDelay().held('second');
      const short = await models.withDelay().hello('short', new Date(0), 1n);
      const spy = spyDriver(c.driver);
      await withSpiedRunner(
        spy,
        async () => {
          await started.get('first')!.promise;
          assert.equal((await first.refresh()).state, 'started', 'started straight from the claim');
          assert.equal((await second.refresh()).state, 'enqueued', 'waits in the buffer');
          const handedOver = Date.now();
          holds.get('first')!.resolve();
          await started.get('second')!.promise;
          // a buffered job gets its start write once it has run for a moment
          await until(async () => (await second.refresh()).state === 'started', 'the deferred start write');
          const running = await second.refresh();
          assert.equal(running.state, 'started');
          assert.ok(running.startedAt! >= handedOver, 'with the time it really started');
          holds.get('second')!.resolve();
          assert.equal((await short.wait()).state, 'done');
          const row = await second.wait();
          assert.ok(
            row.startedAt! >= running.startedAt! && row.startedAt! <= row.doneAt!,
            'the end write keeps a start no earlier than the handover',
          );
        },
        { workers: 1, prefetch: 2 },
      );
      const writes = spy.callsOf('jobWriteMany').flatMap(([, cmds]) => cmds.map((cmd) => [cmd.kind, cmd.id] as const));
      const kinds = (id: number) => writes.filter((w) => w[1] === id).map((w) => w[0]);
      assert.deepEqual(kinds(first.id), ['done']);
      assert.deepEqual(kinds(second.id), ['start', 'done']);
      assert.deepEqual(kinds(short.id), ['done'], 'a short buffered job: no start write');
      const shortRow = await short.refresh();
      assert.ok(shortRow.startedAt !== null && shortRow.startedAt <= shortRow.doneAt!);
    });

    it('claims once per job on an idle queue with wake-ups, and still picks up a retried job without polling', {
      timeout: 20_000,
    }, async () => {
      const perJob = await withClaimsSeen(
        async (wanted) => {
          // a retry puts the job back to pending: the runner claims again at once, the poll is an hour away
          assert.equal(await (await models.withDelay().flaky()).result(), 3);
          const before = wanted().length;
          for (let i = 0; i < 5; i++) await (await models.withDelay().hello(`idle ${i}`, new Date(0), 1n)).result();
          return (wanted().length - before) / 5;
        },
        { pollInterval: '1h' },
      );
      // with NOTIFY on every enqueue, a runner that emptied the queue waits for the next wake-up; without
      // cross-process wake-ups (SQLite) freed slots keep claiming, to see other processes' jobs
      if (c.driver.crossProcessWakeups) assert.ok(perJob <= 1.2, `${perJob} claims per job`);
      else assert.ok(perJob >= 1, `${perJob} claims per job`);
    });

    it('claims once per job on an idle queue whose jobs come in turns to two channels', {
      timeout: 20_000,
    }, async () => {
      // the claim that follows each wake-up is the planned one (another channel than the last one had jobs),
      // and it knows it left no due job behind
      const turns = Array.from(
        { length: 7 },
        (_, i) => () => models.withDelay({ channel: i % 2 ? 'root.a' : 'root.b' }).hello(`turn ${i}`, new Date(0), 1n),
      );
      const perJob = await claimsPerJob(turns, { pollInterval: '1h', channels: 'root:10,root.a:5,root.b:5' });
      if (c.driver.crossProcessWakeups) assert.ok(perJob <= 1.3, `${perJob} claims per job`);
      else assert.ok(perJob >= 1, `${perJob} claims per job`);
    });

    it('keeps claiming as capacity frees up when several channels are full, without waiting for a poll', {
      timeout: 20_000,
    }, async () => {
      const jobs = await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          models.withDelay({ channel: i % 2 ? 'root.a' : 'root.b' }).hello(`full ${i}`, new Date(0), 1n),
        ),
      );
      await withRunner(
        async () => {
          for (const job of jobs) assert.equal((await job.wait()).state, 'done');
        },
        { workers: 8, channels: 'root:4,root.a:2,root.b:2', pollInterval: '1h' },
      );
    });

    it('never asks for more jobs than the root channel lets it hold, whatever its prefetch', {
      timeout: 20_000,
    }, async () => {
      const jobs = await Promise.all(
        Array.from({ length: 10 }, (_, i) => models.withDelay().hello(`root cap ${i}`, new Date(0), 1n)),
      );
      const asked = await withClaimsSeen(
        async (wanted) => {
          for (const job of jobs) assert.equal((await job.wait()).state, 'done');
          return wanted();
        },
        { workers: 2, prefetch: 500, channels: 'root:3' },
      );
      assert.ok(asked.length > 0);
      assert.ok(
        asked.every((n) => n >= 1 && n <= 3),
        `claims asked for ${asked.join(', ')}`,
      );
    });

    it('returns the open job for a duplicate identity key', async () => {
      const a = await models.withDelay({ identityKey: 'sync-1' }).hello('a', new Date(0), 1n);
      const b = await models.withDelay({ identityKey: 'sync-1' }).hello('b', new Date(0), 1n);
      assert.equal(b.id, a.id);
      assert.equal(b.existing, true);
      await withRunner(() => a.wait());
    });

    it('lets the Job handle cancel, requeue and set done', async () => {
      const job = await models.withDelay({ eta: '1h' }).hello('later', new Date(0), 1n);
      assert.equal(await job.cancel(), true);
      assert.equal((await job.refresh()).state, 'cancelled');
      assert.equal(await job.requeue(), true);
      assert.equal((await job.refresh()).state, 'pending');
      assert.equal(await job.setDone(), true);
      assert.equal((await job.refresh()).state, 'done');
      assert.match(await c.jobs.explain(job.id), /^done/);
    });

    it('explains why a pending job waits', async () => {
      const job = await models.withDelay({ eta: '2h' }).hello('later', new Date(0), 1n);
      assert.match(await c.jobs.explain(job.id), /ETA in/);
      await job.cancel();
    });

    it('rejects bad input with typed errors naming the problem', async () => {
      assert.throws(
        () => models.withDelay({ priorty: 1 } as never),
        (e: unknown) =>
          e instanceof ConfigurationError && /unknown option 'priorty' \(did you mean 'priority'\?\)/.test(e.message),
      );
      await assert.rejects(
        (models.withDelay().hello as (...a: unknown[]) => Promise<unknown>)('x', new Date(0), 1n, () => 1),
        (e: unknown) =>
          e instanceof ValidationError && /args\[3\] must be JSON-serialisable: got a function/.test(e.message),
      );
      await assert.rejects(
        models.withDelay().hello('x', { when: new Map() } as never, 1n),
        (e: unknown) => e instanceof ValidationError && /args\[1\]\.when/.test(e.message),
      );
      assert.throws(() => models.withDelay({ channel: 'root.bad name' }), ChannelConfigError);
      assert.throws(
        () => models.withDelay({ eta: 'soonish' }),
        (e: unknown) => e instanceof ConfigurationError && /'soonish'/.test(e.message),
      );
      assert.throws(() => models.withDelay({ maxRetries: -1 }), ConfigurationError);
      await assert.rejects(c.delayMany([{} as never]), ValidationError);
      assert.throws(() => c.model('res.partner', {}), /already defined/);
      assert.throws(() => c.model('x', { browse: async () => 1 }), /reserved/);
      assert.throws(() => c.model('y', { a: async () => 1 }, { b: {} } as never), /settings for unknown method 'b'/);
      assert.throws(
        () => c.model('z', { a: async () => 1 }, { a: { retryPattern: { x: 1 } as never } }),
        ValidationError,
      );
      assert.throws(() => c.runner({ workers: 0 }), ConfigurationError);
      assert.throws(() => c.runner({ wrkers: 2 } as never), /did you mean 'workers'/);
      await assert.rejects(c.jobs.requeue(['1'] as never), ValidationError);
      const unknown = { model: 'nope', method: 'x' };
      await assert.rejects(
        c.storeGraph([{ ...unknown, records: [], args: [], options: {} } as never], []),
        UnknownModelError,
      );
    });

    it('rejects an unknown method at enqueue with an UnknownMethodError: did you mean, the model, its methods (issue 13, defect 8)', async () => {
      // what JavaScript (no type checking) lets through
      type Loose = Record<string, (...args: unknown[]) => unknown>;
      const unknownMethod = (method: string, hint: string | null) => (e: unknown) => {
        assert.ok(e instanceof UnknownMethodError, `expected an UnknownMethodError, got ${String(e)}`);
        assert.equal(e.code, 'UNKNOWN_METHOD');
        assert.match(e.message, new RegExp(`model 'res\\.partner' has no method '${method}'`));
        if (hint) assert.match(e.message, new RegExp(`\\(did you mean '${hint}'\\?\\)`));
        else assert.doesNotMatch(e.message, /did you mean/);
        assert.match(e.message, /methods: hello, flaky, alwaysRetry, boom, /);
        assert.deepEqual(e.details, { model: 'res.partner', method, suggestion: hint });
        return true;
      };
      await assert.rejects(
        async () => (models.withDelay() as unknown as Loose).helo!('x'),
        unknownMethod('helo', 'hello'),
      );
      await assert.rejects(
        async () => (models.browse([1, 2]).withDelay({ priority: 3 }) as unknown as Loose).bom!(),
        unknownMethod('bom', 'boom'),
      );
      assert.throws(() => (models.delayable() as unknown as Loose).nope!(), unknownMethod('nope', null));
      assert.throws(
        () => (models.browse([3]).delayable() as unknown as Loose).Flaky!(),
        unknownMethod('Flaky', 'flaky'),
      );
      // a promise from withDelay(): calling it is a rejection, not a synchronous throw
      const pending = (models.withDelay() as unknown as Loose).helo!() as Promise<unknown>;
      assert.ok(pending instanceof Promise);
      await assert.rejects(pending, UnknownMethodError);
      assert.equal((await c.jobs.list({ model: 'res.partner', method: 'helo' })).jobs.length, 0, 'nothing was stored');
      // the proxies still behave as objects: not thenable, only the real methods are keys
      const proxy = await Promise.resolve(models.delayable());
      assert.equal(typeof proxy.hello, 'function');
      assert.equal('helo' in proxy, false);
      assert.ok(Object.keys(models.withDelay()).includes('hello'));
    });
  });
}

describe('opening', () => {
  it('rejects bad options and URLs with clear errors', async () => {
    await assert.rejects(
      Conveyor.open({ databse: 'x' } as never),
      /unknown option 'databse' \(did you mean 'database'\?\)/,
    );
    await assert.rejects(
      Conveyor.open({ database: 'mysql://x' }),
      (e: unknown) => e instanceof ConfigurationError && /expected 'sqlite:<file>'/.test(e.message),
    );
    await assert.rejects(
      Conveyor.open({ database: 'sqlite::memory:', channels: 'root:x' }),
      (e: unknown) => e instanceof ChannelConfigError && /root:x/.test(e.message),
    );
    await assert.rejects(
      Conveyor.open({ database: 'sqlite:/nonexistent-dir/x/y.db', logger: 'silent' }),
      DatabaseError,
    );
    await assert.rejects(
      Conveyor.open({ database: 'postgres://postgres:secret@127.0.0.1:1/nope', logger: 'silent' }),
      (e: unknown) => e instanceof DatabaseError && !/secret/.test(e.message),
    );
  });
});

if (BACKENDS.some((b) => b.name === 'postgres')) {
  describe('transactional enqueue on PostgreSQL', () => {
    it('creates the job if and only if the caller transaction commits', async () => {
      const { default: pg } = await import('pg');
      const schema = `tx_${process.pid}`;
      const c = await Conveyor.open({ database: PG_URL, schema, logger: 'silent' });
      const m = c.model('sale.order', {
        async confirm() {
          return 1;
        },
      });
      const client = new pg.Client({ connectionString: PG_URL });
      await client.connect();
      try {
        await client.query('BEGIN');
        const rolled = await m.browse([1]).withDelay({ tx: client }).confirm();
        await client.query('ROLLBACK');
        assert.equal(await c.jobs.get(rolled.id), null);
        await client.query('BEGIN');
        const kept = await m.browse([2]).withDelay({ tx: client }).confirm();
        assert.equal(await c.jobs.get(kept.id), null, 'not visible before commit');
        await client.query('COMMIT');
        assert.equal((await c.jobs.get(kept.id))!.state, 'pending');
      } finally {
        await client.end();
        await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
        await c.close();
      }
    });
  });
}

describe('related actions', () => {
  it('defaults to the records of the job, follows URL templates and functions, and can be disabled', async () => {
    const c = await Conveyor.open({ database: 'sqlite::memory:', logger: 'silent' });
    try {
      const m = c.model(
        'res.partner',
        { async a() {}, async b() {}, async c() {}, async d() {} },
        {
          b: { relatedAction: { url: '/partners/{records}?job={id}' } },
          c: {
            relatedAction: {
              url: (job) => `https://crm.example/${job.model}/${String(job.records[0])}`,
              kwargs: { tab: 'x' },
            },
          },
          d: { relatedAction: { enable: false } },
        },
      );
      const [a, b, cc, d] = await Promise.all([
        m.browse([1, 2]).withDelay().a(),
        m.browse([7]).withDelay().b(),
        m.browse([3]).withDelay().c(),
        m.withDelay().d(),
      ]);
      assert.deepEqual(await c.jobs.relatedAction(a.id), {
        label: 'res.partner records 1, 2',
        url: null,
        kwargs: undefined,
      });
      assert.equal((await c.jobs.relatedAction(b.id))!.url, `/partners/7?job=${b.id}`);
      assert.deepEqual(await c.jobs.relatedAction(cc.id), {
        label: 'Open res.partner 3',
        url: 'https://crm.example/res.partner/3',
        kwargs: { tab: 'x' },
      });
      assert.equal(await c.jobs.relatedAction(d.id), null);
    } finally {
      await c.close();
    }
  });
});
