/**
 * The fault scenarios of `npm run chaos`. Each starts its own runner processes on a fresh store (a new
 * schema on the private PostgreSQL, or a new SQLite file), injects its fault, waits for the queue to settle,
 * prints its figures and records its checks. Figures come from the effect log the job handler writes
 * (test/chaos/app.ts) and from the stored jobs and attempts.
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  account,
  check,
  describeAccounting,
  figure,
  isStarted,
  kill9,
  openQueue,
  readRuns,
  spawnNode,
  spawnRunner,
  spread,
  startRunner,
  stopProc,
  waitSettled,
  ROOT,
  type Deaths,
  type Proc,
  type Run,
  type RunnerFlags,
  type Store,
} from './harness.ts';
import type { PrivatePg } from '../helpers/private-pg.ts';

/** What every scenario gets. */
export interface Ctx {
  pg: PrivatePg | null;
  short: boolean;
  random: () => number;
  tmp: string;
}

/** A scenario: its name, the backends it runs on, and its body. */
export interface Scenario {
  name: string;
  /** Only in the full run. */
  fullOnly?: boolean;
  run(ctx: Ctx): Promise<void>;
}

let storeSeq = 0;
function pgStore(ctx: Ctx, name: string): Store {
  if (!ctx.pg) throw new Error('no private PostgreSQL');
  const dir = fs.mkdtempSync(path.join(ctx.tmp, `${name}-`));
  return { database: ctx.pg.url, schema: `chaos_${name.replace(/\W/g, '_')}_${++storeSeq}`, dir };
}
function sqliteStore(ctx: Ctx, name: string): Store {
  const dir = fs.mkdtempSync(path.join(ctx.tmp, `${name}-`));
  return { database: `sqlite:${path.join(dir, 'queue.db')}`, dir };
}

const noDeaths = (): Deaths => ({ killed: new Map(), frozen: new Map() });
const ms = (n: number) => `${Math.round(n)} ms`;

/** Wait until the effect log shows a run matching `pred` (the runners are other processes). */
async function waitRun(dir: string, pred: (r: Run) => boolean, timeoutMs = 60_000): Promise<Run> {
  const t0 = Date.now();
  for (;;) {
    const r = readRuns(dir).find(pred);
    if (r) return r;
    if (Date.now() - t0 > timeoutMs) throw new Error(`no run matching ${pred.toString()} within ${timeoutMs} ms`);
    await sleep(30);
  }
}

/** Largest number of runs at once ([start, end), ends first on ties). */
function maxOverlap(intervals: [number, number][]): number {
  const ev = intervals
    .flatMap(
      ([s, e]) =>
        [
          [s, 1],
          [e, -1],
        ] as [number, number][],
    )
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let cur = 0;
  let max = 0;
  for (const [, d] of ev) {
    cur += d;
    max = Math.max(max, cur);
  }
  return max;
}

/** "declared dead" warnings printed by runners (each is a runner that found its lease gone). */
function declaredDead(procs: Proc[]): number {
  return procs.reduce((n, p) => n + (p.stderr().match(/declared dead/g)?.length ?? 0), 0);
}

/** Standard checks after a scenario: everything settled, nothing lost, nothing ran after its completion. */
async function settleAndAccount(
  scenario: string,
  store: Store,
  c: Awaited<ReturnType<typeof openQueue>>['conveyor'],
  acked: number[],
  deaths: Deaths,
  settleMs: number,
) {
  const settle = await waitSettled(c, settleMs);
  check(
    scenario,
    'every job reached a final state',
    settle.settled,
    settle.settled
      ? `settled ${ms(settle.ms)} after the faults`
      : `${settle.open.length} still open after ${ms(settleMs)}: ${settle.open
          .slice(0, 5)
          .map((j) => `${j.id} ${j.state} ${j.runnerId ?? ''}`)
          .join('; ')}`,
  );
  const acc = await account(c, acked, store.dir, deaths);
  figure(describeAccounting(acc));
  check(
    scenario,
    'jobs lost = 0',
    acc.lost.length === 0,
    acc.lost.length ? acc.lost.slice(0, 5).join('; ') : `0 of ${acked.length}`,
  );
  check(scenario, 'no run after its completion', acc.afterCompletion === 0, `${acc.afterCompletion}`);
  return acc;
}

// ------------------------------------------------------------------ 1. kill -9 storm

