import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, TimeoutError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob, memorySink } from './fixtures.test.ts';
import { currentTimeoutSignal } from './shared.ts';
import { timeout, timeoutContext, withTimeout, withTimeoutDecorator } from './with-timeout.ts';

const never = () => new Promise<never>(() => {});

/** A fake decorator context, to apply decorator functions without decorator syntax. */
function methodContext(name: string): ClassMethodDecoratorContext<any, any> {
  return {
    kind: 'method',
    name,
    static: false,
    private: false,
    access: { has: () => true, get: () => undefined },
    addInitializer() {},
    metadata: {},
  } as unknown as ClassMethodDecoratorContext<any, any>;
}

test('withTimeout rejects with TimeoutError at the limit even when fn ignores the signal, aborts the signal and records a row', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000 });
  const sink = memorySink();
  const logger = captureLogger();
  let seen: AbortSignal | undefined;
  const p = withTimeout(
    1500,
    (signal) => {
      seen = signal;
      return never();
    },
    { name: 'Export', conveyor: sink, logger },
  );
  assert.equal(seen?.aborted, false);
  t.mock.timers.tick(1500);
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TimeoutError);
    assert.equal(err.code, 'TIMEOUT');
    assert.equal(err.limitMs, 1500);
    assert.match(err.message, /'Export'/);
    assert.match(err.message, /1\.5s/);
    return true;
  });
  assert.equal(seen?.aborted, true);
  assert.ok(seen?.reason instanceof TimeoutError);
  assert.deepEqual(sink.rows, [
    {
      operation: 'Export',
      kind: 'timeout',
      exceeded: true,
      thresholdMs: 1500,
      durationMs: 1500,
      error: "operation 'Export' exceeded its time limit of 1.5s",
    },
  ]);
  assert.equal(logger.messages('warn').length, 1);
});

test('withTimeout resolves with the value and records nothing when fn finishes in time', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'] });
  const sink = memorySink();
  let signal: AbortSignal | undefined;
  const value = await withTimeout(
    '5m',
    async (s) => {
      signal = s;
      return 7;
    },
    { conveyor: sink },
  );
  assert.equal(value, 7);
  t.mock.timers.tick(10 * 60_000); // the timer was cleared: nothing fires
  assert.equal(signal?.aborted, false);
  assert.deepEqual(sink.rows, []);
});

test('withTimeout accepts a synchronous function', async () => {
  assert.equal(await withTimeout(1000, () => 'sync'), 'sync');
});

test('inside a job, the row goes to the job (which fills model, method and job id)', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const job = fakeJob({ id: 7, model: 'sale.order', method: 'confirm' });
  const p = runAsJob(job, () => withTimeout(100, () => never(), { logger: captureLogger() }));
  t.mock.timers.tick(100);
  await assert.rejects(p, TimeoutError);
  assert.equal(job.rows.length, 1);
  assert.deepEqual(job.rows[0], {
    operation: 'sale.order.confirm',
    kind: 'timeout',
    exceeded: true,
    thresholdMs: 100,
    durationMs: 100,
    error: "operation 'sale.order.confirm' exceeded its time limit of 100ms",
    model: 'sale.order',
    method: 'confirm',
    jobId: 7,
  });
});

test('an explicit sink wins over the job and gets the job fields', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const job = fakeJob({ id: 9 });
  const sink = memorySink();
  const p = runAsJob(job, () => withTimeout(10, never, { name: 'op', conveyor: sink, logger: captureLogger() }));
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  assert.deepEqual(job.rows, []);
  assert.equal(sink.rows.length, 1);
  assert.equal(sink.rows[0]!.jobId, 9);
  assert.equal(sink.rows[0]!.model, 'res.partner');
  assert.equal(sink.rows[0]!.method, 'export');
});

test('with no sink and no job the timeout is only logged', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const logger = captureLogger();
  const p = withTimeout(10, never, { name: 'lonely', logger });
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  assert.deepEqual(logger.messages('warn'), ["timeouts: operation 'lonely' exceeded its time limit of 10ms"]);
});

