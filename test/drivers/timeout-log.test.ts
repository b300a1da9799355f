/** Driver conformance, the timeout log (the timeout toolkit's records, src/timeouts/): statistics and cleanup. */
import assert from 'node:assert/strict';
import type { Driver } from '../../src/drivers/driver.ts';
import { conformance, T0 } from './suite.ts';

/** Two records of a.b today (one over its threshold), and one of 40 days ago. */
async function threeRecords(d: Driver) {
  await d.timeoutLogInsert({
    at: T0,
    operation: 'a.b',
    kind: 'timeout',
    model: 'a',
    method: 'b',
    thresholdMs: 100,
    durationMs: 150,
    exceeded: true,
    host: 'h',
  });
  await d.timeoutLogInsert({
    at: T0,
    operation: 'a.b',
    kind: 'monitor',
    model: 'a',
    method: 'b',
    thresholdMs: 100,
    durationMs: 50,
    exceeded: false,
    host: 'h',
  });
  await d.timeoutLogInsert({
    at: T0 - 40 * 86_400_000,
    operation: 'old',
    kind: 'monitor',
    thresholdMs: 1,
    durationMs: 2,
    exceeded: true,
    host: null,
  });
}

conformance('timeout log', (it) => {
  it('computes statistics since a time, in all and by method', async ({ d }) => {
    await threeRecords(d);
    const s = await d.timeoutLogStatistics({ since: T0 - 86_400_000 });
    assert.equal(s.totalCount, 2);
    assert.equal(s.exceededCount, 1);
    assert.equal(s.avgDurationMs, 100);
    assert.deepEqual(s.byMethod['a.b'], { count: 2, exceeded: 1, avgDurationMs: 100 });
  });

  it('lists the records of a model', async ({ d }) => {
    await threeRecords(d);
    assert.equal((await d.timeoutLogList({ limit: 10, model: 'a' })).length, 2);
  });

  it('cleans up the records older than a time', async ({ d }) => {
    await threeRecords(d);
    assert.equal(await d.timeoutLogCleanup({ before: T0 - 30 * 86_400_000 }), 1);
  });
});