function storm(backend: 'postgres' | 'sqlite'): Scenario {
  return {
    name: `kill -9 storm of random runners (${backend})`,
    fullOnly: backend === 'sqlite',
    async run(ctx) {
      const name = this.name;
      const store = backend === 'postgres' ? pgStore(ctx, 'storm') : sqliteStore(ctx, 'storm');
      const q = await openQueue(store);
      const flags: RunnerFlags = { lease: '3s', workers: 4, prefetch: 2, channels: 'root:8' };
      const runners = await Promise.all([0, 1, 2].map(() => startRunner(store, flags)));
      const all = [...runners];
      const deaths = noDeaths();
      try {
        const stormMs = ctx.short ? 10_000 : 30_000;
        const n = ctx.short ? 450 : 1500;
        const acked = await q.enqueue(Array.from({ length: n }, () => 50 + Math.floor(ctx.random() * 250)));
        const t0 = Date.now();
        while (Date.now() - t0 < stormMs) {
          await sleep(1500 + ctx.random() * 1000);
          // a random runner among those up (a replacement may still be starting), replaced at once
          const up = runners.map((p, i) => [p, i] as const).filter(([p]) => isStarted(p));
          if (!up.length) continue;
          const [victim, i] = up[Math.floor(ctx.random() * up.length)]!;
          deaths.killed.set(victim.pid, await kill9(victim));
          runners[i] = spawnRunner(store, flags);
          all.push(runners[i]!);
        }
        await Promise.all(runners.map((p) => p.waitFor(/^runner .* started/, 90_000)));
        figure(
          `${deaths.killed.size} runners killed with SIGKILL over ${ms(Date.now() - t0)}, each replaced at once (3 runners, lease 3 s, root:8, ${n} jobs of 50-300 ms)`,
        );
        const acc = await settleAndAccount(name, store, q.conveyor, acked, deaths, 120_000);
        const unexpected = Object.entries(acc.twice)
          .filter(([why]) => !why.startsWith('runner killed'))
          .reduce((a, [, v]) => a + v, 0);
        check(
          name,
          'runs twice only where a runner died after the effect',
          unexpected === 0,
          `${unexpected} other runs twice`,
        );
        check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
        // time from the kill to the re-run of each job the killed runner held
        const runs = readRuns(store.dir);
        const rerun: number[] = [];
        for (const [pid, at] of deaths.killed) {
          for (const r of runs.filter((x) => x.pid === pid && x.start < at && x.end === null)) {
            const next = runs.filter((x) => x.id === r.id && x.start > at).sort((a, b) => a.start - b.start)[0];
            if (next) rerun.push(next.start - at);
          }
        }
        figure(`kill to re-run of the killed runner's jobs: ${spread(rerun)}`);
        const intervals = runs.map((r): [number, number] => [r.start, r.end ?? deaths.killed.get(r.pid) ?? r.start]);
        const peak = maxOverlap(intervals);
        check(name, 'channel capacity root:8 never exceeded', peak <= 8, `peak ${peak} runs at once`);
      } finally {
        await Promise.all(all.map((p) => stopProc(p)));
        await q.conveyor.close();
      }
    },
  };
}

// ------------------------------------------------------------------ 2. outage shorter than the lease (issue 13 defect 1)

const LEASE_MS = 6000;
const outageShorterThanLease: Scenario = {
  name: 'PostgreSQL outage (stop; 1.8 s; start) shorter than the lease (6 s): no false crash, no run twice',
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'lease');
    const q = await openQueue(store);
    // 6 s: on a loaded machine pg_ctl's stop and start add 2-4 s to the 1.8 s pause
    const flags: RunnerFlags = { lease: `${LEASE_MS}ms`, workers: 1, prefetch: 0, channels: 'root:2' };
    const runners = [await startRunner(store, flags), await startRunner(store, flags)];
    // the guarantee covers outages shorter than the lease: a round whose outage (measured from the stop
    // to the first answer) was not shorter, on a very loaded machine, is reported and left out
    const judged: number[] = [];
    const downs: number[] = [];
    let dead = 0;
    try {
      const rounds = ctx.short ? 2 : 5;
      for (let round = 0; round < rounds; round++) {
        const ids = await q.enqueue([8000, 8000]);
        for (const id of ids) await waitRun(store.dir, (r) => r.id === id);
        await sleep(ctx.random() * 1000); // any phase against the heartbeats
        const deadBefore = declaredDead(runners);
        // the issue's recipe: pg_ctl -m fast stop; sleep 1.8; pg_ctl start
        const down = Date.now();
        pg.stop('fast');
        await sleep(1800);
        pg.startNoWait();
        const back = await pg.waitAnswering();
        const s = await waitSettled(q.conveyor, 60_000);
        const shorter = back - down < LEASE_MS;
        figure(
          `round ${round + 1}: down ${ms(back - down)}${shorter ? '' : ' (not shorter than the lease on this loaded machine: left out of the checks)'}`,
        );
        if (shorter) {
          downs.push(back - down);
          judged.push(...ids);
          dead += declaredDead(runners) - deadBefore;
        }
        if (!s.settled) break;
      }
      check(
        name,
        'outages shorter than the lease were produced (sanity of the set-up)',
        downs.length > 0,
        `${downs.length} judged: ${spread(downs)}`,
      );
      const acc = await settleAndAccount(name, store, q.conveyor, judged, noDeaths(), 30_000);
      check(name, 'jobs run twice = 0', acc.twiceTotal === 0, JSON.stringify(acc.twice));
      check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
      check(name, 'no live runner declared dead', dead === 0, `${dead} "declared dead" warnings`);
    } finally {
      await Promise.all(runners.map((p) => stopProc(p)));
      await q.conveyor.close();
    }
  },
};

