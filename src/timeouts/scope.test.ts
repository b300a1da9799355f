import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, TimeoutError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob, memorySink } from './fixtures.test.ts';
import { timeoutScope } from './scope.ts';

test('a scope disposed in time records nothing and clears its timer', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  const scope = timeoutScope('10m', 'Export', { conveyor: sink });
  assert.equal(scope.name, 'Export');
  assert.equal(scope.limitMs, 600_000);
  assert.equal(scope.remainingMs, 600_000);
  t.mock.timers.tick(60_000);
  assert.equal(scope.elapsedMs, 60_000);
  assert.equal(scope.remainingMs, 540_000);
  assert.equal(scope.expired, false);
  scope.check();
  scope[Symbol.dispose]();
  t.mock.timers.tick(600_000);
  assert.equal(scope.signal.aborted, false);
  assert.deepEqual(sink.rows, []);
});

test('past the limit the signal aborts, check() throws TimeoutError, and disposing records the row', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  const logger = captureLogger();
  const scope = timeoutScope(1000, 'Export', { conveyor: sink, logger });
  t.mock.timers.tick(1000);
  assert.equal(scope.signal.aborted, true);
  assert.ok(scope.signal.reason instanceof TimeoutError);
  assert.equal(scope.expired, true);
  assert.equal(scope.remainingMs, 0);
  assert.throws(
    () => scope.check(),
    (err) => err instanceof TimeoutError && /'Export' exceeded its time limit of 1s/.test(err.message),
  );
  t.mock.timers.tick(250);
  await scope[Symbol.asyncDispose]();
  assert.deepEqual(sink.rows, [
    {
      operation: 'Export',
      kind: 'timeout',
      exceeded: true,
      thresholdMs: 1000,
      durationMs: 1250,
      error: "operation 'Export' exceeded its time limit of 1s",
    },
  ]);
  scope[Symbol.dispose](); // idempotent
  assert.equal(sink.rows.length, 1);
  assert.equal(logger.messages('warn').length, 1);
});

test('check() compares with the clock, so it works where the timer could not fire (busy loop)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  const scope = timeoutScope(500, 'busy', { conveyor: sink, logger: captureLogger() });
  t.mock.timers.setTime(700); // time moves, the timer has not run
  assert.equal(scope.signal.aborted, false);
  assert.throws(() => scope.check(), TimeoutError);
  assert.equal(scope.signal.aborted, true);
  await scope[Symbol.asyncDispose]();
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.durationMs]),
    [['busy', 700]],
  );
});

test('works with the using declaration, recording into the running job', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const job = fakeJob({ id: 3 });
  await runAsJob(job, async () => {
    {
      await using scope = timeoutScope('2s', 'Export', { logger: captureLogger() });
      t.mock.timers.tick(2000);
      assert.throws(() => scope.check(), TimeoutError);
    }
    {
      using quick = timeoutScope('2s', 'Quick');
      quick.check();
    }
  });
  assert.deepEqual(
    job.rows.map((r) => [r.operation, r.jobId, r.thresholdMs]),
    [['Export', 3, 2000]],
  );
});

test('a parent signal ends the scope with its reason and writes no row', (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const parent = new AbortController();
  const sink = memorySink();
  const scope = timeoutScope('1h', 'child', { signal: parent.signal, conveyor: sink });
  parent.abort(new Error('shutdown'));
  assert.equal(scope.signal.aborted, true);
  assert.throws(() => scope.check(), /shutdown/);
  scope[Symbol.dispose]();
  assert.deepEqual(sink.rows, []);
  const job = fakeJob();
  job.controller.abort(new Error('job cancelled'));
  runAsJob(job, () => {
    const inJob = timeoutScope('1h', 'in job');
    assert.throws(() => inJob.check(), /job cancelled/);
    inJob[Symbol.dispose]();
  });
});

test('an invalid limit is a configuration error', () => {
  assert.throws(() => timeoutScope('ten minutes', 'x'), ConfigurationError);
});
