/**
 * The job context (queue_job's env.context): allow-listed keys captured at enqueue, restored while the
 * job runs, propagated to jobs enqueued from inside a job; custom `contextKeys`. SQLite and PostgreSQL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, type Backend } from './helpers/backends.ts';
import { chain, type Conveyor, type ConveyorOptions, type JobContext, type Model } from '../src/index.ts';

interface Seen {
  name: string;
  jobContext: Record<string, unknown>;
  ambient: Record<string, unknown>;
}

async function setup(backend: Backend, options: ConveyorOptions = {}) {
  const conveyor = await backend.open(options);
  const seen: Seen[] = [];
  const methods = {
    async probe(job: JobContext, name: string) {
      seen.push({ name, jobContext: { ...job.context }, ambient: { ...conveyor.context.get() } });
      return name;
    },
    /** Enqueues a child job from inside the job, optionally in a nested context. */
    async parent(job: JobContext, override: Record<string, unknown> | null): Promise<number> {
      seen.push({ name: 'parent', jobContext: { ...job.context }, ambient: { ...conveyor.context.get() } });
      const child = override
        ? await conveyor.context.run(override, () => probes.withDelay().probe('child'))
        : await probes.withDelay().probe('child');
      return child.id;
    },
  };
  const probes: Model<typeof methods> = conveyor.model('ctx.probe', methods);
  return { conveyor, probes, seen };
}

async function withSetup(
  backend: Backend,
  fn: (s: Awaited<ReturnType<typeof setup>>) => Promise<void>,
  options?: ConveyorOptions,
): Promise<void> {
  const s = await setup(backend, options);
  try {
    await fn(s);
  } finally {
    await backend.dispose(s.conveyor);
  }
}

async function startRunner(conveyor: Conveyor) {
  const runner = conveyor.runner({ workers: 2 });
  await runner.start();
  return runner;
}

const ctx = { tz: 'Europe/Brussels', lang: 'fr', secret: 1 };
const stored = { tz: 'Europe/Brussels', lang: 'fr' };

for (const backend of BACKENDS) {
  describe(`context on ${backend.name}`, () => {
    test('only allow-listed keys are stored with the job', () =>
      withSetup(backend, async ({ conveyor, probes }) => {
        const job = await conveyor.context.run(ctx, () => probes.withDelay().probe('a'));
        assert.deepEqual((await job.refresh()).context, stored);
        const bare = await probes.withDelay().probe('b');
        assert.equal((await bare.refresh()).context, null);
        const none = await conveyor.context.run({ secret: 2 }, () => probes.withDelay().probe('c'));
        assert.equal((await none.refresh()).context, null);
      }));

    test('the stored context is restored while the job runs (job.context and conveyor.context.get())', () =>
      withSetup(backend, async ({ conveyor, probes, seen }) => {
        const job = await conveyor.context.run(ctx, () => probes.withDelay().probe('a'));
        const bare = await probes.withDelay().probe('b');
        await startRunner(conveyor);
        await Promise.all([job.wait(), bare.wait()]);
        const byName = new Map(seen.map((s) => [s.name, s]));
        assert.deepEqual(byName.get('a'), { name: 'a', jobContext: stored, ambient: stored });
        assert.deepEqual(byName.get('b'), { name: 'b', jobContext: {}, ambient: {} });
      }));

    test("a running runner woken by the enqueue does not leak the caller's context into the job", () =>
      withSetup(backend, async ({ conveyor, probes, seen }) => {
        await startRunner(conveyor);
        const job = await conveyor.context.run(ctx, () =>
          chain(probes.delayable().probe('a'), probes.delayable().probe('b')).delay(),
        );
        await job[1]!.wait();
        for (const s of seen) assert.deepEqual(s.ambient, stored, `${s.name} ran with ${JSON.stringify(s.ambient)}`);
      }));

    test('jobs enqueued from inside a job inherit its context; a nested context.run overrides it', () =>
      withSetup(backend, async ({ conveyor, probes, seen }) => {
        const inherit = await conveyor.context.run(ctx, () => probes.withDelay().parent(null));
        const override = await conveyor.context.run(ctx, () => probes.withDelay().parent({ tz: 'UTC', secret: 3 }));
        await startRunner(conveyor);
        const childA = (await inherit.result()) as number;
        const childB = (await override.result()) as number;
        const rowA = await conveyor.jobs.wait(childA);
        const rowB = await conveyor.jobs.wait(childB);
        assert.deepEqual(rowA.context, stored);
        assert.deepEqual(rowB.context, { tz: 'UTC', lang: 'fr' });
        const children = seen.filter((s) => s.name === 'child').map((s) => s.jobContext);
        assert.deepEqual(
          children.sort((x, y) => String(x.tz).localeCompare(String(y.tz))),
          [stored, { tz: 'UTC', lang: 'fr' }],
        );
      }));

    test('every job of a graph captures the context', () =>
      withSetup(backend, async ({ conveyor, probes }) => {
        const jobs = await conveyor.context.run(ctx, () =>
          chain(probes.delayable().probe('a'), probes.delayable().probe('b')).delay(),
        );
        for (const j of jobs) assert.deepEqual((await j.refresh()).context, stored);
      }));

    test('custom contextKeys replace the default allow-list', () =>
      withSetup(
        backend,
        async ({ conveyor, probes, seen }) => {
          assert.deepEqual(conveyor.context.keys, ['tenant', 'tz']);
          const job = await conveyor.context.run({ tenant: 'acme', tz: 'UTC', lang: 'fr' }, () =>
            probes.withDelay().probe('a'),
          );
          assert.deepEqual((await job.refresh()).context, { tenant: 'acme', tz: 'UTC' });
          await startRunner(conveyor);
          await job.wait();
          assert.deepEqual(seen[0]!.jobContext, { tenant: 'acme', tz: 'UTC' });
        },
        { contextKeys: ['tenant', 'tz'] },
      ));

    test("the default allow-list is queue_job's, in camelCase; context.run merges over the outer context", () =>
      withSetup(backend, async ({ conveyor }) => {
        assert.deepEqual(conveyor.context.keys, ['tz', 'lang', 'allowedCompanyIds', 'forceCompany', 'activeTest']);
        const inner = conveyor.context.run({ tz: 'UTC', allowedCompanyIds: [1, 2] }, () =>
          conveyor.context.run({ lang: 'nl', activeTest: false }, () => conveyor.context.capture()),
        );
        assert.deepEqual(inner, { tz: 'UTC', allowedCompanyIds: [1, 2], lang: 'nl', activeTest: false });
        assert.deepEqual(conveyor.context.get(), {});
      }));

    test("a direct call runs inline with the caller's context", () =>
      withSetup(backend, async ({ conveyor, probes, seen }) => {
        assert.equal(await conveyor.context.run(ctx, () => probes.probe('inline')), 'inline');
        assert.deepEqual(seen[0]!.ambient, ctx);
        assert.deepEqual(seen[0]!.jobContext, ctx);
      }));
  });
}
