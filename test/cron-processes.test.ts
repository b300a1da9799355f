/**
 * Scheduled jobs across real runner processes (`conveyor run test/fixtures/cron-app.ts`): three
 * processes register the same every-second entry and all their schedulers race for every slot; each
 * slot must fire exactly once. Real time (the processes run the system clock): the test waits for
 * printed events, never for a fixed time. On PostgreSQL, and on a SQLite file (three writers on one file).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { Conveyor } from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cron-proc-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

interface Store {
  name: string;
  database: string;
  schema?: string;
}

const stores: Store[] = [{ name: 'a SQLite file', database: `sqlite:${path.join(tmp, 'cron.db')}` }];
if (BACKENDS.some((b) => b.name === 'postgres'))
  stores.push({ name: 'PostgreSQL', database: PG_URL, schema: uniqueSchema('cronproc') });

interface Proc {
  child: ChildProcess;
  lines: string[];
  exited: Promise<number | null>;
}

/** Start a runner process; `onLine` sees every stdout line of every process. */
function runner(store: Store, onLine: (line: string, pid: number) => void): Proc {
  const child = spawn(
    process.execPath,
    [path.join(ROOT, 'bin/conveyor.js'), 'run', path.join(ROOT, 'test/fixtures/cron-app.ts'), '--workers', '2'],
    {
      env: { ...process.env, CONVEYOR_DATABASE: store.database, CONVEYOR_SCHEMA: store.schema ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const lines: string[] = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    lines.push(line);
    onLine(line, child.pid!);
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      if (code) process.stderr.write(`runner ${child.pid} exited ${code}: ${stderr}\n`);
      resolve(code);
    }),
  );
  return { child, lines, exited };
}

for (const store of stores) {
  describe(`scheduled jobs across runner processes on ${store.name}`, () => {
    it('fires each slot exactly once with three runner processes racing for it', async (t) => {
      const c = await Conveyor.open({
        database: store.database,
        schema: store.schema,
        logger: 'silent',
        maintenance: false,
      });
      const procs: Proc[] = [];
      const ran = new Set<number>();
      const firedBy = new Map<number, number>();
      const wanted = 6;
      let enough!: () => void;
      const enoughRan = new Promise<void>((resolve) => {
        enough = resolve;
      });
      let started!: () => void;
      const allStarted = new Promise<void>((resolve) => {
        started = resolve;
      });
      let startedCount = 0;
      const onLine = (line: string, pid: number) => {
        if (/^runner .* started/.test(line) && ++startedCount === 3) started();
        const f = /scheduled job every second fired: job (\d+)/.exec(line);
        if (f) firedBy.set(Number(f[1]), pid);
        const r = /^RAN (\d+) /.exec(line);
        if (r) {
          ran.add(Number(r[1]));
          if (ran.size >= wanted && startedCount === 3) enough();
        }
      };
      try {
        for (let i = 0; i < 3; i++) procs.push(runner(store, onLine));
        await Promise.race([
          allStarted,
          Promise.all(procs.map((p) => p.exited)).then(() => {
            throw new Error('the runners exited');
          }),
        ]);
        ran.clear();
        await Promise.race([
          enoughRan,
          Promise.all(procs.map((p) => p.exited)).then(() => {
            throw new Error('the runners exited');
          }),
        ]);
      } finally {
        for (const p of procs) p.child.kill('SIGTERM');
        await Promise.all(procs.map((p) => p.exited));
      }
      try {
        const jobs = (await c.jobs.list({ model: 'probe', method: 'tick', limit: 10_000 })).jobs;
        const slots = jobs.map((j) => /, (\S+)\)$/.exec(j.description)![1]!);
        const perSlot = new Map<string, number>();
        for (const s of slots) perSlot.set(s, (perSlot.get(s) ?? 0) + 1);
        const twice = [...perSlot].filter(([, n]) => n > 1);
        assert.deepEqual(twice, [], 'no slot fired twice');
        assert.ok(perSlot.size >= wanted, `${perSlot.size} slots fired`);
        // every fired slot is a whole second
        for (const s of perSlot.keys()) assert.equal(Date.parse(s) % 1000, 0, s);
        const entry = (await c.crons.get('every second'))!;
        assert.ok(entry.lastJobId !== null && jobs.some((j) => j.id === entry.lastJobId));
        const firers = new Set(firedBy.values());
        t.diagnostic(
          `${perSlot.size} slots fired once each, by ${firers.size} of 3 processes (${[...firers].map((pid) => `${pid}: ${[...firedBy.values()].filter((x) => x === pid).length}`).join(', ')})`,
        );
      } finally {
        if (store.schema) await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
        await c.close();
      }
    });
  });
}
