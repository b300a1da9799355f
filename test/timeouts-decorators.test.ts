/**
 * The toolkit's decorators used with real `@decorator` syntax. Node's type stripping cannot run
 * decorators, so the fixtures in test/timeouts-decorators/ are compiled by tsc into a temporary folder
 * under test-artifacts/ (git-ignored), then imported from there.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type * as Decorated from './timeouts-decorators/decorated.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
let outDir = '';
let mod: typeof Decorated;

/** Let pending promise callbacks run (setImmediate is not mocked below). */
const settle = () => new Promise((resolve) => setImmediate(resolve));

before(
  async () => {
    mkdirSync(join(root, 'test-artifacts'), { recursive: true });
    outDir = mkdtempSync(join(root, 'test-artifacts', 'decorators-'));
    const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc');
    const run = spawnSync(
      process.execPath,
      [tsc, '-p', join(root, 'test', 'timeouts-decorators'), '--outDir', outDir],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 120_000,
      },
    );
    const output = `${run.stdout ?? ''}${run.stderr ?? ''}`;
    // Errors elsewhere in the tree (other work in progress) do not stop the emit; ours must not exist.
    const ours = output.split('\n').filter((line) => /(test\/timeouts-decorators|src\/timeouts)\//.test(line));
    assert.deepEqual(ours, [], `tsc reported errors in the decorator fixtures or the toolkit:\n${output}`);
    const compiled = join(outDir, 'test', 'timeouts-decorators', 'decorated.js');
    assert.ok(
      existsSync(compiled),
      `tsc did not emit ${compiled} (exit ${String(run.status)}):\n${output}${run.error ? String(run.error) : ''}`,
    );
    mod = (await import(pathToFileURL(compiled).href)) as typeof Decorated;
  },
  { timeout: 150_000 },
);

after(() => {
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

test('@timeout rejects at the limit, aborts currentTimeoutSignal() and records Class.method', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  mod.rows.length = 0;
  const e = new mod.Exporter();
  assert.equal(await e.double(21), 42);
  const p = e.hang();
  assert.equal(e.seen?.aborted, false);
  t.mock.timers.tick(1000);
  await assert.rejects(
    p,
    (err: unknown) =>
      err instanceof mod.TimeoutError && /'Exporter\.hang' exceeded its time limit of 1s/.test(err.message),
  );
  assert.equal(e.seen?.aborted, true);
  assert.deepEqual(
    mod.rows.map((r) => [r.operation, r.kind, r.exceeded, r.thresholdMs, r.durationMs]),
    [['Exporter.hang', 'timeout', true, 1000, 1000]],
  );

  const s = mod.Exporter.ping();
  t.mock.timers.tick(50);
  await assert.rejects(s, mod.TimeoutError);
  assert.equal(mod.rows.at(-1)?.operation, 'ping');
});

test('@retryOnTimeout above @timeout retries each timed-out try with backoff', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  mod.rows.length = 0;
  mod.sleeps.length = 0;
  const r = new mod.Rates();
  const p = r.load();
  t.mock.timers.tick(100);
  await settle();
  assert.equal(r.calls, 2);
  t.mock.timers.tick(100);
  assert.equal(await p, 'rates');
  assert.equal(r.calls, 3);
  assert.deepEqual(mod.sleeps, [2000, 4000]);
  assert.deepEqual(
    mod.rows.map((row) => row.operation),
    ['Rates.load', 'Rates.load'],
  );

  mod.sleeps.length = 0;
  await assert.rejects(r.alwaysTimesOut(), /always/);
  assert.equal(r.other, 2);
  assert.deepEqual(mod.sleeps, [10]);
});

test('@monitored never aborts and records only calls over the threshold', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  mod.rows.length = 0;
  const s = new mod.Sync();
  assert.equal(await s.slow(() => t.mock.timers.tick(31_000)), 'synced');
  assert.equal(await s.slow(() => t.mock.timers.tick(1_000)), 'synced');
  assert.equal(
    s.count(() => t.mock.timers.tick(45_000)),
    3,
  );
  assert.deepEqual(
    mod.rows.map((r) => [r.operation, r.kind, r.durationMs]),
    [
      ['Sync.slow', 'monitor', 31_000],
      ['Sync.count', 'monitor', 45_000],
    ],
  );
});

test("inside a job a decorated method follows the job's signal", async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  mod.rows.length = 0;
  const jobRows: unknown[] = [];
  const controller = new AbortController();
  const job = {
    id: 1,
    model: 'm',
    method: 'x',
    signal: controller.signal,
    async progress() {},
    checkpoint: { get: () => undefined, async set() {} },
    async recordTimeout(entry: unknown) {
      jobRows.push(entry);
    },
  };
  const e = new mod.Exporter();
  const p = mod.runAsJob(job, () => e.hang());
  controller.abort(new Error('job cancelled'));
  await assert.rejects(p, /job cancelled/);
  assert.equal(e.seen?.aborted, true);
  assert.deepEqual([jobRows, mod.rows], [[], []]); // a parent abort is not a timeout of this method
});
