/**
 * Scheduled jobs end to end on SQLite and PostgreSQL, on a fake clock (`Conveyor.open({ clock })`):
 * registration, validation, firing through the runners' schedulers (exactly one run per slot with three
 * runners on one store), missed slots and catch-up, pause/resume/run now, time zones, limitTimeRealCron,
 * and the built-in maintenance jobs. Passes are awaited with `runner.cronScheduler.tick()`, never slept for.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  ConfigurationError,
  Conveyor,
  UnknownMethodError,
  UnknownModelError,
  ValidationError,
  type JobContext,
} from '../src/index.ts';
import { createFakeClock, type FakeClock } from '../src/testing/index.ts';
import { CronScheduler } from '../src/runner/cron-scheduler.ts';
import { BACKENDS, PG_URL, uniqueSchema, type Backend } from './helpers/backends.ts';
import { Client } from './dashboard/client.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cron-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function defineShop(c: Conveyor) {
  return c.model(
    'shop',
    {
      async report(_job: JobContext, label: string) {
        return label;
      },
      async limited() {
        return 'ok';
      },
      async hang(job: JobContext) {
        await new Promise((_resolve, reject) =>
          job.signal.addEventListener('abort', () => reject(job.signal.reason), { once: true }),
        );
      },
    },
    { limited: { timeLimit: '5m' } },
  );
}

/** Jobs of shop.<method>, oldest first. */
async function jobsOf(c: Conveyor, method = 'report') {
  return (await c.jobs.list({ model: 'shop', method, limit: 1000, direction: 'asc' })).jobs;
}

/** A store several Conveyors can open (a SQLite file, or one PostgreSQL schema). */
interface Store {
  name: string;
  open(clock: FakeClock): Promise<Conveyor>;
  dispose(all: Conveyor[]): Promise<void>;
}

