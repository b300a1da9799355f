/**
 * The scheduled-jobs driver verbs (cronUpsert/List/Get/SetPaused/Fire/Advance/Delete) on SQLite
 * (memory and file) and PostgreSQL: the same cases, like the driver conformance suite (test/drivers/suite.ts).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import type { CronDef, Driver, NewJob } from '../src/drivers/driver.ts';
import { CRON_SLOT_RETENTION_MS } from '../src/drivers/driver.ts';
import { openDriver } from '../src/drivers/open.ts';
import { PG_URL, pgUnavailable, uniqueSchema } from './helpers/backends.ts';

interface Factory {
  name: string;
  open(): Promise<Driver>;
  /** A second driver on the same store (another process, as far as the database can tell). */
  openTwin?(d: Driver): Promise<Driver>;
  dispose(d: Driver): Promise<void>;
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cron-drv-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
const factories: Factory[] = [
  { name: 'sqlite memory', open: () => openDriver('sqlite::memory:'), dispose: (d) => d.close() },
];
{
  const file = path.join(tmp, randomUUID() + '.db');
  factories.push({
    name: 'sqlite file',
    open: () => openDriver(`sqlite:${file}`),
    openTwin: () => openDriver(`sqlite:${file}`),
    dispose: (d) => d.close(),
  });
}
if (!(await pgUnavailable())) {
  const schema = uniqueSchema('crondrv');
  factories.push({
    name: 'postgres',
    open: () => openDriver(PG_URL, { schema, maxConnections: 12 }),
    openTwin: () => openDriver(PG_URL, { schema, maxConnections: 12 }),
    dispose: async (d) => {
      await (d as unknown as { dropSchema(): Promise<void> }).dropSchema();
      await d.close();
    },
  });
}

const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);
const MIN = 60_000;

function def(over: Partial<CronDef> = {}): CronDef {
  return {
    name: 'every-minute',
    schedule: 'every 1m',
    timezone: null,
    model: 'm',
    method: 'x',
    records: '[]',
    args: '["a"]',
    options: '{"priority":3}',
    catchUp: 'none',
    nextRunAt: T0 + MIN,
    ...over,
  };
}

function job(over: Partial<NewJob> = {}): NewJob {
  return {
    uuid: randomUUID(),
    graphUuid: null,
    model: 'm',
    method: 'x',
    records: '[]',
    args: '["a"]',
    priority: 3,
    eta: null,
    channel: 'root',
    maxRetries: 5,
    description: 'cron job',
    identityKey: null,
    context: null,
    timeLimitMs: 3_600_000,
    ...over,
  };
}

