/**
 * The testing kit (`conveyor-queue/testing`): trapJobs with every assertion passing and failing,
 * performEnqueuedJobs ordering, and the fake clock moving ETAs and retries without waiting.
 * SQLite and PostgreSQL.
 */
import { describe, test } from 'node:test';
import assert, { AssertionError } from 'node:assert/strict';
import { BACKENDS, type Backend } from './helpers/backends.ts';
import {
  chain,
  group,
  InvalidStateError,
  RetryableJobError,
  ValidationError,
  UnknownModelError,
  type ConveyorOptions,
  type JobContext,
  type Model,
} from '../src/index.ts';
import { advanceAndWake, createFakeClock, isFakeClock, trapJobs, type JobsTrap } from '../src/testing/index.ts';

const START = new Date('2030-01-01T00:00:00.000Z');

async function setup(backend: Backend, options: ConveyorOptions = {}) {
  const clock = createFakeClock(START);
  const conveyor = await backend.open({ channels: 'root:2,root.mail:1', clock, ...options });
  const log: string[] = [];
  let flaky = 0;
  const methods = {
    async sendNewsletter(job: JobContext, template: string) {
      log.push(`sendNewsletter(${job.records.join(',')}, ${template})`);
      return { sent: job.records.length };
    },
    async sync(job: JobContext) {
      log.push(`sync(${job.records.join(',')})`);
    },
    /** Delays another job while it runs. */
    async fanOut(_job: JobContext) {
      log.push('fanOut');
      await partners.withDelay().sync();
    },
    async boom(_job: JobContext) {
      log.push('boom');
      throw new Error('boom');
    },
    async whoami(job: JobContext) {
      log.push(`whoami ${JSON.stringify(job.context)} ${JSON.stringify(conveyor.context.get())}`);
    },
    /** Fails with a retry in 10 minutes the first time. */
    async flaky(job: JobContext) {
      flaky++;
      if (job.attempt === 1) throw new RetryableJobError('not yet', { seconds: 600 });
      return `attempt ${job.attempt}`;
    },
    async at(_job: JobContext) {
      log.push(`at ${new Date(conveyor.clock.now()).toISOString()}`);
      return conveyor.clock.now();
    },
  };
  const partners: Model<typeof methods> = conveyor.model('res.partner', methods, {
    sendNewsletter: { channel: 'root.mail', maxRetries: 3, description: 'Send the newsletter' },
  });
  return { conveyor, partners, log, clock, flakyRuns: () => flaky };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function withSetup(backend: Backend, fn: (s: Setup) => Promise<void>, options?: ConveyorOptions): Promise<void> {
  const s = await setup(backend, options);
  try {
    await fn(s);
  } finally {
    await backend.dispose(s.conveyor);
  }
}

/** The application code under test: enqueue the welcome mail. */
async function welcome(partners: Setup['partners'], ids: number[]) {
  return partners.browse(ids).withDelay({ priority: 15 }).sendNewsletter('welcome');
}

const count = async (s: Setup) => (await s.conveyor.jobs.count())[0]!.count;

/** assert.throws with an AssertionError whose message is exactly `message`. */
function throwsExactly(fn: () => void, message: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AssertionError, `expected an AssertionError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

for (const backend of BACKENDS) {
  describe(`trapJobs on ${backend.name}`, () => {
    test('records delayed calls instead of storing them; handles have id 0; restored after the callback', () =>
      withSetup(backend, async (s) => {
        const { partners, clock } = s;
        const result = await trapJobs(s.conveyor, async (trap) => {
          const job = await welcome(partners, [1, 2]);
          assert.equal(job.id, 0);
          assert.equal(job.state, 'pending');
          assert.match(job.uuid, /^[0-9a-f-]{36}$/);
          await partners.withDelay({ eta: '1h', identityKey: 'sync-all', channel: 'root.mail.bulk' }).sync();
          assert.equal(trap.calls.length, 2);
          const [mail, sync] = trap.enqueuedJobs;
          assert.deepEqual(
            [mail!.model, mail!.method, mail!.records, mail!.args],
            ['res.partner', 'sendNewsletter', [1, 2], ['welcome']],
          );
          assert.deepEqual(mail!.properties, {
            priority: 15,
            eta: null,
            maxRetries: 3,
            description: 'Send the newsletter',
            channel: 'root.mail',
            identityKey: null,
          });
          assert.deepEqual(sync!.properties, {
            priority: 10,
            eta: clock.now() + 3_600_000,
            maxRetries: 5,
            description: 'res.partner.sync',
            channel: 'root.mail.bulk',
            identityKey: 'sync-all',
          });
          assert.equal(mail!.handle.uuid, job.uuid);
          assert.equal(mail!.graphUuid, null);
          assert.equal(await count(s), 0);
          return 'value';
        });
        assert.equal(result, 'value');
        const stored = await welcome(partners, [3]);
        assert.ok(stored.id > 0, 'stored again once the trap is removed');
        assert.equal(await count(s), 1);
      }));

    test('the non-callback form records until restore(); using disposes it; a throwing callback still restores', () =>
      withSetup(backend, async (s) => {
        const trap = trapJobs(s.conveyor);
        await welcome(s.partners, [1]);
        assert.equal(trap.active, true);
        trap.restore();
        trap.restore();
        assert.equal(trap.active, false);
        assert.equal(trap.jobsCount(), 1);
        assert.equal(await count(s), 0);
        {
          using inner = trapJobs(s.conveyor);
          await welcome(s.partners, [2]);
          inner.assertJobsCount(1);
        }
        await assert.rejects(
          trapJobs(s.conveyor, async () => {
            await welcome(s.partners, [3]);
            throw new Error('test body failed');
          }),
          /test body failed/,
        );
        await welcome(s.partners, [4]);
        assert.equal(await count(s), 1);
        assert.throws(() => trapJobs({} as never), ValidationError);
      }));

    test('calls keep identity duplicates; enqueuedJobs are deduplicated and the duplicate gets the first handle', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          const first = await partners.withDelay({ identityKey: 'k' }).sync();
          const second = await partners.withDelay({ identityKey: 'k' }).sync();
          await partners.withDelay({ identityKey: (j) => `sync:${j.records.join(',')}` }).sync();
          assert.equal(second.existing, true);
          assert.equal(second.uuid, first.uuid);
          assert.equal(trap.calls.length, 3);
          assert.deepEqual(
            trap.calls.map((c) => c.existing),
            [false, true, false],
          );
          assert.equal(trap.enqueuedJobs.length, 2);
          assert.equal(trap.enqueuedJobs[1]!.properties.identityKey, 'sync:');
          trap.assertJobsCount(2);
          // once performed, the key no longer blocks
          await trap.performEnqueuedJobs();
          const third = await partners.withDelay({ identityKey: 'k' }).sync();
          assert.equal(third.existing, false);
          trap.assertJobsCount(1);
        });
      }));

    test('jobsCount / assertJobsCount with only: model function = any records, record-set function = those records', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          await welcome(partners, [1, 2]);
          await welcome(partners, [3]);
          await partners.withDelay().sync();
          assert.equal(trap.jobsCount(), 3);
          trap.assertJobsCount(3);
          trap.assertJobsCount(2, { only: partners.sendNewsletter });
          trap.assertJobsCount(1, { only: partners.browse([3]).sendNewsletter });
          trap.assertJobsCount(0, { only: partners.browse([4]).sendNewsletter });
          trap.assertJobsCount(1, { only: partners.sync });
          trap.assertJobsCount(2, { only: 'res.partner.sendNewsletter' });
          trap.assertJobsCount(2, { only: partners.methods.sendNewsletter });
          trap.assertJobsCount(1, { only: { model: 'res.partner', method: 'sendNewsletter', records: [1, 2] } });
          assert.equal(trap.jobsCount({ only: partners.fanOut }), 0);
        });
      }));

    test('assertJobsCount fails with a message listing the enqueued jobs', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          throwsExactly(() => trap.assertJobsCount(1), 'Expected 1 enqueued job, got 0.\nEnqueued jobs:\n (none)');
          await welcome(partners, [1, 2]);
          await partners.withDelay().sync();
          throwsExactly(
            () => trap.assertJobsCount(2, { only: partners.sendNewsletter }),
            [
              'Expected 2 enqueued jobs of res.partner.sendNewsletter, got 1.',
              'Enqueued jobs:',
              " * res.partner(1,2).sendNewsletter('welcome') with properties (priority=15, maxRetries=3, description='Send the newsletter', channel='root.mail')",
              " * res.partner.sync() with properties (priority=10, maxRetries=5, description='res.partner.sync', channel='root')",
            ].join('\n'),
          );
          assert.throws(
            () => trap.assertJobsCount(1, { only: partners.browse([9]).sendNewsletter }),
            /Expected 1 enqueued job of res\.partner\(9\)\.sendNewsletter, got 0/,
          );
          assert.throws(() => trap.assertJobsCount(1, { only: 'res.partner.nope' }), /has no method 'nope'/);
          assert.throws(() => trap.assertJobsCount(1, { only: 'nope.sync' }), UnknownModelError);
          assert.throws(() => trap.assertJobsCount(1, { only: () => 1 }), /not a job method/);
          assert.throws(() => trap.assertJobsCount(1, { onyl: partners.sync } as never), /unknown option 'onyl'/);
        });
      }));

    test('assertEnqueuedJob passes on exact records and args and a subset of the properties', () =>
      withSetup(backend, async ({ conveyor, partners, clock }) => {
        await trapJobs(conveyor, async (trap) => {
          await welcome(partners, [1, 2]);
          await partners
            .withDelay({ eta: '90m', maxRetries: 0, description: 'Nightly', identityKey: 'nightly' })
            .sync();
          await partners
            .browse(['a'])
            .withDelay({ eta: new Date(START.getTime() + 60_000) })
            .sendNewsletter('x');
          trap.assertEnqueuedJob(partners.sendNewsletter, { records: [1, 2], args: ['welcome'] });
          trap.assertEnqueuedJob(partners.sendNewsletter, {
            records: [1, 2],
            args: ['welcome'],
            properties: { priority: 15 },
          });
          trap.assertEnqueuedJob(partners.browse([1, 2]).sendNewsletter, {
            args: ['welcome'],
            properties: { channel: 'root.mail', maxRetries: 3, eta: null },
          });
          trap.assertEnqueuedJob(partners.sync, {
            properties: {
              eta: '90m',
              maxRetries: 0,
              description: 'Nightly',
              identityKey: 'nightly',
              priority: 10,
              channel: 'root',
            },
          });
          trap.assertEnqueuedJob(partners.sync, { properties: { eta: 90 * 60_000 } });
          trap.assertEnqueuedJob(partners.sync, { properties: { eta: new Date(clock.now() + 90 * 60_000) } });
          trap.assertEnqueuedJob('res.partner.sendNewsletter', {
            records: ['a'],
            args: ['x'],
            properties: { eta: '1m' },
          });
        });
      }));

    test('assertEnqueuedJob fails with a message listing every call', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          throwsExactly(
            () => trap.assertEnqueuedJob(partners.sync),
            'Job res.partner.sync() with properties () was not enqueued.\nActual enqueued jobs:\n (none)',
          );
          await welcome(partners, [1, 2]);
          await partners.withDelay({ eta: '1h' }).sync();
          // wrong argument
          throwsExactly(
            () =>
              trap.assertEnqueuedJob(partners.sendNewsletter, {
                records: [1, 2],
                args: ['promo'],
                properties: { priority: 15 },
              }),
            [
              "Job res.partner(1,2).sendNewsletter('promo') with properties (priority=15) was not enqueued.",
              'Actual enqueued jobs:',
              " * res.partner(1,2).sendNewsletter('welcome') with properties (priority=15)",
              ' * res.partner.sync() with properties (priority=10)',
            ].join('\n'),
          );
          // wrong records, and the records default to the function's (none for the model)
          assert.throws(
            () => trap.assertEnqueuedJob(partners.sendNewsletter, { records: [2, 1], args: ['welcome'] }),
            /Job res\.partner\(2,1\)\.sendNewsletter\('welcome'\)/,
          );
          assert.throws(
            () => trap.assertEnqueuedJob(partners.sendNewsletter, { args: ['welcome'] }),
            /Job res\.partner\.sendNewsletter\('welcome'\) with properties \(\) was not enqueued/,
          );
          // a property that differs; without properties every property is listed
          throwsExactly(
            () => trap.assertEnqueuedJob(partners.sync, { properties: { eta: '2h' } }),
            [
              'Job res.partner.sync() with properties (eta=+2h) was not enqueued.',
              'Actual enqueued jobs:',
              ` * res.partner(1,2).sendNewsletter('welcome') with properties (eta=null)`,
              ` * res.partner.sync() with properties (eta=2030-01-01T01:00:00.000Z (+1h))`,
            ].join('\n'),
          );
          assert.throws(() => trap.assertEnqueuedJob(partners.sync, { properties: { priority: 11 } }), AssertionError);
          assert.throws(() => trap.assertEnqueuedJob(partners.sync, { args: [undefined] }), AssertionError);
          assert.throws(
            () => trap.assertEnqueuedJob(partners.fanOut),
            /Job res\.partner\.fanOut\(\) with properties \(\) was not enqueued\.\nActual enqueued jobs:\n \* res\.partner\(1,2\)\.sendNewsletter\('welcome'\) with properties \(priority=15, maxRetries=3/,
          );
          // bad expectations are errors, not silent passes
          assert.throws(
            () => trap.assertEnqueuedJob(partners.sync, { properties: { prio: 1 } as never }),
            /unknown property 'prio'/,
          );
          assert.throws(() => trap.assertEnqueuedJob(partners.sync, { arg: [] } as never), /unknown key 'arg'/);
          assert.throws(() => trap.assertEnqueuedJob(partners.sync, { args: 'x' as never }), /args must be an array/);
        });
      }));

    test('graphs are recorded with one graphUuid and their edges; identity keys are all-or-nothing', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          const jobs = await chain(
            partners.delayable().sync(),
            group(
              partners.browse([1]).delayable().sendNewsletter('a'),
              partners.browse([2]).delayable().sendNewsletter('b'),
            ),
          ).delay();
          assert.equal(jobs.length, 3);
          const [sync, a, b] = trap.enqueuedJobs;
          assert.ok(sync!.graphUuid);
          assert.equal(a!.graphUuid, sync!.graphUuid);
          assert.equal(b!.graphUuid, sync!.graphUuid);
          assert.deepEqual([sync!.state, a!.state, b!.state], ['pending', 'wait_dependencies', 'wait_dependencies']);
          assert.deepEqual(a!.dependsOn, [sync]);
          assert.deepEqual(sync!.dependants, [a, b]);
          trap.assertJobsCount(2, { only: partners.sendNewsletter });

          await partners.withDelay({ identityKey: 'k1' }).sync();
          const skipped = await chain(
            partners.delayable({ identityKey: 'k1' }).sync(),
            partners.delayable().fanOut(),
          ).delay();
          assert.deepEqual(
            skipped.map((j) => j.existing),
            [true, true],
          );
          trap.assertJobsCount(4);
          const created = await chain(
            partners.delayable({ identityKey: 'k1' }).sync(),
            partners.delayable({ identityKey: 'k2' }).fanOut(),
          ).delay();
          assert.deepEqual(
            created.map((j) => j.existing),
            [false, false],
          );
          trap.assertJobsCount(6);
          assert.equal(trap.calls.length, 8);
        });
      }));

    test('performEnqueuedJobs: lone jobs by priority, graphs in dependency order, then the list is empty', () =>
      withSetup(backend, async ({ conveyor, partners, log }) => {
        await trapJobs(conveyor, async (trap) => {
          const low = await partners.browse([3]).withDelay({ priority: 30 }).sendNewsletter('low');
          const high = await partners.browse([1]).withDelay({ priority: 1 }).sendNewsletter('high');
          await partners.browse([2]).withDelay().sendNewsletter('normal');
          await chain(
            partners.browse([10]).delayable().sync(),
            group(
              partners.browse([11]).delayable({ priority: 99 }).sync(),
              partners.browse([12]).delayable({ priority: 0 }).sync(),
            ),
            partners.browse([13]).delayable().sync(),
          ).delay();
          await assert.rejects(
            high.wait(),
            (err: unknown) =>
              err instanceof InvalidStateError && /call trap\.performEnqueuedJobs\(\) first/.test(err.message),
          );
          await trap.performEnqueuedJobs();
          assert.deepEqual(log, [
            'sendNewsletter(1, high)',
            'sendNewsletter(2, normal)',
            'sendNewsletter(3, low)',
            'sync(10)',
            'sync(11)',
            'sync(12)',
            'sync(13)',
          ]);
          assert.equal(trap.enqueuedJobs.length, 0);
          trap.assertJobsCount(0);
          assert.equal(trap.calls.length, 7, 'calls are kept');
          assert.deepEqual(await low.result(), { sent: 1 });
          assert.equal((await high.wait()).state, 'done');
          assert.equal(trap.calls[0]!.job!.state, 'done');
          await trap.performEnqueuedJobs(); // nothing left: a no-op
          assert.equal(log.length, 7);
        });
        assert.equal((await conveyor.jobs.count())[0]!.count, 0);
      }));

    test('performEnqueuedJobs restores the context, traps jobs delayed meanwhile, and stops at the first error', () =>
      withSetup(backend, async ({ conveyor, partners, log }) => {
        await trapJobs(conveyor, async (trap) => {
          await conveyor.context.run({ tz: 'Europe/Brussels', secret: 1 }, () => partners.withDelay().whoami());
          await partners.withDelay().fanOut();
          await trap.performEnqueuedJobs();
          assert.deepEqual(log, ['whoami {"tz":"Europe/Brussels"} {"tz":"Europe/Brussels"}', 'fanOut']);
          trap.assertJobsCount(1, { only: partners.sync });
          await trap.performEnqueuedJobs();
          assert.equal(log.at(-1), 'sync()');

          const fail = await partners.withDelay({ priority: 1 }).boom();
          await partners.withDelay({ priority: 2 }).sync();
          await assert.rejects(trap.performEnqueuedJobs(), /boom/);
          assert.equal(trap.calls.at(-2)!.job!.state, 'failed');
          await assert.rejects(fail.result(), /failed: Error: boom/);
          trap.assertJobsCount(1, { only: partners.sync }); // not run yet, still enqueued
          await trap.performEnqueuedJobs();
          assert.equal(trap.jobsCount(), 0);
        });
      }));

    test('cancelling a trapped handle removes it (cascade: its dependants too); setDone skips it', () =>
      withSetup(backend, async ({ conveyor, partners, log }) => {
        await trapJobs(conveyor, async (trap) => {
          const [parent] = await chain(partners.delayable().sync(), partners.delayable().fanOut()).delay();
          const lone = await partners.withDelay().boom();
          assert.equal(await parent!.cancel({ cascade: true }), true);
          assert.equal(await lone.setDone(), true);
          trap.assertJobsCount(0);
          await trap.performEnqueuedJobs();
          assert.deepEqual(log, []);
          assert.equal((await parent!.wait()).state, 'cancelled');
          assert.equal(await lone.result(), 'Manually set to done');
        });
      }));

    test('the trap also catches calls in no-delay mode (nothing runs)', () =>
      withSetup(
        backend,
        async ({ conveyor, partners, log }) => {
          await trapJobs(conveyor, async (trap) => {
            await welcome(partners, [1]);
            trap.assertJobsCount(1);
            assert.deepEqual(log, []);
          });
        },
        { noDelay: true, logger: 'silent' },
      ));

    test('bad calls are rejected as the real enqueue would, and record nothing', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap) => {
          await assert.rejects(partners.withDelay().sendNewsletter((() => 1) as never), ValidationError);
          await assert.rejects(
            chain(partners.delayable().sync(), partners.delayable().sendNewsletter(Symbol('x') as never)).delay(),
            ValidationError,
          );
          assert.equal(trap.calls.length, 0);
        });
      }));

    // queue_job's recommended two-test pattern
    test('pattern, test 1: the action enqueues the expected job', () =>
      withSetup(backend, async ({ conveyor, partners }) => {
        await trapJobs(conveyor, async (trap: JobsTrap) => {
          await welcome(partners, [1, 2]);
          trap.assertJobsCount(1, { only: partners.sendNewsletter });
          trap.assertEnqueuedJob(partners.sendNewsletter, {
            records: [1, 2],
            args: ['welcome'],
            properties: { priority: 15 },
          });
        });
      }));

    test('pattern, test 2: the job method, called directly, runs inline', () =>
      withSetup(backend, async ({ conveyor, partners, log }) => {
        assert.deepEqual(await partners.browse([1, 2]).sendNewsletter('welcome'), { sent: 2 });
        assert.deepEqual(log, ['sendNewsletter(1,2, welcome)']);
        assert.equal((await conveyor.jobs.count())[0]!.count, 0);
      }));
  });

  describe(`fake clock on ${backend.name}`, () => {
    test('createFakeClock: now, set, advance; bad values are errors', () => {
      const clock = createFakeClock(START);
      assert.equal(isFakeClock(clock), true);
      assert.equal(isFakeClock({ now: () => 1 }), false);
      assert.equal(clock.now(), START.getTime());
      assert.equal(clock.advance('1h'), START.getTime() + 3_600_000);
      assert.equal(clock.advance(500), START.getTime() + 3_600_500);
      assert.equal(clock.set(new Date('2031-01-01T00:00:00Z')), Date.parse('2031-01-01T00:00:00Z'));
      assert.equal(clock.set(5), 5);
      assert.equal(clock.now(), 5);
      assert.throws(() => clock.advance('-1s' as never), /clock\.advance\(\)/);
      assert.throws(() => clock.set(Number.NaN), ValidationError);
      assert.throws(() => createFakeClock('now' as never), ValidationError);
      assert.ok(Math.abs(createFakeClock().now() - Date.now()) < 60_000);
    });

    test('an ETA passes without waiting: the job runs once the clock is advanced', () =>
      withSetup(backend, async ({ conveyor, partners, clock }) => {
        const later = await partners.withDelay({ eta: '1h' }).at();
        assert.equal((await later.refresh()).eta, START.getTime() + 3_600_000);
        const runner = conveyor.runner({ workers: 2 });
        await runner.start();
        // a job without ETA on the same channel runs: the runner has looked and left the other one
        await (await partners.withDelay().sync()).wait();
        assert.equal((await later.refresh()).state, 'pending');
        assert.match(await conveyor.jobs.explain(later.id), /ETA/i);
        assert.equal(await advanceAndWake(conveyor, '1h'), START.getTime() + 3_600_000);
        assert.equal(await later.result(), START.getTime() + 3_600_000);
        assert.equal(clock.now(), START.getTime() + 3_600_000);
      }));

    test('a retry delay (RetryableJobError with seconds) passes without waiting', () =>
      withSetup(backend, async ({ conveyor, partners, flakyRuns }) => {
        const job = await partners.withDelay().flaky();
        const retried = new Promise<{ eta: number }>((resolve) => {
          const off = conveyor.on('job_retried', (p) => {
            if (p.id === job.id) {
              off();
              resolve(p);
            }
          });
        });
        const runner = conveyor.runner({ workers: 1 });
        await runner.start();
        const event = await retried;
        assert.equal(event.eta, START.getTime() + 600_000);
        const row = await job.refresh();
        assert.deepEqual(
          [row.state, row.eta, row.attempt, row.excMessage],
          ['pending', START.getTime() + 600_000, 1, 'not yet'],
        );
        assert.equal(flakyRuns(), 1);
        await advanceAndWake(conveyor, '10m');
        assert.equal(await job.result(), 'attempt 2');
        assert.equal(flakyRuns(), 2);
        const attempts = await conveyor.jobs.attempts(job.id);
        assert.deepEqual(
          attempts.map((a) => [a.attempt, a.outcome]),
          [[1, 'retried']],
        );
      }));

    test('advanceAndWake needs a fake clock', async () => {
      const conveyor = await backend.open();
      try {
        await assert.rejects(advanceAndWake(conveyor, '1s'), /no fake clock/);
      } finally {
        await backend.dispose(conveyor);
      }
    });
  });
}
