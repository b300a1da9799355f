/**
 * The fault suite's tools: runner processes (each in its own process group, killed by pid at the end,
 * never by name), the effect log reader, the accounting of lost jobs, runs twice and false crashes, and
 * the list of checks the suite prints as `N passed, N failed`.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { childLines } from '../helpers/child-lines.ts';
import { setTimeout as sleep } from 'node:timers/promises';
import { Conveyor, type JobContext, type JobRow } from '../../src/index.ts';

/** The repository root. */
export const ROOT = path.resolve(import.meta.dirname, '../..');

// ------------------------------------------------------------------ checks

/** One check: a name, whether it passed, and the figures behind it. */
export interface Check {
  scenario: string;
  name: string;
  ok: boolean;
  detail: string;
}

/** Every check of this run, in order. */
export const checks: Check[] = [];

/** Record and print a check. */
export function check(scenario: string, name: string, ok: boolean, detail: string): void {
  checks.push({ scenario, name, ok, detail });
  console.log(`  ${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
}

/** Print a measured figure (not a check). */
export function figure(text: string): void {
  console.log(`  - ${text}`);
}

// ------------------------------------------------------------------ processes

/** A child process with its stdout lines. */
export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Every stdout line so far. */
  lines: string[];
  /** Stderr so far (warnings: "declared dead"). */
  stderr(): string;
  /** Resolves with the first stdout line (past or future) matching `re`; rejects after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  exited: Promise<number | null>;
  alive: boolean;
}

const live = new Set<Proc>();
process.on('exit', () => {
  for (const p of live) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
});

/** Spawn `node <args>` in its own process group, stdout read line by line. */
export function spawnNode(args: string[], env: Record<string, string>): Proc {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const out = childLines(child, `process ${child.pid}`);
  const { lines } = out;
  const stderrText = () => out.stderr();
  const proc: Proc = {
    child,
    pid: child.pid!,
    lines,
    alive: true,
    stderr: stderrText,
    exited: new Promise((resolve) =>
      child.on('exit', (code) => {
        proc.alive = false;
        live.delete(proc);
        resolve(code);
      }),
    ),
    waitFor: (re, timeoutMs = 60_000) => out.waitFor(re, timeoutMs),
  };
  live.add(proc);
  return proc;
}

/** Where a scenario's data lives. */
export interface Store {
  database: string;
  schema?: string;
  dir: string;
}

/** Runner flags. */
export interface RunnerFlags {
  lease?: string;
  workers?: number;
  prefetch?: number;
  channels?: string;
}

/** A runner process on `app.ts`, started (it printed "runner … started"). */
export async function startRunner(store: Store, flags: RunnerFlags = {}): Promise<Proc> {
  const p = spawnRunner(store, flags);
  await p.waitFor(/^runner .* started/, 90_000);
  return p;
}

/** A runner process on `app.ts`, not waited for. */
export function spawnRunner(store: Store, flags: RunnerFlags = {}): Proc {
  const args = [path.join(ROOT, 'src/cli/main.ts'), 'run', path.join(ROOT, 'test/chaos/app.ts')];
  if (flags.lease) args.push('--lease', flags.lease);
  if (flags.workers !== undefined) args.push('--workers', String(flags.workers));
  if (flags.prefetch !== undefined) args.push('--prefetch', String(flags.prefetch));
  if (flags.channels) args.push('--channels', flags.channels);
  return spawnNode(args, {
    CONVEYOR_DATABASE: store.database,
    CONVEYOR_SCHEMA: store.schema ?? '',
    CHAOS_DIR: store.dir,
    CONVEYOR_LOG_LEVEL: 'warn',
  });
}

/** Whether a runner process printed its start line. */
export function isStarted(p: Proc): boolean {
  return p.alive && p.lines.some((l) => /^runner .* started/.test(l));
}

/** SIGTERM, then SIGKILL of the group after `graceMs`. */
export async function stopProc(p: Proc, graceMs = 20_000): Promise<void> {
  if (!p.alive) return;
  try {
    p.child.kill('SIGCONT');
    p.child.kill('SIGTERM');
  } catch {
    /* gone */
  }
  const t = setTimeout(() => {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }, graceMs);
  await p.exited;
  clearTimeout(t);
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
}

/** kill -9; resolves once the process is gone. Returns the moment of the kill. */
export async function kill9(p: Proc): Promise<number> {
  const at = Date.now();
  try {
    process.kill(-p.pid, 'SIGKILL');
  } catch {
    /* gone */
  }
  await p.exited;
  return at;
}

// ------------------------------------------------------------------ the queue, from the suite's side

/** The suite's own Conveyor on the store: enqueues `chaos.work` and reads the outcome. */
export async function openQueue(
  store: Store,
): Promise<{ conveyor: Conveyor; enqueue(msList: number[]): Promise<number[]> }> {
  const conveyor = await Conveyor.open({
    database: store.database,
    schema: store.schema,
    logger: 'silent',
    maintenance: false,
  });
  const m = conveyor.model('chaos', {
    async work(_job: JobContext, _ms: number) {
      return null;
    },
  });
  return {
    conveyor,
    enqueue: async (msList) => {
      const ids: number[] = [];
      for (let i = 0; i < msList.length; i += 500) {
        const jobs = await conveyor.delayMany(msList.slice(i, i + 500).map((ms) => m.delayable().work(ms)));
        ids.push(...jobs.map((j) => j.id));
      }
      return ids;
    },
  };
}

/** Every `chaos.work` job. */
export async function allJobs(c: Conveyor): Promise<JobRow[]> {
  const out: JobRow[] = [];
  let cursor: string | null = null;
  do {
    const page = await c.jobs.list({ model: 'chaos', limit: 1000, cursor });
    out.push(...page.jobs);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

const OPEN_STATES = new Set(['pending', 'enqueued', 'started', 'wait_dependencies']);

/** Wait until no `chaos` job is open (polling the database: the runners are other processes). */
export async function waitSettled(
  c: Conveyor,
  timeoutMs: number,
): Promise<{ settled: boolean; open: JobRow[]; ms: number }> {
  const t0 = Date.now();
  for (;;) {
    const rows = await c.jobs.count({ model: 'chaos', groupBy: ['state'] }).catch(() => null);
    if (rows && !rows.some((r) => OPEN_STATES.has(r.key.state!) && r.count > 0))
      return { settled: true, open: [], ms: Date.now() - t0 };
    if (Date.now() - t0 > timeoutMs) {
      const open = (await allJobs(c)).filter((j) => OPEN_STATES.has(j.state));
      return { settled: false, open, ms: Date.now() - t0 };
    }
    await sleep(100);
  }
}

// ------------------------------------------------------------------ effect log

/** One run as the effect log saw it. */
export interface Run {
  id: number;
  attempt: number;
  pid: number;
  start: number;
  end: number | null;
}

/** Read the effect log: every run started, with its effect's end when it got that far. */
export function readRuns(dir: string): Run[] {
  const runs = new Map<string, Run>();
  for (const f of fs.readdirSync(dir).filter((x) => x.endsWith('.log'))) {
    for (const line of fs.readFileSync(path.join(dir, f), 'utf8').split('\n')) {
      const [kind, id, attempt, pid, start, end] = line.split(' ');
      if (kind !== 'S' && kind !== 'E') continue;
      const key = `${id}/${attempt}/${pid}/${start}`;
      const run = runs.get(key) ?? {
        id: Number(id),
        attempt: Number(attempt),
        pid: Number(pid),
        start: Number(start),
        end: null,
      };
      if (kind === 'E') run.end = Number(end);
      runs.set(key, run);
    }
  }
  return [...runs.values()];
}

/** What is known about the runner processes of a scenario, to judge why a job ran twice. */
export interface Deaths {
  /** pid → when it was killed with SIGKILL. */
  killed: Map<number, number>;
  /** pid → [from, to] it was stopped with SIGSTOP. */
  frozen: Map<number, [number, number]>;
}

/** The accounting of one scenario. */
export interface Accounting {
  jobs: number;
  /** Acknowledged jobs missing, still open, or done without their effect. */
  lost: string[];
  /** Jobs failed after too many runner deaths (JobFoundDead). */
  failedDead: number;
  /** Jobs whose effect happened more than once, by reason. */
  twice: Record<string, number>;
  twiceTotal: number;
  /** Crashed attempts of runners that were alive and not frozen when declared dead. */
  falseCrashes: string[];
  /** Crashed attempts in all. */
  crashes: number;
  /** Runs that started after the job's completion was written. */
  afterCompletion: number;
  /** What happened to the first few jobs that ran twice or after their completion (for the report). */
  examples: string[];
}

/** Reason a non-kept effect happened. */
function whyTwice(run: Run, deaths: Deaths): string {
  const killedAt = deaths.killed.get(run.pid);
  if (killedAt !== undefined && killedAt >= (run.end ?? 0))
    return 'runner killed after the effect, before its completion landed';
  const frozen = deaths.frozen.get(run.pid);
  if (frozen) return 'runner frozen (SIGSTOP) past its lease: a zombie';
  return 'live runner lost its job (rescued while alive, or its claim forgotten by a server crash)';
}

function pidOfRunner(runnerId: string | null): number | null {
  const m = runnerId?.match(/:(\d+):[0-9a-f]+$/);
  return m ? Number(m[1]) : null;
}

/** Compare the acknowledged jobs, the stored rows, the effect log and the crash records. */
export async function account(c: Conveyor, acked: readonly number[], dir: string, deaths: Deaths): Promise<Accounting> {
  const rows = new Map((await allJobs(c)).map((j) => [j.id, j]));
  const runs = readRuns(dir);
  const byJob = new Map<number, Run[]>();
  for (const r of runs) byJob.set(r.id, [...(byJob.get(r.id) ?? []), r]);
  const acc: Accounting = {
    jobs: acked.length,
    lost: [],
    failedDead: 0,
    twice: {},
    twiceTotal: 0,
    falseCrashes: [],
    crashes: 0,
    afterCompletion: 0,
    examples: [],
  };
  for (const id of acked) {
    const row = rows.get(id);
    const effects = (byJob.get(id) ?? []).filter((r) => r.end !== null);
    if (!row) {
      acc.lost.push(`${id}: missing`);
      continue;
    }
    if (OPEN_STATES.has(row.state)) {
      acc.lost.push(`${id}: still ${row.state} (runner ${row.runnerId ?? '-'})`);
      continue;
    }
    if (row.state === 'failed' && row.excName === 'JobFoundDead') acc.failedDead++;
    else if (row.state !== 'done') {
      acc.lost.push(`${id}: ${row.state} ${row.excName ?? ''} ${row.excMessage ?? ''}`);
      continue;
    }
    if (row.state === 'done' && !effects.length) {
      acc.lost.push(`${id}: done without its effect`);
      continue;
    }
    const kept = row.result as { pid?: number; attempt?: number; start?: number } | null;
    const isKept = (r: Run) => !!kept && r.pid === kept.pid && r.attempt === kept.attempt && r.start === kept.start;
    const after = (byJob.get(id) ?? []).filter((run) => row.doneAt !== null && run.start > row.doneAt).length;
    acc.afterCompletion += after;
    if ((after || (effects.length > 1 && row.state === 'done')) && acc.examples.length < 5) {
      const t0 = Math.min(...(byJob.get(id) ?? []).map((r) => r.start));
      const runsText = (byJob.get(id) ?? [])
        .sort((a, b) => a.start - b.start)
        .map(
          (r) => `pid ${r.pid} attempt ${r.attempt} ${r.start - t0}..${r.end === null ? '(no effect)' : r.end - t0} ms`,
        )
        .join(', ');
      acc.examples.push(
        `job ${id}: ${row.state} at +${(row.doneAt ?? 0) - t0} ms, kept ${JSON.stringify(kept)}, attempt ${row.attempt}, crashes ${row.crashCount}; runs: ${runsText}`,
      );
    }
    if (effects.length > 1 || (row.state === 'failed' && effects.length)) {
      for (const e of effects) {
        if (isKept(e)) continue;
        const why = whyTwice(e, deaths);
        acc.twice[why] = (acc.twice[why] ?? 0) + 1;
        acc.twiceTotal++;
      }
    }
    if (row.crashCount > 0 || row.attempt > 1) {
      for (const a of await c.jobs.attempts(id)) {
        if (a.outcome !== 'crashed') continue;
        acc.crashes++;
        const pid = pidOfRunner(a.runnerId);
        const killedAt = pid === null ? undefined : deaths.killed.get(pid);
        const frozen = pid === null ? undefined : deaths.frozen.get(pid);
        if ((killedAt === undefined || killedAt > a.endedAt) && !(frozen && frozen[0] <= a.endedAt)) {
          acc.falseCrashes.push(
            `job ${id} attempt ${a.attempt} of live runner ${a.runnerId} at ${new Date(a.endedAt).toISOString()}`,
          );
        }
      }
    }
  }
  return acc;
}

/** One line of figures from an accounting. */
export function describeAccounting(a: Accounting): string {
  const why = Object.entries(a.twice)
    .map(([k, v]) => `${v} × ${k}`)
    .join('; ');
  return (
    `${a.jobs} jobs: lost ${a.lost.length}, run twice ${a.twiceTotal}${why ? ` (${why})` : ''}, crashes recorded ${a.crashes} (false ${a.falseCrashes.length}), failed after max crashes ${a.failedDead}, runs after completion ${a.afterCompletion}` +
    a.examples.map((e) => `\n      ${e}`).join('')
  );
}

/** Percentiles of a list of numbers (ms): `min/median/max`. */
export function spread(values: number[]): string {
  if (!values.length) return 'n/a';
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `min ${Math.round(s[0]!)} / median ${Math.round(q(0.5))} / max ${Math.round(s.at(-1)!)} ms (n=${s.length})`;
}

/** A seeded random generator (mulberry32), so a run can be replayed with `--seed`. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