// ------------------------------------------------------------------ 3. resumption after an outage (issue 13 defect 2)

const resumeAfterOutage: Scenario = {
  name: 'PostgreSQL outage (5 s) with a full channel: work resumes within 1 s of the server answering',
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'resume');
    const q = await openQueue(store);
    const runner = await startRunner(store, { workers: 1, prefetch: 0, channels: 'root:1' });
    const acked: number[] = [];
    const resumes: number[] = [];
    try {
      const rounds = ctx.short ? 2 : 5;
      for (let round = 0; round < rounds; round++) {
        const [long] = await q.enqueue([3000]);
        await waitRun(store.dir, (r) => r.id === long);
        const quick = await q.enqueue([10, 10, 10, 10, 10]);
        acked.push(long!, ...quick);
        await sleep(500);
        const down = Date.now();
        pg.stop('fast');
        await sleep(Math.max(0, 5000 - (Date.now() - down)));
        pg.startNoWait();
        const back = await pg.waitAnswering();
        const s = await waitSettled(q.conveyor, 60_000);
        const first = Math.min(
          ...readRuns(store.dir)
            .filter((r) => quick.includes(r.id))
            .map((r) => r.start),
        );
        resumes.push(first - back);
        figure(
          `round ${round + 1}: down ${ms(back - down)}; first queued job started ${ms(first - back)} after the server answered`,
        );
        if (!s.settled) break;
      }
      const worst = Math.max(...resumes);
      check(name, 'resumption within 1 s of the server answering', worst <= 1000, `${spread(resumes)}`);
      const acc = await settleAndAccount(name, store, q.conveyor, acked, noDeaths(), 30_000);
      check(name, 'jobs run twice = 0', acc.twiceTotal === 0, JSON.stringify(acc.twice));
      check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
    } finally {
      await stopProc(runner);
      await q.conveyor.close();
    }
  },
};

// ------------------------------------------------------------------ 4. restarts and outages under load, default lease

const outagesUnderLoad: Scenario = {
  name: 'PostgreSQL restarts and 0.7-5.7 s outages under load (3 runners, default 30 s lease)',
  fullOnly: true,
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'load');
    const q = await openQueue(store);
    const flags: RunnerFlags = { workers: 4, prefetch: 0, channels: 'root:8' };
    const runners = await Promise.all([0, 1, 2].map(() => startRunner(store, flags)));
    const resumes: number[] = [];
    try {
      const outages = [0, 700, 1100, 5700, 0, 900, 5700, 3000];
      const jobs = () => Array.from({ length: 400 }, () => 100 + Math.floor(ctx.random() * 300));
      const acked = await q.enqueue(jobs());
      for (const [i, length] of outages.entries()) {
        await sleep(i === 0 ? 3000 : 10_000);
        // work must be waiting through the outage: top the queue up to at least 400 pending jobs
        const pending =
          (await q.conveyor.jobs.count({ model: 'chaos', state: 'pending', groupBy: ['state'] }))[0]?.count ?? 0;
        if (pending < 400) acked.push(...(await q.enqueue(jobs().slice(pending))));
        const down = Date.now();
        pg.stop('fast');
        if (length) await sleep(Math.max(0, length - (Date.now() - down)));
        pg.startNoWait();
        const back = await pg.waitAnswering();
        await sleep(2500);
        const first = Math.min(
          ...readRuns(store.dir)
            .filter((r) => r.start >= back)
            .map((r) => r.start),
        );
        resumes.push(first - back);
        figure(
          `${length ? `outage ${ms(back - down)}` : `restart (down ${ms(back - down)})`}: first job started ${ms(first - back)} after the server answered`,
        );
      }
      check(name, 'resumption within 1 s of the server answering', Math.max(...resumes) <= 1000, spread(resumes));
      const acc = await settleAndAccount(name, store, q.conveyor, acked, noDeaths(), 120_000);
      check(name, 'jobs run twice = 0', acc.twiceTotal === 0, JSON.stringify(acc.twice));
      check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
      const dead = declaredDead(runners);
      check(name, 'no live runner declared dead', dead === 0, `${dead} "declared dead" warnings`);
    } finally {
      await Promise.all(runners.map((p) => stopProc(p)));
      await q.conveyor.close();
    }
  },
};

