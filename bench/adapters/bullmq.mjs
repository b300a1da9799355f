// BullMQ (Redis, through its default driver ioredis). Worker({concurrency}) as its docs
// recommend for throughput of async jobs; completed jobs are removed (removeOnComplete:
// true, as graphile-worker does and as the docs recommend for production).
// Redis here runs without AOF or RDB: an acknowledged job is not on disk.
//
// Variants: `bullmq` (the above), `bullmq:keep` (keep completed jobs: the library default).
// Enqueue: Queue.add (one job) and Queue.addBulk (bulk: one MULTI).
import { Queue, Worker } from 'bullmq';

export const meta = {
  packages: ['bullmq', 'ioredis'],
  backend: 'redis',
  variants: ['', 'keep'],
  features: { bulk: true, channels: false },
};

const QUEUE = 'bench';

export function createAdapter(ctx) {
  const keep = ctx.variant === 'keep';
  const u = new URL(ctx.redisUrl);
  const connection = { host: u.hostname, port: Number(u.port || 6379), db: Number(u.pathname.slice(1) || 0) };
  const prefix = ctx.namespace;
  const defaultJobOptions = keep ? {} : { removeOnComplete: true, removeOnFail: 1000 };
  let queue = null;
  let worker = null;
  let concurrencyUsed = null;

  return {
    backend: 'redis',

    describe() {
      return {
        variant: keep ? 'keep' : 'fast',
        connection,
        prefix,
        defaultJobOptions,
        enqueue: 'Queue.add(name, data)',
        enqueueBulk: 'Queue.addBulk([{name, data}, ...])',
        worker: { concurrency: concurrencyUsed ?? 'slots' },
      };
    },

    async setup({ fresh = true } = {}) {
      queue = new Queue(QUEUE, { connection, prefix, defaultJobOptions });
      await queue.waitUntilReady();
      if (fresh) await queue.obliterate({ force: true });
    },

    async enqueue(payload) {
      await queue.add('bench', payload);
    },

    async enqueueBulk(payloads) {
      await queue.addBulk(payloads.map((data) => ({ name: 'bench', data })));
    },

    async startWorkers(concurrency, handler) {
      concurrencyUsed = concurrency;
      worker = new Worker(
        QUEUE,
        async (job) => {
          await handler(job.data);
        },
        { connection, prefix, concurrency },
      );
      worker.on('error', (e) => process.stderr.write(`[bullmq error] ${e?.message ?? e}\n`));
      await worker.waitUntilReady();
    },

    async unfinishedCount() {
      const c = await queue.getJobCounts('wait', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children');
      return Object.values(c).reduce((a, b) => a + b, 0);
    },

    async stop() {
      if (worker) {
        const w = worker;
        worker = null;
        await w.close();
      }
    },

    async teardown({ drop = true } = {}) {
      await this.stop();
      if (queue) {
        if (drop) await queue.obliterate({ force: true });
        await queue.close();
        queue = null;
      }
    },
  };
}
