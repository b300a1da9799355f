// The machine and its services: preparation checks, environment notes, noise probes.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { execFileSync } from 'node:child_process';
import pg from 'pg';
import { BENCH_DIR, REPO_DIR, PG_URL, REDIS_URL, sleep, now } from './util.mjs';
import { round } from './stats.mjs';

export async function pgQuery(sql, params = [], url = PG_URL) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Create the benchmark database (the path of PG_URL, `bench`) if it is missing. */
export async function ensureDatabase() {
  const u = new URL(PG_URL);
  const db = decodeURIComponent(u.pathname.slice(1));
  const admin = new URL(PG_URL);
  admin.pathname = '/postgres';
  const r = await pgQuery('SELECT 1 FROM pg_database WHERE datname = $1', [db], admin.href);
  if (!r.rowCount) {
    await pgQuery(`CREATE DATABASE "${db.replace(/"/g, '""')}"`, [], admin.href);
    return { created: db };
  }
  return { created: null };
}

/** synchronous_commit as a session of the benchmark sees it (server, database and role defaults). */
export async function synchronousCommit() {
  return (await pgQuery('SHOW synchronous_commit')).rows[0].synchronous_commit;
}

export function redisPing(url = REDIS_URL, timeoutMs = 2000) {
  const u = new URL(url);
  return new Promise((resolve) => {
    const s = net.connect({ host: u.hostname, port: Number(u.port || 6379) });
    const done = (ok) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.on('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => done(String(d).startsWith('+PONG')));
  });
}

export function pkgVersion(name, dir = BENCH_DIR) {
  dir ??= BENCH_DIR;
  try {
    return JSON.parse(fs.readFileSync(path.join(dir, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

/** Version and commit of the library under test (the repository this bench/ lives in). */
export function conveyorVersion() {
  let version = null;
  let commit = null;
  let dirtySrc = null;
  try {
    version = JSON.parse(fs.readFileSync(path.join(REPO_DIR, 'package.json'), 'utf8')).version;
  } catch {
    /* none */
  }
  try {
    commit = execFileSync('git', ['-C', REPO_DIR, 'rev-parse', '--short', 'HEAD'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    }).trim();
    dirtySrc =
      execFileSync('git', ['-C', REPO_DIR, 'status', '--porcelain', '--', 'src'], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim() !== '';
  } catch {
    /* not a git checkout */
  }
  return { version, commit, uncommittedSrcChanges: dirtySrc };
}

export async function pgSettings() {
  const names = [
    'server_version',
    'synchronous_commit',
    'fsync',
    'wal_sync_method',
    'full_page_writes',
    'commit_delay',
    'shared_buffers',
    'max_connections',
    'wal_level',
    'checkpoint_timeout',
    'max_wal_size',
  ];
  const r = await pgQuery('SELECT name, setting, unit FROM pg_settings WHERE name = ANY($1) ORDER BY name', [names]);
  const out = {};
  for (const row of r.rows) out[row.name] = row.unit ? `${row.setting} (${row.unit})` : row.setting;
  // SHOW reflects database/role overrides too: this is what every benchmark session gets.
  out.synchronous_commit_session = await synchronousCommit();
  return out;
}

export function redisInfo() {
  try {
    const u = new URL(REDIS_URL);
    const cli = (...a) =>
      execFileSync('redis-cli', ['-h', u.hostname, '-p', u.port || '6379', ...a], { encoding: 'utf8' });
    return {
      version: /redis_version:(\S+)/.exec(cli('info', 'server'))?.[1],
      appendonly: cli('config', 'get', 'appendonly').split('\n')[1],
      save: cli('config', 'get', 'save').split('\n')[1] ?? '',
    };
  } catch (e) {
    return { error: String(e.message).split('\n')[0] };
  }
}

async function sqliteVersion() {
  try {
    const { DatabaseSync } = await import('node:sqlite');
    const db = new DatabaseSync(':memory:');
    const v = db.prepare('select sqlite_version() as v').get().v;
    db.close();
    return v;
  } catch (e) {
    return `unavailable: ${e.message}`;
  }
}

export async function captureEnv() {
  let postgres;
  try {
    postgres = await pgSettings();
  } catch (e) {
    postgres = { error: String(e.message) };
  }
  let disk = null;
  try {
    disk = execFileSync('df', ['-h', '--output=source,fstype,size,avail', os.tmpdir()], { encoding: 'utf8' })
      .trim()
      .split('\n')[1];
  } catch {
    /* none */
  }
  return {
    date: new Date().toISOString(),
    node: process.version,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    loadavgAtStart: os.loadavg().map((x) => round(x)),
    tmpdir: os.tmpdir(),
    tmpdirDisk: disk,
    sqlite: await sqliteVersion(),
    postgres,
    redis: redisInfo(),
    conveyor: conveyorVersion(),
    packages: Object.fromEntries(
      ['graphile-worker', 'pg-boss', 'bullmq', 'ioredis', 'pg'].map((p) => [p, pkgVersion(p)]),
    ),
  };
}

/** CPU busy (0..100 %) over `ms`, from /proc/stat. */
export async function cpuBusy(ms = 1000) {
  const read = () => {
    const l = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return { idle: l[3] + (l[4] || 0), total: l.reduce((a, b) => a + b, 0) };
  };
  const a = read();
  await sleep(ms);
  const b = read();
  const dt = b.total - a.total;
  return dt > 0 ? round((1 - (b.idle - a.idle) / dt) * 100, 1) : null;
}

/**
 * Before a measured run: wait, at most `maxWaitS`, until the CPU has been at most
 * `busyPct` % busy for 2 consecutive samples of `sampleMs`. maxWaitS = 0 skips the wait.
 */
export async function waitQuiet(maxWaitS, busyPct, sampleMs = 1000) {
  if (!(maxWaitS > 0)) return { cpuBusyPctBefore: null, quietWaitS: 0 };
  const t0 = now();
  const tEnd = t0 + maxWaitS * 1000;
  let quiet = 0;
  let busy = null;
  while (quiet < 2 && now() < tEnd) {
    busy = await cpuBusy(sampleMs);
    quiet = busy !== null && busy <= busyPct ? quiet + 1 : 0;
  }
  return { cpuBusyPctBefore: busy, quietWaitS: round((now() - t0) / 1000, 1), quietReached: quiet >= 2 };
}

/** Client sessions on our Postgres server connected to other databases (other people's work). */
export async function foreignPgSessions() {
  try {
    const r = await pgQuery(`SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE backend_type = 'client backend' AND datname IS DISTINCT FROM current_database()`);
    return r.rows[0].n;
  } catch {
    return null;
  }
}

/** PID of the postmaster of the server behind PG_URL (the parent of our backend). */
export async function ourPostmasterPid() {
  const c = new pg.Client({ connectionString: PG_URL });
  try {
    await c.connect();
    const pid = (await c.query('SELECT pg_backend_pid() AS p')).rows[0].p;
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8'); // while the backend lives
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return null;
  } finally {
    await c.end().catch(() => {});
  }
}

/**
 * Adds up, once a second during a measured run, the CPU time of processes that are not
 * part of the benchmark. Ours: this process tree, redis-server, and the processes of our
 * Postgres server except client backends connected to another database than ours (other
 * engineers' tests use the same server and role, but not the `bench` database).
 * Processes that live between two samples are missed: a lower bound.
 */
export class ForeignCpuMonitor {
  constructor({
    postmasterPid = null,
    database = decodeURIComponent(new URL(PG_URL).pathname.slice(1)),
    intervalMs = 1000,
  } = {}) {
    this.postmasterPid = postmasterPid;
    this.database = database;
    this.intervalMs = intervalMs;
    this.hz = 100; // USER_HZ
    this.first = new Map();
    this.last = new Map();
    this.names = new Map();
  }

  _snapshot() {
    const procs = new Map();
    let dirs = [];
    try {
      dirs = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    } catch {
      return procs;
    }
    for (const d of dirs) {
      try {
        const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
        const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        const cmd = fs.readFileSync(`/proc/${d}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
        procs.set(Number(d), { ppid: Number(f[1]), cpu: (Number(f[11]) + Number(f[12])) / this.hz, cmd });
      } catch {
        /* gone */
      }
    }
    return procs;
  }

  _ours(pid, info, procs) {
    for (let p = pid, i = 0; i < 64 && p > 1; i++) {
      if (p === process.pid) return true;
      p = procs.get(p)?.ppid ?? 0;
    }
    if (/^redis-server/.test(info.cmd)) return true;
    if (this.postmasterPid && (pid === this.postmasterPid || info.ppid === this.postmasterPid)) {
      // client backend: "postgres: [cluster: ]<role> <db> <host>(<port>) <state>"
      const m = /^postgres: (?:\S+: )?\S+ (\S+) (?:[\d.:a-f]+\(\d+\)|\[local\])/.exec(info.cmd);
      return !m || m[1] === this.database;
    }
    return false;
  }

  _tick() {
    const procs = this._snapshot();
    for (const [pid, info] of procs) {
      if (this._ours(pid, info, procs)) continue;
      if (!this.first.has(pid)) this.first.set(pid, this.started ? 0 : info.cpu);
      this.last.set(pid, info.cpu);
      this.names.set(pid, info.cmd.slice(0, 80));
    }
  }

  start() {
    this.started = false;
    this._tick();
    this.started = true;
    this.timer = setInterval(() => this._tick(), this.intervalMs);
    this.timer.unref?.();
  }

  stop() {
    clearInterval(this.timer);
    this._tick();
    let total = 0;
    const top = [];
    for (const [pid, cpu] of this.last) {
      const d = cpu - (this.first.get(pid) ?? 0);
      if (d > 0) {
        total += d;
        top.push([d, this.names.get(pid)]);
      }
    }
    top.sort((a, b) => b[0] - a[0]);
    return { foreignCpuS: round(total), foreignTop: top.slice(0, 3).map(([d, n]) => `${round(d)}s ${n}`) };
  }
}
