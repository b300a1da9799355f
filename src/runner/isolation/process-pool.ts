/**
 * The process pool of `isolation: 'process'`: jobs run in forked worker processes that load the
 * application module, so a limit can always stop them, whatever they are doing — a busy loop, a native
 * call (SQLite, sync zlib or crypto), a blocking syscall, a leak — which a worker thread cannot.
 *
 * One job per worker at a time. Per run, the parent enforces:
 * - the real-time limit: SIGTERM at `limitMs` (the worker aborts the job's signal, reports a
 *   `TimeoutError` and exits), SIGKILL after `graceMs` when it does not answer (kind `hard_kill`);
 * - the CPU-time limit: CPU used by the worker since the job started (`/proc/<pid>/stat`, sampled every
 *   `sampleMs`), then SIGTERM and SIGKILL as above (kind `cpu_limit`);
 * - the hard memory limit: RSS (`/proc/<pid>/status`) above it → SIGKILL at once (kind `memory_limit`);
 * - the soft memory limit: RSS above it when a job ends → the worker is recycled;
 * - the request limit (Odoo's `limit_request`): a worker that has run `requests` jobs is recycled
 *   after the last one.
 * A stopped run ends as a `TimeoutError` outcome decided by the job's own retry rules, its timeout-log
 * row is written through `onTimeoutLog`, and the run is decided — freeing its slot — as soon as the
 * worker answers or is sent SIGKILL; a replacement worker is started while the old one is still dying.
 * A worker that dies on its own (the job called `process.exit`, a segfault) fails its job with
 * "worker process exited with code N" and is replaced.
 *
 * Here: the runs (queue, dispatch, limits, decision). The worker processes are kept by worker-set.ts
 * (forked by worker-process.ts), the limit checks are in run-limits.ts.
 * @module
 */
import { ClosedError, ConfigurationError, toError } from '../../errors.ts';
import type { Logger } from '../../internal/logger.ts';
import type { Outcome } from '../outcome.ts';
import { HAS_PROC, readCpuMs } from './limits.ts';
import type { PoolExecuteOptions, ProcessPoolLimits, ProcessPoolOptions } from './pool-options.ts';
import {
  failed,
  newRun,
  type KillKind,
  type LimitKind,
  type PoolExecuteResult,
  type PoolWorkerInfo,
  type Run,
  type Worker,
} from './pool-records.ts';
import { resolveLimits, sampleRun, stoppedRunOutcome } from './run-limits.ts';
import { fromWireOutcome, type FromWorker, type ToWorker, type WireJob } from './wire.ts';
import { answerCall } from './worker-calls.ts';
import { moduleUrl, workerEnv, workerExecArgv } from './worker-process.ts';
import { WorkerSet } from './worker-set.ts';

export type { PoolExecuteOptions, ProcessPoolLimits, ProcessPoolOptions, RunSettings } from './pool-options.ts';
export type { KillKind, PoolExecuteResult, PoolWorkerInfo } from './pool-records.ts';

/**
 * A pool of worker processes running jobs under hard limits (see the module comment).
 * @example
 * const pool = new ProcessPool({ module: './app.ts', size: 4, limits: { timeCpuMs: 60_000, memoryHardBytes: 2 ** 30 }, logger });
 * await pool.start();
 * const r = await pool.execute(job, { limitMs: 300_000, onProgress, onCheckpoint, onTimeoutLog });
 * await pool.close();
 */
export class ProcessPool {
  /** Worker processes kept alive. */
  readonly size: number;
  readonly #module: string;
  readonly #logger: Logger;
  readonly #limits: Required<ProcessPoolLimits>;
  readonly #sampleMs: number;
  readonly #now: () => number;
  readonly #workers: WorkerSet;
  readonly #queue: Run[] = [];
  #started = false;
  #closing: Promise<void> | null = null;
  #sampler: NodeJS.Timeout | null = null;

