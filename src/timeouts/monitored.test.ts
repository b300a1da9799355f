import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob, memorySink } from './fixtures.test.ts';
import { monitored, monitoredDecorator } from './monitored.ts';

const context = (name: string) =>
  ({
    kind: 'method',
    name,
    static: false,
    private: false,
    addInitializer() {},
    metadata: {},
  }) as unknown as ClassMethodDecoratorContext<any, any>;

test('an async call over the threshold logs a warning and records a monitor row; the result is kept', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const sink = memorySink();
  const logger = captureLogger();
  const slow = monitored(
    async (n: number) => {
      t.mock.timers.tick(61_000);
      return n * 2;
    },
    { name: 'sync', conveyor: sink, logger },
  );
  assert.equal(await slow(21), 42);
  assert.deepEqual(sink.rows, [
    { operation: 'sync', kind: 'monitor', exceeded: true, thresholdMs: 60_000, durationMs: 61_000, error: null },
  ]);
  assert.deepEqual(logger.messages('warn'), ["timeouts: 'sync' took 61s, over its threshold of 1m"]);
});

test('a call within the threshold records and logs nothing', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const sink = memorySink();
  const logger = captureLogger();
  const fn = monitored(
    async () => {
      t.mock.timers.tick(60_000);
      return 'ok';
    },
    { conveyor: sink, logger },
  );
  assert.equal(await fn(), 'ok');
  assert.deepEqual(sink.rows, []);
  assert.deepEqual(logger.lines, []);
});

test('a synchronous function stays synchronous and is still recorded', (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const sink = memorySink();
  const fn = monitored(
    function crunch(x: number) {
      t.mock.timers.tick(5);
      return x + 1;
    },
    { threshold: 1, conveyor: sink, logger: captureLogger() },
  );
  const result: number = fn(1);
  assert.equal(result, 2);
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.durationMs, r.thresholdMs]),
    [['crunch', 5, 1]],
  );
});

test('a failing call over the threshold records the error and rethrows it', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const sink = memorySink();
  const fn = monitored(
    async () => {
      t.mock.timers.tick(2000);
      throw new Error('api down');
    },
    { threshold: '1s', name: 'call', conveyor: sink, logger: captureLogger() },
  );
  await assert.rejects(fn(), /api down/);
  assert.deepEqual(sink.rows, [
    { operation: 'call', kind: 'monitor', exceeded: true, thresholdMs: 1000, durationMs: 2000, error: 'api down' },
  ]);
  const syncFail = monitored(
    () => {
      t.mock.timers.tick(2000);
      throw new Error('sync down');
    },
    { threshold: '1s', name: 's', conveyor: sink, logger: captureLogger() },
  );
  assert.throws(() => syncFail(), /sync down/);
  assert.equal(sink.rows[1]!.error, 'sync down');
});

test('inside a job the row goes to the job', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const job = fakeJob({ id: 11 });
  const fn = monitored(
    async () => {
      t.mock.timers.tick(10);
    },
    { threshold: 5, name: 'step', logger: captureLogger() },
  );
  await runAsJob(job, () => fn());
  assert.deepEqual(
    job.rows.map((r) => [r.operation, r.kind, r.jobId]),
    [['step', 'monitor', 11]],
  );
});

test('monitoredDecorator (applied by hand) names the row Class.method and never aborts', async (t) => {
  t.mock.timers.enable({ apis: ['Date'], now: 0 });
  const sink = memorySink();
  class PartnerSync {
    async run(): Promise<string> {
      t.mock.timers.tick(31_000);
      return 'synced';
    }
    count(): number {
      t.mock.timers.tick(1);
      return 3;
    }
  }
  PartnerSync.prototype.run = monitoredDecorator('30s', { conveyor: sink, logger: captureLogger() })(
    PartnerSync.prototype.run,
    context('run'),
  );
  PartnerSync.prototype.count = monitored({ threshold: 0, conveyor: sink, logger: captureLogger() })(
    PartnerSync.prototype.count,
    context('count'),
  );
  const s = new PartnerSync();
  assert.equal(await s.run(), 'synced');
  assert.equal(s.count(), 3);
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.thresholdMs]),
    [
      ['PartnerSync.run', 30_000],
      ['PartnerSync.count', 0],
    ],
  );
  assert.equal(typeof monitored('60s'), 'function');
});

test('invalid thresholds are configuration errors', () => {
  assert.throws(() => monitored(() => 1, { threshold: 'a while' }), ConfigurationError);
  assert.throws(() => monitoredDecorator(-1), ConfigurationError);
  assert.throws(() => monitoredDecorator({ threshold: '1s' } as never), ConfigurationError);
});
