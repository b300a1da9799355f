/**
 * Real runner processes (`conveyor run test/fixtures/app.ts`): exact channel capacities across three
 * runners, recovery after `kill -9`, graceful shutdown on SIGTERM. Run on PostgreSQL and on a SQLite file.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { childLines } from './helpers/child-lines.ts';
import { Conveyor } from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-proc-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Store {
  name: string;
  database: string;
  schema?: string;
}

function stores(): Store[] {
  const out: Store[] = [
    {
      name: 'sqlite file',
      database: `sqlite:${path.join(tmp, `q-${Date.now()}-${Math.random().toString(36).slice(2)}.db`)}`,
    },
  ];
  if (BACKENDS.some((b) => b.name === 'postgres'))
    out.push({ name: 'postgres', database: PG_URL, schema: uniqueSchema('proc') });
  return out;
}

interface Proc {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `re`. */
  waitFor(re: RegExp): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
}

function runner(store: Store, probeDir: string, args: string[] = []): Proc {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/conveyor.js'), 'run', path.join(ROOT, 'test/fixtures/app.ts'), ...args],
    {
      env: {
        ...process.env,
        CONVEYOR_DATABASE: store.database,
        CONVEYOR_SCHEMA: store.schema ?? '',
        PROBE_DIR: probeDir,
        CONVEYOR_LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = childLines(child, `runner ${child.pid}`);
  const { lines } = out;
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code && code !== 0) process.stderr.write(`runner ${child.pid} exited ${code}: ${out.stderr()}\n`);
      resolve(code);
    }),
  );
  return {
    child,
    exited,
    waitFor: (re) => out.waitFor(re),
  };
}

async function openStore(store: Store): Promise<Conveyor> {
  return Conveyor.open({ database: store.database, schema: store.schema, logger: 'silent' });
}

async function dispose(c: Conveyor, store: Store): Promise<void> {
  if (store.schema) await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
  await c.close();
}

function readProbes(
  dir: string,
): { id: number; attempt: number; channel: string; start: number; end: number; pid: number }[] {
  return fs.readdirSync(dir).flatMap((f) =>
    fs
      .readFileSync(path.join(dir, f), 'utf8')
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [id, attempt, channel, start, end, pid] = line.split(' ');
        return {
          id: Number(id),
          attempt: Number(attempt),
          channel: channel!,
          start: Number(start),
          end: Number(end),
          pid: Number(pid),
        };
      }),
  );
}

