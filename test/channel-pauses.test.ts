/**
 * Channels paused and resumed at runtime (`conveyor.channelPauses`): durable, seen by every runner of
 * the database (two Conveyor instances, each with its runner), explained, and resumed promptly.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ChannelConfigError, Conveyor, ValidationError, type ConveyorOptions, type JobContext } from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema, type Backend } from './helpers/backends.ts';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** Two Conveyors on one store (a SQLite file, or one PostgreSQL schema), and how to dispose of both. */
async function openPair(
  backend: Backend,
  options: ConveyorOptions,
): Promise<{ a: Conveyor; b: Conveyor; dispose(): Promise<void> }> {
  let shared: ConveyorOptions;
  if (backend.name === 'sqlite') {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'conveyor-pauses-'));
    dirs.push(dir);
    shared = { database: `sqlite:${path.join(dir, 'q.db')}`, logger: 'silent', ...options };
  } else {
    shared = { database: PG_URL, schema: uniqueSchema('pause'), logger: 'silent', dbMaxconn: 6, ...options };
  }
  const a = await Conveyor.open(shared);
  const b = await Conveyor.open(shared);
  return {
    a,
    b,
    dispose: async () => {
      await b.close();
      if (backend.name === 'postgres') await backend.dispose(a);
      else await a.close();
    },
  };
}

