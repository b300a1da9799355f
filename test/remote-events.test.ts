/**
 * Job lifecycle events across Conveyor instances (`conveyor.events.subscribeRemote`): two instances on
 * one store (one PostgreSQL schema: LISTEN/NOTIFY; one SQLite file in this process: the shared emitter),
 * the runner of one publishing, the other subscribing. Also: runners publish only while someone
 * subscribes (`publishEvents: 'auto'`), never with `false`; payload packing under 8000 bytes.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { BACKENDS, uniqueSchema, type Backend } from './helpers/backends.ts';
import { type Conveyor, RetryableJobError, ValidationError, type JobContext, type RemoteEvent } from '../src/index.ts';
import { REMOTE_ERROR_MAX, REMOTE_PAYLOAD_MAX, packRemoteEvents, unpackRemoteEvents } from '../src/events.ts';

const dir = mkdtempSync(join(tmpdir(), 'conveyor-events-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Two Conveyors on one store of `backend`. */
async function pair(backend: Backend): Promise<{ a: Conveyor; b: Conveyor; close(): Promise<void> }> {
  if (backend.name === 'sqlite') {
    const database = `sqlite:${join(dir, `${uniqueSchema('e')}.db`)}`;
    const a = await backend.open({ database });
    const b = await backend.open({ database });
    return {
      a,
      b,
      close: async () => {
        await b.close();
        await a.close();
      },
    };
  }
  const schema = uniqueSchema('ev');
  const a = await backend.open({ schema });
  const b = await backend.open({ schema });
  return {
    a,
    b,
    close: async () => {
      await b.close();
      await backend.dispose(a);
    },
  };
}

/** Collects events; `until(n)` resolves once n have arrived. */
function collector() {
  const events: RemoteEvent[] = [];
  const waiters: { n: number; resolve: () => void }[] = [];
  return {
    events,
    listener: (ev: RemoteEvent) => {
      events.push(ev);
      for (const w of waiters.filter((x) => events.length >= x.n)) w.resolve();
    },
    until: (n: number) =>
      new Promise<void>((resolve) => {
        if (events.length >= n) resolve();
        else waiters.push({ n, resolve });
      }),
  };
}

function defineModel(c: Conveyor) {
  let flakyCalls = 0;
  return c.model(
    'ev.jobs',
    {
      async ok(_job: JobContext, n: number) {
        return n;
      },
      async bad() {
        throw new Error('x'.repeat(5000));
      },
      async flaky() {
        if (flakyCalls++ === 0) throw new RetryableJobError('not yet', { seconds: 0 });
        return 'ok';
      },
      async stuck(job: JobContext) {
        await new Promise((_, reject) =>
          job.signal.addEventListener('abort', () => reject(job.signal.reason as Error)),
        );
      },
    },
    { bad: { maxRetries: 1 }, stuck: { timeLimit: 50, maxRetries: 1 } },
  );
}