test('a failing sink is logged and never thrown into user code', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const logger = captureLogger();
  const sink = {
    recordTimeout() {
      throw new Error('disk full');
    },
  };
  const p = withTimeout(10, never, { name: 'op', conveyor: sink, logger });
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  assert.deepEqual(logger.messages('error'), ['timeouts: could not record the timeout log row']);
  const rejecting = { recordTimeout: () => Promise.reject(new Error('gone')) };
  const q = withTimeout(10, never, { name: 'op', conveyor: rejecting, logger });
  t.mock.timers.tick(10);
  await assert.rejects(q, TimeoutError);
  assert.equal(logger.messages('error').length, 2);
});

test('a parent signal aborts the operation with its own reason and records nothing', async () => {
  const parent = new AbortController();
  const sink = memorySink();
  let inner: AbortSignal | undefined;
  const p = withTimeout(
    '1h',
    (signal) => {
      inner = signal;
      return never();
    },
    { signal: parent.signal, conveyor: sink },
  );
  const reason = new Error('client went away');
  parent.abort(reason);
  await assert.rejects(p, (err) => err === reason);
  assert.equal(inner?.aborted, true);
  assert.equal(inner?.reason, reason);
  assert.deepEqual(sink.rows, []);
});

test('an already aborted parent rejects at once without calling fn', async () => {
  const parent = new AbortController();
  parent.abort(new Error('too late'));
  let called = false;
  await assert.rejects(
    withTimeout(
      1000,
      () => {
        called = true;
      },
      { signal: parent.signal },
    ),
    /too late/,
  );
  assert.equal(called, false);
});

test("inside a job, the operation follows the job's signal", async () => {
  const job = fakeJob();
  let inner: AbortSignal | undefined;
  const p = runAsJob(job, () =>
    withTimeout('1h', (signal) => {
      inner = signal;
      return never();
    }),
  );
  job.controller.abort(new Error('job cancelled'));
  await assert.rejects(p, /job cancelled/);
  assert.equal(inner?.aborted, true);
  assert.deepEqual(job.rows, []);
});

test('currentTimeoutSignal returns the innermost signal; a nested withTimeout follows the outer one', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  assert.equal(currentTimeoutSignal(), undefined);
  let outerSignal: AbortSignal | undefined;
  let innerSignal: AbortSignal | undefined;
  const sink = memorySink();
  const p = withTimeout(
    100,
    async (outer) => {
      outerSignal = outer;
      assert.equal(currentTimeoutSignal(), outer);
      return withTimeout(
        1000,
        (inner) => {
          innerSignal = inner;
          assert.equal(currentTimeoutSignal(), inner);
          return never();
        },
        { name: 'inner', conveyor: sink },
      );
    },
    { name: 'outer', conveyor: sink, logger: captureLogger() },
  );
  t.mock.timers.tick(100);
  await assert.rejects(p, (err) => err instanceof TimeoutError && /'outer'/.test(err.message));
  assert.equal(outerSignal?.aborted, true);
  assert.equal(innerSignal?.aborted, true);
  assert.deepEqual(
    sink.rows.map((r) => r.operation),
    ['outer'],
  );
  const job = fakeJob();
  runAsJob(job, () => assert.equal(currentTimeoutSignal(), job.signal));
});

test('errors of fn propagate unchanged and write no row', async () => {
  const sink = memorySink();
  await assert.rejects(
    withTimeout(
      1000,
      () => {
        throw new RangeError('sync');
      },
      { conveyor: sink },
    ),
    RangeError,
  );
  await assert.rejects(
    withTimeout(
      1000,
      async () => {
        throw new TypeError('async');
      },
      { conveyor: sink },
    ),
    TypeError,
  );
  assert.deepEqual(sink.rows, []);
});

test('a late error of an abandoned fn does not become an unhandled rejection', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let fail!: (err: Error) => void;
  const p = withTimeout(
    10,
    () =>
      new Promise((_, reject) => {
        fail = reject;
      }),
    { logger: captureLogger() },
  );
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  fail(new Error('late'));
  await new Promise((resolve) => setImmediate(resolve));
  process.off('unhandledRejection', onUnhandled);
  assert.deepEqual(unhandled, []);
});