for (const f of factories) {
  describe(`cron driver verbs: ${f.name}`, () => {
    let d: Driver;
    before(async () => {
      d = await f.open();
      await d.migrate();
    });
    after(() => f.dispose(d));

    it('upserts: inserts, then updates the definition but keeps next_run_at, paused and last run unless the schedule changes', async () => {
      const first = await d.cronUpsert({ ...def({ name: 'u' }), now: T0 });
      assert.deepEqual(JSON.parse(first.options), { priority: 3 }); // (PostgreSQL's jsonb re-spaces the text)
      assert.deepEqual(
        { ...first, options: '' },
        {
          name: 'u',
          schedule: 'every 1m',
          timezone: null,
          model: 'm',
          method: 'x',
          records: '[]',
          args: '["a"]',
          options: '',
          catchUp: 'none',
          paused: false,
          nextRunAt: T0 + MIN,
          lastRunAt: null,
          lastJobId: null,
          createdAt: T0,
          updatedAt: T0,
        },
      );
      assert.equal(await d.cronSetPaused({ name: 'u', paused: true, now: T0 + 1 }), true);
      const fired = await d.cronFire({ name: 'u', slotAt: null, now: T0 + 2, nextRunAt: null, job: job() });
      assert.equal(fired.fired, true, 'a run-now fires while paused');
      // same schedule, new args and options: next_run_at, paused and the last run stay
      const again = await d.cronUpsert({
        ...def({ name: 'u', args: '["b"]', options: '{}', catchUp: 'one', nextRunAt: T0 + 10 * MIN }),
        now: T0 + 5,
      });
      assert.equal(again.args, '["b"]');
      assert.equal(again.catchUp, 'one');
      assert.equal(again.nextRunAt, T0 + MIN);
      assert.equal(again.paused, true);
      assert.equal(again.lastJobId, fired.jobId);
      assert.equal(again.lastRunAt, T0 + 2);
      assert.equal(again.createdAt, T0);
      assert.equal(again.updatedAt, T0 + 5);
      // a new schedule or time zone resets next_run_at
      assert.equal(
        (await d.cronUpsert({ ...def({ name: 'u', schedule: 'every 5m', nextRunAt: T0 + 5 * MIN }), now: T0 + 6 }))
          .nextRunAt,
        T0 + 5 * MIN,
      );
      assert.equal(
        (
          await d.cronUpsert({
            ...def({ name: 'u', schedule: 'every 5m', timezone: 'Europe/Paris', nextRunAt: T0 + 7 * MIN }),
            now: T0 + 7,
          })
        ).nextRunAt,
        T0 + 7 * MIN,
      );
      assert.equal((await d.cronGet('u'))!.timezone, 'Europe/Paris');
      assert.equal(await d.cronGet('nope'), null);
      assert.ok((await d.cronList()).some((c) => c.name === 'u'));
      assert.equal(await d.cronDelete('u'), true);
      assert.equal(await d.cronDelete('u'), false);
    });

    it('fires a slot once: the slot row and the job are one transaction, only the recorder enqueues', async () => {
      await d.cronUpsert({ ...def({ name: 'f' }), now: T0 });
      const a = await d.cronFire({ name: 'f', slotAt: T0 + MIN, now: T0 + MIN, nextRunAt: T0 + 2 * MIN, job: job() });
      assert.equal(a.fired, true);
      assert.ok(a.jobId! > 0);
      const b = await d.cronFire({
        name: 'f',
        slotAt: T0 + MIN,
        now: T0 + MIN + 5,
        nextRunAt: T0 + 2 * MIN,
        job: job(),
      });
      assert.deepEqual(b, { fired: false, jobId: null });
      const row = (await d.cronGet('f'))!;
      assert.equal(row.nextRunAt, T0 + 2 * MIN);
      assert.equal(row.lastRunAt, T0 + MIN);
      assert.equal(row.lastJobId, a.jobId);
      const stored = (await d.jobGet(a.jobId!))!;
      assert.equal(stored.state, 'pending');
      assert.equal(stored.timeLimitMs, 3_600_000);
      assert.equal(stored.priority, 3);
      const jobs = await d.jobList({ limit: 100, model: 'm' });
      assert.equal(jobs.jobs.filter((j) => j.description === 'cron job' && j.id === a.jobId).length, 1);
      // next_run_at never moves backwards
      await d.cronFire({ name: 'f', slotAt: T0 - 10 * MIN, now: T0 + MIN, nextRunAt: T0 - 9 * MIN, job: job() });
      assert.equal((await d.cronGet('f'))!.nextRunAt, T0 + 2 * MIN);
      await d.cronAdvance({ name: 'f', nextRunAt: T0 + MIN, now: T0 });
      assert.equal((await d.cronGet('f'))!.nextRunAt, T0 + 2 * MIN);
      await d.cronAdvance({ name: 'f', nextRunAt: T0 + 9 * MIN, now: T0 });
      assert.equal((await d.cronGet('f'))!.nextRunAt, T0 + 9 * MIN);
    });

    it('does not fire a paused or unknown entry; deleting an entry forgets its slots', async () => {
      await d.cronUpsert({ ...def({ name: 'p' }), now: T0 });
      await d.cronSetPaused({ name: 'p', paused: true, now: T0 });
      assert.deepEqual(
        await d.cronFire({ name: 'p', slotAt: T0 + MIN, now: T0 + MIN, nextRunAt: T0 + 2 * MIN, job: job() }),
        { fired: false, jobId: null },
      );
      assert.deepEqual(
        await d.cronFire({ name: 'gone', slotAt: T0 + MIN, now: T0 + MIN, nextRunAt: null, job: job() }),
        { fired: false, jobId: null },
      );
      assert.deepEqual(await d.cronFire({ name: 'gone', slotAt: null, now: T0 + MIN, nextRunAt: null, job: job() }), {
        fired: false,
        jobId: null,
      });
      assert.equal(await d.cronSetPaused({ name: 'gone', paused: true, now: T0 }), false);
      // resume with a new next slot
      await d.cronSetPaused({ name: 'p', paused: false, nextRunAt: T0 + 30 * MIN, now: T0 + 29 * MIN });
      let row = (await d.cronGet('p'))!;
      assert.equal(row.paused, false);
      assert.equal(row.nextRunAt, T0 + 30 * MIN);
      assert.equal(
        (
          await d.cronFire({
            name: 'p',
            slotAt: T0 + 30 * MIN,
            now: T0 + 30 * MIN,
            nextRunAt: T0 + 31 * MIN,
            job: job(),
          })
        ).fired,
        true,
      );
      await d.cronDelete('p');
      await d.cronUpsert({ ...def({ name: 'p' }), now: T0 });
      assert.equal(
        (
          await d.cronFire({
            name: 'p',
            slotAt: T0 + 30 * MIN,
            now: T0 + 30 * MIN,
            nextRunAt: T0 + 31 * MIN,
            job: job(),
          })
        ).fired,
        true,
        'a re-created entry starts with no fired slots',
      );
      row = (await d.cronGet('p'))!;
      assert.equal(row.lastRunAt, T0 + 30 * MIN);
    });

    it(`forgets fired slots older than ${CRON_SLOT_RETENTION_MS / 86_400_000} days before the slot being fired`, async () => {
      await d.cronUpsert({ ...def({ name: 'r' }), now: T0 });
      assert.equal((await d.cronFire({ name: 'r', slotAt: T0, now: T0, nextRunAt: null, job: job() })).fired, true);
      assert.equal(
        (await d.cronFire({ name: 'r', slotAt: T0 + CRON_SLOT_RETENTION_MS + 1, now: T0, nextRunAt: null, job: job() }))
          .fired,
        true,
      );
      // the old slot's row is gone, so it could fire again: dedup only covers recent slots
      assert.equal((await d.cronFire({ name: 'r', slotAt: T0, now: T0, nextRunAt: null, job: job() })).fired, true);
    });

    it('fires a slot exactly once under concurrent calls (from two drivers on the same store when available)', async () => {
      const twin = f.openTwin ? await f.openTwin(d) : d;
      try {
        await d.cronUpsert({ ...def({ name: 'race' }), now: T0 });
        for (let k = 1; k <= 5; k++) {
          const slotAt = T0 + k * MIN;
          const results = await Promise.all(
            Array.from({ length: 12 }, (_, i) =>
              (i % 2 ? twin : d).cronFire({
                name: 'race',
                slotAt,
                now: slotAt + i,
                nextRunAt: slotAt + MIN,
                job: job({ description: `race ${k}` }),
              }),
            ),
          );
          assert.equal(results.filter((r) => r.fired).length, 1, `slot ${k} fired once`);
          const jobs = (await d.jobList({ limit: 100, text: `race ${k}` })).jobs;
          assert.equal(jobs.length, 1, `slot ${k}: one job`);
          assert.equal((await d.cronGet('race'))!.lastJobId, results.find((r) => r.fired)!.jobId);
        }
      } finally {
        if (twin !== d) await twin.close();
      }
    });
  });
}
