/**
 * Process isolation: an in-process runner with `isolation: 'process'` runs the jobs of
 * test/fixtures/limits-app.ts in forked worker processes. The stuck-job matrix (busy loop, native
 * call, Atomics.wait, synchronous subprocess, a job that ignores its signal, unbounded allocation),
 * the CPU limit, the soft memory recycle, a worker that exits, and ordinary outcomes crossing the
 * process boundary. Run on a SQLite file and on PostgreSQL.
 *
 * Behaviour is asserted (stopped, recorded, others kept running, nothing lost); the time from a limit
 * to the freed slot is measured and reported with `t.diagnostic`.
 */
import { after, before, describe, it, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import readline from 'node:readline';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conveyor, ConfigurationError, type Runner } from '../src/index.ts';
import type { ConveyorEvents } from '../src/events.ts';
import type { JobRow } from '../src/job/row.ts';
import { Command } from 'commander';
import { addOptions, resolveOptions } from '../src/cli/config.ts';
import { defineLimits } from './fixtures/limits-app.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const MODULE = path.join(ROOT, 'test/fixtures/limits-app.ts');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-iso-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
process.env.CONVEYOR_LOG_LEVEL ??= 'error'; // the workers' own logger

interface Store {
  name: string;
  database: string;
  schema?: string;
}

function stores(): Store[] {
  const out: Store[] = [{ name: 'sqlite file', database: `sqlite:${path.join(tmp, `iso-${Date.now()}.db`)}` }];
  if (BACKENDS.some((b) => b.name === 'postgres'))
    out.push({ name: 'postgres', database: PG_URL, schema: uniqueSchema('iso') });
  return out;
}

type Limits = ReturnType<typeof defineLimits>;

/** Open the store in this process, and point the workers (which load the fixture) at it. */
async function openStore(store: Store): Promise<{ c: Conveyor; m: Limits }> {
  process.env.CONVEYOR_DATABASE = store.database;
  process.env.CONVEYOR_SCHEMA = store.schema ?? '';
  const c = await Conveyor.open({
    database: store.database,
    schema: store.schema,
    logger: 'silent',
    channels: 'root:8',
  });
  return { c, m: defineLimits(c) };
}

async function dispose(c: Conveyor, store: Store): Promise<void> {
  if (store.schema) await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
  await c.close();
}

// ---------------------------------------------------------------- events, awaited

type EvName = 'job_started' | 'job_done' | 'job_failed' | 'job_retried' | 'job_timed_out';
interface Ev {
  name: EvName;
  id: number;
  at: number;
  payload: Record<string, unknown>;
}

function recorder(c: Conveyor) {
  const seen: Ev[] = [];
  const waiters: { name: EvName; id: number; resolve(e: Ev): void }[] = [];
  const offs = (['job_started', 'job_done', 'job_failed', 'job_retried', 'job_timed_out'] as const).map((name) =>
    c.on(name, (payload: ConveyorEvents[typeof name]) => {
      const e: Ev = {
        name,
        id: payload.id,
        at: performance.now(),
        payload: payload as unknown as Record<string, unknown>,
      };
      seen.push(e);
      for (const w of [...waiters]) {
        if (w.name === name && w.id === e.id) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(e);
        }
      }
    }),
  );
  return {
    /** The first `name` event of job `id` (already seen or to come). */
    wait(name: EvName, id: number): Promise<Ev> {
      const e = seen.find((x) => x.name === name && x.id === id);
      return e ? Promise.resolve(e) : new Promise((resolve) => waiters.push({ name, id, resolve }));
    },
    close: () => offs.forEach((off) => off()),
  };
}

// ---------------------------------------------------------------- processes, from /proc

function procStat(pid: number): { ppid: number; pgrp: number; state: string } | null {
  try {
    const text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: f[0]!, ppid: Number(f[1]), pgrp: Number(f[2]) };
  } catch {
    return null;
  }
}

function allPids(): number[] {
  return fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);
}

/** Live (non-zombie) child processes of this test process: the pool's workers. */
function workerPids(): number[] {
  return allPids().filter((pid) => {
    const s = procStat(pid);
    return s !== null && s.ppid === process.pid && s.state !== 'Z';
  });
}

