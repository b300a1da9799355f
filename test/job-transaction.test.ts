/**
 * `job.transaction()`: the job's own writes and its completion commit together, fenced by the job's
 * lease (DESIGN §2 "The job's own transaction"), on SQLite and PostgreSQL; and real runner processes
 * killed with SIGKILL inside and right after the transaction.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childLines } from './helpers/child-lines.ts';
import {
  Conveyor,
  InvalidStateError,
  JobLeaseLostError,
  RetryableJobError,
  TransactionScopeError,
  type JobContext,
} from '../src/index.ts';
import type { Logger } from '../src/internal/logger.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

interface PgClient {
  query(text: string, values?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
}
interface SqliteDb {
  prepare(sql: string): { run(...values: unknown[]): unknown; all(...values: unknown[]): Record<string, unknown>[] };
  exec(sql: string): void;
}

function deferred<T = void>() {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** A logger that keeps the warnings. */
function capturingLogger(warnings: string[]): Logger {
  const noop = () => {};
  const logger: Logger = {
    debug: noop,
    info: noop,
    error: noop,
    warn: (a, b) => {
      warnings.push(typeof a === 'string' ? a : String(b));
    },
    child: () => logger,
  };
  return logger;
}

/**
 * The application's effect table beside Conveyor's tables (in its PostgreSQL schema), created in a direct
 * call's transaction (no job row to complete); `effects(key)` reads, the same way, the attempts that wrote `key`.
 */
async function effectTable(
  c: Conveyor,
  name: string,
): Promise<{ table: string; effects(key: string): Promise<number[]> }> {
  const pg = c.driver.dialect === 'postgres';
  const table = pg ? `"${(c.driver as unknown as { schema: string }).schema}".${name}` : name;
  const model = c.model(`${name}_table`, {
    async create(job: JobContext) {
      if (pg)
        return job.transaction(async (client: PgClient) => {
          await client.query(`CREATE TABLE ${table} (key text NOT NULL, attempt int NOT NULL)`);
        });
      return job.transaction((db: SqliteDb) =>
        db.exec(`CREATE TABLE ${table} (key TEXT NOT NULL, attempt INTEGER NOT NULL)`),
      );
    },
    async rows(job: JobContext, key: string) {
      if (pg)
        return job.transaction(async (client: PgClient) =>
          (await client.query(`SELECT attempt FROM ${table} WHERE key = $1 ORDER BY attempt`, [key])).rows.map((r) =>
            Number(r.attempt),
          ),
        );
      return job.transaction((db: SqliteDb) =>
        db
          .prepare(`SELECT attempt FROM ${table} WHERE key = ? ORDER BY attempt`)
          .all(key)
          .map((r) => Number(r.attempt)),
      );
    },
  });
  await model.create();
  return { table, effects: async (key) => (await model.rows(key)) as number[] };
}

