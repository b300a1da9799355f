// pg-boss (PostgreSQL), configured for throughput as its docs recommend: LISTEN/NOTIFY
// wake-ups (constructor useListenNotify + queue notify) instead of polling, work() with
// batchSize 100 (one fetch and one completion query per batch) and burstWhenBatchFull
// (fetch again at once while batches come back full), localConcurrency = slots.
// pg-boss hands a batch to one handler call; its jobs run one after another there, so no
// more than `slots` jobs execute at once, as with the other systems.
//
// Variants: `pg-boss` (the above), `pg-boss:b<N>` (batchSize N), `pg-boss:defaults`
// (library defaults: 2 s polling, batchSize 1: very slow by design).
// Enqueue: send() (one job) and insert() (bulk: one SQL statement).
import { PgBoss } from 'pg-boss';
import { pgQuery } from '../lib/env.mjs';

export const meta = {
  packages: ['pg-boss', 'pg'],
  backend: 'postgres',
  variants: ['', 'defaults', /^b\d+$/],
  // No S7 (scaleOut): its two instances per worker process hold ~14 connections (measured), so 8
  // processes would exceed max_connections (100) of the benchmark's shared server.
  features: { bulk: true, channels: false, scaleOut: false },
};

const QUEUE = 'bench';

export function createAdapter(ctx) {
  const variant = ctx.variant ?? 'fast';
  const m = /^b(\d+)$/.exec(variant);
  const v =
    variant === 'defaults'
      ? { notify: false, batchSize: 1, burst: false }
      : { notify: true, batchSize: m ? Number(m[1]) : 100, burst: m ? Number(m[1]) > 1 : true };
  const schema = ctx.namespace;
  const producerPool = 20;
  let producer = null;
  let consumer = null;
  let consumerPool = null;
  let workUsed = null;

  const onError = (e) => process.stderr.write(`[pg-boss error] ${e?.message ?? e}\n`);
  const bossOptions = (max) => ({
    connectionString: ctx.pgUrl,
    schema,
    max,
    ...(v.notify ? { useListenNotify: true } : {}),
  });
  const workOptions = (concurrency) => ({
    localConcurrency: concurrency,
    batchSize: v.batchSize,
    ...(v.burst ? { burstWhenBatchFull: true } : {}),
    ...(v.notify ? { pollingIntervalSeconds: 0.5 } : {}), // fallback only (the minimum)
  });

  return {
    backend: 'postgres',

    describe() {
      return {
        variant,
        schema,
        constructor: { ...bossOptions(producerPool), connectionString: undefined },
        queue: { name: QUEUE, ...(v.notify ? { notify: true } : {}) },
        enqueue: 'send(queue, payload)',
        enqueueBulk: 'insert(queue, [{data}, ...])',
        consumerInstance: { max: consumerPool ?? 'slots+4', supervise: false, schedule: false },
        work: workUsed ?? workOptions('slots'),
      };
    },

    async setup({ fresh = true } = {}) {
      if (fresh) await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, [], ctx.pgUrl);
      producer = new PgBoss(bossOptions(producerPool));
      producer.on('error', onError);
      await producer.start();
      if (fresh) await producer.createQueue(QUEUE, v.notify ? { notify: true } : {});
    },

    async enqueue(payload) {
      await producer.send(QUEUE, payload);
    },

    async enqueueBulk(payloads) {
      await producer.insert(
        QUEUE,
        payloads.map((data) => ({ data })),
      );
    },

    async startWorkers(concurrency, handler) {
      // A separate instance with its own pool for the consumers (maintenance stays on
      // the producer instance), like graphile-worker's runner pool.
      consumerPool = concurrency + 4;
      consumer = new PgBoss({ ...bossOptions(consumerPool), supervise: false, schedule: false, migrate: false });
      consumer.on('error', onError);
      await consumer.start();
      workUsed = workOptions(concurrency);
      await consumer.work(QUEUE, workUsed, async (jobs) => {
        for (const job of jobs) await handler(job.data);
      });
    },

    /** pg-boss keeps completed jobs: count created / retry / active. */
    async unfinishedCount() {
      const r = await pgQuery(
        `SELECT count(*)::int AS n FROM "${schema}".job WHERE name = $1 AND state IN ('created', 'retry', 'active')`,
        [QUEUE],
        ctx.pgUrl,
      );
      return r.rows[0].n;
    },

    async stop() {
      if (consumer) {
        const b = consumer;
        consumer = null;
        await b.stop({ graceful: true, timeout: 10000, close: true });
      }
    },

    async teardown({ drop = true } = {}) {
      await this.stop();
      if (producer) {
        const b = producer;
        producer = null;
        await b.stop({ graceful: true, timeout: 10000, close: true });
      }
      if (drop) await pgQuery(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`, [], ctx.pgUrl);
    },
  };
}
