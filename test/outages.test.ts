/**
 * Database outages on a private PostgreSQL server (started and removed here; the shared server is never
 * touched): a live runner keeps its jobs through an outage shorter than its lease, and work resumes
 * within a second of the server answering again.
 *
 * The two bounds asserted here are liveness bounds the runner promises (docs/reliability.md), not
 * performance figures: before the fix, the first test's runners were declared dead (their leases ran on
 * the runners' clocks from the last heartbeat, with no margin), and the second test's writes slept out a
 * doubling backoff (up to 30 s) after the server was back.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Conveyor, type JobContext } from '../src/index.ts';
import { pgUnavailable, uniqueSchema } from './helpers/backends.ts';
import { PrivatePg } from './helpers/private-pg.ts';
import { until } from './dashboard/fixtures.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const WAIT = { timeoutMs: 30_000 };
const skip = (await pgUnavailable()) ?? false;

describe('PostgreSQL outages (private server)', { skip }, () => {
  let pg: PrivatePg;
  before(async () => {
    pg = await PrivatePg.create();
  });
  after(() => pg?.remove());

  it('an outage about as long as the lease: no runner is declared dead, no job runs twice', async () => {
    const schema = uniqueSchema('out');
    const open = () => Conveyor.open({ database: pg.url, schema, channels: 'root:2', logger: 'silent', dbMaxconn: 4 });
    const [a, b, observer] = [await open(), await open(), await open()];
    const runs = new Map<number, number>();
    const started = [deferred(), deferred()];
    const release = deferred();
    const incidents: string[] = [];
    const body = {
      async hold(job: JobContext, i: number) {
        runs.set(job.id, (runs.get(job.id) ?? 0) + 1);
        started[i]!.resolve();
        await release.promise;
        return job.attempt;
      },
    };
    for (const c of [a, b]) {
      c.model('m', body);
      c.events.on('job_rescued', (e) => incidents.push(`rescued ${e.id}`));
      c.events.on('job_race', (e) => incidents.push(`race ${e.id} ${e.command}`));
    }
    const m = observer.model('m', body);
    // lease 4 s, heartbeat every 3 s: a live runner is declared dead 4 + 3 + 1 = 8 s after its last
    // landed heartbeat. The outage starts right after runner A's heartbeat lands and lasts over 4 s in
    // all (3.8 s down plus the stop and the start), which the old rule (dead 4 s after the last landed
    // heartbeat, no retry) turned into a rescue, and leaves the new one margin for a slow start.
    const ra = a.runner({ workers: 1, prefetch: 0, lease: '4s', heartbeat: '3s' });
    const rb = b.runner({ workers: 1, prefetch: 0, lease: '4s', heartbeat: '3s' });
    try {
      await ra.start();
      await rb.start();
      const jobs = [await m.withDelay().hold(0), await m.withDelay().hold(1)];
      await Promise.all(started.map((s) => s.promise));
      const beat = async () => (await observer.driver.runnerList()).find((r) => r.id === ra.id)!.heartbeatAt;
      const seen = await beat();
      await until(async () => (await beat()) > seen, "runner A's next heartbeat");
      pg.stop('fast');
      await sleep(3_800); // the outage: the server is down for 3.8 s, plus its stop and start
      await pg.start();
      // the earliest possible rescue, as another runner's heartbeat would make it the moment the
      // database answers: nobody's lease has expired
      assert.deepEqual(await observer.driver.jobRescue({ maxCrashes: 3 }), []);
      const back = Date.now();
      await until(async () => {
        const rs = await observer.driver.runnerList().catch(() => []);
        return rs.filter((r) => r.heartbeatAt >= back - 50).length === 2;
      }, 'both runners heartbeating again');
      release.resolve();
      for (const job of jobs) {
        const row = await observer.jobs.wait(job.id, WAIT);
        assert.equal(row.state, 'done');
        assert.equal(row.attempt, 1, 'ran once');
        assert.equal(row.crashCount, 0, 'no false crash');
        assert.equal(runs.get(job.id), 1);
      }
      assert.deepEqual(incidents, []);
    } finally {
      await ra.stop();
      await rb.stop();
      await (observer.driver as unknown as { dropSchema(): Promise<void> }).dropSchema().catch(() => {});
      for (const c of [a, b, observer]) await c.close();
    }
  });

  it('finished jobs are written, and waiting work starts, within a second of the database answering again', async () => {
    const schema = uniqueSchema('out');
    const c = await Conveyor.open({ database: pg.url, schema, channels: 'root:1', logger: 'silent', dbMaxconn: 4 });
    const started = deferred();
    const release = deferred();
    const startedAt = new Map<number, number>();
    const m = c.model('m', {
      async long() {
        started.resolve();
        await release.promise;
        return 'long';
      },
      async quick(job: JobContext) {
        return job.id;
      },
    });
    c.events.on('job_started', (e) => {
      if (!startedAt.has(e.id)) startedAt.set(e.id, Date.now());
    });
    const runner = c.runner({ workers: 1 });
    try {
      await runner.start();
      const long = await m.withDelay().long();
      const quick = [];
      for (let i = 0; i < 5; i++) quick.push(await m.withDelay().quick());
      await started.promise;
      pg.stop('fast');
      release.resolve(); // the long job ends during the outage: its write fails and is retried
      await sleep(7_000); // a multi-second outage
      pg.startNoWait();
      const answeredAt = await pg.waitAnswering();
      for (const job of quick) assert.equal((await c.jobs.wait(job.id, WAIT)).state, 'done');
      assert.equal((await c.jobs.get(long.id))!.state, 'done');
      const firstQuick = Math.min(...quick.map((j) => startedAt.get(j.id)!));
      const resumedAfterMs = firstQuick - answeredAt;
      assert.ok(resumedAfterMs < 1_500, `work resumed ${resumedAfterMs} ms after the database answered (bound: 1.5 s)`);
    } finally {
      await runner.stop();
      await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema().catch(() => {});
      await c.close();
    }
  });
});
