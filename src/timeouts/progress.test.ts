import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob } from './fixtures.test.ts';
import { ProgressTracker, formatEta } from './progress.ts';

/** A clock the test moves by hand. */
function manualClock(start = 0): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
  };
}

/** A fake stream collecting what is written. */
function fakeStream(isTTY: boolean): { chunks: string[]; isTTY: boolean; write: (s: string) => boolean } {
  const chunks: string[] = [];
  return {
    chunks,
    isTTY,
    write: (s) => {
      chunks.push(s);
      return true;
    },
  };
}

test('logs rate and ETA at most every logInterval, then a final line', () => {
  const clock = manualClock(1_000);
  const logger = captureLogger();
  const p = new ProgressTracker({
    total: 2000,
    logInterval: '4s',
    operationName: 'Export',
    logger,
    clock: clock.now,
    stream: fakeStream(false),
  });
  clock.advance(1000);
  p.increment(100);
  assert.deepEqual(logger.lines, []); // within the interval
  clock.advance(3000);
  p.increment(400);
  assert.equal(p.done, 500);
  assert.equal(p.rate, 125);
  assert.equal(p.eta, 12_000);
  assert.deepEqual(logger.messages('info'), ['Export: 500/2000 (25.0%) 125.0/s ETA 12s']);
  clock.advance(1000);
  p.update(600);
  assert.equal(logger.lines.length, 1); // 1s after the last line: throttled
  clock.advance(11_000);
  p.update(2000);
  p.finish();
  p.finish(); // idempotent
  assert.deepEqual(logger.messages('info'), [
    'Export: 500/2000 (25.0%) 125.0/s ETA 12s',
    'Export: 2000/2000 (100.0%) 125.0/s ETA 0s',
    'Export: done 2000/2000 (100.0%) in 16s, 125.0/s',
  ]);
});

test("inside a job it reports to the job's progress, throttled the same way and on finish", () => {
  const clock = manualClock();
  const job = fakeJob();
  const p = runAsJob(
    job,
    () =>
      new ProgressTracker({
        total: 10,
        logInterval: '5s',
        operationName: 'Sync',
        logger: captureLogger(),
        clock: clock.now,
        stream: fakeStream(false),
      }),
  );
  p.increment();
  clock.advance(5000);
  p.increment();
  clock.advance(100);
  p.increment();
  p.finish();
  assert.deepEqual(job.progressCalls, [
    [2, 10, 'Sync: 2/10 (20.0%) 0.4/s ETA 20s'],
    [3, 10, 'Sync: done 3/10 (30.0%) in 5.1s, 0.6/s'],
  ]);
  const detached = new ProgressTracker({
    total: 1,
    job: null,
    logger: captureLogger(),
    clock: clock.now,
    stream: fakeStream(false),
  });
  runAsJob(job, () => detached.finish());
  assert.equal(job.progressCalls.length, 2);
});

test('a failing job.progress is logged, never thrown', async () => {
  const logger = captureLogger();
  const job = fakeJob();
  job.progress = () => Promise.reject(new Error('db gone'));
  const p = new ProgressTracker({ total: 1, job, logger, clock: () => 0, stream: fakeStream(false) });
  p.finish();
  await new Promise((resolve) => setImmediate(resolve));
  assert.deepEqual(logger.messages('warn'), ['ProgressTracker: could not report progress to the job']);
});

test('draws a one-line bar with \\r on a TTY outside CI, instead of periodic log lines', (t) => {
  const saved = process.env.CI;
  t.after(() => {
    if (saved === undefined) delete process.env.CI;
    else process.env.CI = saved;
  });
  delete process.env.CI;
  const clock = manualClock();
  const stream = fakeStream(true);
  const logger = captureLogger();
  const p = new ProgressTracker({
    total: 4,
    logInterval: '1s',
    operationName: 'Export',
    logger,
    clock: clock.now,
    stream,
  });
  clock.advance(1000);
  p.increment(2);
  clock.advance(50);
  p.increment(); // redraws are throttled to one per 100 ms
  p.finish();
  assert.deepEqual(stream.chunks, [
    '\rExport [###############---------------] 50.0% 2/4 2.0/s ETA 1s',
    '\rExport [#######################-------] 75.0% 3/4 2.9/s ETA 1s',
    '\n',
  ]);
  assert.deepEqual(logger.messages('info'), ['Export: done 3/4 (75.0%) in 1.05s, 2.9/s']);

  process.env.CI = 'true';
  const ciStream = fakeStream(true);
  const inCi = new ProgressTracker({ total: 4, clock: clock.now, stream: ciStream, logger: captureLogger() });
  inCi.increment();
  inCi.finish();
  assert.deepEqual(ciStream.chunks, []);
});

test('rate, eta and percent edge cases', () => {
  const clock = manualClock();
  const p = new ProgressTracker({ total: 0, clock: clock.now, logger: captureLogger(), stream: fakeStream(false) });
  assert.equal(p.percent, 100);
  assert.equal(p.rate, 0);
  assert.equal(p.eta, 0);
  const q = new ProgressTracker({ total: 10, clock: clock.now, logger: captureLogger(), stream: fakeStream(false) });
  assert.equal(q.eta, undefined);
  assert.match(q.line(), /ETA \?$/);
  {
    using r = new ProgressTracker({ total: 1, clock: clock.now, logger: captureLogger(), stream: fakeStream(false) });
    r.increment();
  }
  assert.equal(formatEta(125_000), '2m05s');
  assert.equal(formatEta(3_720_000), '1h02m');
  assert.equal(formatEta(undefined), '?');
});

test('invalid arguments are configuration errors', () => {
  assert.throws(() => new ProgressTracker({ total: -1 }), ConfigurationError);
  assert.throws(() => new ProgressTracker({ total: Number.NaN }), ConfigurationError);
  assert.throws(() => new ProgressTracker({ total: 1, logInterval: 'often' }), ConfigurationError);
  const p = new ProgressTracker({ total: 1, logger: captureLogger(), stream: fakeStream(false) });
  assert.throws(() => p.increment(Number.POSITIVE_INFINITY), ConfigurationError);
  assert.throws(() => p.update(-2), ConfigurationError);
});

test('resumeAt / initial count earlier work in done and percent, not in the rate', () => {
  let t = 0;
  const job = fakeJob();
  const tracker = new ProgressTracker({
    total: 100,
    initial: 60,
    logInterval: 0,
    bar: false,
    logger: captureLogger(),
    clock: () => t,
    job,
  });
  assert.equal(tracker.resumed, 60);
  assert.equal(tracker.done, 60);
  assert.equal(tracker.percent, 60);
  t = 1000;
  tracker.increment(10);
  assert.equal(tracker.done, 70);
  assert.equal(tracker.rate, 10);
  assert.equal(tracker.eta, 3000);
  tracker.finish();
  assert.deepEqual(job.progressCalls.at(-1)?.slice(0, 2), [70, 100]);
  assert.throws(() => new ProgressTracker({ total: 1, initial: -1 }), /resumeAt: expected a number >= 0, got -1/);
});
