/**
 * The entry of a worker process of the {@link ProcessPool} (`fork(child.ts, [moduleUrl])`).
 *
 * It loads the module (its default export is the Conveyor, or a function or promise giving one), uses
 * its models, and runs one job at a time with {@link executeJob}: progress, checkpoints and timeout-log
 * rows go to the parent over IPC (the parent writes them, fenced like inline runs), the outcome comes
 * back serialised. It never starts a runner and never claims jobs.
 *
 * Stopping: SIGTERM aborts the running job's signal and ends the run at once (like the inline time
 * limit), reports, and exits; a job blocked in a busy loop or a native call cannot see SIGTERM, and the
 * parent kills it (SIGKILL) after the grace period. An uncaught exception or unhandled rejection fails
 * the running job with that error, then the process exits and is replaced. When the parent goes away
 * (IPC channel closed) the process exits.
 * @module
 */
import { TimeoutError } from '../../errors.ts';
import type { ContextApi } from '../../context.ts';
import type { Driver, JobTransactionJob } from '../../drivers/driver.ts';
import type { Clock } from '../../internal/clock.ts';
import { encodeJson } from '../../internal/json.ts';
import type { Logger } from '../../internal/logger.ts';
import type { ModelDefinition } from '../../model/definition.ts';
import { encodeTransactionResult, executeJob } from '../executor.ts';
import {
  fromWireError,
  toWireError,
  toWireOutcome,
  type FromWorker,
  type ToWorker,
  type WireJob,
  type WorkerCall,
} from './wire.ts';

/** What a worker uses of the module's Conveyor. */
interface Host {
  readonly models: ReadonlyMap<string, ModelDefinition>;
  readonly logger: Logger;
  readonly context: ContextApi;
  readonly clock: Clock;
  /** The module's own driver: `job.transaction()` runs on it (the same database as the runner's). */
  readonly driver: Driver;
}

function send(msg: FromWorker): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!process.send || !process.connected) {
      reject(new Error('the IPC channel to the runner is closed'));
      return;
    }
    process.send(msg, undefined, {}, (err) => (err ? reject(err) : resolve()));
  });
}

async function load(url: string): Promise<Host> {
  const mod = (await import(url)) as { default?: unknown };
  const value = await (typeof mod.default === 'function' && !(mod.default as { runner?: unknown }).runner
    ? (mod.default as () => unknown)()
    : mod.default);
  const host = value as Host | undefined;
  if (!host || typeof (host as unknown as { model?: unknown }).model !== 'function' || !(host.models instanceof Map)) {
    throw new Error(`module '${url}' must export default a Conveyor (or a promise of one), with its models defined`);
  }
  return host;
}

let host: Host;
let current: { job: WireJob; controller: AbortController } | null = null;
let exiting = false;
let exitCode = 0;
let nextCall = 1;
const calls = new Map<number, { resolve(): void; reject(err: Error): void }>();

function call(c: WorkerCall): Promise<void> {
  const id = nextCall++;
  return new Promise<void>((resolve, reject) => {
    calls.set(id, { resolve, reject });
    send({ t: 'call', id, ...c }).catch((err: Error) => {
      calls.delete(id);
      reject(err);
    });
  });
}

async function run(job: WireJob, tx: JobTransactionJob | undefined): Promise<void> {
  const controller = new AbortController();
  current = { job, controller };
  const settings = host.models.get(job.model)?.settings.get(job.method);
  // the parent needs these to decide a run it has to kill; sent before the job can block the process
  await send({
    t: 'started',
    retryPattern: settings?.retryPattern ?? null,
    retryOnTimeout: settings?.retryOnTimeout ?? true,
  });
  const r = await executeJob({
    job,
    models: host.models,
    limitMs: 0, // the parent owns the limits
    logger: host.logger,
    context: host.context,
    signal: controller.signal,
    now: () => host.clock.now(),
    persistProgress: (value) => call({ op: 'progress', value }),
    persistCheckpoint: (value) => call({ op: 'checkpoint', value }),
    recordTimeout: (value) => call({ op: 'timeoutLog', value }),
    // the fenced transaction runs here, on this process's own driver; the parent learns the job is done
    // (a parent that never hears it writes the outcome, which the fence then finds stale)
    transaction: async (fn, signal) => {
      const r = await host.driver.jobTransaction({
        job: tx ? { ...tx, id: job.id, attempt: job.attempt } : null,
        fn,
        encodeResult: encodeTransactionResult,
        now: () => host.clock.now(),
        signal,
      });
      if (r.completed) await call({ op: 'committed', value: r.at }).catch(() => {});
      return r.value;
    },
  });
  current = null;
  try {
    await send({ t: 'result', outcome: toWireOutcome(r.outcome), exiting });
  } catch (err) {
    // a result that cannot cross (a function in it): fail the run with the error the inline runner gives
    let error = err;
    if (r.outcome.kind === 'done') {
      try {
        encodeJson(r.outcome.result, 'result');
      } catch (e) {
        error = e;
      }
    }
    await send({ t: 'result', outcome: { kind: 'failed', reason: 'error', error: toWireError(error) }, exiting }).catch(
      () => {},
    );
  }
  if (exiting) process.exit(exitCode);
}

function stop(reason: Error, code: number): void {
  exiting = true;
  exitCode = code;
  if (current && !current.controller.signal.aborted) current.controller.abort(reason);
  else if (!current) process.exit(code);
}

process.on('SIGTERM', () => {
  const job = current?.job;
  stop(
    new TimeoutError(
      job
        ? `${job.model}.${job.method} (job ${job.id}): worker process ${process.pid} was told to stop (SIGTERM)`
        : 'SIGTERM',
      0,
    ),
    0,
  );
});
process.on('uncaughtException', (err) => {
  host?.logger.error({ pid: process.pid, err }, 'uncaught exception in a worker process: failing its job and exiting');
  stop(err, 1);
});
process.on('unhandledRejection', (reason) => {
  const err = reason instanceof Error ? reason : new Error(`unhandled rejection: ${String(reason)}`);
  host?.logger.error({ pid: process.pid, err }, 'unhandled rejection in a worker process: failing its job and exiting');
  stop(err, 1);
});
process.on('disconnect', () => process.exit(exitCode));

const statsMs = Number(process.env.CONVEYOR_WORKER_STATS_MS ?? 0);
if (statsMs > 0) {
  // no /proc on this system: report CPU and memory while a job runs (a blocked job cannot, of course)
  setInterval(() => {
    if (!current) return;
    const cpu = process.cpuUsage();
    send({ t: 'stats', cpuMs: (cpu.user + cpu.system) / 1000, rss: process.memoryUsage.rss() }).catch(() => {});
  }, statsMs).unref();
}

try {
  host = await load(process.argv[2]!);
} catch (err) {
  await send({ t: 'fatal', error: toWireError(err) }).catch(() => {});
  process.exit(1);
}

process.on('message', (msg: ToWorker) => {
  if (msg.t === 'run') {
    run(msg.job, msg.tx).catch((err: Error) => {
      host.logger.error({ pid: process.pid, err }, 'worker process could not run its job');
      process.exit(1);
    });
  } else if (msg.t === 'reply') {
    const c = calls.get(msg.id);
    calls.delete(msg.id);
    if (msg.error) c?.reject(fromWireError(msg.error));
    else c?.resolve();
  }
});
await send({ t: 'ready' });