for (const backend of BACKENDS) {
  describe(`remote events on ${backend.name}`, () => {
    it("one instance's runner publishes done, failed, retried and timed-out events; another receives them", async () => {
      const { a, b, close } = await pair(backend);
      try {
        const model = defineModel(a);
        const all = collector();
        const failures = collector();
        const sub = await b.events.subscribeRemote(
          ['job_done', 'job_failed', 'job_retried', 'job_timed_out'],
          all.listener,
        );
        const failSub = await b.events.subscribeRemote(['job_failed'], failures.listener);
        const local: unknown[] = [];
        b.on('job_done', (p) => local.push(p));
        const runner = a.runner({ workers: 4 });
        await runner.start();
        try {
          const ok = await model.withDelay().ok(7);
          const bad = await model.withDelay().bad();
          const flaky = await model.withDelay().flaky();
          const stuck = await model.withDelay().stuck();
          await Promise.all([ok.wait(), bad.wait(), flaky.wait(), stuck.wait()]);
          // ok: done; bad: failed; flaky: retried + done; stuck: timed out + failed
          await all.until(6);
          await failures.until(2);
          const by = (id: number) =>
            all.events
              .filter((e) => e.id === id)
              .map((e) => e.event)
              .sort();
          assert.deepEqual(by(ok.id), ['job_done']);
          assert.deepEqual(by(bad.id), ['job_failed']);
          assert.deepEqual(by(flaky.id), ['job_done', 'job_retried']);
          assert.deepEqual(by(stuck.id), ['job_failed', 'job_timed_out']);
          const done = all.events.find((e) => e.id === ok.id)!;
          assert.equal(done.event, 'job_done');
          assert.deepEqual(
            { ...done, durationMs: 0 },
            {
              event: 'job_done',
              runnerId: runner.id,
              id: ok.id,
              model: 'ev.jobs',
              method: 'ok',
              attempt: 1,
              channel: 'root',
              durationMs: 0,
            },
          );
          const failed = all.events.find((e) => e.id === bad.id)!;
          assert.ok(
            failed.event === 'job_failed' && failed.error.length === REMOTE_ERROR_MAX + 1 && failed.error.endsWith('…'),
            'a long error is cut',
          );
          const timedOut = all.events.find((e) => e.event === 'job_timed_out')!;
          assert.ok(timedOut.event === 'job_timed_out' && timedOut.limitMs === 50);
          assert.deepEqual(
            failures.events.map((e) => [e.event, e.id]).sort(),
            [
              ['job_failed', bad.id],
              ['job_failed', stuck.id],
            ].sort(),
          );
          assert.deepEqual(local, [], "the in-process events stay in the runner's process");
        } finally {
          await runner.stop();
          await sub.close();
          await failSub.close();
        }
      } finally {
        await close();
      }
    });

    it('runners publish only while someone subscribes (auto), and never with publishEvents: false', async () => {
      const { a, b, close } = await pair(backend);
      try {
        const model = defineModel(a);
        let published = 0;
        const publish = a.driver.publishEvents.bind(a.driver);
        a.driver.publishEvents = async (payloads) => {
          published += payloads.length;
          return publish(payloads);
        };
        const quiet = a.runner({ workers: 2, publishEvents: false, lease: '2s', heartbeat: '20ms' });
        await quiet.start();
        const got = collector();
        let sub: Awaited<ReturnType<typeof b.events.subscribeRemote>> | undefined;
        try {
          await (await model.withDelay().ok(1)).wait();
          assert.equal(published, 0, 'no subscriber: nothing published');
          sub = await b.events.subscribeRemote(['job_done'], got.listener);
          for (let i = 0; i < 3; i++) await (await model.withDelay().ok(2)).wait();
          assert.equal(published, 0, 'publishEvents: false');
        } finally {
          await quiet.stop();
        }
        // an 'auto' runner sees the subscriber at start
        const auto = a.runner({ workers: 2, lease: '2s', heartbeat: '20ms' });
        await auto.start();
        try {
          const job = await model.withDelay().ok(3);
          await job.wait();
          await got.until(1);
          assert.deepEqual(
            got.events.map((e) => e.id),
            [job.id],
          );
          assert.ok(published >= 1);
          // and notices a subscriber that leaves within its heartbeats: it publishes nothing after that
          await sub!.close();
          let before = -1;
          for (let i = 0; i < 500 && before !== published; i++) {
            before = published;
            await (await model.withDelay().ok(4)).wait();
          }
          assert.equal(before, published, 'stopped publishing once nobody listens');
        } finally {
          await auto.stop();
        }
      } finally {
        await close();
      }
    });

    it('refuses unknown event names and bad listeners', async () => {
      const c = await backend.open();
      try {
        await assert.rejects(
          c.events.subscribeRemote(['job_started' as never], () => {}),
          (err: unknown) => err instanceof ValidationError && /unknown event 'job_started'/.test(err.message),
        );
        await assert.rejects(
          c.events.subscribeRemote([], () => {}),
          ValidationError,
        );
        await assert.rejects(c.events.subscribeRemote(['job_done'], 'nope' as never), /listener must be a function/);
        await assert.rejects(
          c.events.subscribeRemote(['job_done'], () => {}, { onGaps: () => {} } as never),
          /unknown option 'onGaps'/,
        );
        assert.throws(
          () => c.runner({ publishEvents: 'sometimes' as never }),
          /publishEvents: expected true, false or 'auto'/,
        );
      } finally {
        await backend.dispose(c);
      }
    });
  });
}

describe('remote event payloads', () => {
  const event = fc.oneof(
    fc.record(
      {
        event: fc.constant('job_done' as const),
        runnerId: fc.string(),
        id: fc.nat(),
        model: fc.string(),
        method: fc.string(),
        channel: fc.string(),
        attempt: fc.nat(),
        durationMs: fc.nat(),
      },
      { noNullPrototype: true },
    ),
    fc.record(
      {
        event: fc.constant('job_failed' as const),
        runnerId: fc.string(),
        id: fc.nat(),
        model: fc.string(),
        method: fc.string(),
        attempt: fc.nat(),
        error: fc.string({ unit: 'grapheme', maxLength: 3000 }),
      },
      { noNullPrototype: true },
    ),
  );
  it('pack into payloads under 8000 bytes that give back every event, in order, long errors cut', () => {
    fc.assert(
      fc.property(fc.array(event, { maxLength: 200 }), (events) => {
        const payloads = packRemoteEvents(events);
        for (const p of payloads) assert.ok(Buffer.byteLength(p) <= REMOTE_PAYLOAD_MAX && REMOTE_PAYLOAD_MAX < 8000);
        const back = payloads.flatMap(unpackRemoteEvents);
        const cut = events.map((e) =>
          'error' in e && e.error.length > REMOTE_ERROR_MAX
            ? { ...e, error: e.error.slice(0, REMOTE_ERROR_MAX) + '…' }
            : e,
        );
        assert.deepEqual(back, cut);
        // packed, not one per event: the first payload is full before a second starts
        if (payloads.length > 1) assert.ok(Buffer.byteLength(payloads[0]!) > REMOTE_PAYLOAD_MAX - 6000);
      }),
      { seed: 3, numRuns: 60 },
    );
    assert.deepEqual(unpackRemoteEvents('not json'), []);
  });
});