// ------------------------------------------------------------------ 5. outage longer than the lease (what at-least-once means)

const outageLongerThanLease: Scenario = {
  name: 'PostgreSQL outage (8 s) longer than the lease (3 s): runs twice are expected; nothing lost',
  fullOnly: true,
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'long');
    const q = await openQueue(store);
    const flags: RunnerFlags = { lease: '3s', workers: 2, prefetch: 0, channels: 'root:4' };
    const runners = [await startRunner(store, flags), await startRunner(store, flags)];
    try {
      const acked = await q.enqueue(Array.from({ length: 12 }, () => 4000));
      await waitRun(store.dir, () => true);
      await sleep(500);
      const down = Date.now();
      pg.stop('fast');
      await sleep(8000);
      pg.startNoWait();
      const back = await pg.waitAnswering();
      figure(`down ${ms(back - down)}`);
      const acc = await settleAndAccount(name, store, q.conveyor, acked, noDeaths(), 90_000);
      figure(
        `runs twice ${acc.twiceTotal}, crashes recorded for live runners ${acc.falseCrashes.length}, "declared dead" warnings ${declaredDead(runners)} (all expected: the outage outlasted the lease)`,
      );
    } finally {
      await Promise.all(runners.map((p) => stopProc(p)));
      await q.conveyor.close();
    }
  },
};

// ------------------------------------------------------------------ 5b. server crash (immediate stop) under load

const serverCrash: Scenario = {
  name: 'PostgreSQL crash (pg_ctl -m immediate) under load, down about 2 s: nothing lost; runs twice counted',
  fullOnly: true,
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'crash');
    const q = await openQueue(store);
    const flags: RunnerFlags = { workers: 4, prefetch: 0, channels: 'root:8' };
    const runners = await Promise.all([0, 1, 2].map(() => startRunner(store, flags)));
    try {
      const acked = await q.enqueue(Array.from({ length: 900 }, () => 100 + Math.floor(ctx.random() * 300)));
      for (let i = 0; i < 3; i++) {
        await sleep(4000);
        const down = Date.now();
        pg.stop('immediate');
        await sleep(1000);
        pg.startNoWait();
        const back = await pg.waitAnswering();
        figure(`crash ${i + 1}: down ${ms(back - down)}`);
      }
      const acc = await settleAndAccount(name, store, q.conveyor, acked, noDeaths(), 120_000);
      figure(
        `runs twice after server crashes: ${acc.twiceTotal} (a claim commits asynchronously: a crash can forget a claim whose job already runs); false crashes ${acc.falseCrashes.length}`,
      );
    } finally {
      await Promise.all(runners.map((p) => stopProc(p)));
      await q.conveyor.close();
    }
  },
};

// ------------------------------------------------------------------ 6. SIGSTOP past the lease