function sharedStore(backend: Backend): Store {
  if (backend.name === 'sqlite') {
    const file = path.join(tmp, `shared-${Date.now()}-${Math.random().toString(36).slice(2)}.db`);
    return {
      name: 'a SQLite file',
      open: (clock) => Conveyor.open({ database: `sqlite:${file}`, clock, logger: 'silent' }),
      dispose: async (all) => {
        for (const c of all) await c.close();
      },
    };
  }
  const schema = uniqueSchema('cron3');
  return {
    name: 'PostgreSQL',
    open: (clock) => Conveyor.open({ database: PG_URL, schema, clock, logger: 'silent', dbMaxconn: 6 }),
    dispose: async (all) => {
      if (all[0]) await (all[0].driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
      for (const c of all) await c.close();
    },
  };
}

for (const backend of BACKENDS) {
  describe(`scheduled jobs on ${backend.name}`, () => {
    it('registers idempotently: code is the source of truth for the definition, pausing is kept, built-ins are listed', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z')); // a Monday
      const c = await backend.open({ clock });
      try {
        const shop = defineShop(c);
        const h = await c.cron('newsletter', '0 9 * * 1', shop.report, ['weekly'], {
          timezone: 'Europe/Paris',
          priority: 3,
        });
        assert.equal(h.name, 'newsletter');
        let info = (await h.info())!;
        assert.deepEqual(
          { ...info, createdAt: 0, updatedAt: 0 },
          {
            name: 'newsletter',
            schedule: '0 9 * * 1',
            timezone: 'Europe/Paris',
            target: 'shop.report',
            model: 'shop',
            method: 'report',
            records: [],
            args: ['weekly'],
            options: { priority: 3 },
            catchUp: false,
            paused: false,
            nextRunAt: at('2026-11-30T08:00:00Z'),
            lastRunAt: null,
            lastJobId: null,
            builtIn: false,
            createdAt: 0,
            updatedAt: 0,
          },
        );
        const list = await c.crons.list();
        assert.deepEqual(
          list.map((x) => x.name),
          ['conveyor.job_retention', 'conveyor.timeout_log_cleanup', 'newsletter'],
        );
        const [retention, cleanup] = list;
        assert.deepEqual(
          [retention!.schedule, retention!.target, retention!.args, retention!.builtIn, iso(retention!.nextRunAt)],
          ['every 1d', 'conveyor.maintenance.jobRetention', [30], true, '2026-11-24T00:00:00.000Z'],
        );
        assert.deepEqual(
          [cleanup!.schedule, cleanup!.target, cleanup!.args, cleanup!.builtIn, iso(cleanup!.nextRunAt)],
          ['every 1w', 'conveyor.maintenance.timeoutLogCleanup', [30], true, '2026-11-30T00:00:00.000Z'],
        );

        // registered again later (a redeploy) with other arguments: the next slot is kept
        clock.advance('1h');
        await c.cron('newsletter', '0 9 * * 1', shop.report, ['monthly'], { timezone: 'Europe/Paris' });
        info = (await c.crons.get('newsletter'))!;
        assert.deepEqual([info.args, info.options, iso(info.nextRunAt)], [['monthly'], {}, '2026-11-30T08:00:00.000Z']);
        // pausing belongs to the operator: it survives a re-registration
        await c.crons.pause('newsletter');
        await c.cron('newsletter', '0 9 * * 1', shop.report, ['monthly'], { timezone: 'Europe/Paris' });
        assert.equal((await c.crons.get('newsletter'))!.paused, true);
        // a new schedule starts from its own next slot
        await c.cron('newsletter', '0 10 * * 1', shop.report, ['monthly'], { timezone: 'Europe/Paris' });
        assert.equal(iso((await c.crons.get('newsletter'))!.nextRunAt), '2026-11-30T09:00:00.000Z');
        // a record-set method as the target, and an interval
        await c.cron('one partner', { every: '15m' }, shop.browse([7]).report, ['p7'], {
          catchUp: 'one',
          channel: 'root.mail',
          maxRetries: 1,
        });
        info = (await c.crons.get('one partner'))!;
        assert.deepEqual(
          [info.schedule, info.records, info.catchUp, info.options, iso(info.nextRunAt)],
          ['every 15m', [7], 'one', { channel: 'root.mail', maxRetries: 1 }, '2026-11-23T11:15:00.000Z'],
        );
        assert.equal(await c.crons.delete('one partner'), true);
        assert.equal(await c.crons.get('one partner'), null);
      } finally {
        await backend.dispose(c);
      }
    });

    it('rejects bad definitions at once, with typed errors naming the problem', async () => {
      const c = await backend.open();
      try {
        const shop = defineShop(c);
        const config = (re: RegExp) => (err: unknown) => err instanceof ConfigurationError && re.test(err.message);
        assert.throws(
          () => c.cron('x', '61 * * * *', shop.report),
          config(/^cron\('x'\): invalid cron expression '61 \* \* \* \*'/),
        );
        assert.throws(
          () => c.cron('x', { every: '1d' }, shop.report, [], { timezone: 'Europe/Paris' }),
          config(/time zone applies to cron expressions only/),
        );
        assert.throws(
          () => c.cron('x', '0 3 * * *', shop.report, [], { timezone: 'Nowhere/City' }),
          config(/unknown time zone 'Nowhere\/City'/),
        );
        assert.throws(
          () => c.cron('x', '0 3 * * *', 'shop.nope'),
          (e: unknown) => e instanceof UnknownMethodError && /has no method 'nope'/.test(e.message),
        );
        assert.throws(
          () => c.cron('x', '0 3 * * *', 'crm.sync'),
          (e: unknown) => e instanceof UnknownModelError,
        );
        assert.throws(() => c.cron('x', '0 3 * * *', async () => {}), config(/not a job method of a model/));
        assert.throws(() => c.cron('x', '0 3 * * *', 'report'), config(/expected a target 'model.method'/));
        assert.throws(() => c.cron('conveyor.mine', '0 3 * * *', shop.report), config(/reserved/));
        assert.throws(() => c.cron('', '0 3 * * *', shop.report), config(/non-empty string/));
        assert.throws(
          () => c.cron('x', '0 3 * * *', shop.report, [], { timeZone: 'UTC' } as never),
          config(/unknown option 'timeZone' \(did you mean 'timezone'\?\)/),
        );
        assert.throws(
          () => c.cron('x', '0 3 * * *', shop.report, [], { catchUp: true as never }),
          config(/catchUp must be false, 'one' or 'all'/),
        );
        assert.throws(() => c.cron('x', '0 3 * * *', shop.report, 'a' as never), config(/args must be an array/));
        assert.throws(
          () => c.cron('x', '0 3 * * *', shop.report, [() => 1]),
          (e: unknown) => e instanceof ValidationError && /args\[0\]/.test(e.message),
        );
        await assert.rejects(
          c.crons.pause('nope'),
          (e: unknown) => e instanceof ValidationError && /no scheduled job named 'nope'/.test(e.message),
        );
        await assert.rejects(c.crons.runNow('nope'), ValidationError);
        assert.deepEqual(
          (await c.crons.list()).filter((x) => !x.builtIn),
          [],
          'nothing was stored',
        );
        await assert.rejects(
          backend.open({ maintenance: { days: 3 } as never }),
          config(/maintenance: unknown option 'days'/),
        );
        await assert.rejects(backend.open({ maintenance: { jobRetentionDays: 0 } }), config(/jobRetentionDays/));
      } finally {
        await backend.dispose(c);
      }
    });

    it('fires a due slot once through the runner, runs it, and gives it limitTimeRealCron unless the function sets timeLimit', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z'));
      const c = await backend.open({ clock, runner: { limitTimeRealCron: '45m' } });
      try {
        const shop = defineShop(c);
        await c.cron('minutely', 'every 1m', shop.report, ['tick']);
        await c.cron('limited', 'every 1m', shop.limited);
        const r = c.runner({ limitTimeRealCron: '2h' });
        await r.start();
        await r.cronScheduler!.tick();
        assert.equal((await jobsOf(c)).length, 0, 'nothing is due yet');
        clock.set(at('2026-11-23T10:01:00Z'));
        await r.cronScheduler!.tick();
        const info = (await c.crons.get('minutely'))!;
        assert.deepEqual(
          [iso(info.lastRunAt), iso(info.nextRunAt)],
          ['2026-11-23T10:01:00.000Z', '2026-11-23T10:02:00.000Z'],
        );
        const row = await c.jobs.wait(info.lastJobId!);
        assert.equal(row.state, 'done');
        assert.equal(row.result, 'tick');
        assert.equal(row.timeLimitMs, 2 * 3_600_000, "the runner's limitTimeRealCron");
        assert.match(row.description, /^shop\.report \(scheduled minutely, 2026-11-23T10:01:00\.000Z\)$/);
        const limited = await c.jobs.wait((await c.crons.get('limited'))!.lastJobId!);
        assert.equal(limited.timeLimitMs, 300_000, "the job function's timeLimit wins");
        // another pass, another wake-up: the slot does not fire again
        await c.driver.wake('jobs');
        await r.cronScheduler!.tick();
        assert.equal((await jobsOf(c)).length, 1);
        // run now: one more job, independent of the slots
        const now = await c.crons.runNow('minutely');
        const ran = await now.wait();
        assert.equal(ran.result, 'tick');
        assert.equal(ran.timeLimitMs, 45 * 60_000, 'run-now from this Conveyor: its runner default');
        assert.match(ran.description, /\(scheduled minutely, run now\)$/);
        const after = (await c.crons.get('minutely'))!;
        assert.deepEqual([after.lastJobId, iso(after.nextRunAt)], [now.id, '2026-11-23T10:02:00.000Z']);
        assert.equal((await jobsOf(c)).length, 2);
      } finally {
        await backend.dispose(c);
      }
    });

    it('does not replay missed slots by default; catchUp "one" runs once for them, "all" runs each', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z'));
      const c = await backend.open({ clock, maintenance: false });
      try {
        const shop = defineShop(c);
        await c.cron('skip', 'every 1h', shop.report, ['skip']);
        await c.cron('one', 'every 1h', shop.report, ['one'], { catchUp: 'one' });
        await c.cron('all', 'every 1h', shop.report, ['all'], { catchUp: 'all' });
        // no runner from 10:00:30 to 13:10: the 11:00, 12:00 and 13:00 slots are missed (13:00 by 10 minutes)
        clock.set(at('2026-11-23T13:10:00Z'));
        const s = new CronScheduler(c, { limitTimeRealCronMs: 60_000 });
        s.start();
        const report = await s.tick();
        await s.stop();
        assert.deepEqual(report.skipped, [
          { name: 'skip', from: at('2026-11-23T11:00:00Z'), to: at('2026-11-23T13:00:00Z'), count: 3 },
        ]);
        assert.deepEqual(
          report.fired.map((f) => [f.name, iso(f.slotAt)]),
          [
            ['all', '2026-11-23T11:00:00.000Z'],
            ['all', '2026-11-23T12:00:00.000Z'],
            ['all', '2026-11-23T13:00:00.000Z'],
            ['one', '2026-11-23T13:00:00.000Z'],
          ],
        );
        const byLabel = (label: string) => jobsOf(c).then((jobs) => jobs.filter((j) => j.args[0] === label));
        assert.equal((await byLabel('skip')).length, 0);
        assert.deepEqual(
          (await byLabel('one')).map((j) => j.description),
          ['shop.report (scheduled one, 2026-11-23T13:00:00.000Z)'],
        );
        assert.equal((await byLabel('all')).length, 3);
        for (const name of ['skip', 'one', 'all'])
          assert.equal(iso((await c.crons.get(name))!.nextRunAt), '2026-11-23T14:00:00.000Z', name);
        assert.equal((await c.crons.get('skip'))!.lastRunAt, null);

        // with a runner: a slot a few seconds late is on time, and fires
        const r = c.runner();
        await r.start();
        clock.set(at('2026-11-23T14:00:20Z'));
        await r.cronScheduler!.tick();
        const skip = await byLabel('skip');
        assert.deepEqual(
          skip.map((j) => j.description),
          ['shop.report (scheduled skip, 2026-11-23T14:00:00.000Z)'],
        );
        assert.equal((await c.jobs.wait(skip[0]!.id)).state, 'done');
      } finally {
        await backend.dispose(c);
      }
    });

    it('pauses, resumes from the next slot (no replay of the paused ones), and runs now while paused', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z'));
      const c = await backend.open({ clock, maintenance: false });
      try {
        const shop = defineShop(c);
        const h = await c.cron('hourly', 'every 1h', shop.report, ['h'], { catchUp: 'one' });
        const r = c.runner();
        await r.start();
        await h.pause();
        clock.set(at('2026-11-23T11:00:05Z'));
        await r.cronScheduler!.tick();
        assert.equal((await jobsOf(c)).length, 0, 'a paused entry does not fire');
        assert.equal((await h.info())!.paused, true);
        const job = await h.runNow();
        assert.equal((await job.wait()).state, 'done');
        assert.equal((await jobsOf(c)).length, 1, 'run now works while paused');
        clock.set(at('2026-11-23T11:30:00Z'));
        await h.resume();
        let info = (await h.info())!;
        assert.deepEqual([info.paused, iso(info.nextRunAt)], [false, '2026-11-23T12:00:00.000Z']);
        await r.cronScheduler!.tick();
        assert.equal((await jobsOf(c)).length, 1, 'the 11:00 slot, paused, is not replayed (even with catchUp)');
        await h.resume(); // resuming a running entry changes nothing
        clock.set(at('2026-11-23T12:00:00Z'));
        await r.cronScheduler!.tick();
        info = (await h.info())!;
        assert.equal(iso(info.lastRunAt), '2026-11-23T12:00:00.000Z');
        assert.equal((await jobsOf(c)).length, 2);
        assert.equal(await h.delete(), true);
        assert.equal(await h.info(), null);
      } finally {
        await backend.dispose(c);
      }
    });

    it('reads cron expressions in their time zone, across daylight saving changes', async () => {
      const clock = createFakeClock(new Date('2026-03-27T12:00:00Z'));
      const c = await backend.open({ clock, maintenance: false });
      try {
        const shop = defineShop(c);
        await c.cron('paris', '0 9 * * *', shop.report, ['paris'], { timezone: 'Europe/Paris' });
        await c.cron('new york', '30 2 * * *', shop.report, ['ny'], { timezone: 'America/New_York' });
        assert.equal(iso((await c.crons.get('paris'))!.nextRunAt), '2026-03-28T08:00:00.000Z', '09:00 CET');
        const r = c.runner();
        await r.start();
        const slots: string[] = [];
        for (const t of ['2026-03-28T08:00:00Z', '2026-03-29T07:00:00Z']) {
          clock.set(at(t));
          await r.cronScheduler!.tick();
          slots.push(iso((await c.crons.get('paris'))!.lastRunAt)!, iso((await c.crons.get('paris'))!.nextRunAt)!);
        }
        assert.deepEqual(
          slots,
          [
            '2026-03-28T08:00:00.000Z',
            '2026-03-29T07:00:00.000Z',
            '2026-03-29T07:00:00.000Z',
            '2026-03-30T07:00:00.000Z',
          ],
          '09:00 Paris is 08:00 UTC, then 07:00 UTC from the spring change',
        );
        // New York skips 02:00-03:00 on 2026-03-08; croner runs 02:30 at 03:00 EDT
        clock.set(at('2026-03-07T12:00:00Z'));
        await c.cron('new york', '30 2 * * *', shop.report, ['ny'], { timezone: 'America/New_York', catchUp: 'one' });
        await c.crons.pause('new york');
        await c.crons.resume('new york');
        assert.equal(iso((await c.crons.get('new york'))!.nextRunAt), '2026-03-08T07:00:00.000Z');
      } finally {
        await backend.dispose(c);
      }
    });

    it('stops a scheduled run at limitTimeRealCron', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z'));
      const c = await backend.open({ clock, maintenance: false });
      try {
        const shop = defineShop(c);
        await c.cron('stuck', 'every 1m', shop.hang, [], { maxRetries: 1 });
        const r = c.runner({ limitTimeRealCron: 30 });
        await r.start();
        clock.set(at('2026-11-23T10:01:00Z'));
        await r.cronScheduler!.tick();
        const row = await c.jobs.wait((await c.crons.get('stuck'))!.lastJobId!);
        assert.equal(row.state, 'failed');
        assert.equal(row.timeLimitMs, 30);
        assert.deepEqual(
          (await c.jobs.attempts(row.id)).map((a) => a.outcome),
          ['timed_out'],
        );
      } finally {
        await backend.dispose(c);
      }
    });

    it('runs the built-in maintenance jobs as ordinary, visible jobs', async () => {
      const clock = createFakeClock(new Date('2026-11-23T10:00:00Z'));
      const c = await backend.open({ clock, maintenance: { jobRetentionDays: 7 } });
      try {
        const shop = defineShop(c);
        const r = c.runner();
        await r.start();
        const old = await shop.withDelay().report('old');
        assert.equal((await old.wait()).state, 'done');
        await c.timeoutLog.record({
          operation: 'old export',
          kind: 'monitor',
          thresholdMs: 1,
          durationMs: 2,
          exceeded: true,
          at: clock.now() - 40 * 86_400_000,
        });
        await c.timeoutLog.record({
          operation: 'recent export',
          kind: 'monitor',
          thresholdMs: 1,
          durationMs: 2,
          exceeded: true,
        });
        assert.deepEqual(
          (await c.crons.list()).filter((x) => x.builtIn).map((x) => [x.name, x.args]),
          [
            ['conveyor.job_retention', [7]],
            ['conveyor.timeout_log_cleanup', [30]],
          ],
        );
        // the daily retention slot at midnight, 8 days later
        clock.set(at('2026-12-01T00:00:10Z'));
        await r.cronScheduler!.tick();
        const retention = (await c.crons.get('conveyor.job_retention'))!;
        const run = await c.jobs.wait(retention.lastJobId!);
        assert.deepEqual(
          [run.model, run.method, run.state, run.result],
          ['conveyor.maintenance', 'jobRetention', 'done', { deleted: 1, days: 7 }],
        );
        assert.equal(await c.jobs.get(old.id), null, 'the old done job was pruned');
        assert.match(
          run.description,
          /^Job retention \(scheduled conveyor\.job_retention, 2026-12-01T00:00:00\.000Z\)$/,
        );
        // the weekly cleanup (its Monday slot was missed: not replayed), run now by hand
        assert.equal((await c.crons.get('conveyor.timeout_log_cleanup'))!.lastJobId, null);
        const cleanup = await (await c.crons.runNow('conveyor.timeout_log_cleanup')).wait();
        assert.deepEqual(cleanup.result, { deleted: 1, days: 30 });
        assert.deepEqual(
          (await c.timeoutLog.list()).map((e) => e.operation),
          ['recent export'],
        );
      } finally {
        await backend.dispose(c);
      }
      const off = await backend.open({ maintenance: false });
      try {
        assert.deepEqual(await off.crons.list(), [], 'maintenance: false registers nothing');
        assert.ok(off.models.has('conveyor.maintenance'), 'the model stays, so jobs already enqueued can run');
      } finally {
        await backend.dispose(off);
      }
    });

    it("shows the entries on conveyor.dashboard()'s Scheduled jobs page, with pause, resume and run now", async () => {
      const c = await backend.open();
      const dashboard = await c.dashboard();
      try {
        await c.cron('nightly <export>', '0 2 * * *', defineShop(c).report, ['n'], { timezone: 'Europe/Paris' });
        const client = new Client(dashboard.fetch);
        const page = await client.get('/scheduled');
        assert.match(page.html, /<tr data-cron="conveyor\.job_retention">/);
        assert.match(page.html, /<code>every 1d<\/code>/);
        assert.match(page.html, /<code>0 2 \* \* \* \(Europe\/Paris\)<\/code>/);
        assert.match(page.html, /nightly &lt;export&gt;/);
        assert.equal((await client.post(`/scheduled/${encodeURIComponent('nightly <export>')}/pause`, {})).status, 303);
        assert.equal((await c.crons.get('nightly <export>'))!.paused, true);
        assert.equal((await client.post(`/scheduled/${encodeURIComponent('nightly <export>')}/run`, {})).status, 303);
        assert.equal((await jobsOf(c)).length, 1);
      } finally {
        await dashboard.close();
        await backend.dispose(c);
      }
    });

    it('fires each slot exactly once with three runners (three Conveyors) on one store', async () => {
      const store = sharedStore(backend);
      const clock = createFakeClock(new Date('2026-11-23T10:00:30Z'));
      const all: Conveyor[] = [];
      try {
        for (let i = 0; i < 3; i++) all.push(await store.open(clock));
        await Promise.all(all.map((c) => c.cron('every minute', 'every 1m', defineShop(c).report, ['x'])));
        const runners = all.map((c) => c.runner({ workers: 2 }));
        await Promise.all(runners.map((r) => r.start()));
        const slots = 8;
        for (let k = 1; k <= slots; k++) {
          clock.advance('1m');
          // every scheduler looks at once (twice each), and a wake-up reaches them all too
          const woken = all[k % 3]!.driver.wake('jobs');
          await Promise.all(runners.flatMap((r) => [r.cronScheduler!.tick(), r.cronScheduler!.tick()]));
          await woken;
        }
        await Promise.all(runners.map((r) => r.cronScheduler!.tick()));
        const jobs = await jobsOf(all[0]!);
        const fired = jobs.map((j) => /, (\S+)\)$/.exec(j.description)![1]);
        assert.equal(jobs.length, slots, `${slots} slots, ${jobs.length} jobs`);
        assert.deepEqual(
          [...new Set(fired)].sort(),
          Array.from({ length: slots }, (_, i) => iso(at('2026-11-23T10:01:00Z') + i * 60_000)),
        );
        for (const j of jobs) assert.equal((await all[0]!.jobs.wait(j.id)).state, 'done');
        const info = (await all[2]!.crons.get('every minute'))!;
        assert.equal(iso(info.nextRunAt), '2026-11-23T10:09:00.000Z');
      } finally {
        await store.dispose(all);
      }
    });
  });
}
