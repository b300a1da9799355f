/**
 * The adaptive claim with default runner options, end to end on both backends: the buffer grows for
 * short jobs and stays small for long ones, never passes its bounds, lets a high-priority job enqueued
 * later overtake the buffered work, and two runners share one queue.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conveyor, type JobContext } from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

/** Conveyor instances sharing one store: a file for SQLite, a schema for PostgreSQL. */
async function openShared(backend: string, n: number): Promise<{ all: Conveyor[]; dispose(): Promise<void> }> {
  const all: Conveyor[] = [];
  if (backend === 'sqlite') {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-adaptive-'));
    for (let i = 0; i < n; i++)
      all.push(await Conveyor.open({ database: `sqlite:${path.join(dir, 'q.db')}`, logger: 'silent' }));
    return {
      all,
      dispose: async () => {
        for (const c of all) await c.close();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const schema = uniqueSchema('ad');
  for (let i = 0; i < n; i++)
    all.push(await Conveyor.open({ database: PG_URL, schema, logger: 'silent', dbMaxconn: 4 }));
  return {
    all,
    dispose: async () => {
      await (all[0]!.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
      for (const c of all) await c.close();
    },
  };
}

/** Record every claim's `wanted` and the runner's prefetch at that moment. */
function spyClaims(c: Conveyor, prefetch: () => number): { wanted: number[]; prefetch: number[] } {
  const seen = { wanted: [] as number[], prefetch: [] as number[] };
  const driver = c.driver;
  const original = driver.jobClaim;
  driver.jobClaim = function (p) {
    seen.wanted.push(p.wanted);
    seen.prefetch.push(prefetch());
    return original.call(this, p);
  };
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

for (const backend of BACKENDS) {
  describe(`adaptive claim on ${backend.name} (default runner options)`, () => {
    const disposers: (() => Promise<void>)[] = [];
    after(async () => {
      for (const d of disposers) await d();
    });

    it('grows the buffer past one job per slot for short jobs, within its bounds', async () => {
      const {
        all: [c],
        dispose,
      } = await openShared(backend.name, 1);
      disposers.push(dispose);
      const m = c!.model('m', {
        async noop(job: JobContext) {
          return job.id;
        },
      });
      const runner = c!.runner({ workers: 4 });
      const seen = spyClaims(c!, () => runner.prefetch);
      assert.equal(runner.prefetch, 4, 'one job per slot before anything is observed');
      await c!.delayMany(Array.from({ length: 3000 }, () => m.delayable().noop()));
      await runner.start();
      await c!.jobs.wait((await m.withDelay({ priority: 99 }).noop()).id, { timeoutMs: 60_000 });
      assert.deepEqual(await c!.jobs.count({ groupBy: ['state'] }), [{ key: { state: 'done' }, count: 3001 }]);
      assert.ok(
        Math.max(...seen.prefetch) > 4,
        `the buffer grew: prefetch seen ${JSON.stringify([...new Set(seen.prefetch)])}`,
      );
      assert.ok(
        seen.wanted.every((w) => w <= 4 + 500),
        `no claim asked for more than workers + 500: ${Math.max(...seen.wanted)}`,
      );
      assert.ok(seen.prefetch.every((p) => p >= 0 && p <= 500));
      await runner.stop();
    });

    it('keeps the buffer to a few jobs when jobs are long, so a high-priority job enqueued later overtakes the queue', async () => {
      const {
        all: [c],
        dispose,
      } = await openShared(backend.name, 1);
      disposers.push(dispose);
      const order: string[] = [];
      const m = c!.model('m', {
        async slow(_job: JobContext, i: number) {
          order.push(`slow ${i}`);
          await sleep(20);
        },
        async urgent() {
          order.push('urgent');
        },
      });
      const runner = c!.runner({ workers: 1 });
      await c!.delayMany(Array.from({ length: 80 }, (_, i) => m.delayable().slow(i)));
      let enqueuedAt = -1;
      const urgentDone = new Promise<void>((resolve) => {
        c!.events.on('job_done', (e) => {
          if (e.method === 'urgent') resolve();
          else if (e.method === 'slow' && order.length >= 15 && enqueuedAt < 0) {
            enqueuedAt = order.length;
            void m.withDelay({ priority: 0 }).urgent();
          }
        });
      });
      await runner.start();
      await urgentDone;
      const ranBefore = order.indexOf('urgent') - enqueuedAt;
      // at most the job running and the few buffered (50 ms of 20 ms jobs) start before it; with a fixed
      // prefetch of 500 the whole queue would
      assert.ok(
        ranBefore <= 4,
        `${ranBefore} slow jobs started between the urgent job's enqueue and its start (prefetch ${runner.prefetch})`,
      );
      assert.ok(runner.prefetch <= 3, `prefetch ${runner.prefetch} for 20 ms jobs on one slot`);
      await runner.stop();
    });

    it('two runners with default options share one queue', async () => {
      const {
        all: [a, b],
        dispose,
      } = await openShared(backend.name, 2);
      disposers.push(dispose);
      const TOTAL = 800;
      const ranBy = { a: 0, b: 0 };
      let finished!: () => void;
      const allDone = new Promise<void>((resolve) => {
        finished = resolve;
      });
      const count = (who: 'a' | 'b') => async (job: JobContext) => {
        ranBy[who]++;
        if (ranBy.a + ranBy.b === TOTAL) finished();
        await sleep(1);
        return job.id;
      };
      const ma = a!.model('m', { noop: count('a') });
      b!.model('m', { noop: count('b') });
      const ra = a!.runner({ workers: 4 });
      const rb = b!.runner({ workers: 4 });
      await ra.start();
      await rb.start();
      await a!.delayMany(Array.from({ length: TOTAL }, () => ma.delayable().noop()));
      await allDone;
      await ra.stop();
      await rb.stop();
      assert.deepEqual(
        await a!.jobs.count({ groupBy: ['state'] }),
        [{ key: { state: 'done' }, count: TOTAL }],
        'each job ran once',
      );
      assert.equal(ranBy.a + ranBy.b, TOTAL);
      assert.ok(Math.min(ranBy.a, ranBy.b) >= TOTAL * 0.2, `shares: a ${ranBy.a}, b ${ranBy.b}`);
    });

    it('warns once at start when workers exceed what the root channel allows', async () => {
      const lines: string[] = [];
      const logger = {
        debug() {},
        info() {},
        error() {},
        warn(a: unknown, b?: string) {
          lines.push(typeof a === 'string' ? a : (b ?? ''));
        },
        child() {
          return logger;
        },
      };
      const c = await Conveyor.open({ database: 'sqlite::memory:', channels: 'root:2', logger });
      disposers.push(() => c.close());
      const runner = c.runner({ workers: 8 });
      await runner.start();
      await runner.stop();
      const warned = lines.filter((l) => l.includes('slot(s) will stay idle'));
      assert.equal(warned.length, 1, lines.join('\n'));
      assert.match(warned[0]!, /8 workers but channel root allows 2/);
      const quiet = c.runner({ workers: 2 });
      await quiet.start();
      await quiet.stop();
      assert.equal(lines.filter((l) => l.includes('slot(s) will stay idle')).length, 1);
    });
  });
}
