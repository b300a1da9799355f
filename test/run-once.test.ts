/**
 * What `conveyor run --once` builds on, on SQLite and PostgreSQL: `runner.untilIdle()` (run until no job
 * is due), `unknownChannels` at enqueue, `wait()`'s own timeout error, and `Conveyor.open({ create: false })`.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  chain,
  Conveyor,
  DatabaseNotFoundError,
  RetryableJobError,
  UnknownChannelError,
  WaitTimeoutError,
  type JobContext,
} from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

/** A logger that keeps its warnings. */
function memoryLogger() {
  const warnings: string[] = [];
  const logger = {
    debug() {},
    info() {},
    error() {},
    warn(a: unknown, b?: string) {
      warnings.push(typeof a === 'string' ? a : (b ?? ''));
    },
    child() {
      return logger;
    },
  };
  return { logger, warnings };
}

for (const backend of BACKENDS) {
  describe(`run until idle on ${backend.name}`, () => {
    it('runs every due job, graph dependants and immediate retries included, leaves future ETAs, then resolves', async () => {
      const c = await backend.open({ channels: 'root:2' });
      try {
        const runs: string[] = [];
        const m = c.model('once.work', {
          async step(_job: JobContext, name: string) {
            runs.push(name);
          },
          async flaky(job: JobContext) {
            runs.push(`flaky${job.attempt}`);
            if (job.attempt < 3) throw new RetryableJobError('again', { seconds: 0 });
          },
        });
        const later = await m.withDelay({ eta: '1h' }).step('later');
        const [a, b, cc] = await chain(
          m.delayable().step('a'),
          m.delayable().step('b'),
          m.delayable().step('c'),
        ).delay();
        const flaky = await m.withDelay().flaky();
        const runner = c.runner({ workers: 2, lease: '5s' });
        await runner.start();
        await runner.untilIdle();
        assert.equal(runner.running, 0);
        await runner.stop();
        for (const j of [a!, b!, cc!, flaky]) assert.equal((await j.refresh()).state, 'done', `job ${j.id}`);
        assert.equal((await later.refresh()).state, 'pending');
        assert.deepEqual(
          runs.filter((r) => r.length === 1),
          ['a', 'b', 'c'],
        );
        assert.deepEqual(
          runs.filter((r) => r.startsWith('flaky')),
          ['flaky1', 'flaky2', 'flaky3'],
        );
        assert.ok(!runs.includes('later'));
      } finally {
        await backend.dispose(c);
      }
    });

    it('resolves at once on an empty queue, and keeps going while due jobs wait for capacity held by a job in progress', async () => {
      const c = await backend.open({ channels: 'root:1' });
      try {
        let release!: () => void;
        const gate = new Promise<void>((r) => {
          release = r;
        });
        let started!: () => void;
        const isStarted = new Promise<void>((r) => {
          started = r;
        });
        const runs: string[] = [];
        const m = c.model('once.cap', {
          async hold() {
            started();
            await gate;
            runs.push('hold');
          },
          async quick() {
            runs.push('quick');
          },
        });
        const empty = c.runner({ workers: 1 });
        await empty.start();
        await empty.untilIdle();
        await empty.stop();

        // a first runner holds root's only slot (and never takes root.fast); the due quick job must keep
        // `once` going until that slot frees, not let it exit
        const holder = c.runner({ workers: 1, prefetch: 0, channels: 'root:1,root.fast:0' });
        await m.withDelay({ channel: 'root.slow' }).hold();
        await holder.start();
        await isStarted;
        const quick = await m.withDelay({ channel: 'root.fast' }).quick();
        const once = c.runner({ workers: 1, prefetch: 0 });
        await once.start();
        const idle = once.untilIdle();
        // released a little later: an untilIdle() that gave up on the capacity-blocked job resolves first
        const timer = setTimeout(release, 200);
        await idle;
        clearTimeout(timer);
        release();
        assert.equal(
          (await quick.refresh()).state,
          'done',
          'untilIdle() resolved while a due job waited for capacity held by a running job',
        );
        await once.stop();
        await holder.stop();
        assert.deepEqual(runs, ['hold', 'quick']);
      } finally {
        await backend.dispose(c);
      }
    });

    it('warns once per unknown channel with a did-you-mean, or refuses it with unknownChannels: error', async () => {
      const { logger, warnings } = memoryLogger();
      const c = await backend.open({ channels: 'root:2,root.mail:1', logger, maintenance: false });
      try {
        const m = c.model('chan.test', { async send() {}, async report() {} }, { report: { channel: 'root.reports' } });
        const typo1 = await m.withDelay({ channel: 'root.mial' }).send();
        await m.withDelay({ channel: 'root.mial' }).send();
        await m.withDelay({ channel: 'mail' }).send(); // configured, short name
        await m.withDelay({ channel: 'root.reports' }).send(); // a job function's channel
        await m.withDelay().report();
        const unknown = warnings.filter((w) => /unknown channel/.test(w));
        assert.equal(unknown.length, 1, unknown.join('\n'));
        assert.match(
          unknown[0]!,
          /unknown channel 'root\.mial' for chan\.test\.send \(did you mean 'root\.mail'\?\): the configured channels are root, root\.mail/,
        );
        assert.equal((await typo1.refresh()).channel, 'root.mial');
      } finally {
        await backend.dispose(c);
      }
      const strict = await backend.open({ channels: 'root:2,root.mail:1', unknownChannels: 'error' });
      try {
        const m = strict.model('chan.test', { async send() {} });
        await assert.rejects(
          m.withDelay({ channel: 'root.mial' }).send(),
          (e: unknown) =>
            e instanceof UnknownChannelError &&
            e.code === 'UNKNOWN_CHANNEL' &&
            /did you mean 'root\.mail'/.test(e.message),
        );
        assert.equal(
          (await strict.jobs.count({})).reduce((n, r) => n + r.count, 0),
          0,
        );
        await m.withDelay({ channel: 'root.mail' }).send();
      } finally {
        await backend.dispose(strict);
      }
    });

    it('wait() with timeoutMs throws WaitTimeoutError (code WAIT_TIMEOUT), not a configuration error', async () => {
      const c = await backend.open();
      try {
        const m = c.model('wait.test', { async nap() {} });
        const job = await m.withDelay().nap();
        await assert.rejects(
          job.wait({ timeoutMs: 50 }),
          (e: unknown) =>
            e instanceof WaitTimeoutError &&
            e.code === 'WAIT_TIMEOUT' &&
            e.jobId === job.id &&
            e.timeoutMs === 50 &&
            /did not finish within 50 ms \(state pending\)/.test(e.message),
        );
        await assert.rejects(c.jobs.wait(job.id, { timeoutMs: 0 }), WaitTimeoutError);
        await assert.rejects(
          c.jobs.wait(job.id, { timeoutMs: -1 }),
          /timeoutMs must be a number of milliseconds >= 0, got -1/,
        );
      } finally {
        await backend.dispose(c);
      }
    });
  });
}

