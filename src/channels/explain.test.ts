import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { explainWaiting, formatDelay, formatInterval, type WaitingJob } from './explain.ts';
import type { ChannelSnapshot } from './scheduler.ts';
import { ChannelTree } from './tree.ts';

const NOW = Date.UTC(2026, 10, 23, 10, 41, 55);
const tree = ChannelTree.fromConfig(
  'root:8,mail:2,sync:1:sequential,api:3:throttle=10,x:2:paused,zero:0,outer:4:paused,outer.inner:1',
);

const snap = (over: Partial<ChannelSnapshot> = {}): ChannelSnapshot => ({
  now: NOW,
  running: new Map(),
  sequentialFailed: new Map(),
  lastStartedAt: new Map(),
  pendingChannels: [],
  ...over,
});
const job = (over: Partial<WaitingJob> = {}): WaitingJob => ({
  id: 1,
  channel: 'root',
  state: 'pending',
  eta: null,
  priority: 10,
  createdAt: 0,
  ...over,
});

describe('explainWaiting', () => {
  const cases: [string, ChannelSnapshot, WaitingJob, number | undefined, string][] = [
    ['dependencies', snap(), job({ state: 'wait_dependencies', waitingFor: [812] }), undefined, 'waiting for job 812'],
    [
      'several dependencies',
      snap(),
      job({ state: 'wait_dependencies', waitingFor: [3, 4] }),
      undefined,
      'waiting for jobs 3, 4',
    ],
    [
      'many dependencies',
      snap(),
      job({ state: 'wait_dependencies', waitingFor: [1, 2, 3, 4, 5, 6, 7] }),
      undefined,
      'waiting for jobs 1, 2, 3, 4, 5 and 2 more',
    ],
    ['unknown dependencies', snap(), job({ state: 'wait_dependencies' }), undefined, 'waiting for its dependencies'],
    ['ETA', snap(), job({ eta: NOW + 4 * 60_000 }), undefined, 'ETA in 4 min'],
    [
      'ETA before a full channel',
      snap({ running: new Map([['mail', 2]]) }),
      job({ channel: 'mail', eta: NOW + 30_000 }),
      0,
      'ETA in 30 s',
    ],
    [
      'full channel',
      snap({
        running: new Map([
          ['root.mail', 1],
          ['mail.bulk', 1],
        ]),
      }),
      job({ channel: 'mail' }),
      undefined,
      'channel root.mail full: 2/2 running',
    ],
    [
      'full parent first (root → leaf)',
      snap({
        running: new Map([
          ['mail', 2],
          ['other', 6],
        ]),
      }),
      job({ channel: 'mail' }),
      undefined,
      'channel root full: 8/8 running',
    ],
    [
      'sequential blocked',
      snap({ sequentialFailed: new Map([['root.sync', 77]]), running: new Map([['sync', 1]]) }),
      job({ channel: 'sync' }),
      undefined,
      'sequential channel root.sync blocked by failed job 77',
    ],
    [
      'throttled',
      snap({ lastStartedAt: new Map([['root.api', NOW]]) }),
      job({ channel: 'api.v2' }),
      undefined,
      'channel root.api throttled until 10:42:05 (1 job per 10 s)',
    ],
    [
      'throttle over',
      snap({ lastStartedAt: new Map([['root.api', NOW - 10_000]]) }),
      job({ channel: 'api' }),
      undefined,
      'next in line',
    ],
    ['paused', snap(), job({ channel: 'x' }), undefined, 'channel root.x is paused'],
    [
      'paused parent before the child',
      snap({ running: new Map([['outer.inner', 1]]) }),
      job({ channel: 'outer.inner' }),
      undefined,
      'channel root.outer is paused',
    ],
    [
      'capacity 0',
      snap(),
      job({ channel: 'zero.sub' }),
      undefined,
      'channel root.zero has capacity 0: nothing runs in it',
    ],
    ['next in line', snap(), job({ channel: 'mail' }), 0, 'next in line'],
    ['one ahead', snap(), job({ channel: 'mail' }), 1, '1 job ahead in root.mail'],
    ['many ahead', snap(), job({ channel: 'mail.bulk' }), 12, '12 jobs ahead in root.mail.bulk'],
    ['due ETA', snap(), job({ eta: NOW - 1000 }), undefined, 'next in line'],
    ['running', snap(), job({ state: 'started' }), undefined, 'running'],
    ['enqueued', snap(), job({ state: 'enqueued' }), undefined, 'claimed by a runner, starting'],
    ['failed', snap(), job({ state: 'failed' }), undefined, 'failed: requeue it to run it again'],
    ['done', snap(), job({ state: 'done' }), undefined, 'done'],
  ];
  for (const [title, s, j, ahead, expected] of cases) {
    it(`${title}: "${expected}"`, () => assert.equal(explainWaiting(tree, s, j, ahead), expected));
  }

  it('writes clock times in the given time zone', () => {
    const s = snap({ lastStartedAt: new Map([['root.api', NOW]]) });
    assert.equal(
      explainWaiting(tree, s, job({ channel: 'api' }), undefined, { timeZone: 'Europe/Brussels' }),
      'channel root.api throttled until 11:42:05 (1 job per 10 s)',
    );
  });
});

describe('formatDelay / formatInterval', () => {
  const delays: [number, string][] = [
    [1, '1 s'],
    [999, '1 s'],
    [1000, '1 s'],
    [59_500, '60 s'],
    [60_000, '1 min'],
    [4 * 60_000 + 10_000, '4 min'],
    [3_600_000, '1 h'],
    [2 * 3_600_000 + 5 * 60_000, '2 h 5 min'],
    [86_400_000, '1 d'],
    [3 * 86_400_000 + 4 * 3_600_000, '3 d 4 h'],
  ];
  it('says since when a channel paused at runtime is paused, in the time zone asked for', () => {
    const paused = tree.withPauses([{ channel: 'mail', pausedAt: Date.UTC(2026, 11, 6, 3, 12, 5) }]);
    assert.equal(
      explainWaiting(paused, snap(), job({ channel: 'mail.bulk' })),
      'channel root.mail is paused (since 2026-12-06 03:12:05 UTC)',
    );
    assert.equal(
      explainWaiting(paused, snap(), job({ channel: 'mail' }), undefined, { timeZone: 'Europe/Brussels' }),
      'channel root.mail is paused (since 2026-12-06 04:12:05 Europe/Brussels)',
    );
    assert.equal(
      explainWaiting(paused, snap(), job({ channel: 'x' })),
      'channel root.x is paused',
      'paused by the configuration',
    );
  });
  for (const [ms, text] of delays) it(`delay ${ms} ms -> ${text}`, () => assert.equal(formatDelay(ms), text));
  const intervals: [number, string][] = [
    [500, '500 ms'],
    [1000, '1 s'],
    [10_000, '10 s'],
    [90_000, '90 s'],
    [120_000, '2 min'],
    [3_600_000, '1 h'],
    [1500, '1500 ms'],
  ];
  for (const [ms, text] of intervals) it(`interval ${ms} ms -> ${text}`, () => assert.equal(formatInterval(ms), text));
});