/** A deferred. */
function deferred<T = void>(): { promise: Promise<T>; resolve(v: T): void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Jobs of `model` record where they ran; `work` of a gated job waits until the gate opens. */
function define(c: Conveyor, started: string[], gate: Promise<void>) {
  return c.model(
    'pause.test',
    {
      async work(job: JobContext, tag: string) {
        started.push(tag);
        void job;
        return tag;
      },
      async hold(_job: JobContext, tag: string) {
        started.push(tag);
        await gate;
        return tag;
      },
    },
    { work: { channel: 'root.mail.bulk' }, hold: { channel: 'root.other' } },
  );
}

// no poll and rare heartbeats: what a runner sees, it sees through the 'channels' wake-up
const RUNNER = { workers: 2, pollInterval: '1h', lease: '1h', heartbeat: '20m' } as const;

for (const backend of BACKENDS) {
  describe(`channel pauses on ${backend.name}`, () => {
    it('validates names and keeps the first pause; list shows the stored pauses', async () => {
      const c = await backend.open({ channels: 'root:4,root.mail:2' });
      try {
        await assert.rejects(c.channelPauses.pause('bad name!'), ChannelConfigError);
        await assert.rejects(c.channelPauses.pause(''), ValidationError);
        await assert.rejects(
          c.channelPauses.pause(42 as unknown as string),
          /channel must be a non-empty channel name/,
        );
        await assert.rejects(c.channelPauses.pause('mail', { by: 7 as unknown as string }), /by must be a string/);
        const first = await c.channelPauses.pause('mail', { by: 'ops' });
        assert.equal(first.channel, 'root.mail');
        assert.equal(first.pausedBy, 'ops');
        const again = await c.channelPauses.pause('root.mail', { by: 'someone else' });
        assert.deepEqual(again, first, 'a second pause keeps the first one');
        assert.deepEqual(
          (await c.channelPauses.list()).map((p) => p.channel),
          ['root.mail'],
        );
        const tree = await c.channelPauses.tree();
        assert.equal(tree.node('root.mail')?.paused, true);
        assert.equal(tree.node('root.mail')?.pausedSince, first.pausedAt);
        assert.equal(
          tree.path('root.mail.bulk').at(-1)?.paused,
          false,
          'a sub-channel is not paused itself, its parent is',
        );
        assert.equal(c.channels.node('root.mail')?.paused, false, 'the configured tree is left as configured');
        assert.equal(await c.channelPauses.resume('mail'), true);
        assert.equal(await c.channelPauses.resume('mail'), false, 'not paused any more');
        assert.deepEqual(await c.channelPauses.list(), []);
      } finally {
        await backend.dispose(c);
      }
    });

    it('a paused channel starts nothing in it or below on any runner; running jobs finish; resume starts them at once', async () => {
      const { a, b, dispose } = await openPair(backend, { channels: 'root:8,root.mail:4' });
      const started: string[] = [];
      const gate = deferred();
      const ma = define(a, started, gate.promise);
      define(b, started, gate.promise);
      const ra = a.runner({ ...RUNNER, id: 'runner-a' });
      const rb = b.runner({ ...RUNNER, id: 'runner-b' });
      try {
        await ra.start();
        await rb.start();
        // a job already running in a channel when it is paused finishes
        const runningStarted = startedEvent(a, b);
        const running = await ma.withDelay({ channel: 'root.mail' }).hold('running');
        assert.equal(await runningStarted, running.id);

        const seen = [ra.id, rb.id].map((id) => onceFor(a, b, id));
        const pause = await a.channelPauses.pause('mail', { by: 'test' });
        await Promise.all(seen);

        const mail = [];
        for (let i = 0; i < 3; i++) mail.push(await ma.withDelay().work(`mail-${i}`));
        // a job outside the paused channel, enqueued after them, runs: the runners did claim meanwhile
        const other = await ma.withDelay({ channel: 'root.other' }).work('other');
        assert.equal(await other.result({ timeoutMs: 10_000 }), 'other');
        for (const j of mail) assert.equal((await a.jobs.get(j.id))!.state, 'pending');
        assert.ok(!started.some((t) => t.startsWith('mail-')), `no mail job started: ${started.join(',')}`);
        const since = new Date(pause.pausedAt).toISOString().replace('T', ' ').slice(0, 19);
        assert.equal(await b.jobs.explain(mail[0]!.id), `channel root.mail is paused (since ${since} UTC)`);

        gate.resolve();
        assert.equal(await running.result(), 'running', 'the job running when the channel was paused finished');

        // resume from the other instance: both runners reload at once (no poll, no heartbeat within the test)
        const resumed = [ra.id, rb.id].map((id) => onceFor(a, b, id));
        assert.equal(await b.channelPauses.resume('root.mail'), true);
        await Promise.all(resumed);
        const results = await Promise.all(mail.map((j) => j.result({ timeoutMs: 10_000 })));
        assert.deepEqual(results, ['mail-0', 'mail-1', 'mail-2']);
      } finally {
        gate.resolve();
        await ra.stop();
        await rb.stop();
        await dispose();
      }
    });

    it('gives back buffered jobs of a channel paused while a runner holds them', async () => {
      const c = await backend.open({ channels: 'root:8' });
      const started: string[] = [];
      const gate = deferred();
      const m = define(c, started, gate.promise);
      const r = c.runner({ ...RUNNER, workers: 1, prefetch: 4 });
      try {
        await r.start();
        const busyStarted = startedEvent(c, c);
        const busy = await m.withDelay().hold('busy'); // takes the only slot
        assert.equal(await busyStarted, busy.id);
        const queued = [await m.withDelay().work('q1'), await m.withDelay().work('q2')];
        await waitFor(async () => (await c.jobs.get(queued[1]!.id))!.state === 'enqueued');
        const applied = onceFor(c, c, r.id);
        await c.channelPauses.pause('root.mail');
        await applied;
        await waitFor(async () =>
          (await Promise.all(queued.map((j) => c.jobs.get(j.id)))).every((row) => row!.state === 'pending'),
        );
        gate.resolve();
        assert.equal(await busy.result(), 'busy');
        assert.deepEqual(started, ['busy'], 'the buffered jobs did not start');
        await c.channelPauses.resume('root.mail');
        assert.deepEqual(await Promise.all(queued.map((j) => j.result({ timeoutMs: 10_000 }))), ['q1', 'q2']);
      } finally {
        gate.resolve();
        await r.stop();
        await backend.dispose(c);
      }
    });

    it('a runner started while a channel is paused honours the stored pause', async () => {
      const c = await backend.open({ channels: 'root:8' });
      const started: string[] = [];
      const m = define(c, started, Promise.resolve());
      await c.channelPauses.pause('root.mail.bulk');
      const r = c.runner(RUNNER);
      try {
        const held = await m.withDelay().work('held');
        await r.start();
        const other = await m.withDelay({ channel: 'root.mail' }).work('sibling');
        assert.equal(await other.result(), 'sibling', 'the parent channel is not paused');
        assert.equal((await c.jobs.get(held.id))!.state, 'pending');
        assert.match(
          await c.jobs.explain(held.id),
          /^channel root\.mail\.bulk is paused \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)$/,
        );
        await c.channelPauses.resume('root.mail.bulk');
        assert.equal(await held.result({ timeoutMs: 10_000 }), 'held');
      } finally {
        await r.stop();
        await backend.dispose(c);
      }
    });
  });
}

/** Resolves when the runner `runnerId` (of `a` or `b`) applies a change of the runtime pauses. */
function onceFor(a: Conveyor, b: Conveyor, runnerId: string): Promise<void> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const on = (e: { runnerId: string }) => {
      if (e.runnerId !== runnerId) return;
      offs.forEach((off) => off());
      resolve();
    };
    offs.push(a.on('runner_channels_paused', on));
    if (b !== a) offs.push(b.on('runner_channels_paused', on));
  });
}

/** Resolves to the id of the next job started by a runner of `a` or `b`. */
function startedEvent(a: Conveyor, b: Conveyor): Promise<number> {
  return new Promise((resolve) => {
    const offs: (() => void)[] = [];
    const on = (e: { id: number }) => {
      offs.forEach((off) => off());
      resolve(e.id);
    };
    offs.push(a.on('job_started', on));
    if (b !== a) offs.push(b.on('job_started', on));
  });
}

/** Wait for a state change that has no event of its own (a row's state), checking every 10 ms, 10 s at most. */
async function waitFor(check: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 1000; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('condition not met within 10 s');
}
