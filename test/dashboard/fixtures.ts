/**
 * Demo-like data for the dashboard tests and screenshots: a dependency graph with a failed node and a
 * waiting dependant, a failed job that succeeds once requeued, a job due in an hour, a job blocked by a
 * full channel, hostile strings (XSS payloads) in args, records, description and exception, finished
 * jobs, and timeout-log entries over the last days.
 */
import { randomBytes } from 'node:crypto';
import { Conveyor, chain, group, type Runner } from '../../src/index.ts';

/** PostgreSQL URL for tests. */
import { PG_URL, pgUnavailable } from '../helpers/backends.ts';

export { PG_URL };

/** XSS payloads planted in the demo data. */
export const XSS = {
  arg: '<script>window.__xss = "arg"</script>',
  record: '"><img src=x onerror="window.__xss=\'record\'">',
  description: '<img src=x onerror="window.__xss=\'description\'">',
  error: '</pre><script>window.__xss = "error"</script><svg onload="window.__xss=1">',
} as const;

export { pgUnavailable };

/** A unique PostgreSQL schema for one test file. */
export function uniqueSchema(prefix = 'dash'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

/** Open a Conveyor on a backend. */
export async function openConveyor(backend: 'sqlite' | 'postgres', schema = uniqueSchema()): Promise<Conveyor> {
  return Conveyor.open({
    database: backend === 'sqlite' ? 'sqlite::memory:' : PG_URL,
    schema: backend === 'postgres' ? schema : undefined,
    channels: 'root:4,root.mail:2,root.slow:1,root.sync:1:sequential,root.api:2:throttle=1',
    logger: 'silent',
    dbMaxconn: 8,
  });
}

const runnersOf = new WeakMap<Conveyor, Runner[]>();

/** Stop the runners, drop the PostgreSQL schema (while the pool is open), close. */
export async function disposeConveyor(conveyor: Conveyor): Promise<void> {
  await Promise.all((runnersOf.get(conveyor) ?? []).map((r) => r.stop()));
  const driver = conveyor.driver as unknown as { dropSchema?: () => Promise<void> };
  try {
    if (conveyor.driver.dialect === 'postgres' && driver.dropSchema) await driver.dropSchema();
  } finally {
    await conveyor.close();
  }
}

/** The ids of the planted jobs. */
export interface DemoIds {
  graphRoot: number;
  graphSibling: number;
  graphFailed: number;
  graphWaiting: number;
  flaky: number;
  eta: number;
  xss: number;
  slowRunning: number;
  slowWaiting: number;
  done: number[];
}

/** The demo: its Conveyor, job ids, and handles to steer it. */
export interface Demo {
  conveyor: Conveyor;
  ids: DemoIds;
  runner: Runner;
  /** Failures left for `sale.order.flaky`; at 0 it succeeds. */
  flaky: { failures: number };
  /** Let the slow jobs finish. */
  releaseSlow(): void;
}

/** Define the demo models, start a runner, enqueue the demo jobs and wait until they settle. */
export async function seedDemo(conveyor: Conveyor): Promise<Demo> {
  const flaky = { failures: 1 };
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  let slowStarted!: () => void;
  const slowStartedP = new Promise<void>((resolve) => {
    slowStarted = resolve;
  });

  const partners = conveyor.model(
    'res.partner',
    {
      async sendNewsletter(job, template: string) {
        await job.progress(job.records.length, job.records.length, `sent ${template}`);
        return { sent: job.records.length, template };
      },
      async syncCrm(_job, note?: string) {
        throw new Error(`CRM refused the sync${note ? `: ${note}` : ''} ${XSS.error}`);
      },
      async importBatch(job, size: number) {
        await job.checkpoint.set({ lastId: size * 10 });
        await job.progress(size, size, 'imported');
        return { imported: size };
      },
    },
    {
      sendNewsletter: {
        channel: 'root.mail',
        maxRetries: 5,
        retryPattern: { 1: 10, 5: 60 },
        timeLimit: '5m',
        relatedAction: { url: '/partners/{records}' },
      },
      syncCrm: { maxRetries: 1, description: 'Synchronise partners with the CRM' },
      importBatch: { relatedAction: { enable: false } },
    },
  );
  const orders = conveyor.model(
    'sale.order',
    {
      async confirm(_job, note?: string) {
        return { confirmed: true, note: note ?? null };
      },
      async flaky() {
        if (flaky.failures > 0) {
          flaky.failures--;
          throw new Error('payment gateway timed out');
        }
        return { paid: true };
      },
      async slow(job) {
        slowStarted();
        await Promise.race([
          released,
          new Promise((resolve) => job.signal.addEventListener('abort', resolve, { once: true })),
        ]);
        return { slow: true };
      },
    },
    {
      flaky: { maxRetries: 1 },
      slow: { channel: 'root.slow' },
    },
  );

  // Everything is enqueued before the runner starts, so the picture is the same on every run.
  const a = partners.browse([1, 2, 3]).delayable({ description: 'Welcome newsletter' }).sendNewsletter('welcome');
  const b = orders.browse([7]).delayable().confirm('after newsletter');
  const c = partners.browse([1]).delayable().syncCrm();
  const d = orders.browse([8]).delayable({ description: 'Confirm after CRM sync' }).confirm();
  a.onDone(b, c.onDone(d));
  const [graphRoot, graphSibling, graphFailed, graphWaiting] = (await group(a, b, c, d).delay()).map((j) => j.id) as [
    number,
    number,
    number,
    number,
  ];

  const flakyJob = await orders.browse([42]).withDelay({ description: 'Charge order 42' }).flaky();
  const etaJob = await partners
    .browse([5])
    .withDelay({ eta: '1h', description: 'Reminder in an hour' })
    .sendNewsletter('reminder');
  const xssJob = await partners.browse([XSS.record]).withDelay({ description: XSS.description }).syncCrm(XSS.arg);
  const slowRunning = await orders.withDelay({ description: 'Long export' }).slow();
  const slowWaiting = await orders.withDelay({ description: 'Second long export' }).slow();
  const doneJobs = await conveyor.delayMany(
    Array.from({ length: 12 }, (_, i) =>
      partners
        .browse([100 + i])
        .delayable({ priority: 5 + (i % 3) })
        .importBatch(10 + i),
    ),
  );
  const chained = await chain(
    group(orders.delayable().confirm('g1'), orders.delayable().confirm('g2')),
    orders.delayable().confirm('after group'),
  ).delay();

  const now = conveyor.clock.now();
  const DAY = 86_400_000;
  const entries: Parameters<Conveyor['timeoutLog']['record']>[0][] = [];
  for (let day = 0; day < 9; day++) {
    for (let k = 0; k < (day % 4) + 1; k++) {
      entries.push({
        operation: k % 2 ? 'res.partner.sendNewsletter' : 'sale.order.confirm',
        kind: k % 3 === 2 ? 'monitor' : 'timeout',
        model: k % 2 ? 'res.partner' : 'sale.order',
        method: k % 2 ? 'sendNewsletter' : 'confirm',
        thresholdMs: 60_000,
        durationMs: 30_000 + 20_000 * k + 1000 * day,
        exceeded: k >= 1,
        jobId: k % 2 ? graphRoot : null,
        error: k >= 1 ? 'time limit of 1 min exceeded' : null,
        at: now - day * DAY - 3_600_000 * k,
      });
    }
  }
  entries.push({
    operation: 'export <b>csv</b>',
    kind: 'hard_kill',
    model: null,
    method: null,
    thresholdMs: 1000,
    durationMs: 4000,
    exceeded: true,
    error: XSS.error,
    at: now - 600_000,
  });
  for (const e of entries) await conveyor.timeoutLog.record(e);

  const runner = conveyor.runner({ workers: 4, pollInterval: '200ms' });
  runnersOf.set(conveyor, [...(runnersOf.get(conveyor) ?? []), runner]);
  await runner.start();
  await Promise.all([
    conveyor.jobs.wait(graphSibling),
    conveyor.jobs.wait(graphFailed),
    conveyor.jobs.wait(flakyJob.id),
    conveyor.jobs.wait(xssJob.id),
    ...[...doneJobs, ...chained].map((j) => conveyor.jobs.wait(j.id)),
  ]);
  await slowStartedP;
  // The runner writes `started` in its next group commit; no event marks that write, so look for it.
  await until(async () => (await conveyor.jobs.get(slowRunning.id))?.state === 'started');

  return {
    conveyor,
    runner,
    flaky,
    releaseSlow: release,
    ids: {
      graphRoot,
      graphSibling,
      graphFailed,
      graphWaiting,
      flaky: flakyJob.id,
      eta: etaJob.id,
      xss: xssJob.id,
      slowRunning: slowRunning.id,
      slowWaiting: slowWaiting.id,
      done: doneJobs.map((j) => j.id),
    },
  };
}

/** Resolve once `check()` holds (for states no event announces); gives up after 10 s. */
export async function until(check: () => Promise<boolean>, what = 'condition'): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Stop the demo: release the slow jobs, stop the runner, close (and drop the PostgreSQL schema). */
export async function closeDemo(demo: Demo): Promise<void> {
  demo.releaseSlow();
  await disposeConveyor(demo.conveyor);
}
