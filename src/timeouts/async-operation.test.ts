import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, ConveyorError, TimeoutError } from '../errors.ts';
import { currentJob, runAsJob } from '../job/current.ts';
import { asyncOperation } from './async-operation.ts';
import { captureLogger, fakeJob, memorySink } from './fixtures.test.ts';
import { currentTimeoutSignal } from './shared.ts';

/** Fail the test if anything becomes an unhandled rejection while `fn` runs (plus one macrotask). */
async function noUnhandledRejections(fn: () => Promise<void>): Promise<void> {
  const unhandled: unknown[] = [];
  const listener = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', listener);
  try {
    await fn();
    await new Promise((resolve) => setImmediate(resolve));
  } finally {
    process.off('unhandledRejection', listener);
  }
  assert.deepEqual(unhandled, []);
}

test('runs detached and resolves done with the value', async () => {
  let started = false;
  const op = asyncOperation(
    async (signal) => {
      started = true;
      assert.equal(currentTimeoutSignal(), signal);
      return 'indexed';
    },
    { name: 'reindex' },
  );
  assert.equal(started, false, 'fn must not run synchronously');
  assert.match(op.id, /^[0-9a-f-]{36}$/);
  assert.equal(op.name, 'reindex');
  assert.deepEqual(await op.done, { ok: true, value: 'indexed' });
  assert.equal(started, true);
  assert.equal(op.signal.aborted, false);
});

test('keeps the AsyncLocalStorage context of the caller (the current job)', async () => {
  const job = fakeJob({ id: 5 });
  const op = runAsJob(job, () => asyncOperation(async () => currentJob()?.id));
  assert.deepEqual(await op.done, { ok: true, value: 5 });
});

test('a failure is logged, handed to onError and to the sink, and never rejects', async () => {
  await noUnhandledRejections(async () => {
    const logger = captureLogger();
    const sink = memorySink();
    const handled: unknown[] = [];
    const job = fakeJob({ id: 8, model: 'stock.move', method: 'recompute' });
    const boom = new Error('boom');
    const op = runAsJob(job, () =>
      asyncOperation(
        async () => {
          throw boom;
        },
        {
          name: 'recompute',
          logger,
          conveyor: sink,
          onError: (e) => {
            handled.push(e);
          },
        },
      ),
    );
    const outcome = await op.done;
    assert.deepEqual(outcome, { ok: false, error: boom, cancelled: false });
    assert.deepEqual(handled, [boom]);
    assert.deepEqual(logger.messages('error'), ["asyncOperation 'recompute' failed"]);
    assert.equal(sink.operationErrors.length, 1);
    const info = sink.operationErrors[0]!;
    assert.deepEqual(
      [info.id, info.operation, info.error, info.model, info.method, info.jobId],
      [op.id, 'recompute', boom, 'stock.move', 'recompute', 8],
    );
  });
});

test('failing hooks and sinks are logged, not thrown; sync throws are caught too', async () => {
  await noUnhandledRejections(async () => {
    const logger = captureLogger();
    const sink = {
      recordTimeout() {},
      recordOperationError() {
        throw new Error('sink down');
      },
    };
    const op = asyncOperation(
      () => {
        throw new Error('sync');
      },
      { name: 'x', logger, conveyor: sink, onError: () => Promise.reject(new Error('hook down')) },
    );
    const outcome = await op.done;
    assert.equal(outcome.ok, false);
    assert.deepEqual(logger.messages('error'), [
      "asyncOperation 'x' failed",
      "asyncOperation 'x': onError failed",
      "asyncOperation 'x': could not record the error",
    ]);
  });
});

test('cancel before it starts: fn never runs', async () => {
  let called = false;
  const op = asyncOperation(
    async () => {
      called = true;
    },
    { logger: captureLogger() },
  );
  op.cancel();
  const outcome = await op.done;
  assert.equal(outcome.ok, false);
  assert.ok(!outcome.ok && outcome.cancelled);
  assert.ok(!outcome.ok && outcome.error instanceof ConveyorError && outcome.error.code === 'CANCELLED');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(called, false);
});

test('cancel while running aborts the signal and resolves done even if fn ignores it; a late error is dropped', async () => {
  await noUnhandledRejections(async () => {
    let fail!: (e: Error) => void;
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const onError: unknown[] = [];
    const op = asyncOperation(
      () => {
        started();
        return new Promise((_, reject) => {
          fail = reject;
        });
      },
      {
        logger: captureLogger(),
        onError: (e) => {
          onError.push(e);
        },
      },
    );
    await running;
    const reason = new Error('user pressed stop');
    op.cancel(reason);
    assert.equal(op.signal.aborted, true);
    assert.deepEqual(await op.done, { ok: false, error: reason, cancelled: true });
    fail(new Error('late'));
    op.cancel(); // no effect once ended
    assert.deepEqual(onError, []);
  });
});

test('a parent signal cancels the operation', async () => {
  const parent = new AbortController();
  const op = asyncOperation(
    (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    { signal: parent.signal, logger: captureLogger() },
  );
  parent.abort(new Error('request closed'));
  const outcome = await op.done;
  assert.ok(!outcome.ok && outcome.cancelled && /request closed/.test(String(outcome.error)));
});

test('the timeout option runs the operation under withTimeout', async () => {
  const sink = memorySink();
  const op = asyncOperation(
    (signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
    {
      name: 'bounded',
      timeout: 1,
      conveyor: sink,
      logger: captureLogger(),
    },
  );
  const outcome = await op.done;
  assert.ok(!outcome.ok && !outcome.cancelled && outcome.error instanceof TimeoutError);
  assert.deepEqual(
    sink.rows.map((r) => [r.operation, r.kind]),
    [['bounded', 'timeout']],
  );
  assert.equal(sink.operationErrors.length, 1);
});

test('bad arguments are configuration errors', () => {
  assert.throws(() => asyncOperation('nope' as never), ConfigurationError);
  assert.throws(() => asyncOperation(async () => 1, { timeout: 'never' }), ConfigurationError);
});
