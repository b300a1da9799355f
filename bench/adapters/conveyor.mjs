// Conveyor, the library in this repository, on PostgreSQL (`conveyor:pg`) or SQLite
// (`conveyor:sqlite`). It is imported from its TypeScript source (../../src/index.ts): Node
// strips the types itself, which it does only outside node_modules, so the library is not a
// dependency of this package. Its own dependencies come from the repository's node_modules
// (`npm install` at the repository root).
//
// Options: DEFAULT runner options only (issue 14): no channels in S1–S5 (root is unlimited
// unless configured, so the runners' slots bound it) and the scenario's exact channels in S6; a
// runner with `workers` = the scenario's slots and nothing else (the runner sizes its claims
// itself: the adaptive prefetch, docs/architecture.md). Enqueue: `model.withDelay().run(payload)` (one job, one call) and
// `conveyor.delayMany([...model.delayable().run(payload)])` (bulk: one multi-row insert).
// SQLite uses the library's defaults (WAL, synchronous=NORMAL); the file lives in os.tmpdir().
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pgQuery } from '../lib/env.mjs';
import { advisoryLockColumns } from '../lib/pg-activity.mjs';
import { REPO_DIR } from '../lib/util.mjs';

const SOURCE = new URL('../../src/index.ts', import.meta.url);

export const meta = {
  packages: (variant) => (variant === 'sqlite' ? [] : ['pg']), // resolved from the repository's node_modules
  packageRoot: REPO_DIR,
  backend: (variant) => (variant === 'sqlite' ? 'sqlite' : 'postgres'),
  variants: ['pg', 'sqlite'],
  features: { bulk: true, channels: true, scaleOut: true }, // scaleOut: S7 (PostgreSQL only; ~5 connections per process)
  /** A clear message instead of one failed child per scenario when the library does not load. */
  async preflight() {
    try {
      const mod = await import(SOURCE.href);
      if (typeof mod.Conveyor?.open !== 'function') return `${SOURCE.pathname} does not export Conveyor.open()`;
      return null;
    } catch (e) {
      return `cannot import ${SOURCE.pathname}: ${String(e?.message ?? e).split('\n')[0]}`;
    }
  },
};

const MODEL = 'bench';
const DEFAULT_CHANNELS = undefined;

/** Sum of whatever jobs.count() returns: a number, grouped rows `{key, count}`, or a map. */
function total(counts) {
  if (typeof counts === 'number') return counts;
  if (Array.isArray(counts)) return counts.reduce((a, r) => a + (typeof r === 'number' ? r : Number(r.count ?? 0)), 0);
  if (counts && typeof counts === 'object')
    return Object.values(counts).reduce((a, v) => a + (typeof v === 'number' ? v : total(v)), 0);
  throw new Error(`unexpected jobs.count() result: ${JSON.stringify(counts)}`);
}

export async function createAdapter(ctx) {
  const variant = ctx.variant ?? 'pg';
  const sqlite = variant === 'sqlite';
  const schema = ctx.namespace;
  const file = path.join(os.tmpdir(), `${ctx.namespace}.db`);
  const { Conveyor } = await import(SOURCE.href);
  let conveyor = null;
  let model = null;
  let runner = null;
  let channels = DEFAULT_CHANNELS;
  let runnerOptions = null;
  let handler = async () => {};

  const removeFiles = () => {
    for (const f of [file, `${file}-wal`, `${file}-shm`, `${file}-journal`]) fs.rmSync(f, { force: true });
  };
  const dropSchema = () => pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, [], ctx.pgUrl);
  const delayable = (payload) => {
    const d = model.delayable().run(payload);
    return payload.ch ? d.set({ channel: payload.ch }) : d;
  };

  return {
    backend: sqlite ? 'sqlite' : 'postgres',

    describe() {
      return {
        variant,
        database: sqlite ? `sqlite:${file}` : 'postgres (BENCH_PG_URL)',
        ...(sqlite ? { sqlite: 'library defaults (WAL, synchronous=NORMAL)' } : { schema }),
        channels,
        enqueue: 'model.withDelay().run(payload)',
        enqueueBulk: 'conveyor.delayMany(payloads.map((p) => model.delayable().run(p)))',
        runner: runnerOptions ?? { workers: 'N' },
      };
    },

    async setup({ fresh = true, channels: ch } = {}) {
      channels = ch ?? DEFAULT_CHANNELS;
      if (fresh) {
        if (sqlite) removeFiles();
        else await dropSchema();
      }
      conveyor = await Conveyor.open({
        database: sqlite ? `sqlite:${file}` : ctx.pgUrl,
        ...(sqlite ? {} : { schema }),
        ...(channels === undefined ? {} : { channels }),
        logger: 'silent',
      });
      model = conveyor.model(MODEL, {
        async run(job, payload) {
          await handler(payload);
        },
      });
    },

    async enqueue(payload) {
      await (payload.ch ? model.withDelay({ channel: payload.ch }) : model.withDelay()).run(payload);
    },

    async enqueueBulk(payloads) {
      await conveyor.delayMany(payloads.map(delayable));
    },

    async startWorkers(workers, fn) {
      handler = fn;
      runnerOptions = { workers };
      runner = conveyor.runner(runnerOptions);
      await runner.start();
    },

    /**
     * The claim lock as pg_locks shows it, so that S7 can sample who waits for it on the server.
     * Mirrors lockKey(schema, 'claim') in src/drivers/postgres/driver.ts (S7 reports a run in which
     * the lock was never seen held, which is what a change of that key would look like).
     */
    claimLock() {
      if (sqlite) return null;
      const hex = createHash('sha1').update(`conveyor:${schema}:claim`).digest('hex').slice(0, 16);
      return advisoryLockColumns(BigInt.asIntN(64, BigInt('0x' + hex)));
    },

    async unfinishedCount() {
      return total(await conveyor.jobs.count({ state: ['wait_dependencies', 'pending', 'enqueued', 'started'] }));
    },

    async stop() {
      if (runner) {
        const r = runner;
        runner = null;
        await r.stop();
      }
    },

    async teardown({ drop = true } = {}) {
      await this.stop();
      if (conveyor) {
        const c = conveyor;
        conveyor = null;
        await c.close();
      }
      if (drop) {
        if (sqlite) removeFiles();
        else await dropSchema();
      }
    },
  };
}
