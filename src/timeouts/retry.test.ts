import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigurationError, TimeoutError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob } from './fixtures.test.ts';
import { MAX_DELAY_MS, backoffDelay, retryOnTimeout, retryOnTimeoutDecorator } from './retry.ts';
import type { RetryInfo } from './retry.ts';
import { withTimeout } from './with-timeout.ts';

const timeoutError = (n: number) => new TimeoutError(`try ${n} timed out`, 10);

/** A sleep that records the delays and returns at once. */
function recordingSleep(): { delays: number[]; sleep: (ms: number) => Promise<void> } {
  const delays: number[] = [];
  return {
    delays,
    sleep: async (ms) => {
      delays.push(ms);
    },
  };
}

test('retries a TimeoutError up to maxAttempts with exponential backoff, then gives up with the last error', async () => {
  const { delays, sleep } = recordingSleep();
  const logger = captureLogger();
  let calls = 0;
  const errors: Error[] = [];
  const fn = retryOnTimeout(
    async () => {
      calls++;
      const e = timeoutError(calls);
      errors.push(e);
      throw e;
    },
    { sleep, logger },
  );
  await assert.rejects(fn(), (err) => err === errors[2]);
  assert.equal(calls, 3);
  assert.deepEqual(delays, [2000, 4000]);
  assert.equal(logger.messages('warn').length, 3); // two retries, one give-up
});

test('returns the first successful result and passes this and arguments', async () => {
  const { delays, sleep } = recordingSleep();
  const retried: RetryInfo[] = [];
  const target = {
    calls: 0,
    async add(this: { calls: number }, a: number, b: number) {
      this.calls++;
      if (this.calls < 3) throw timeoutError(this.calls);
      return a + b;
    },
  };
  const add = retryOnTimeout(target.add, {
    maxAttempts: 5,
    delay: '1s',
    backoff: 3,
    sleep,
    onRetry: (info) => retried.push(info),
    logger: captureLogger(),
  });
  assert.equal(await add.call(target, 2, 3), 5);
  assert.equal(target.calls, 3);
  assert.deepEqual(delays, [1000, 3000]);
  assert.deepEqual(
    retried.map((r) => [r.attempt, r.delayMs]),
    [
      [1, 1000],
      [2, 3000],
    ],
  );
});

test('other errors are not retried unless retryOn accepts them', async () => {
  const { delays, sleep } = recordingSleep();
  let calls = 0;
  const plain = retryOnTimeout(
    async () => {
      calls++;
      throw new Error('boom');
    },
    { sleep },
  );
  await assert.rejects(plain(), /boom/);
  assert.equal(calls, 1);
  assert.deepEqual(delays, []);

  calls = 0;
  const seen: number[] = [];
  const custom = retryOnTimeout(
    async () => {
      calls++;
      throw new Error('ECONNRESET');
    },
    {
      sleep,
      maxAttempts: 4,
      logger: captureLogger(),
      retryOn: (err, attempt) => {
        seen.push(attempt);
        return err instanceof Error && err.message === 'ECONNRESET';
      },
    },
  );
  await assert.rejects(custom(), /ECONNRESET/);
  assert.equal(calls, 4);
  assert.deepEqual(seen, [1, 2, 3, 4]);
});

test('maxDelay caps the waits and jitter lowers them within the documented range', async () => {
  const { delays, sleep } = recordingSleep();
  const fn = retryOnTimeout(
    async () => {
      throw timeoutError(0);
    },
    { sleep, maxAttempts: 5, delay: 1000, backoff: 10, maxDelay: '30s', logger: captureLogger() },
  );
  await assert.rejects(fn(), TimeoutError);
  assert.deepEqual(delays, [1000, 10_000, 30_000, 30_000]);

  const jittered = recordingSleep();
  const fj = retryOnTimeout(
    async () => {
      throw timeoutError(0);
    },
    { sleep: jittered.sleep, maxAttempts: 3, delay: 1000, jitter: 0.5, random: () => 1, logger: captureLogger() },
  );
  await assert.rejects(fj(), TimeoutError);
  assert.deepEqual(jittered.delays, [500, 1000]);
});

test('works with withTimeout: each try has its own limit', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { sleep, delays } = recordingSleep();
  let calls = 0;
  const fetchRates = retryOnTimeout(
    withTimeout.wrap(
      100,
      () => {
        calls++;
        return calls < 2 ? new Promise<never>(() => {}) : Promise.resolve('rates');
      },
      { name: 'rates', logger: captureLogger() },
    ),
    { sleep, logger: captureLogger() },
  );
  const p = fetchRates();
  t.mock.timers.tick(100);
  assert.equal(await p, 'rates');
  assert.equal(calls, 2);
  assert.deepEqual(delays, [2000]);
});

