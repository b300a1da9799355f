/**
 * The spy driver helper: it passes calls through, records them, and injects one failure or delay.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Conveyor, Runner } from '../../src/index.ts';
import { runnerHost, spyDriver } from './spy-driver.ts';

describe('spy driver', () => {
  let c: Conveyor;
  before(async () => {
    c = await Conveyor.open({ database: 'sqlite::memory:', logger: 'silent' });
  });
  after(async () => {
    await c.close();
  });

  it('passes calls and properties through to the real driver, and records the calls', async () => {
    const spy = spyDriver(c.driver);
    assert.equal(spy.driver.dialect, 'sqlite');
    assert.equal(spy.driver.crossProcessWakeups, c.driver.crossProcessWakeups);
    const rows = await spy.driver.jobCount({ groupBy: [] });
    assert.deepEqual(rows, await c.driver.jobCount({ groupBy: [] }));
    await spy.driver.runnerList();
    assert.deepEqual(
      spy.calls.map((call) => call.method),
      ['jobCount', 'runnerList'],
    );
    assert.deepEqual(spy.callsOf('jobCount'), [[{ groupBy: [] }]]);
    assert.equal(spy.driver.jobCount, spy.driver.jobCount, 'one wrapper per method');
    spy.reset();
    assert.deepEqual(spy.calls, []);
  });

  it('fails the next call of one method only, without calling the real driver', async () => {
    const spy = spyDriver(c.driver);
    const error = new Error('injected');
    spy.failNext('runnerList', error);
    await assert.rejects(spy.driver.runnerList(), error);
    assert.deepEqual(await spy.driver.runnerList(), await c.driver.runnerList(), 'the next call goes through');
    assert.equal(spy.callsOf('runnerList').length, 2, 'both calls are recorded');
    spy.failNext('runnerList', error, 2);
    await assert.rejects(spy.driver.runnerList(), error);
    await assert.rejects(spy.driver.runnerList(), error);
    await spy.driver.runnerList();
  });

  it('delays the next call of one method, then calls the real driver', async () => {
    const spy = spyDriver(c.driver);
    spy.delayNext('jobCount', 60);
    const t0 = performance.now();
    await spy.driver.jobCount({ groupBy: [] });
    assert.ok(performance.now() - t0 >= 50, 'the first call waited');
    const t1 = performance.now();
    await spy.driver.jobCount({ groupBy: [] });
    assert.ok(performance.now() - t1 < 50, 'the next one did not');
  });

  it('gives a runner the spy as its driver', async () => {
    const spy = spyDriver(c.driver);
    const runner = new Runner(runnerHost(c, spy.driver), { workers: 1 });
    await runner.start();
    await runner.stop();
    const methods = new Set(spy.calls.map((call) => call.method));
    for (const m of ['runnerRegister', 'subscribe', 'jobClaim', 'runnerRemove'] as const) assert.ok(methods.has(m), m);
  });
});