function frozenRunner(backend: 'postgres' | 'sqlite'): Scenario {
  return {
    name: `SIGSTOPped runner past its lease (${backend}): its late completion is fenced`,
    async run(ctx) {
      const name = this.name;
      const store = backend === 'postgres' ? pgStore(ctx, 'stop') : sqliteStore(ctx, 'stop');
      const q = await openQueue(store);
      const flags: RunnerFlags = { lease: '2s', workers: 1, prefetch: 0, channels: 'root:2' };
      const a = await startRunner(store, flags);
      const procs = [a];
      const deaths = noDeaths();
      try {
        const [job] = await q.enqueue([1500]);
        await waitRun(store.dir, (r) => r.id === job && r.pid === a.pid);
        const stoppedAt = Date.now();
        a.child.kill('SIGSTOP');
        const b = await startRunner(store, flags);
        procs.push(b);
        const rerun = await waitRun(store.dir, (r) => r.id === job && r.pid === b.pid, 60_000);
        figure(`B started the job again ${ms(rerun.start - stoppedAt)} after A was frozen (lease 2 s)`);
        a.child.kill('SIGCONT');
        deaths.frozen.set(a.pid, [stoppedAt, Date.now()]);
        const race = await a.waitFor(new RegExp(`^RACE ${job} 1 `), 30_000).then(
          () => true,
          () => false,
        );
        const acked = [job!];
        await settleAndAccount(name, store, q.conveyor, acked, deaths, 30_000);
        const row = (await q.conveyor.jobs.get(job!))!;
        const kept = row.result as { pid: number; attempt: number } | null;
        check(
          name,
          "the live runner's result is kept",
          row.state === 'done' && kept?.pid === b.pid && kept.attempt === 2,
          `state ${row.state}, result ${JSON.stringify(kept)} (A ${a.pid}, B ${b.pid})`,
        );
        check(
          name,
          "the zombie's late completion was fenced (job_race)",
          race,
          race ? 'A reported a stale write for attempt 1' : `A printed: ${a.lines.slice(-5).join(' | ')}`,
        );
        // the resumed runner registers again and works
        const more = await q.enqueue(Array.from({ length: 8 }, () => 300));
        await waitSettled(q.conveyor, 30_000);
        const ranOnA = readRuns(store.dir).filter(
          (r) => more.includes(r.id) && r.pid === a.pid && r.end !== null,
        ).length;
        check(
          name,
          'the resumed runner works again',
          ranOnA > 0,
          `${ranOnA} of ${more.length} later jobs ran on A; "declared dead" warnings on A: ${declaredDead([a])}${ranOnA ? '' : `; A's last output: ${a.lines.slice(-4).join(' | ')} ${a.stderr().slice(-600)}`}`,
        );
      } finally {
        await Promise.all(procs.map((p) => stopProc(p)));
        await q.conveyor.close();
      }
    },
  };
}

// ------------------------------------------------------------------ 7. kill -9 of SQLite writers

const sqliteWriters: Scenario = {
  name: 'kill -9 of SQLite writers (runners and an enqueuer)',
  async run(ctx) {
    const name = this.name;
    const store = sqliteStore(ctx, 'writers');
    const file = store.database.slice('sqlite:'.length);
    const q = await openQueue(store); // creates the schema before the writers start
    const flags: RunnerFlags = { lease: '2s', workers: 3, prefetch: 3, channels: 'root:6' };
    const runners = [await startRunner(store, flags), await startRunner(store, flags)];
    const enqueuer = () =>
      spawnNode([path.join(ROOT, 'test/chaos/enqueuer.ts'), store.database], { CHAOS_ENQUEUE_MAX: '1000000' });
    let enq = enqueuer();
    const all: Proc[] = [...runners, enq];
    const deaths = noDeaths();
    const kills = { runner: 0, enqueuer: 0 };
    try {
      await enq.waitFor(/^ACK /, 60_000);
      const total = ctx.short ? 6 : 30;
      for (let k = 0; k < total; k++) {
        await sleep(700 + ctx.random() * 1000);
        // kill the enqueuer and a random runner in turn, whatever they are doing (starting up too), and
        // replace them at once
        if (k % 2 === 0) {
          await kill9(enq);
          kills.enqueuer++;
          enq = enqueuer();
          all.push(enq);
        } else {
          const i = Math.floor(ctx.random() * runners.length);
          deaths.killed.set(runners[i]!.pid, await kill9(runners[i]!));
          kills.runner++;
          runners[i] = spawnRunner(store, flags);
          all.push(runners[i]!);
        }
      }
      await enq.waitFor(/^ACK /, 60_000).catch(() => {});
      await kill9(enq);
      const acked = all.flatMap((p) =>
        p.lines.filter((l) => l.startsWith('ACK ')).flatMap((l) => l.slice(4).split(' ').map(Number)),
      );
      figure(
        `${kills.enqueuer} enqueuers and ${kills.runner} runners killed with SIGKILL; ${acked.length} enqueues acknowledged`,
      );
      const db = new DatabaseSync(file, { readOnly: true });
      const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
        .map((r) => r.integrity_check)
        .join(', ');
      db.close();
      check(name, 'PRAGMA integrity_check after the kills', integrity === 'ok', integrity);
      const acc = await settleAndAccount(name, store, q.conveyor, acked, deaths, 120_000);
      const unexpected = Object.entries(acc.twice)
        .filter(([why]) => !why.startsWith('runner killed'))
        .reduce((a, [, v]) => a + v, 0);
      check(
        name,
        'runs twice only where a runner died after the effect',
        unexpected === 0,
        `${unexpected} other runs twice`,
      );
      check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
    } finally {
      await Promise.all(all.map((p) => stopProc(p)));
      await q.conveyor.close();
      const db = new DatabaseSync(file, { readOnly: true });
      const integrity = (db.prepare('PRAGMA integrity_check').all() as { integrity_check: string }[])
        .map((r) => r.integrity_check)
        .join(', ');
      db.close();
      check(name, 'PRAGMA integrity_check at the end', integrity === 'ok', integrity);
    }
  },
};