for (const backend of BACKENDS) {
  describe(`job.transaction() on ${backend.name}`, () => {
    const warnings: string[] = [];
    let c: Conveyor;
    let table: string;
    const gates = new Map<string, ReturnType<typeof deferred>>();
    const seen = new Map<string, unknown[]>();
    const note = (key: string, v: unknown) => {
      seen.set(key, [...(seen.get(key) ?? []), v]);
    };

    /** Insert the effect row inside the job's transaction, as the backend wants it (async pg / sync SQLite). */
    function pay<T>(job: JobContext, key: string, value: T, then?: () => void): Promise<T> {
      if (c.driver.dialect === 'postgres') {
        return job.transaction(async (client: PgClient) => {
          await client.query(`INSERT INTO ${table} (key, attempt) VALUES ($1, $2)`, [key, job.attempt]);
          then?.();
          return value;
        }) as Promise<T>;
      }
      return job.transaction((db: SqliteDb) => {
        db.prepare(`INSERT INTO ${table} (key, attempt) VALUES (?, ?)`).run(key, job.attempt);
        then?.();
        return value;
      }) as Promise<T>;
    }

    let effects: (key: string) => Promise<number[]>;

    let models: ReturnType<typeof define>;
    function define(conveyor: Conveyor) {
      return conveyor.model(
        'acct',
        {
          async pay(job: JobContext, key: string) {
            return pay(job, key, { paid: key });
          },
          async payThenReturn(job: JobContext, key: string) {
            await pay(job, key, 'from the transaction');
            return 'from the handler';
          },
          async payOrThrow(job: JobContext, key: string, mode: 'retry' | 'fail') {
            await pay(job, key, 'x', () => {
              if (job.attempt === 1)
                throw mode === 'retry' ? new RetryableJobError('not yet', { seconds: 0 }) : new TypeError('broken');
            });
            return job.attempt;
          },
          async payThenThrow(job: JobContext, key: string) {
            await pay(job, key, 'committed');
            throw new Error('too late: already committed');
          },
          async payTwice(job: JobContext, key: string) {
            await pay(job, key, 'first');
            try {
              await pay(job, `${key}-2`, 'second');
            } catch (err) {
              note(key, err);
            }
            return 'handler';
          },
          async asyncOnSqlite(job: JobContext, key: string) {
            return job.transaction(async (db: SqliteDb) => {
              db.prepare(`INSERT INTO ${table} (key, attempt) VALUES (?, ?)`).run(key, job.attempt);
              return 1;
            });
          },
          /** The zombie: attempt 1 waits for its gate before its transaction. */
          async gated(job: JobContext, key: string) {
            if (job.attempt === 1) {
              note(key, 'started');
              gates.get(key)!.resolve(undefined);
              await gates.get(`${key}:go`)!.promise;
            }
            try {
              return await pay(job, key, job.attempt);
            } catch (err) {
              note(key, err);
              throw err;
            }
          },
          /** PostgreSQL: waits for its gate inside the transaction, the job row locked. */
          async payHeld(job: JobContext, key: string) {
            return job.transaction(async (client: PgClient) => {
              await client.query(`INSERT INTO ${table} (key, attempt) VALUES ($1, $2)`, [key, job.attempt]);
              gates.get(key)!.resolve(undefined);
              await gates.get(`${key}:go`)!.promise;
              return key;
            });
          },
          /** PostgreSQL: its callback never returns (and ignores its signal). */
          async payStuck(job: JobContext, key: string) {
            return job.transaction(async (client: PgClient) => {
              await client.query(`INSERT INTO ${table} (key, attempt) VALUES ($1, $2)`, [key, job.attempt]);
              await new Promise(() => {});
            });
          },
          /** Goes on after its time limit, then tries its transaction. */
          async lateTx(job: JobContext, key: string) {
            await new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true }));
            try {
              await pay(job, key, 'late');
            } catch (err) {
              note(key, err);
            }
            gates.get(key)!.resolve(undefined);
          },
        },
        {
          payOrThrow: { maxRetries: 3 },
          gated: { maxRetries: 5 },
          payStuck: { timeLimit: 300, maxRetries: 1 },
          lateTx: { timeLimit: 100, maxRetries: 1 },
        },
      );
    }

    before(async () => {
      c = await backend.open({ channels: 'root:4', logger: capturingLogger(warnings) });
      models = define(c);
      ({ table, effects } = await effectTable(c, 'app_effects'));
    });
    after(async () => {
      await backend.dispose(c);
    });

    async function withRunner<T>(fn: () => Promise<T>, options = {}): Promise<T> {
      const r = c.runner({ workers: 2, ...options });
      await r.start();
      try {
        return await fn();
      } finally {
        await r.stop();
      }
    }

    function watch() {
      const done: number[] = [];
      const races: number[] = [];
      const offs = [c.on('job_done', (e) => done.push(e.id)), c.on('job_race', (e) => races.push(e.id))];
      return { done, races, off: () => offs.forEach((off) => off()) };
    }

    it('commits the effect and the completion together: result from the callback, job_done once, no race', async () => {
      const w = watch();
      const job = await models.withDelay().pay('a');
      const result = await withRunner(() => job.result());
      w.off();
      assert.deepEqual(result, { paid: 'a' });
      const row = (await c.jobs.get(job.id))!;
      assert.equal(row.state, 'done');
      assert.ok(row.startedAt !== null && row.doneAt !== null && row.startedAt <= row.doneAt);
      assert.deepEqual(await effects('a'), [1]);
      assert.deepEqual(w.done, [job.id]);
      assert.deepEqual(w.races, []);
    });

    it("stores the callback's value, not what the handler returns after it", async () => {
      const job = await models.withDelay().payThenReturn('b');
      assert.equal(await withRunner(() => job.result()), 'from the transaction');
      assert.deepEqual(await effects('b'), [1]);
    });

    it('releases the dependants of a graph in the same transaction', async () => {
      const parent = models.delayable().pay('g1');
      const child = models.delayable().pay('g2');
      const p = await parent.onDone(child).delay();
      const [childId] = (await c.driver.jobDependencies(p.id)).dependants;
      assert.equal((await c.jobs.get(childId!))!.state, 'wait_dependencies');
      await withRunner(() => c.jobs.wait(childId!));
      assert.equal((await c.jobs.get(childId!))!.state, 'done');
      assert.equal((await c.jobs.get(p.id))!.state, 'done');
      assert.deepEqual(await effects('g1'), [1]);
      assert.deepEqual(await effects('g2'), [1]);
    });

    it('rolls the effect back when the callback throws, and the job retries normally', async () => {
      const job = await models.withDelay().payOrThrow('r', 'retry');
      assert.equal(await withRunner(() => job.result()), 'x');
      assert.equal((await c.jobs.get(job.id))!.attempt, 2);
      assert.deepEqual(await effects('r'), [2], 'the first attempt wrote nothing');
      const attempts = await c.jobs.attempts(job.id);
      assert.deepEqual(
        attempts.map((a) => a.outcome),
        ['retried'],
      );
    });

    it('rolls the effect back when the callback throws, and the job fails normally', async () => {
      const job = await models.withDelay().payOrThrow('f', 'fail');
      const failed = deferred<number>();
      const off = c.on('job_failed', (e) => {
        if (e.id === job.id) failed.resolve(e.id);
      });
      await withRunner(() => failed.promise);
      off();
      const row = (await c.jobs.get(job.id))!;
      assert.equal(row.state, 'failed');
      assert.equal(row.excName, 'TypeError');
      assert.deepEqual(await effects('f'), []);
    });

    it('keeps the job done when the handler throws after its transaction committed, and logs a warning', async () => {
      const w = watch();
      warnings.length = 0;
      const job = await models.withDelay().payThenThrow('t');
      await withRunner(async () => {
        while (!w.done.includes(job.id))
          await new Promise<void>((r) => {
            const off = c.on('job_done', () => {
              off();
              r();
            });
          });
      });
      w.off();
      const row = (await c.jobs.get(job.id))!;
      assert.equal(row.state, 'done');
      assert.equal(row.result, 'committed');
      assert.deepEqual(await effects('t'), [1]);
      assert.deepEqual(w.races, []);
      assert.ok(
        warnings.some((m) => /after its job\.transaction\(\) committed/.test(m)),
        warnings.join('\n'),
      );
    });

    it('refuses a second job.transaction() in one run with a typed error', async () => {
      const job = await models.withDelay().payTwice('twice');
      assert.equal(await withRunner(() => job.result()), 'first');
      const [err] = seen.get('twice') as Error[];
      assert.ok(err instanceof InvalidStateError, String(err));
      assert.equal((err as InvalidStateError).code, 'INVALID_STATE');
      assert.deepEqual(await effects('twice'), [1]);
      assert.deepEqual(await effects('twice-2'), []);
    });

    it('runs the callback in a plain transaction in a direct call (no job row to complete)', async () => {
      assert.deepEqual(await models.pay('direct'), { paid: 'direct' });
      assert.deepEqual(await effects('direct'), [1]);
    });

    if (backend.name === 'sqlite') {
      it('refuses an async callback on SQLite with a TransactionScopeError and rolls it back', async () => {
        await assert.rejects(
          models.asyncOnSqlite('async-direct'),
          (err: Error) => err instanceof TransactionScopeError && /synchronous callback/.test(err.message),
        );
        const job = await models.withDelay({ maxRetries: 1 }).asyncOnSqlite('async');
        const failed = deferred<void>();
        const off = c.on('job_failed', (e) => {
          if (e.id === job.id) failed.resolve();
        });
        await withRunner(() => failed.promise);
        off();
        assert.equal((await c.jobs.get(job.id))!.excName, 'TransactionScopeError');
        assert.deepEqual(await effects('async'), []);
        assert.deepEqual(await effects('async-direct'), []);
      });
    }

    if (backend.name === 'postgres') {
      it('holds the job while the callback runs: a rescue meanwhile skips it, and the transaction commits', async () => {
        gates.set('held', deferred());
        gates.set('held:go', deferred());
        const job = await models.withDelay().payHeld('held');
        const r = c.runner({ workers: 1, prefetch: 0 });
        await r.start();
        try {
          await gates.get('held')!.promise;
          const rescued = await c.driver.jobRescue({ now: Date.now() + 3_600_000, maxCrashes: 5 });
          assert.deepEqual(
            rescued.filter((x) => x.id === job.id),
            [],
            'the locked job is not taken from its transaction',
          );
          gates.get('held:go')!.resolve(undefined);
          assert.equal(await job.result(), 'held');
        } finally {
          await r.stop();
        }
        const row = (await c.jobs.get(job.id))!;
        assert.equal(row.state, 'done');
        assert.equal(row.attempt, 1);
        assert.deepEqual(await effects('held'), [1]);
      });
    }

    if (backend.name === 'postgres') {
      it('rolls back a transaction still open at the time limit: the job times out, its effect never commits', async () => {
        const job = await models.withDelay().payStuck('stuck');
        const failed = deferred<void>();
        const off = c.on('job_failed', (e) => {
          if (e.id === job.id) failed.resolve();
        });
        await withRunner(() => failed.promise);
        off();
        const row = (await c.jobs.get(job.id))!;
        assert.equal(row.state, 'failed');
        assert.equal(row.excName, 'TimeoutError');
        assert.deepEqual(await effects('stuck'), []);
        // the pool is still usable
        const next = await models.withDelay().pay('after-stuck');
        assert.deepEqual(await withRunner(() => next.result()), { paid: 'after-stuck' });
      });
    }

    it('refuses the transaction of a run that already ended at its time limit', async () => {
      gates.set('late', deferred());
      const job = await models.withDelay().lateTx('late');
      await withRunner(() => gates.get('late')!.promise);
      const [err] = seen.get('late') as Error[];
      assert.equal(err?.name, 'TimeoutError');
      assert.equal((await c.jobs.get(job.id))!.state, 'failed');
      assert.deepEqual(await effects('late'), []);
    });

    it('fences a zombie: a job rescued from under its runner gets JobLeaseLostError, its effect never commits, the rerun commits once', async () => {
      gates.set('z', deferred());
      gates.set('z:go', deferred());
      const job = await models.withDelay().gated('z');
      const zombie = c.runner({ workers: 1, prefetch: 0, lease: '30s' });
      await zombie.start();
      try {
        await gates.get('z')!.promise;
        // the zombie's lease ends (seen from a clock past it): the rescue puts its job back to pending
        const rescued = await c.driver.jobRescue({ now: Date.now() + 3_600_000, maxCrashes: 5 });
        assert.deepEqual(
          rescued.map((r) => r.id),
          [job.id],
        );
        const races = watch();
        gates.get('z:go')!.resolve(undefined);
        while ((seen.get('z') ?? []).length < 2) await new Promise((r) => setImmediate(r));
        const err = seen.get('z')![1] as Error;
        assert.ok(err instanceof JobLeaseLostError, String(err));
        assert.equal((err as JobLeaseLostError).code, 'JOB_LEASE_LOST');
        // (the zombie's own runner, now free, may already have taken the job again: attempt 2)
        assert.ok(!(await effects('z')).includes(1), "the zombie's effect was rolled back");
        races.off();
        // the zombie's runner stops first: the rescue dropped its row, so a job it claimed again before
        // re-registering (attempt 2) would be rescued once more by the next runner's start-up rescue
        await zombie.stop();
        // a runner takes the job again and commits it once
        const result = await withRunner(() => job.result());
        assert.equal(result, 2);
      } finally {
        await zombie.stop();
      }
      assert.deepEqual(await effects('z'), [2]);
      assert.equal((await c.jobs.get(job.id))!.state, 'done');
    });
  });
}