describe('Conveyor.open({ create: false })', () => {
  it('refuses a SQLite file that does not exist, and does not create it', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-create-'));
    try {
      const file = path.join(dir, 'missing.db');
      await assert.rejects(
        Conveyor.open({ database: `sqlite:${file}`, create: false, logger: 'silent' }),
        (e: unknown) =>
          e instanceof DatabaseNotFoundError &&
          e.code === 'DATABASE_NOT_FOUND' &&
          e.message.includes(`'${file}' does not exist`),
      );
      assert.equal(fs.existsSync(file), false);
      fs.writeFileSync(file, ''); // exists, but holds no Conveyor tables
      await assert.rejects(
        Conveyor.open({ database: `sqlite:${file}`, create: false, logger: 'silent' }),
        /holds no Conveyor tables/,
      );
      await assert.rejects(
        Conveyor.open({ database: 'sqlite::memory:', create: false, logger: 'silent' }),
        DatabaseNotFoundError,
      );
      await (await Conveyor.open({ database: `sqlite:${file}`, logger: 'silent', maintenance: false })).close();
      await (
        await Conveyor.open({ database: `sqlite:${file}`, create: false, logger: 'silent', maintenance: false })
      ).close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a PostgreSQL schema that does not exist, naming it', {
    skip: !BACKENDS.some((b) => b.name === 'postgres'),
  }, async () => {
    const schema = uniqueSchema('missing');
    await assert.rejects(
      Conveyor.open({ database: PG_URL, schema, create: false, logger: 'silent' }),
      (e: unknown) => e instanceof DatabaseNotFoundError && e.message.includes(`no Conveyor schema '${schema}'`),
    );
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      const r = await client.query('SELECT 1 FROM information_schema.schemata WHERE schema_name = $1', [schema]);
      assert.equal(r.rowCount, 0, 'create: false created the schema');
    } finally {
      await client.end();
    }
  });
});