/** Names of the live processes in the process groups led by `leaders` (workers and what their jobs started). */
function groupMembers(leaders: Set<number>): string[] {
  return allPids().flatMap((pid) => {
    const s = procStat(pid);
    if (s === null || !leaders.has(s.pgrp) || s.state === 'Z') return [];
    try {
      return [fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim()];
    } catch {
      return [];
    }
  });
}

function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z';
}

async function stopRunner(runner: Runner): Promise<void> {
  await runner.stop();
  assert.deepEqual(workerPids(), [], 'every worker process exited when the runner stopped');
}

// ---------------------------------------------------------------- the tests

for (const store of stores()) {
  describe(`process isolation on ${store.name}`, { concurrency: false }, () => {
    let c: Conveyor;
    let m: Limits;
    before(async () => {
      ({ c, m } = await openStore(store));
    });
    after(async () => {
      await dispose(c, store);
    });

    it('refuses process isolation without a module, and a module that does not load', async () => {
      assert.throws(
        () => c.runner({ isolation: 'process' }),
        (err: Error) => err instanceof ConfigurationError && /needs the option module/.test(err.message),
      );
      const broken = path.join(tmp, 'broken.ts');
      fs.writeFileSync(broken, 'export default 42;\n');
      const runner = c.runner({ isolation: 'process', module: broken, workers: 2 });
      await assert.rejects(
        runner.start(),
        (err: Error) =>
          err instanceof ConfigurationError &&
          /could not load/.test(err.message) &&
          /must export default a Conveyor/.test(err.message),
      );
      assert.deepEqual(workerPids(), [], 'the workers that failed to start are gone');
      await runner.stop();
    });

    describe('stuck-job matrix (real-time limit 1 s, hard memory 400 MB)', { concurrency: false }, () => {
      // 3 workers: one for the stuck job, one serving other jobs, one spare while a killed worker is replaced
      let runner: Runner;
      let rec: ReturnType<typeof recorder>;
      const expected = new Map<number, 'done' | 'failed' | 'cancelled'>();
      before(async () => {
        rec = recorder(c);
        runner = c.runner({
          isolation: 'process',
          module: MODULE,
          workers: 3,
          limitMemorySoft: 0,
          limitMemoryHard: '400mb',
          pollInterval: '200ms',
        });
        await runner.start();
      });
      after(async () => {
        rec.close();
        await stopRunner(runner);
      });

      /** Returns once two different workers have each run a job (replacements of killed workers are up). */
      async function twoWorkersServing(): Promise<void> {
        for (let i = 0; i < 50; i++) {
          const jobs = await Promise.all([m.withDelay().work(100), m.withDelay().work(100)]);
          const rows = await Promise.all(jobs.map((j) => j.wait()));
          rows.forEach((r) => expected.set(r.id, 'done'));
          if (rows[0]!.result !== rows[1]!.result) return;
        }
        assert.fail('two workers never served at once');
      }

      const cases = [
        { method: 'busyLoop', kinds: ['hard_kill'], what: 'busy loop in JavaScript (for(;;){})' },
        { method: 'sqliteSpin', kinds: ['hard_kill'], what: 'native call: node:sqlite recursive CTE' },
        { method: 'atomicsWait', kinds: ['hard_kill'], what: 'blocked thread: Atomics.wait' },
        { method: 'execSleep', kinds: ['timeout', 'hard_kill'], what: "blocked in a subprocess: execSync('sleep 30')" },
        { method: 'ignoreSignal', kinds: ['timeout'], what: 'ignores its signal, awaits forever' },
        { method: 'allocate', kinds: ['memory_limit'], what: 'allocates without bound (4 MB / 5 ms; time limit 30 s)' },
      ] as const;

      for (const k of cases) {
        it(`stops a job that ${k.what}: ${k.kinds.join(' or ')}`, async (t: TestContext) => {
          await twoWorkersServing();
          const stuck = await m.withDelay()[k.method]();
          expected.set(stuck.id, 'failed');
          const started = await rec.wait('job_started', stuck.id);
          const groups = new Set(workerPids());

          // the runner keeps serving while the job is stuck
          const normal = await m.withDelay().work(10);
          expected.set(normal.id, 'done');
          const normalRow = await normal.wait();
          assert.equal(normalRow.state, 'done');
          const timedOut = await rec.wait('job_timed_out', stuck.id);
          const normalDone = await rec.wait('job_done', normal.id);
          assert.ok(normalDone.at < timedOut.at, 'another job completed while this one was stuck');

          const row: JobRow = await stuck.wait();
          assert.equal(row.state, 'failed');
          assert.equal(row.excName, 'TimeoutError');
          assert.match(row.excMessage ?? '', /^Max\. retries \(1\) reached: limits\./);
          const attempts = await c.jobs.attempts(stuck.id);
          assert.deepEqual(
            attempts.map((a) => a.outcome),
            ['timed_out'],
          );
          const kind = timedOut.payload.kind as string;
          assert.ok((k.kinds as readonly string[]).includes(kind), `stopped as ${kind}`);
          const logRows = (await c.timeoutLog.list({ model: 'limits', method: k.method })).filter(
            (r) => r.jobId === stuck.id,
          );
          assert.equal(logRows.length, 1, 'one timeout-log row');
          const log = logRows[0]!;
          assert.equal(log.kind, kind);
          assert.equal(log.exceeded, true);
          assert.equal(log.operation, `limits.${k.method}`);
          assert.equal(log.error, (row.excMessage ?? '').replace(/^Max\. retries \(1\) reached: /, ''));
          if (kind === 'memory_limit') {
            assert.match(log.error ?? '', /above the hard memory limit of 400 MB/);
          } else {
            assert.equal(log.thresholdMs, 1000);
            assert.ok(log.durationMs >= 1000);
          }
          if (k.method === 'execSleep') {
            assert.ok(!groupMembers(groups).includes('sleep'), "the job's subprocess (sleep 30) died with it");
          }
          const wall = Math.round(timedOut.at - started.at);
          const freed =
            kind === 'memory_limit'
              ? `killed ${wall} ms after the job started (RSS sampled every 250 ms)`
              : `limit → slot freed ${log.durationMs - log.thresholdMs} ms`;
          t.diagnostic(
            `${k.method}: ${kind}; ${freed}; job start → slot freed ${wall} ms (wall, runner clock); other job done meanwhile`,
          );
        });
      }

      it('fails a job whose worker exits (process.exit(3)) and an uncaught exception, and keeps going on new workers', async (t: TestContext) => {
        const exit = await m.withDelay().exit3();
        expected.set(exit.id, 'failed');
        const row = await exit.wait();
        assert.equal(row.state, 'failed');
        assert.equal(row.excName, 'WorkerExitError');
        assert.match(
          row.excMessage ?? '',
          /^worker process exited with code 3 while running limits\.exit3 \(job \d+, pid \d+\)$/,
        );

        const boom = await m.withDelay().throwLater();
        expected.set(boom.id, 'failed');
        const boomRow = await boom.wait();
        assert.equal(boomRow.state, 'failed');
        assert.match(boomRow.excMessage ?? '', /boom from a timer/);

        const after1 = await m.withDelay().whoami();
        expected.set(after1.id, 'done');
        const r = await after1.wait();
        assert.equal(r.state, 'done');
        assert.ok(workerPids().includes(r.result as number), 'served by a live worker');
        t.diagnostic(`exit(3): "${row.excMessage}"`);
      });

      it('gives the same outcomes as inline: result with Date and bigint, progress, checkpoint, retry delay, nothing-to-do, toolkit rows', async () => {
        const report = await m.withDelay().report();
        const retry = await m.withDelay().retryLater();
        const nothing = await m.withDelay().nothingToDo();
        const toolkit = await m.withDelay().toolkitTimeout();
        for (const j of [report, nothing, toolkit]) expected.set(j.id, 'done');

        const r = await report.wait();
        assert.equal(r.state, 'done');
        const result = r.result as { when: Date; big: bigint; pid: number };
        assert.deepEqual([result.when, result.big], [new Date(5), 10n]);
        assert.notEqual(result.pid, process.pid, 'it ran in a worker process');
        assert.deepEqual({ ...r.progress!, at: 0 }, { done: 1, total: 2, message: 'half way', at: 0 });
        assert.deepEqual(r.checkpoint, { at: new Date(0), n: 12n });

        const retried = await rec.wait('job_retried', retry.id);
        const rr = (await c.jobs.get(retry.id))!;
        assert.equal(rr.state, 'pending');
        assert.equal(rr.excName, 'RetryableJobError');
        const delay = (retried.payload.eta as number) - Date.now();
        assert.ok(
          delay > 4_000 && delay <= 7_000,
          `retried after the error's own 7 s (${delay} ms left), not the default pattern`,
        );
        await c.jobs.cancel([retry.id]);
        expected.set(retry.id, 'cancelled');

        const n = await nothing.wait();
        assert.equal(n.state, 'done');
        assert.equal(n.result, 'nothing to do here');

        const tk = await toolkit.wait();
        assert.equal(tk.result, 'TimeoutError');
        const rows = (await c.timeoutLog.list({ model: 'limits' })).filter((x) => x.jobId === toolkit.id);
        assert.deepEqual(
          rows.map((x) => [x.operation, x.kind, x.thresholdMs]),
          [['slowCall', 'timeout', 30]],
        );
      });

      it('lost nothing: every job is in the state it should be', async () => {
        const rows = await Promise.all([...expected.keys()].map((id) => c.jobs.get(id)));
        for (const row of rows) assert.equal(row!.state, expected.get(row!.id), `job ${row!.id} ${row!.method}`);
        const running = await c.jobs.count({ state: ['enqueued', 'started'], groupBy: ['state'] });
        assert.equal(
          running.reduce((sum, x) => sum + x.count, 0),
          0,
          'nothing left claimed or running',
        );
      });
    });

    it('stops a job at its CPU-time limit (1 s CPU, 60 s real): cpu_limit', async (t: TestContext) => {
      const rec = recorder(c);
      const runner = c.runner({
        isolation: 'process',
        module: MODULE,
        workers: 3,
        limitTimeCpu: '1s',
        limitTimeReal: '60s',
        pollInterval: '200ms',
      });
      await runner.start();
      try {
        const spin = await m.withDelay().spin();
        const burn = await m.withDelay().cpuBurn();
        const normal = await m.withDelay().work(10);
        assert.equal((await normal.wait()).state, 'done');
        for (const job of [spin, burn]) {
          const started = await rec.wait('job_started', job.id);
          const ev = await rec.wait('job_timed_out', job.id);
          assert.equal(ev.payload.kind, 'cpu_limit');
          const row = await job.wait();
          assert.equal(row.state, 'failed');
          assert.equal(row.excName, 'TimeoutError');
          assert.match(row.excMessage ?? '', /past its CPU time limit of 1000 ms/);
          const [log] = (await c.timeoutLog.list({ model: 'limits', kind: 'cpu_limit' })).filter(
            (r) => r.jobId === job.id,
          );
          assert.ok(log, 'a cpu_limit row');
          assert.equal(log.thresholdMs, 1000);
          assert.ok(log.durationMs >= 1000, `CPU time used (${log.durationMs} ms) is past the limit`);
          const how =
            job.id === spin.id ? 'busy loop, SIGKILL after the grace period' : 'yielding CPU burner, answered SIGTERM';
          t.diagnostic(
            `${row.method} (${how}): CPU used ${log.durationMs} ms; job start → slot freed ${Math.round(ev.at - started.at)} ms wall`,
          );
        }
      } finally {
        rec.close();
        await stopRunner(runner);
      }
    });

    it('recycles a worker above the soft memory limit after its job', async (t: TestContext) => {
      const runner = c.runner({
        isolation: 'process',
        module: MODULE,
        workers: 1,
        limitMemorySoft: '200mb',
        limitMemoryHard: '2gb',
        pollInterval: '200ms',
      });
      await runner.start();
      let leaker = 0;
      try {
        const first = await m.withDelay().whoami();
        const before = (await first.wait()).result as number;
        const leak = await m.withDelay().leak(300);
        const leakRow = await leak.wait();
        assert.equal(leakRow.state, 'done', 'the job itself completes');
        leaker = leakRow.result as number;
        assert.equal(leaker, before, 'the same worker ran both jobs until it grew');
        const next = await m.withDelay().whoami();
        const after1 = (await next.wait()).result as number;
        assert.notEqual(after1, leaker, 'the next job ran on a new worker');
        const again = await m.withDelay().whoami();
        assert.equal((await again.wait()).result, after1, 'a worker below the soft limit is kept');
        t.diagnostic(`worker ${leaker} (300 MB kept) recycled after its job; next jobs on ${after1}`);
      } finally {
        await stopRunner(runner);
      }
      assert.equal(alive(leaker), false, 'the recycled worker is gone');
    });

    it('recycles a worker after limitRequest jobs (Odoo limit_request): every job succeeds, the pids change', async (t: TestContext) => {
      const runner = c.runner({
        isolation: 'process',
        module: MODULE,
        workers: 1,
        limitRequest: 2,
        pollInterval: '200ms',
      });
      await runner.start();
      let pids: number[] = [];
      try {
        // five jobs at once on the one worker: the later ones wait while a worker is replaced
        const jobs = [];
        for (let i = 0; i < 5; i++) jobs.push(await m.withDelay().whoami());
        const rows = await Promise.all(jobs.map((j) => j.wait()));
        assert.deepEqual(
          rows.map((r) => r.state),
          ['done', 'done', 'done', 'done', 'done'],
        );
        pids = rows.map((r) => r.result as number);
        const perPid = new Map<number, number>();
        for (const pid of pids) perPid.set(pid, (perPid.get(pid) ?? 0) + 1);
        assert.deepEqual(
          [...perPid.values()].sort(),
          [1, 2, 2],
          `2 jobs per worker process, then a new one: ${pids.join(', ')}`,
        );
        assert.ok(!pids.includes(process.pid), 'the jobs ran in worker processes');
        t.diagnostic(`limitRequest 2, 5 jobs: worker pids ${pids.join(', ')}`);
      } finally {
        await stopRunner(runner);
      }
      for (const pid of new Set(pids)) assert.equal(alive(pid), false, `worker ${pid} is gone`);
    });

    it('reads limitRequest from CONVEYOR_LIMIT_REQUEST and the CLI config, and refuses a bad value naming it', async () => {
      const saved = process.env.CONVEYOR_LIMIT_REQUEST;
      try {
        process.env.CONVEYOR_LIMIT_REQUEST = '1';
        const runner = c.runner({ isolation: 'process', module: MODULE, workers: 1, pollInterval: '200ms' });
        await runner.start();
        try {
          const first = (await (await m.withDelay().whoami()).wait()).result;
          const second = (await (await m.withDelay().whoami()).wait()).result;
          assert.notEqual(second, first, 'one job per worker process');
        } finally {
          await stopRunner(runner);
        }
        process.env.CONVEYOR_LIMIT_REQUEST = 'many';
        assert.throws(
          () => c.runner({ isolation: 'process', module: MODULE }),
          (e: Error) => e instanceof ConfigurationError && /limitRequest/.test(e.message) && /'many'/.test(e.message),
        );
        delete process.env.CONVEYOR_LIMIT_REQUEST;
        for (const bad of [-1, 1.5, '3' as never, Number.NaN]) {
          assert.throws(
            () => c.runner({ isolation: 'process', module: MODULE, limitRequest: bad }),
            (e: Error) =>
              e instanceof ConfigurationError && /runner option limitRequest: expected an integer >= 0/.test(e.message),
            String(bad),
          );
        }
        assert.throws(() => c.runner({ limitRequst: 3 } as never), /did you mean 'limitRequest'/);
        // the CLI's precedence: --limit-request > CONVEYOR_LIMIT_REQUEST > the config file's limitRequest
        const file = path.join(tmp, 'limit-request.config.json');
        fs.writeFileSync(file, JSON.stringify({ limitRequest: 7 }));
        const cli = (args: string[]) =>
          resolveOptions(
            addOptions(new Command('run').exitOverride().option('--config <file>'), 'run').parse(
              [...args, '--config', file],
              { from: 'user' },
            ),
            'run',
          );
        assert.equal(cli([]).limitRequest, 7);
        process.env.CONVEYOR_LIMIT_REQUEST = '5';
        assert.equal(cli([]).limitRequest, 5);
        assert.equal(cli(['--limit-request', '3']).limitRequest, 3);
        assert.throws(
          () => cli(['--limit-request', 'x']),
          (e: Error) =>
            e instanceof ConfigurationError && /--limit-request: expected an integer, got 'x'/.test(e.message),
        );
      } finally {
        if (saved === undefined) delete process.env.CONVEYOR_LIMIT_REQUEST;
        else process.env.CONVEYOR_LIMIT_REQUEST = saved;
      }
    });

    it('on stop, releases a job still running in a worker after the shutdown grace, and ends every worker', async () => {
      const rec = recorder(c);
      const runner = c.runner({
        isolation: 'process',
        module: MODULE,
        workers: 2,
        shutdownGrace: '100ms',
        pollInterval: '200ms',
      });
      await runner.start();
      try {
        const long = await m.withDelay().work(60_000);
        await rec.wait('job_started', long.id);
        await stopRunner(runner);
        const row = (await c.jobs.get(long.id))!;
        assert.equal(row.state, 'pending', 'released, not lost');
        await c.jobs.cancel([long.id]);
      } finally {
        rec.close();
        await runner.stop();
      }
    });

    it('conveyor run --isolation process --limit-time-cpu 1s --limit-request 2: flags reach the pool; SIGTERM ends the workers', async (t: TestContext) => {
      const cli = spawn(
        process.execPath,
        [
          path.join(ROOT, 'bin/conveyor.js'),
          'run',
          MODULE,
          '--isolation',
          'process',
          '--workers',
          '1',
          '--limit-time-cpu',
          '1s',
          '--limit-memory-soft',
          '1gb',
          '--limit-memory-hard',
          '2gb',
          '--limit-request',
          '2',
        ],
        {
          env: {
            ...process.env,
            CONVEYOR_DATABASE: store.database,
            CONVEYOR_SCHEMA: store.schema ?? '',
            NODE_TEST_CONTEXT: undefined,
          },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let stderr = '';
      cli.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const exited = once(cli, 'exit') as Promise<[number | null, string | null]>;
      try {
        const lines = readline.createInterface({ input: cli.stdout! });
        for await (const line of lines) if (/^runner .* started/.test(line)) break;
        const who = await m.withDelay().whoami();
        const first = (await who.wait()).result as number;
        assert.notEqual(first, cli.pid, 'the job ran in a worker process of the CLI runner');
        const again = (await (await m.withDelay().whoami()).wait()).result as number;
        assert.equal(again, first, 'a worker runs two jobs…');
        const worker = (await (await m.withDelay().whoami()).wait()).result as number;
        assert.notEqual(worker, first, '…then --limit-request 2 recycles it');
        const spin = await m.withDelay().spin();
        const row = await spin.wait();
        assert.equal(row.state, 'failed');
        assert.match(row.excMessage ?? '', /past its CPU time limit of 1000 ms/);
        const last = (await (await m.withDelay().whoami()).wait()).result as number;
        const runners = await c.runners();
        assert.ok(
          runners.some((r) => r.info.isolation === 'process'),
          'the runner reports process isolation',
        );
        cli.kill('SIGTERM');
        const [code] = await exited;
        assert.equal(code, 0, stderr);
        assert.equal(alive(last), false, 'the worker process ended with the runner');
        assert.equal(alive(first), false, 'the recycled worker is gone');
        t.diagnostic(
          `CLI runner ${cli.pid}, workers ${first} (recycled after 2 jobs), ${worker} (spin stopped by cpu_limit), ${last}`,
        );
      } finally {
        cli.kill('SIGKILL');
      }
    });
  });
}