  constructor(options: ProcessPoolOptions) {
    if (!options.module || typeof options.module !== 'string')
      throw new ConfigurationError(
        'process pool: module is required (the module whose default export is the Conveyor)',
      );
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new ConfigurationError(`process pool: size must be an integer >= 1, got ${String(options.size)}`);
    this.size = options.size;
    this.#module = options.module;
    const url = moduleUrl(options.module);
    this.#logger = options.logger;
    this.#limits = resolveLimits(options.limits);
    this.#sampleMs = options.sampleMs ?? 250;
    const startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    const execArgv = workerExecArgv(options.execArgv ?? []);
    const env = workerEnv(options.env ?? {}, this.#sampleMs);
    this.#workers = new WorkerSet(
      this.size,
      { url, execArgv, env, startTimeoutMs, logger: this.#logger },
      this.#module,
      this.#limits,
      {
        message: (w, msg) => this.#onMessage(w, msg),
        exited: (w, code, signal, how) => this.#onExit(w, code, signal, how),
        killedAfterGrace: (run) => this.#killedAfterGrace(run),
        spawnFailed: (err) => this.#spawnFailed(err),
      },
    );
  }

  /** The worker processes now (including those being stopped). */
  workers(): PoolWorkerInfo[] {
    return [...this.#workers.all()].map((w) => ({ pid: w.pid, state: w.state, jobs: w.jobs }));
  }

  /**
   * Start the workers and wait until each has loaded the module.
   * @throws ConfigurationError when a worker cannot load it (the pool is closed again)
   */
  async start(): Promise<void> {
    if (this.#started) throw new ConfigurationError('process pool: already started');
    this.#started = true;
    const first = Array.from({ length: this.size }, () => this.#workers.spawn());
    try {
      await Promise.all(first.map((w) => w.ready));
    } catch (err) {
      await this.close();
      throw new ConfigurationError(
        `process isolation: a worker process could not load '${this.#module}': ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.#workers.accepting = true;
    this.#sampler = setInterval(() => this.#sample(), this.#sampleMs);
    this.#sampler.unref();
    this.#workers.replenish();
  }

  /** Run one job in a worker. Never rejects: every ending is an outcome. */
  execute(job: WireJob, opts: PoolExecuteOptions = {}): Promise<PoolExecuteResult> {
    return new Promise<PoolExecuteResult>((resolve) => {
      const run = newRun(job, opts, resolve, this.#now(), opts.limitMs ?? this.#limits.timeRealMs);
      const signal = opts.signal;
      if (signal?.aborted) {
        void this.#decide(run, null, failed(toError(signal.reason)));
        return;
      }
      const closed = this.#workers.closed;
      if (closed || !this.#started) {
        void this.#decide(
          run,
          null,
          failed(new ClosedError(closed ? 'the process pool is closed' : 'the process pool is not started')),
        );
        return;
      }
      if (signal) {
        run.onAbort = () => this.#abort(run, signal.reason);
        signal.addEventListener('abort', run.onAbort, { once: true });
      }
      this.#queue.push(run);
      this.#pump();
    });
  }

  /** Stop every worker (SIGTERM, SIGKILL after the grace period) and wait until they have exited. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const workers = this.#workers;
      workers.closed = true;
      workers.accepting = false;
      if (this.#sampler) clearInterval(this.#sampler);
      workers.stopRespawning();
      for (const run of this.#queue.splice(0))
        void this.#decide(run, null, failed(new ClosedError('the process pool was closed')));
      for (const w of workers.all()) workers.terminate(w);
      await Promise.all([...workers.all()].map((w) => w.exited));
    })();
    return this.#closing;
  }

  // ---------------------------------------------------------------- workers

  #onMessage(w: Worker, msg: FromWorker): void {
    switch (msg.t) {
      case 'ready':
        if (w.state === 'starting') w.state = 'idle';
        w.onReady();
        this.#pump();
        return;
      case 'fatal':
        w.fatal = new Error(msg.error.message);
        return;
      case 'started':
        if (w.run && !w.run.decided)
          w.run.settings = { retryPattern: msg.retryPattern, retryOnTimeout: msg.retryOnTimeout };
        return;
      case 'stats':
        w.lastCpuMs = msg.cpuMs;
        w.lastRss = msg.rss;
        return;
      case 'call':
        answerCall(w, msg);
        return;
      case 'result': {
        const run = w.run;
        if (!run || run.decided) return;
        const outcome = fromWireOutcome(msg.outcome);
        if (run.limit) {
          // it answered SIGTERM: a run that finished all the same is done, any other ending is the limit's
          void this.#decide(
            run,
            outcome.kind === 'done' ? null : run.limit.kind,
            outcome.kind === 'done' ? outcome : undefined,
          );
          return;
        }
        if (w.state === 'busy') this.#workers.runEnded(w, msg.exiting);
        void this.#decide(run, null, outcome);
        return;
      }
    }
  }

  #onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null, how: string): void {
    const run = w.run;
    if (run && !run.decided) {
      if (run.limit) {
        void this.#decide(run, run.limit.kind === 'timeout' && w.sigkilled ? 'hard_kill' : run.limit.kind);
      } else if (this.#workers.closed) {
        void this.#decide(run, null, failed(new ClosedError('the process pool was closed while the job ran')));
      } else {
        const err = new Error(
          `worker process ${how} while running ${run.job.model}.${run.job.method} (job ${run.job.id}, pid ${w.pid})`,
        );
        err.name = 'WorkerExitError';
        this.#logger.error({ jobId: run.job.id, pid: w.pid, code, signal }, err.message);
        void this.#decide(run, null, failed(err));
      }
    } else if (w.state === 'idle' || w.state === 'busy') {
      this.#logger.warn({ pid: w.pid, code, signal }, `an idle worker process ${how}; starting another`);
    }
    w.state = 'retiring';
    this.#workers.replenish();
    this.#pump();
  }

  /** Jobs waiting for a worker go back to the queue rather than waiting on a broken module. */
  #spawnFailed(err: Error): void {
    for (const run of this.#queue.splice(0)) {
      void this.#decide(run, null, {
        kind: 'retry',
        delayMs: 10_000,
        countTry: false,
        reason: 'retryable',
        error: new Error(`no worker process could start: ${err.message}`),
      });
    }
  }

  /** The worker of `run` was stopped (SIGTERM) and did not exit within the grace period: it was killed. */
  #killedAfterGrace(run: Run): void {
    if (run.limit) void this.#decide(run, run.limit.kind === 'timeout' ? 'hard_kill' : run.limit.kind);
    else void this.#decide(run, null, failed(new ClosedError('the worker process was stopped')));
  }

  // ---------------------------------------------------------------- runs

  #pump(): void {
    while (this.#queue.length) {
      const idle = this.#workers.idle();
      if (!idle) break;
      this.#dispatch(idle, this.#queue.shift()!);
    }
    this.#workers.replenish();
  }

  #dispatch(w: Worker, run: Run): void {
    w.state = 'busy';
    w.run = run;
    w.jobs++;
    run.worker = w;
    run.t0 = performance.now();
    run.cpuBase = HAS_PROC ? readCpuMs(w.pid) : (w.lastCpuMs ?? 0);
    try {
      w.child.send({ t: 'run', job: run.job, tx: run.opts.transaction } satisfies ToWorker, () => {
        /* a send that fails ends with the worker's exit */
      });
    } catch (err) {
      w.run = null;
      w.state = 'idle';
      void this.#decide(run, null, failed(err as Error));
      return;
    }
    if (run.limitMs) {
      run.timer = setTimeout(() => {
        this.#limit(
          run,
          'timeout',
          run.limitMs,
          `${run.job.model}.${run.job.method} (job ${run.job.id}) ran past its time limit of ${run.limitMs} ms`,
        );
      }, run.limitMs);
    }
  }

  #sample(): void {
    for (const w of this.#workers.all()) {
      const run = w.run;
      if (w.state !== 'busy' || !run || run.decided || run.limit) continue;
      const passed = sampleRun(w, run, this.#limits);
      if (passed) this.#limit(run, passed.kind, passed.thresholdMs, passed.message);
    }
  }

  /** A limit fired: stop the worker; the run is decided when it answers, exits or is killed. */
  #limit(run: Run, kind: LimitKind, thresholdMs: number, message: string): void {
    const w = run.worker;
    if (run.decided || run.limit || !w) return;
    run.limit = { kind, thresholdMs, message };
    if (run.timer) clearTimeout(run.timer);
    this.#logger.warn({ jobId: run.job.id, job: `${run.job.model}.${run.job.method}`, pid: w.pid, kind }, message);
    if (kind === 'memory_limit') {
      this.#workers.kill(w);
      void this.#decide(run, 'memory_limit');
    } else {
      this.#workers.terminate(w);
    }
  }

  /** Aborted from outside (shutdown, cancel): the run ends now, its worker is stopped and replaced. */
  #abort(run: Run, reason: unknown): void {
    if (run.decided) return;
    const error = toError(reason);
    const i = this.#queue.indexOf(run);
    if (i >= 0) this.#queue.splice(i, 1);
    if (run.worker && run.worker.run === run) this.#workers.terminate(run.worker);
    void this.#decide(run, null, failed(error));
  }

  /** End a run: a killed run becomes a TimeoutError outcome by its function's rules, logged; then free the slot. */
  async #decide(run: Run, killed: KillKind | null, outcome?: Outcome): Promise<void> {
    if (run.decided) return;
    run.decided = true;
    if (run.timer) clearTimeout(run.timer);
    if (run.onAbort) run.opts.signal?.removeEventListener('abort', run.onAbort);
    const w = run.worker;
    if (w && w.run === run) w.run = null;
    const durationMs = run.t0 ? Math.round(performance.now() - run.t0) : 0;
    if (killed) {
      const stopped = stoppedRunOutcome(run, killed, this.#limits.graceMs, durationMs);
      outcome = stopped.outcome;
      try {
        await run.opts.onTimeoutLog?.(stopped.entry);
      } catch (err) {
        this.#logger.error({ jobId: run.job.id, err }, 'could not write the timeout log row');
      }
    }
    run.resolve({
      outcome: outcome!,
      startedAt: run.startedAt,
      endedAt: this.#now(),
      timedOut: killed !== null,
      killed,
      pid: w?.pid ?? null,
    });
    this.#pump();
  }
}