// ------------------------------------------------------------------ 8. connection kills

const connectionKills: Scenario = {
  name: "pg_terminate_backend of the runners' connections during claims and completions",
  async run(ctx) {
    const name = this.name;
    const pg = ctx.pg!;
    const store = pgStore(ctx, 'conn');
    const q = await openQueue(store);
    const flags: RunnerFlags = { lease: '3s', workers: 4, prefetch: 2, channels: 'root:8' };
    const runners = await Promise.all([0, 1, 2].map(() => startRunner(store, flags)));
    const { default: pgLib } = await import('pg');
    const admin = new pgLib.Client({ connectionString: pg.url });
    admin.on('error', () => {});
    await admin.connect();
    const kinds: Record<string, number> = {};
    try {
      const n = ctx.short ? 500 : 1500;
      const acked = await q.enqueue(Array.from({ length: n }, () => 20 + Math.floor(ctx.random() * 60)));
      const periodMs = ctx.short ? 10_000 : 30_000;
      const t0 = Date.now();
      const app = `conveyor:${store.schema}`.slice(0, 63);
      while (Date.now() - t0 < periodMs) {
        await sleep(100 + ctx.random() * 200);
        const r = await admin.query(
          `SELECT pid, state, query FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()`,
          [app],
        );
        const rows = r.rows as { pid: number; state: string; query: string }[];
        const busy = rows.filter((x) => x.state !== 'idle');
        const pick = (busy.length ? busy : rows)[Math.floor(ctx.random() * (busy.length || rows.length))];
        if (!pick) continue;
        const what = /attempt = attempt \+ 1|pg_advisory_xact_lock\(\$1::bigint\)/.test(pick.query)
          ? 'claim'
          : /enable_seqscan|SET state = '(done|failed|started|pending)'/.test(pick.query)
            ? 'completion'
            : /runners SET heartbeat_at/.test(pick.query)
              ? 'heartbeat'
              : /JobFoundDead/.test(pick.query)
                ? 'rescue'
                : /^LISTEN/.test(pick.query)
                  ? 'listen'
                  : 'other';
        const key = `${what} (${pick.state === 'idle' ? 'idle' : 'in flight'})`;
        await admin.query('SELECT pg_terminate_backend($1)', [pick.pid]);
        kinds[key] = (kinds[key] ?? 0) + 1;
      }
      figure(
        `backends terminated: ${Object.entries(kinds)
          .map(([k, v]) => `${v} × ${k}`)
          .join(', ')}`,
      );
      const acc = await settleAndAccount(name, store, q.conveyor, acked, noDeaths(), 90_000);
      check(name, 'jobs run twice = 0', acc.twiceTotal === 0, JSON.stringify(acc.twice));
      check(name, 'false crashes = 0', acc.falseCrashes.length === 0, acc.falseCrashes.slice(0, 3).join('; ') || '0');
      const errors = runners.reduce((a, p) => a + p.lines.filter((l) => l.startsWith('ERROR ')).length, 0);
      figure(`runner errors reported while reconnecting: ${errors}`);
    } finally {
      await admin.end().catch(() => {});
      await Promise.all(runners.map((p) => stopProc(p)));
      await q.conveyor.close();
    }
  },
};

/** Every scenario, in run order. */
export const SCENARIOS: Scenario[] = [
  storm('postgres'),
  storm('sqlite'),
  outageShorterThanLease,
  resumeAfterOutage,
  outagesUnderLoad,
  outageLongerThanLease,
  serverCrash,
  frozenRunner('postgres'),
  frozenRunner('sqlite'),
  sqliteWriters,
  connectionKills,
];