test('withTimeout.wrap keeps this and arguments and times out', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  const service = {
    factor: 3,
    async times(this: { factor: number }, n: number) {
      return n * this.factor;
    },
    slow(this: unknown) {
      return never();
    },
  };
  const times = withTimeout.wrap(1000, service.times, { conveyor: sink });
  assert.equal(await times.call(service, 5), 15);
  const slow = withTimeout.wrap('2s', service.slow, { conveyor: sink, logger: captureLogger() });
  const p = slow.call(service);
  t.mock.timers.tick(2000);
  await assert.rejects(p, TimeoutError);
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.thresholdMs]),
    [['slow', 2000]],
  );
});

test('timeoutContext names the operation', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  assert.equal(await timeoutContext('10m', 'Export', async (signal) => signal.aborted), false);
  const p = timeoutContext('10m', 'Export', never, { conveyor: sink, logger: captureLogger() });
  t.mock.timers.tick(600_000);
  await assert.rejects(p, /'Export' exceeded its time limit of 10m/);
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.thresholdMs, r.durationMs]),
    [['Export', 600_000, 600_000]],
  );
});

test('invalid limits are configuration errors, thrown at once', () => {
  assert.throws(() => withTimeout('soon', async () => 1), ConfigurationError);
  assert.throws(() => withTimeout(-1, async () => 1), ConfigurationError);
  assert.throws(() => timeout('x'), ConfigurationError);
  assert.throws(() => withTimeout.wrap(10, 'nope' as never), ConfigurationError);
  assert.throws(() => withTimeout(10, 'nope' as never), ConfigurationError);
});

test('the timeout decorator (applied by hand) names the operation Class.method and exposes the signal', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const sink = memorySink();
  class Exporter {
    seen: AbortSignal | undefined;
    async run(): Promise<string> {
      this.seen = currentTimeoutSignal();
      return never();
    }
    async quick(n: number): Promise<number> {
      return n + 1;
    }
  }
  const ctxRun = methodContext('run');
  Exporter.prototype.run = timeout('5m', { conveyor: sink, logger: captureLogger() })(Exporter.prototype.run, ctxRun);
  Exporter.prototype.quick = withTimeoutDecorator('5m')(Exporter.prototype.quick, methodContext('quick'));
  const e = new Exporter();
  assert.equal(await e.quick(1), 2);
  const p = e.run();
  assert.equal(e.seen?.aborted, false);
  t.mock.timers.tick(300_000);
  await assert.rejects(p, /'Exporter\.run' exceeded its time limit of 5m/);
  assert.equal(e.seen?.aborted, true);
  assert.deepEqual(
    sink.rows.map((r) => r.operation),
    ['Exporter.run'],
  );
  // withTimeout without a function is the decorator too.
  assert.equal(typeof withTimeout('5m'), 'function');
  assert.throws(
    () => timeout('1s')(async () => 1, { ...methodContext('x'), kind: 'getter' } as never),
    ConfigurationError,
  );
});

test('a Conveyor-shaped sink (timeoutLog.record) is accepted; a sink with neither method is logged', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  const recorded: unknown[] = [];
  const conveyorLike = {
    timeoutLog: {
      record: async (entry: unknown) => {
        recorded.push(entry);
        return 1;
      },
    },
  };
  const p = withTimeout(10, () => never(), { name: 'viaLog', conveyor: conveyorLike, logger: captureLogger() });
  t.mock.timers.tick(10);
  await assert.rejects(p, TimeoutError);
  assert.deepEqual(
    recorded.map((r) => (r as { operation: string }).operation),
    ['viaLog'],
  );
  const logger = captureLogger();
  const q = withTimeout(10, () => never(), { conveyor: {} as never, logger });
  t.mock.timers.tick(10);
  await assert.rejects(q, TimeoutError);
  assert.deepEqual(logger.messages('error'), ['timeouts: could not record the timeout log row']);
});
