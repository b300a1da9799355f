/**
 * The PostgreSQL guessed claim (postgres/claim.ts `claimGuessed`) re-states the scheduler's rule in SQL:
 * it checks that the guess still holds against the live state (as `guessLimit` does), then takes the best
 * due jobs of the guess's channel. On random states (channel capacities, jobs with priorities, creation
 * times, ETAs and states, jobs running in known and unknown channels, a guess shaped from a stale state),
 * what it takes must be exactly what the pure `pickJobs` picks over every pending job, in the same order,
 * the first `startCount` started; or, when `guessLimit` says the guess no longer holds, it must take
 * nothing and decline (the driver then falls back to the planned claim).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  guessClaim,
  guessLimit,
  pickJobs,
  planFetch,
  type Candidate,
  type ChannelSnapshot,
} from '../../src/channels/scheduler.ts';
import { ChannelTree } from '../../src/channels/tree.ts';
import type { ClaimPolicy, Driver, NewJob } from '../../src/drivers/driver.ts';
import { openDriver } from '../../src/drivers/open.ts';
import { claimGuessed } from '../../src/drivers/postgres/claim.ts';
import { PgContext, type Pg } from '../../src/drivers/postgres/context.ts';
import type { JobState } from '../../src/job/states.ts';
import { PG_URL, pgUnavailable, uniqueSchema } from '../helpers/backends.ts';
import { T0, job } from './suite.ts';

const RUNNER = 'claimer';

/** Stored channels of jobs; `root.c` is never configured (an auto-created channel). */
const CHANNELS = ['root', 'root.a', 'root.a.x', 'root.b', 'root.c'] as const;
const channelArb = fc.constantFrom(...CHANNELS);

/** A channel configuration: root always capped, sub-channels capped or not, rarely a kind the guess refuses. */
const configArb = fc
  .record({
    root: fc.integer({ min: 1, max: 8 }),
    subs: fc.array(
      fc.tuple(
        fc.constantFrom('root.a', 'root.a.x', 'root.b'),
        fc.integer({ min: 0, max: 4 }),
        fc.constantFrom('', '', '', '', '', '', ':sequential', ':paused', ':throttle=1000'),
      ),
      { maxLength: 3 },
    ),
  })
  .map(({ root, subs }) => {
    const seen = new Map(subs.map(([name, cap, kind]) => [name, `${name}:${kind === ':sequential' ? 1 : cap}${kind}`]));
    return [`root:${root}`, ...seen.values()].join(',');
  });

interface JobSpec {
  channel: (typeof CHANNELS)[number];
  priority: number;
  /** Seconds after T0 - 100 s: few values, so ties on (priority, created_at) are common. */
  created: number;
  eta: 'none' | 'past' | 'now' | 'future';
  state: Extract<JobState, 'pending' | 'enqueued' | 'started' | 'done' | 'failed'>;
}

const jobArb: fc.Arbitrary<JobSpec> = fc.record({
  channel: channelArb,
  priority: fc.integer({ min: 0, max: 2 }),
  created: fc.integer({ min: 0, max: 4 }),
  eta: fc.constantFrom('none', 'none', 'past', 'now', 'future'),
  state: fc.constantFrom('pending', 'pending', 'pending', 'enqueued', 'started', 'done', 'failed'),
});

const scenarioArb = fc
  .record({
    config: configArb,
    jobs: fc.array(jobArb, { maxLength: 14 }),
    // most of the time, every pending job is in one channel: the case the guess is made for
    onePendingChannel: fc.oneof(
      { weight: 3, arbitrary: fc.constant(true) },
      { weight: 1, arbitrary: fc.constant(false) },
    ),
    lastPending: fc.option(channelArb, { nil: undefined, freq: 4 }),
    lastRunning: fc.array(fc.tuple(channelArb, fc.integer({ min: 0, max: 3 })), { maxLength: 3 }),
    // the last claim saw the channels that have running jobs now (else the guess may not know them)
    sameRunningChannels: fc.boolean(),
    wanted: fc.integer({ min: 1, max: 10 }),
    startFraction: fc.double({ min: 0, max: 1, noNaN: true }),
  })
  .map((s) => {
    const pendingChannel = s.jobs.find((j) => j.state === 'pending')?.channel;
    const jobs =
      s.onePendingChannel && pendingChannel
        ? s.jobs.map((j) => (j.state === 'pending' ? { ...j, channel: pendingChannel } : j))
        : s.jobs;
    return { ...s, jobs, startCount: Math.floor(s.startFraction * (s.wanted + 1)) };
  });

function etaOf(spec: JobSpec): number | null {
  return { none: null, past: T0 - 5_000, now: T0, future: T0 + 60_000 }[spec.eta];
}

function newJob(spec: JobSpec): NewJob {
  return job({ priority: spec.priority, eta: etaOf(spec), channel: spec.channel });
}

const unavailable = await pgUnavailable();