/** Largest number of intervals open at once ([start, end), ends first on ties). */
function maxOverlap(intervals: { start: number; end: number }[]): number {
  const events = intervals
    .flatMap(
      (i) =>
        [
          [i.start, 1],
          [i.end, -1],
        ] as [number, number][],
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of events) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

for (const store of stores()) {
  describe(`runner processes on ${store.name}`, { concurrency: false }, () => {
    it('keeps exact channel capacities across 3 runner processes, and runs every job exactly once', async (t) => {
      const probeDir = fs.mkdtempSync(path.join(tmp, 'cap-'));
      const channels = 'root:6,root.a:3,root.b:2,root.c:1';
      const c = await openStore(store);
      const procs: Proc[] = [];
      try {
        for (let i = 0; i < 3; i++)
          procs.push(runner(store, probeDir, ['--workers', '3', '--prefetch', '1', '--channels', channels]));
        await Promise.all(procs.map((p) => p.waitFor(/^runner .* started/)));
        const names = ['root.a', 'root.b', 'root.c', 'root.d'];
        const model = modelOf(c);
        const handles = await c.delayMany(
          Array.from({ length: 80 }, (_, i) => {
            const channel = names[i % names.length]!;
            return model
              .browse([channel])
              .delayable({ channel })
              .work(20 + (i % 4) * 10);
          }),
        );
        for (const h of handles) await h.wait();
        const probes = readProbes(probeDir);
        // exactly once
        const seen = new Map<number, number>();
        for (const p of probes) seen.set(p.id, (seen.get(p.id) ?? 0) + 1);
        assert.equal(seen.size, handles.length, 'every job ran');
        assert.ok(
          [...seen.values()].every((n) => n === 1),
          'no job ran twice',
        );
        assert.ok(probes.every((p) => p.attempt === 1));
        assert.equal(new Set(probes.map((p) => p.pid)).size > 1, true, 'the work was shared by several processes');
        // capacities: root 6, a 3, b 2, c 1 (d is bounded by root only)
        const limits: Record<string, number> = { root: 6, 'root.a': 3, 'root.b': 2, 'root.c': 1 };
        const observed: Record<string, number> = {};
        for (const [node, cap] of Object.entries(limits)) {
          observed[node] = maxOverlap(probes.filter((p) => node === 'root' || p.channel === node));
          assert.ok(observed[node]! <= cap, `channel ${node}: ${observed[node]} jobs ran at once, capacity ${cap}`);
        }
        t.diagnostic(
          `max concurrency observed: ${JSON.stringify(observed)} (capacities ${JSON.stringify(limits)}), ${probes.length} jobs over ${new Set(probes.map((p) => p.pid)).size} processes`,
        );
      } finally {
        for (const p of procs) p.child.kill('SIGTERM');
        await Promise.all(procs.map((p) => p.exited));
        await dispose(c, store);
      }
    });

    it('requeues the job of a runner killed with SIGKILL, and another runner runs it again', async (t) => {
      const probeDir = fs.mkdtempSync(path.join(tmp, 'crash-'));
      const c = await openStore(store);
      const procs: Proc[] = [];
      try {
        const job = await modelOf(c).withDelay().hangOnce();
        const a = runner(store, probeDir, ['--lease', '2s', '--workers', '1']);
        procs.push(a);
        await a.waitFor(new RegExp(`^STARTED ${job.id} 1$`));
        const started = (await c.jobs.get(job.id))!;
        assert.ok(['enqueued', 'started'].includes(started.state));
        const killedAt = Date.now();
        a.child.kill('SIGKILL');
        await a.exited;
        const b = runner(store, probeDir, ['--lease', '2s', '--workers', '1']);
        procs.push(b);
        await b.waitFor(new RegExp(`^STARTED ${job.id} 2$`));
        const row = await job.wait();
        const recoveredMs = Date.now() - killedAt;
        assert.equal(row.state, 'done');
        assert.equal(row.attempt, 2);
        assert.equal(row.result, 2);
        assert.equal(row.crashCount, 1);
        const attempts = await c.jobs.attempts(job.id);
        assert.deepEqual(
          attempts.map((x) => x.outcome),
          ['crashed'],
        );
        t.diagnostic(`job ran again ${recoveredMs} ms after kill -9 of its runner (lease 2 s)`);
      } finally {
        for (const p of procs) p.child.kill('SIGTERM');
        await Promise.all(procs.map((p) => p.exited));
        await dispose(c, store);
      }
    });

    it('stops gracefully on SIGTERM: a running job finishes, a long one is released', async () => {
      const probeDir = fs.mkdtempSync(path.join(tmp, 'term-'));
      const c = await openStore(store);
      try {
        const short = await modelOf(c).withDelay().work(200);
        const p = runner(store, probeDir, ['--workers', '1']);
        await p.waitFor(new RegExp(`^STARTED ${short.id} 1$`));
        p.child.kill('SIGTERM');
        assert.equal(await p.exited, 0);
        const row = (await c.jobs.get(short.id))!;
        assert.equal(row.state, 'done', 'the running job was allowed to finish');

        const long = await modelOf(c).withDelay().hangOnce();
        const q = runner(store, probeDir, ['--workers', '1', '--shutdown-grace', '100ms']);
        await q.waitFor(new RegExp(`^STARTED ${long.id} 1$`));
        q.child.kill('SIGTERM');
        assert.equal(await q.exited, 0);
        const released = (await c.jobs.get(long.id))!;
        assert.equal(released.state, 'pending', 'a job past the grace period is released, not lost');
        assert.equal(released.attempt, 0);
        assert.deepEqual(await c.runners(), [], 'the runner unregistered');
      } finally {
        await dispose(c, store);
      }
    });
  });
}

type ProbeModel = ReturnType<typeof defineProbe>;
function defineProbe(c: Conveyor) {
  return c.model('probe', {
    async work(_job, _ms: number) {
      return 0;
    },
    async hangOnce() {
      return 0;
    },
  });
}
const probeModels = new WeakMap<Conveyor, ProbeModel>();
function modelOf(c: Conveyor): ProbeModel {
  let m = probeModels.get(c);
  if (!m) {
    m = defineProbe(c);
    probeModels.set(c, m);
  }
  return m;
}
