/**
 * Regression tests: a freed slot claims at once whenever a job may have become due since the last
 * claim, and no outcome write is left unflushed. The runners poll once an hour here, so a missed
 * wake-up leaves the job waiting and the test fails instead of passing late.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conveyor, RetryableJobError, type JobContext } from '../src/index.ts';
import { BACKENDS, uniqueSchema, PG_URL } from './helpers/backends.ts';
import { until } from './dashboard/fixtures.ts';

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Two Conveyor instances on one store: a file for SQLite (shared by both), a schema for PostgreSQL. */
async function openPair(
  backend: string,
  channels: string,
): Promise<{ a: Conveyor; b: Conveyor; file?: string; dispose(): Promise<void> }> {
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-wakeups-'));
    const database = `sqlite:${path.join(dir, 'q.db')}`;
    const a = await Conveyor.open({ database, channels, logger: 'silent' });
    const b = await Conveyor.open({ database, channels, logger: 'silent' });
    return {
      a,
      b,
      file: path.join(dir, 'q.db'),
      dispose: async () => {
        await a.close();
        await b.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = uniqueSchema('wk');
  const a = await Conveyor.open({ database: PG_URL, schema, channels, logger: 'silent', dbMaxconn: 4 });
  const b = await Conveyor.open({ database: PG_URL, schema, channels, logger: 'silent', dbMaxconn: 4 });
  return {
    a,
    b,
    dispose: async () => {
      await a.close();
      await (b.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
      await b.close();
    },
  };
}

const WAIT = { timeoutMs: 20_000 };

for (const backend of BACKENDS) {
  describe(`wake-ups on ${backend.name}`, () => {
    const disposers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const d of disposers) await d();
    });

    it('a job of a method this runner lacks fails at once after another completion, and the next job runs (root:1)', async () => {
      const { a, b, dispose } = await openPair(backend.name, 'root:1');
      disposers.push(dispose);
      const ma = a.model('m', {
        async ok(job: JobContext) {
          return job.id;
        },
      });
      const mb = b.model('m', {
        async ok(job: JobContext) {
          return job.id;
        },
        async extra() {
          return 'never here';
        },
      });
      const runner = a.runner({ workers: 1, pollInterval: '1h' });
      await runner.start();
      const first = await ma.withDelay().ok();
      const extra = await mb.withDelay().extra();
      const last = await ma.withDelay().ok();
      assert.equal((await a.jobs.wait(first.id, WAIT)).state, 'done');
      const failed = await a.jobs.wait(extra.id, WAIT);
      assert.equal(failed.state, 'failed');
      assert.match(failed.excMessage ?? '', /extra/);
      assert.equal((await a.jobs.wait(last.id, WAIT)).state, 'done');
      await runner.stop();
    });

    for (const how of ['done', 'failed', 'timed out', 'retried later'] as const) {
      it(`a job enqueued while the only slot is busy starts when the slot frees (${how})`, async () => {
        const { a, b, dispose } = await openPair(backend.name, 'root:1');
        disposers.push(dispose);
        const started = deferred();
        const release = deferred();
        const m = a.model(
          'm',
          {
            async first(job: JobContext) {
              started.resolve();
              if (how === 'timed out') await new Promise(() => {}); // ignores its signal: stopped at its limit
              await release.promise;
              if (how === 'failed') throw new TypeError('broken');
              if (how === 'retried later') throw new RetryableJobError('later', { seconds: 3600 });
              return 1;
            },
            async second() {
              return 2;
            },
          },
          { first: { timeLimit: how === 'timed out' ? 300 : '10m', maxRetries: how === 'retried later' ? 3 : 1 } },
        );
        // the second job is enqueued by the other instance, as another process would
        const mb = b.model('m', {
          async first() {
            return 0;
          },
          async second() {
            return 2;
          },
        });
        const runner = a.runner({ workers: 1, prefetch: 0, pollInterval: '1h' });
        await runner.start();
        const one = await m.withDelay().first();
        await started.promise;
        const two = await mb.withDelay().second();
        release.resolve();
        assert.equal((await a.jobs.wait(two.id, WAIT)).state, 'done', 'the second job ran without waiting for a poll');
        const end = (await a.jobs.get(one.id))!;
        assert.equal(end.state, how === 'done' ? 'done' : how === 'retried later' ? 'pending' : 'failed');
        await runner.stop();
      });
    }

    it('a wake-up that arrives while a claim is out is not lost to that claim finding the queue drained', async () => {
      const { a, b, dispose } = await openPair(backend.name, 'root:1');
      disposers.push(dispose);
      const release = deferred();
      const m = a.model('m', {
        async first() {
          await release.promise;
          return 1;
        },
        async second() {
          return 2;
        },
      });
      const mb = b.model('m', {
        async first() {
          return 0;
        },
        async second() {
          return 2;
        },
      });
      const runner = a.runner({ workers: 1, prefetch: 0, pollInterval: '1h' });
      // the first claim takes the only job and finds the queue drained; while it is out, another process
      // enqueues a job and its wake-up reaches the runner before the claim's answer does
      const heard = deferred();
      const listener = await a.driver.subscribe((topic) => {
        if (topic === 'jobs') heard.resolve();
      });
      const original = a.driver.jobClaim;
      let second: { id: number } | null = null;
      a.driver.jobClaim = async function (p) {
        const res = await original.call(this, p);
        if (!second && res.jobs.length) {
          second = await mb.withDelay().second();
          await heard.promise;
          await new Promise((r) => setTimeout(r, 50)); // the runner's own listener hears it too
        }
        return res;
      };
      try {
        await runner.start();
        await m.withDelay().first();
        await until(async () => second !== null, 'the second job enqueued during the claim');
        release.resolve();
        assert.equal(
          (await a.jobs.wait(second!.id, WAIT)).state,
          'done',
          'the second job ran without waiting for a poll',
        );
      } finally {
        a.driver.jobClaim = original;
        await listener.close();
        await runner.stop();
      }
    });

    it('a job enqueued while two runners are full starts when either frees a slot', async () => {
      const { a, b, dispose } = await openPair(backend.name, 'root:2');
      disposers.push(dispose);
      const releases = [deferred(), deferred()];
      const starts = [deferred(), deferred()];
      const body = {
        async hold(_job: JobContext, i: number) {
          starts[i]!.resolve();
          await releases[i]!.promise;
          return i;
        },
        async quick() {
          return 'q';
        },
      };
      const ma = a.model('m', body);
      b.model('m', body);
      const ra = a.runner({ workers: 1, prefetch: 0, pollInterval: '1h' });
      const rb = b.runner({ workers: 1, prefetch: 0, pollInterval: '1h' });
      await ra.start();
      await rb.start();
      const h0 = await ma.withDelay().hold(0);
      const h1 = await ma.withDelay().hold(1);
      await Promise.all(starts.map((s) => s.promise));
      const q = await ma.withDelay().quick();
      releases[0]!.resolve();
      assert.equal((await a.jobs.wait(q.id, WAIT)).state, 'done');
      releases[1]!.resolve();
      assert.equal((await a.jobs.wait(h0.id, WAIT)).state, 'done');
      assert.equal((await a.jobs.wait(h1.id, WAIT)).state, 'done');
      await ra.stop();
      await rb.stop();
    });
  });
}