describe('PostgreSQL guessed claim against pickJobs (property)', { skip: unavailable ?? false }, () => {
  let driver: Driver;
  let ctx: PgContext;
  const schema = uniqueSchema('guess');

  before(async () => {
    driver = await openDriver(PG_URL, { schema, maxConnections: 2 });
    await driver.migrate();
    const pg = ((await import('pg')) as unknown as { default: Pg }).default;
    ctx = new PgContext(pg, { connectionString: PG_URL, schema, maxConnections: 2 });
  });

  after(async () => {
    await ctx?.pool.end();
    await (driver as unknown as { dropSchema(): Promise<void> } | undefined)?.dropSchema();
    await driver?.close();
  });

  it('takes exactly what pickJobs picks when the guess holds, and nothing when it does not', async () => {
    const seen = { applied: 0, took: 0, limited: 0, declined: 0 };
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const tree = ChannelTree.fromConfig(s.config);
        // the live state, as the scheduler sees it
        const running = new Map<string, number>();
        for (const j of s.jobs)
          if (j.state === 'enqueued' || j.state === 'started')
            running.set(j.channel, (running.get(j.channel) ?? 0) + 1);
        const pendingChannels = [...new Set(s.jobs.filter((j) => j.state === 'pending').map((j) => j.channel))];
        const live: ChannelSnapshot = {
          now: T0,
          running,
          sequentialFailed: new Map(),
          lastStartedAt: new Map(),
          pendingChannels,
        };
        // the guess is shaped from the state after the previous claim, which may be stale
        const lastRunning = new Map<string, number>(s.lastRunning);
        if (s.sameRunningChannels) for (const c of running.keys()) lastRunning.set(c, lastRunning.get(c) ?? 0);
        const last: ChannelSnapshot = {
          ...live,
          running: lastRunning,
          pendingChannels: [s.lastPending ?? pendingChannels[0] ?? 'root.a'],
        };
        const guess = guessClaim(tree, last, s.wanted);
        if (guess === null) return;

        await ctx.pool.query(`TRUNCATE ${ctx.sqlSchema}.jobs CASCADE`);
        const ids = s.jobs.length
          ? (await driver.jobInsertMany({ jobs: s.jobs.map(newJob), now: T0 })).map((r) => r.id)
          : [];
        if (ids.length) {
          await ctx.pool.query(
            `UPDATE ${ctx.sqlSchema}.jobs j SET state = u.state, created_at = 'epoch'::timestamptz + u.created * interval '1 millisecond',
               runner_id = CASE WHEN u.state IN ('enqueued', 'started') THEN 'other' END
             FROM unnest($1::bigint[], $2::text[], $3::bigint[]) AS u(id, state, created) WHERE j.id = u.id`,
            [ids, s.jobs.map((j) => j.state), s.jobs.map((j) => T0 - 100_000 + j.created * 1000)],
          );
        }
        const candidates: Candidate[] = [];
        s.jobs.forEach((j, i) => {
          if (j.state === 'pending')
            candidates.push({
              id: ids[i]!,
              channel: j.channel,
              priority: j.priority,
              createdAt: T0 - 100_000 + j.created * 1000,
              eta: etaOf(j),
            });
        });

        const policy: ClaimPolicy = {
          sequentialChannels: tree.sequentialChannels(),
          throttledChannels: tree.throttledChannels(),
          planFetch: (snap, wanted) => planFetch(tree, snap, wanted),
          pickJobs: (snap, cands, wanted) => pickJobs(tree, snap, cands, wanted),
        };
        const params = { runnerId: RUNNER, now: T0, wanted: s.wanted, startCount: s.startCount, policy };
        const result = await claimGuessed(ctx, params, guess);
        const taken = await ctx.pool.query(
          `SELECT count(*)::int AS n FROM ${ctx.sqlSchema}.jobs WHERE runner_id = $1`,
          [RUNNER],
        );

        const limit = guessLimit(guess, live);
        if (limit === null) {
          seen.declined++;
          assert.equal(result, null, 'the guess no longer holds: the guessed claim must decline');
          assert.equal(taken.rows[0].n, 0, 'a declined guess takes nothing');
          return;
        }
        seen.applied++;
        assert.ok(result, 'the guess holds: the guessed claim must not decline');
        const expected = pickJobs(tree, live, candidates, s.wanted).picked.map((c) => c.id);
        assert.deepEqual(
          result.jobs.map((j) => j.id),
          expected,
        );
        assert.deepEqual(
          result.jobs.map((j) => j.state),
          expected.map((_, i) => (i < s.startCount ? 'started' : 'enqueued')),
        );
        assert.equal(taken.rows[0].n, expected.length);
        if (expected.length) seen.took++;
        if (limit < s.wanted) seen.limited++;
      }),
      { seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: Number(process.env.FAST_CHECK_RUNS ?? 300) },
    );
    // the cases that matter all came up (not a vacuous pass)
    assert.ok(seen.applied > 50 && seen.took > 25 && seen.limited > 25 && seen.declined > 50, JSON.stringify(seen));
  });
});