test('the default sleep waits on a timer; an aborted parent stops the retries', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  let calls = 0;
  const parent = new AbortController();
  const fn = retryOnTimeout(
    async () => {
      calls++;
      throw timeoutError(calls);
    },
    { signal: parent.signal, logger: captureLogger() },
  );
  const p = fn();
  await new Promise((resolve) => setImmediate(resolve)); // let the first try fail and the wait start
  assert.equal(calls, 1);
  t.mock.timers.tick(2000);
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(calls, 2);
  parent.abort(new Error('stop'));
  await assert.rejects(p, /stop/);
  assert.equal(calls, 2);
});

test('inside a job whose signal has aborted, a timeout is not retried', async () => {
  const { delays, sleep } = recordingSleep();
  const job = fakeJob();
  let calls = 0;
  const fn = retryOnTimeout(
    async () => {
      calls++;
      job.controller.abort(new TimeoutError('job limit', 1));
      throw timeoutError(calls);
    },
    { sleep },
  );
  await assert.rejects(
    runAsJob(job, () => fn()),
    /try 1 timed out/,
  );
  assert.equal(calls, 1);
  assert.deepEqual(delays, []);
});

test('retryOnTimeoutDecorator (applied by hand) retries a method', async () => {
  const { delays, sleep } = recordingSleep();
  class Rates {
    calls = 0;
    async load(): Promise<string> {
      this.calls++;
      if (this.calls === 1) throw timeoutError(1);
      return 'ok';
    }
  }
  const context = {
    kind: 'method',
    name: 'load',
    static: false,
    private: false,
    addInitializer() {},
    metadata: {},
  } as unknown as ClassMethodDecoratorContext<Rates, () => Promise<string>>;
  Rates.prototype.load = retryOnTimeoutDecorator({ sleep, delay: '5s', logger: captureLogger() })(
    Rates.prototype.load,
    context,
  );
  const r = new Rates();
  assert.equal(await r.load(), 'ok');
  assert.equal(r.calls, 2);
  assert.deepEqual(delays, [5000]);
  assert.equal(typeof retryOnTimeout({ maxAttempts: 2 }), 'function'); // the decorator form
});

test('invalid options are configuration errors', () => {
  const fn = async () => 1;
  assert.throws(() => retryOnTimeout(fn, { maxAttempts: 0 }), ConfigurationError);
  assert.throws(() => retryOnTimeout(fn, { maxAttempts: 1.5 }), ConfigurationError);
  assert.throws(() => retryOnTimeout(fn, { backoff: 0.5 }), ConfigurationError);
  assert.throws(() => retryOnTimeout(fn, { delay: 'later' }), ConfigurationError);
  assert.throws(() => retryOnTimeout(fn, { jitter: 2 }), ConfigurationError);
  assert.throws(() => retryOnTimeoutDecorator({ maxDelay: -5 }), ConfigurationError);
  assert.throws(() => retryOnTimeout(42 as never), ConfigurationError);
});

test('backoffDelay: delay * backoff^(n-1), capped', () => {
  assert.equal(backoffDelay(1, { delayMs: 2000, backoff: 2 }), 2000);
  assert.equal(backoffDelay(3, { delayMs: 2000, backoff: 2 }), 8000);
  assert.equal(backoffDelay(5, { delayMs: 2000, backoff: 2, maxDelayMs: 10_000 }), 10_000);
  assert.equal(backoffDelay(2000, { delayMs: 2000, backoff: 2 }), MAX_DELAY_MS);
});

const settings = fc.record({
  delayMs: fc.integer({ min: 0, max: 3_600_000 }),
  backoff: fc.double({ min: 1, max: 10, noNaN: true }),
  maxDelayMs: fc.option(fc.integer({ min: 0, max: MAX_DELAY_MS }), { nil: undefined }),
});

test('property: without jitter, delays never decrease and never pass the cap', () => {
  fc.assert(
    fc.property(settings, fc.integer({ min: 1, max: 200 }), (s, n) => {
      const a = backoffDelay(n, s);
      const b = backoffDelay(n + 1, s);
      const cap = Math.min(s.maxDelayMs ?? MAX_DELAY_MS, MAX_DELAY_MS);
      return Number.isInteger(a) && a >= 0 && a <= b && b <= cap;
    }),
  );
});

test('property: with jitter j the delay lies in [d * (1 - j), d]', () => {
  fc.assert(
    fc.property(
      settings,
      fc.integer({ min: 1, max: 60 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (s, n, jitter, r) => {
        const d = backoffDelay(n, s);
        const x = backoffDelay(n, { ...s, jitter }, () => r);
        return Number.isInteger(x) && x <= d && x >= Math.floor(d * (1 - jitter)) - 1;
      },
    ),
  );
});