// ------------------------------------------------------------------ real processes, kill -9

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-tx-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Store {
  name: string;
  database: string;
  schema?: string;
}

function stores(): Store[] {
  const out: Store[] = [{ name: 'sqlite file', database: `sqlite:${path.join(tmp, `tx-${Date.now()}.db`)}` }];
  if (BACKENDS.some((b) => b.name === 'postgres'))
    out.push({ name: 'postgres', database: PG_URL, schema: uniqueSchema('tx') });
  return out;
}

interface Proc {
  child: ChildProcess;
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<unknown>;
}

function runner(store: Store, args: string[]): Proc {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/conveyor.js'), 'run', path.join(ROOT, 'test/fixtures/tx-app.ts'), ...args],
    {
      env: {
        ...process.env,
        CONVEYOR_DATABASE: store.database,
        CONVEYOR_SCHEMA: store.schema ?? '',
        CONVEYOR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = childLines(child, `runner ${child.pid}`);
  const exited = new Promise((resolve) => child.on('exit', resolve));
  return {
    child,
    exited,
    waitFor: (re) => out.waitFor(re),
  };
}

for (const store of stores()) {
  describe(`job.transaction() with runners killed by SIGKILL (${store.name})`, () => {
    let c: Conveyor;
    let effects: (key: string) => Promise<number[]>;
    let tx: ReturnType<typeof defineTx>;
    const defineTx = (conveyor: Conveyor) =>
      conveyor.model('tx', {
        async pay(_job: JobContext, _key: string, _mode: string) {
          /* run by the fixture's runners */
        },
      });
    before(async () => {
      c = await Conveyor.open({ database: store.database, schema: store.schema, logger: 'silent' });
      tx = defineTx(c);
      ({ effects } = await effectTable(c, 'tx_effects'));
    });
    after(async () => {
      if (store.schema) await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
      await c.close();
    });

    for (const mode of ['inside', 'after'] as const) {
      it(`kill -9 ${mode === 'inside' ? 'inside the transaction (effect written, not committed)' : 'right after the commit'}: the effect is applied exactly once`, async () => {
        const job = await tx.withDelay({ maxRetries: 5 }).pay(`k-${mode}`, mode);
        const a = runner(store, ['--lease', '1s', '--workers', '1']);
        await a.waitFor(new RegExp(`${mode === 'inside' ? 'IN_TX' : 'AFTER_TX'} ${job.id}\\b`));
        a.child.kill('SIGKILL');
        await a.exited;
        const row = (await c.jobs.get(job.id))!;
        if (mode === 'inside') {
          assert.equal(row.state, 'started', 'not done: the transaction never committed');
          assert.deepEqual(await effects(`k-${mode}`), [], 'and its effect is not there either');
          // a second runner rescues the job once the dead runner's lease has expired, and runs it again
          const b = runner(store, ['--lease', '1s', '--workers', '1']);
          try {
            assert.deepEqual(await job.result(), { paid: `k-${mode}` });
          } finally {
            b.child.kill('SIGTERM');
            await b.exited;
          }
          const final = (await c.jobs.get(job.id))!;
          assert.equal(final.state, 'done');
          assert.equal(final.attempt, 2);
          assert.deepEqual(await effects(`k-${mode}`), [2]);
        } else {
          assert.equal(row.state, 'done', 'done with its effect, although its runner never ended the run');
          assert.deepEqual(row.result, { paid: `k-${mode}` });
          assert.deepEqual(await effects(`k-${mode}`), [1]);
          // nothing to rescue: a second runner past the lease finds the job done and leaves it
          const b = runner(store, ['--lease', '1s', '--workers', '1']);
          try {
            await b.waitFor(/started/);
            const rescued = await c.driver.jobRescue({ now: Date.now() + 60_000, maxCrashes: 5 });
            assert.deepEqual(
              rescued.filter((r) => r.id === job.id),
              [],
            );
          } finally {
            b.child.kill('SIGTERM');
            await b.exited;
          }
          assert.equal((await c.jobs.get(job.id))!.state, 'done');
          assert.deepEqual(await effects(`k-${mode}`), [1]);
        }
      });
    }

    it('works in process isolation: the worker process commits the fenced transaction, the runner writes nothing more', async () => {
      const saved = {
        db: process.env.CONVEYOR_DATABASE,
        schema: process.env.CONVEYOR_SCHEMA,
        level: process.env.CONVEYOR_LOG_LEVEL,
      };
      // the workers load the fixture, which opens the store named by the environment
      process.env.CONVEYOR_DATABASE = store.database;
      process.env.CONVEYOR_SCHEMA = store.schema ?? '';
      process.env.CONVEYOR_LOG_LEVEL = 'error';
      const races: number[] = [];
      const done: number[] = [];
      let onDone = () => {};
      const offs = [
        c.on('job_race', (e) => races.push(e.id)),
        c.on('job_done', (e) => {
          done.push(e.id);
          onDone();
        }),
      ];
      // job_done comes once the runner hears the run ended, which may be after the job reads as done
      const doneCount = (n: number) =>
        new Promise<void>((resolve) => {
          onDone = () => {
            if (done.length >= n) resolve();
          };
          onDone();
        });
      const r = c.runner({
        isolation: 'process',
        module: path.join(ROOT, 'test/fixtures/tx-app.ts'),
        workers: 1,
        pollInterval: '200ms',
      });
      try {
        await r.start();
        const job = await tx.withDelay().pay('iso', 'plain');
        assert.deepEqual(await job.result(), { paid: 'iso' });
        const second = await tx.withDelay().pay('iso-2', 'plain');
        assert.deepEqual(await second.result(), { paid: 'iso-2' });
        await doneCount(2);
        assert.deepEqual(done, [job.id, second.id]);
      } finally {
        await r.stop();
        offs.forEach((off) => off());
        for (const [k, v] of [
          ['CONVEYOR_DATABASE', saved.db],
          ['CONVEYOR_SCHEMA', saved.schema],
          ['CONVEYOR_LOG_LEVEL', saved.level],
        ] as const) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
      assert.deepEqual(races, []);
      assert.deepEqual(await effects('iso'), [1]);
      assert.deepEqual(await effects('iso-2'), [1]);
    });
  });
}