/** Put a claimed job back as a lost claim leaves it: pending, its try given back, no runner (as after a crash). */
async function loseClaim(c: Conveyor, file: string | undefined, id: number): Promise<void> {
  const sql = (table: string) =>
    `UPDATE ${table} SET state = 'pending', attempt = attempt - 1, runner_id = NULL, enqueued_at = NULL, started_at = NULL WHERE id = ${Number(id)}`;
  if (file) {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(file, { timeout: 10_000 });
    try {
      db.exec(sql('conveyor_jobs'));
    } finally {
      db.close();
    }
    return;
  }
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  try {
    await client.query(sql(`"${(c.driver as unknown as { schema: string }).schema}".jobs`));
  } finally {
    await client.end();
  }
}

for (const backend of BACKENDS) {
  describe(`a claim lost under a job this runner holds on ${backend.name}`, () => {
    /** Spy on the claims of `c`: resolves `seen(id, n)` once job `id` has been handed out `n` times. */
    function claimsOf(c: Conveyor) {
      const counts = new Map<number, number>();
      const waiters: { id: number; n: number; resolve(): void }[] = [];
      const original = c.driver.jobClaim;
      c.driver.jobClaim = async function (p) {
        const res = await original.call(this, p);
        for (const j of res.jobs) counts.set(j.id, (counts.get(j.id) ?? 0) + 1);
        for (const w of [...waiters])
          if ((counts.get(w.id) ?? 0) >= w.n) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
        return res;
      };
      return {
        seen: (id: number, n: number) =>
          new Promise<void>((resolve) => {
            if ((counts.get(id) ?? 0) >= n) resolve();
            else waiters.push({ id, n, resolve });
          }),
        restore: () => {
          c.driver.jobClaim = original;
        },
      };
    }

    it('a job claimed again while it runs here is not run twice: the run under way completes the new claim', async () => {
      const { a, b, file, dispose } = await openPair(backend.name, '');
      const gate = deferred();
      const started = deferred<AbortSignal>();
      let runs = 0;
      const m = a.model('m', {
        async work(job: JobContext) {
          runs++;
          started.resolve(job.signal);
          await gate.promise;
          return `run ${runs}`;
        },
      });
      b.model('m', {
        async work() {
          return 'b';
        },
      });
      const claims = claimsOf(a);
      const runner = a.runner({ workers: 2, pollInterval: '1h' });
      try {
        await runner.start();
        const job = await m.withDelay().work();
        const signal = await started.promise;
        await until(async () => (await a.jobs.get(job.id))!.state === 'started', 'the run stored as started');
        await loseClaim(a, file, job.id);
        await b.driver.wake('jobs');
        await claims.seen(job.id, 2); // claimed again, with the same attempt, by the same runner
        gate.resolve();
        const row = await a.jobs.wait(job.id, WAIT);
        assert.equal(row.state, 'done');
        assert.equal(row.attempt, 1);
        assert.equal(await job.result(), 'run 1');
        assert.equal(runs, 1, 'the handler ran once');
        assert.equal(signal.aborted, false);
      } finally {
        claims.restore();
        await runner.stop();
        await dispose();
      }
    });

    it('a job claimed again while its outcome is being written is not run again: that outcome completes the new claim', async () => {
      const { a, b, file, dispose } = await openPair(backend.name, '');
      let runs = 0;
      const m = a.model('m', {
        async work() {
          runs++;
          return `run ${runs}`;
        },
      });
      b.model('m', {
        async work() {
          return 'b';
        },
      });
      const claims = claimsOf(a);
      // the completion of the run goes out and waits (a slow or failing database) while the claim is lost
      const held = deferred();
      const sent = deferred();
      const finish = a.driver.jobWriteMany;
      let jobId = -1;
      a.driver.jobWriteMany = async function (runnerId, cmds) {
        if (cmds.some((c) => c.id === jobId && c.kind === 'done')) {
          sent.resolve();
          await held.promise;
        }
        return finish.call(this, runnerId, cmds);
      };
      const runner = a.runner({ workers: 2, pollInterval: '1h' });
      try {
        await runner.start();
        const job = await m.withDelay().work();
        jobId = job.id;
        await sent.promise;
        await loseClaim(a, file, job.id);
        await b.driver.wake('jobs');
        await claims.seen(job.id, 2);
        held.resolve();
        const row = await a.jobs.wait(job.id, WAIT);
        assert.equal(row.state, 'done');
        assert.equal(await job.result(), 'run 1');
        assert.equal(runs, 1, 'the handler ran once');
      } finally {
        a.driver.jobWriteMany = finish;
        claims.restore();
        await runner.stop();
        await dispose();
      }
    });
  });
}
