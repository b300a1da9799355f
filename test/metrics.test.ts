/**
 * Metrics an application serves itself: `conveyor.metrics()` (Prometheus text) and
 * `conveyor.metrics.register(registry)` (prom-client), on SQLite and PostgreSQL. The queue gauges come
 * from the database (two instances on one store report the same figures), the counters per process.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { BACKENDS, uniqueSchema, type Backend } from './helpers/backends.ts';
import { ValidationError, type Conveyor, type JobContext } from '../src/index.ts';
import { createFakeClock } from '../src/testing/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-metrics-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2026, 0, 1, 12);

async function pair(backend: Backend): Promise<{ a: Conveyor; b: Conveyor; close(): Promise<void> }> {
  const clock = createFakeClock(T0);
  const shared = { channels: 'root:2,root.mail:1', clock };
  if (backend.name === 'sqlite') {
    const database = `sqlite:${join(dir, `${uniqueSchema('m')}.db`)}`;
    const a = await backend.open({ ...shared, database });
    const b = await backend.open({ ...shared, database });
    return {
      a,
      b,
      close: async () => {
        await b.close();
        await a.close();
      },
    };
  }
  const schema = uniqueSchema('mx');
  const a = await backend.open({ ...shared, schema });
  const b = await backend.open({ ...shared, schema });
  return {
    a,
    b,
    close: async () => {
      await b.close();
      await backend.dispose(a);
    },
  };
}

/** The value of one sample line, or undefined. */
function sample(text: string, line: string): number | undefined {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  return found === undefined ? undefined : Number(found.slice(line.length + 1));
}

function define(c: Conveyor) {
  return c.model(
    'mx.jobs',
    {
      async ok(_job: JobContext, n: number) {
        return n;
      },
      async later() {
        return 0;
      },
    },
    { later: { channel: 'root.mail' } },
  );
}

for (const backend of BACKENDS) {
  describe(`metrics on ${backend.name}`, () => {
    it('queue gauges come from the database, counters from this process', async () => {
      const { a, b, close } = await pair(backend);
      try {
        const ma = define(a);
        define(b);
        a.metrics.start(); // counters count from here (else from the first metrics() call)
        b.metrics.start();
        const runner = a.runner({ workers: 2, channels: 'root:2' });
        await runner.start();
        try {
          await Promise.all([(await ma.withDelay().ok(1)).wait(), (await ma.withDelay().ok(2)).wait()]);
        } finally {
          await runner.stop();
        }
        // pending, nobody runs them: the oldest has waited since its creation, or its ETA when that is later
        const clock = a.clock as ReturnType<typeof createFakeClock>;
        await ma.withDelay({ channel: 'root.mail' }).later();
        clock.advance('30s');
        await ma.withDelay({ channel: 'root.mail' }).later();
        await ma.withDelay({ eta: '60s' }).ok(4);
        await ma.withDelay({ eta: '1h' }).ok(3);
        clock.advance('70s');

        const [ta, tb] = [await a.metrics(), await b.metrics()];
        for (const text of [ta, tb]) {
          assert.equal(sample(text, 'conveyor_jobs{state="done"}'), 2);
          assert.equal(sample(text, 'conveyor_jobs{state="pending"}'), 4);
          assert.equal(sample(text, 'conveyor_channel_jobs{state="pending",channel="root.mail"}'), 2);
          assert.equal(sample(text, 'conveyor_oldest_pending_age_seconds{channel="root.mail"}'), 100);
          assert.equal(
            sample(text, 'conveyor_oldest_pending_age_seconds{channel="root"}'),
            10,
            'due for 10 s (ETA 60 s after creation)',
          );
          assert.equal(sample(text, 'conveyor_channel_capacity{channel="root.mail"}'), 1);
        }
        assert.equal(
          sample(ta, 'conveyor_jobs_done_total{model="mx.jobs",method="ok"}'),
          2,
          "the runner's process counts its jobs",
        );
        assert.equal(sample(ta, 'conveyor_job_duration_seconds_count{model="mx.jobs",method="ok",channel="root"}'), 2);
        assert.equal(
          sample(tb, 'conveyor_jobs_done_total{model="mx.jobs",method="ok"}'),
          undefined,
          'another process counts nothing',
        );
        assert.match(tb, /^# TYPE conveyor_jobs_done_total counter$/m);
      } finally {
        await close();
      }
    });

    it('feeds a prom-client registry with the same families (one database read per scrape)', async () => {
      const c = await backend.open({ channels: 'root:2' });
      try {
        const m = define(c);
        const registry = new Registry();
        registry.setDefaultLabels({ app: 'shop' });
        c.metrics.register(registry);
        const runner = c.runner({ workers: 1 });
        await runner.start();
        try {
          await (await m.withDelay().ok(1)).wait();
        } finally {
          await runner.stop();
        }
        let reads = 0;
        const count = c.jobs.count.bind(c.jobs);
        c.jobs.count = (async (...args: Parameters<typeof count>) => {
          reads++;
          return count(...args);
        }) as typeof count;
        const text = await registry.metrics();
        assert.equal(reads, 2, 'one collection (two grouped counts) for every family');
        assert.equal(sample(text, 'conveyor_jobs{state="done",app="shop"}'), 1);
        assert.equal(sample(text, 'conveyor_jobs_done_total{model="mx.jobs",method="ok",app="shop"}'), 1);
        assert.equal(
          sample(
            text,
            'conveyor_job_duration_seconds_bucket{model="mx.jobs",method="ok",channel="root",le="+Inf",app="shop"}',
          ),
          1,
        );
        assert.match(text, /^# TYPE conveyor_job_duration_seconds histogram$/m);
        const json = await registry.getMetricsAsJSON();
        const agg = Object.fromEntries(json.map((x) => [x.name, x.aggregator]));
        assert.equal(agg.conveyor_jobs, 'first');
        assert.equal(agg.conveyor_jobs_done_total, 'sum');
        // the same figures as the text of conveyor.metrics()
        const own = await c.metrics();
        assert.equal(sample(own, 'conveyor_jobs{state="done"}'), 1);
        assert.equal(sample(own, 'conveyor_jobs_done_total{model="mx.jobs",method="ok"}'), 1);
        assert.throws(() => c.metrics.register({} as never), ValidationError);
      } finally {
        await backend.dispose(c);
      }
    });
  });
}
