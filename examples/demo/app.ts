/**
 * The demo application: a small shop back office whose slow work runs as jobs.
 * `npm start` runs it (see main.ts); `conveyor run examples/demo/app.ts` runs just its runner.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  chain,
  Conveyor,
  group,
  RetryableJobError,
  type JobContext,
  type Logger,
  type LogLevel,
} from '../../src/index.ts';
import { batchProcess, ProgressTracker } from '../../src/timeouts/index.ts';

/** The demo's one log format, `HH:MM:SS  message`, for its own lines (main.ts) and the library's. */
export const out = (line: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)}  ${line}\n`);
};

const LEVELS: LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];
/** A Logger (pino's shape) that writes the message in the demo's format; warnings and errors are marked. */
function demoLogger(level: LogLevel): Logger {
  const min = LEVELS.indexOf(level);
  const at = (lvl: LogLevel) => (objOrMsg: unknown, msg?: string) => {
    if (LEVELS.indexOf(lvl) < min) return;
    const text = typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '');
    out(lvl === 'info' || lvl === 'debug' ? text : `${lvl.toUpperCase().padEnd(9)} ${text}`);
  };
  const logger: Logger = {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    child: () => logger,
  };
  return logger;
}

/** The library's own messages (resumes, progress lines) at info; `CONVEYOR_LOG_LEVEL` overrides. */
const logger = demoLogger((process.env.CONVEYOR_LOG_LEVEL as LogLevel | undefined) ?? 'info');

export const conveyor = await Conveyor.open({
  database: process.env.CONVEYOR_DATABASE ?? 'sqlite:./conveyor.db',
  // queue_job's syntax: root runs 6 jobs at once, mail 2 of them, stock sync one at a time in order,
  // the carrier API at most one start per second
  channels: process.env.CONVEYOR_CHANNELS ?? 'root:6,root.mail:2,root.stock:1:sequential,root.carrier:2:throttle=1',
  // the runner's own lines at warn and above; the export's progress and resume lines below at info
  logger: demoLogger((process.env.CONVEYOR_LOG_LEVEL as LogLevel | undefined) ?? 'warn'),
});

/** Random work time, so the channels visibly fill and drain. */
const work = (min: number, max: number) => sleep(min + Math.random() * (max - min));

export const partners = conveyor.model(
  'res.partner',
  {
    /** Send a newsletter to the partners of the job; the mail server sometimes says "later". */
    async sendNewsletter(job: JobContext, template: string) {
      await work(150, 600);
      if (Math.random() < 0.15) throw new RetryableJobError('SMTP server busy (421)', { seconds: 2 });
      return { template, sent: job.records.length };
    },
  },
  {
    sendNewsletter: { channel: 'root.mail', maxRetries: 5, retryPattern: { 1: 2, 3: 5 } },
  },
);

export const orders = conveyor.model(
  'sale.order',
  {
    async reserveStock(job: JobContext) {
      await work(200, 500);
      return { reserved: job.records };
    },
    async createInvoice(job: JobContext) {
      await work(100, 300);
      return { invoice: `INV/${String(job.records[0]).padStart(4, '0')}` };
    },
    async bookCarrier(job: JobContext) {
      await work(100, 200);
      return { tracking: `TRK${Math.floor(Math.random() * 1e8)}` };
    },
    async notifyCustomer(job: JobContext) {
      await work(50, 150);
      return { notified: job.records[0] };
    },
  },
  {
    reserveStock: { channel: 'root.stock' },
    bookCarrier: { channel: 'root.carrier' },
    notifyCustomer: { channel: 'root.mail' },
  },
);

export const reports = conveyor.model(
  'report',
  {
    /** Export rows in batches; each batch is checkpointed, so a retried export resumes where it stopped. */
    async exportSales(job: JobContext, rows: number, msPerBatch: number) {
      const tracker = new ProgressTracker({
        total: rows,
        operationName: `export #${job.id}`,
        logInterval: '1s',
        logger,
      });
      const items = Array.from({ length: rows }, (_, i) => i);
      // `progress`: the loop counts committed rows on the tracker, from the checkpoint on a resume
      for await (const _batch of batchProcess(items, {
        batchSize: 100,
        signal: job.signal,
        progress: tracker,
        logger,
      })) {
        await sleep(msPerBatch, undefined, { signal: job.signal });
      }
      tracker.finish();
      return { rows };
    },
  },
  {
    // the first run of a big export hits this limit, is logged as a timeout and retried; it then resumes
    exportSales: { timeLimit: '1500ms', retryPattern: { 1: 1 }, maxRetries: 4 },
  },
);

/** One round of the demo's workload (25 jobs); returns their ids. */
export async function enqueueWorkload(round: number): Promise<number[]> {
  const ids: number[] = [];
  const partnerIds = Array.from({ length: 40 }, (_, i) => round * 100 + i + 1);
  // one delayable over 40 partners, split into 8 jobs of 5 ("Newsletter (i/8)"), stored in one insert
  const mails = await partners
    .browse(partnerIds)
    .delayable({ description: 'Newsletter' })
    .sendNewsletter('winter-sale')
    .split(5)
    .delay();
  ids.push(...mails.map((j) => j.id));
  // an order pipeline per order: reserve stock, then invoice and carrier in parallel, then notify
  for (let o = 1; o <= 4; o++) {
    const order = orders.browse([round * 10 + o]);
    const jobs = await chain(
      order.delayable().reserveStock(),
      group(order.delayable().createInvoice(), order.delayable().bookCarrier()),
      order.delayable().notifyCustomer(),
    ).delay();
    ids.push(...jobs.map((j) => j.id));
  }
  // a big export that runs past its 1.5 s limit once, then resumes from its checkpoint
  ids.push((await reports.withDelay({ priority: 20 }).exportSales(1500, 130)).id);
  return ids;
}

export default conveyor;
