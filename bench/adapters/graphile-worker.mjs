// graphile-worker (PostgreSQL), configured for throughput as its performance docs
// recommend (worker.graphile.org/docs/performance): a local queue of 500 jobs per
// process and batched completion (completeJobBatchDelay / failJobBatchDelay 0 = batch
// whatever is ready on the next tick); new jobs arrive by LISTEN/NOTIFY (built in).
//
// Variants: `graphile-worker` (the above), `graphile-worker:defaults` (library defaults:
// no local queue, one completion query per job).
// Enqueue: WorkerUtils.addJob (one job) and WorkerUtils.addJobs (bulk: one SQL call).
import { run, makeWorkerUtils, Logger } from 'graphile-worker';
import { pgQuery } from '../lib/env.mjs';

export const meta = {
  packages: ['graphile-worker', 'pg'],
  backend: 'postgres',
  variants: ['', 'defaults'],
  features: { bulk: true, channels: false, scaleOut: true }, // scaleOut: S7 (~6 connections per process)
};

const TASK = 'bench';

// graphile-worker logs every job at info level; keep warnings and errors (to the run log).
const logger = new Logger(() => (level, message) => {
  if (level === 'error' || level === 'warning') process.stderr.write(`[graphile-worker ${level}] ${message}\n`);
});

export function createAdapter(ctx) {
  const fast = ctx.variant !== 'defaults';
  const schema = ctx.namespace;
  const producerPool = 20;
  let utils = null;
  let runner = null;
  let workerOptions = null;

  const preset = { worker: { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 } };
  const optionsFor = (concurrency) => ({
    concurrency,
    maxPoolSize: typeof concurrency === 'number' ? Math.max(10, concurrency + 2) : 'max(10, slots + 2)',
    pollInterval: 2000, // the default; a fallback only, LISTEN/NOTIFY wakes the workers
    ...(fast ? { preset } : {}),
  });

  return {
    backend: 'postgres',

    describe() {
      return {
        variant: fast ? 'fast' : 'defaults',
        schema,
        enqueue: 'WorkerUtils.addJob(task, payload)',
        enqueueBulk: 'WorkerUtils.addJobs([{identifier, payload}, ...])',
        producerPool,
        worker: workerOptions ?? optionsFor('slots'),
      };
    },

    async setup({ fresh = true } = {}) {
      if (fresh) await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, [], ctx.pgUrl);
      utils = await makeWorkerUtils({ connectionString: ctx.pgUrl, schema, maxPoolSize: producerPool, logger });
      if (fresh) await utils.migrate();
    },

    async enqueue(payload) {
      await utils.addJob(TASK, payload);
    },

    async enqueueBulk(payloads) {
      await utils.addJobs(payloads.map((payload) => ({ identifier: TASK, payload })));
    },

    async startWorkers(concurrency, handler) {
      workerOptions = optionsFor(concurrency);
      runner = await run({
        connectionString: ctx.pgUrl,
        schema,
        logger,
        noHandleSignals: true,
        crontab: '',
        taskList: {
          [TASK]: async (payload) => {
            await handler(payload);
          },
        },
        ...workerOptions,
      });
    },

    /** graphile-worker deletes completed jobs: every row left is unfinished. */
    async unfinishedCount() {
      return (await pgQuery(`SELECT count(*)::int AS n FROM "${schema}"._private_jobs`, [], ctx.pgUrl)).rows[0].n;
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
      if (utils) {
        await utils.release();
        utils = null;
      }
      if (drop) await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, [], ctx.pgUrl);
    },
  };
}
