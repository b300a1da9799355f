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
 * "worker process exited with code N" and is replaced. Each worker leads its own process group, and
 * signals go to the group, so subprocesses a job started die with it.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { ClosedError, ConfigurationError, TimeoutError } from '../../errors.ts';
import type { JobTransactionJob } from '../../drivers/driver.ts';
import type { Logger } from '../../internal/logger.ts';
import type { JobProgress } from '../../job/row.ts';
import type { TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type { RetryPattern } from '../../retry/pattern.ts';
import type { ExecuteResult } from '../executor.ts';
import { decideFailure, type Outcome } from '../outcome.ts';
import { HAS_PROC, formatBytes, readCpuMs, readRssBytes } from './limits.ts';
import { fromWireOutcome, toWireError, type FromWorker, type ToWorker, type WireJob } from './wire.ts';

const CHILD_FILE = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url),
);

/** Why the pool stopped a run (the timeout-log kind). */
export type KillKind = 'timeout' | 'cpu_limit' | 'memory_limit' | 'hard_kill';

/** Limits of the pool's worker processes. 0 or absent = no limit. */
export interface ProcessPoolLimits {
  /** Default real-time limit of a run (ms), when `execute()` gives none. */
  timeRealMs?: number;
  /** CPU time one run may use (ms). */
  timeCpuMs?: number;
  /** RSS (bytes) above which a worker is recycled after its job. */
  memorySoftBytes?: number;
  /** RSS (bytes) above which a worker is killed at once. */
  memoryHardBytes?: number;
  /** Time between SIGTERM and SIGKILL (ms). @default 2000 */
  graceMs?: number;
  /** Jobs a worker runs before it is recycled after its last one (Odoo's `limit_request`). */
  requests?: number;
}

/** Options of {@link ProcessPool}. */
export interface ProcessPoolOptions {
  /** Path or URL of the module whose default export is the Conveyor (or a function/promise giving one). */
  module: string;
  /** Worker processes. */
  size: number;
  limits?: ProcessPoolLimits;
  logger: Logger;
  /** Extra environment of the workers (over `process.env`; `undefined` removes a variable). */
  env?: Record<string, string | undefined>;
  /** Extra node flags of the workers (after the parent's, minus `--test*`, `--watch*`, `--inspect*`). */
  execArgv?: string[];
  /** How often CPU and memory are sampled (ms). @default 250 */
  sampleMs?: number;
  /** How long a worker may take to load the module (ms). @default 60000 */
  startTimeoutMs?: number;
  /** The clock of `startedAt`/`endedAt`. @default Date.now */
  now?: () => number;
}

/** The retry rules of a job function, needed to decide a run the pool had to kill. */
export interface RunSettings {
  retryPattern: RetryPattern | null;
  retryOnTimeout: boolean;
}

/** Options of one {@link ProcessPool.execute} call. */
export interface PoolExecuteOptions {
  /** Real-time limit (ms); 0 or Infinity = none. @default limits.timeRealMs */
  limitMs?: number;
  /** Aborts the run (shutdown, cancel): the worker is stopped and the run ends at once with the reason. */
  signal?: AbortSignal;
  /** The job reported progress. */
  onProgress?(progress: JobProgress): Promise<void> | void;
  /** The job set its checkpoint. */
  onCheckpoint?(value: unknown): Promise<void> | void;
  /** A timeout-log row: written by the job (toolkit) or by the pool when it stopped the run. */
  onTimeoutLog?(entry: TimeoutLogEntryInput): Promise<void> | void;
  /** The function's retry rules as the parent knows them (the worker's own definition wins when it answers). */
  settings?: RunSettings;
  /** The fence of `job.transaction()` in the worker (the runner holding the job); without it the worker's transaction completes no job row. */
  transaction?: JobTransactionJob;
  /** The worker's `job.transaction()` committed at `at`: the job is done in the database. */
  onCommitted?(at: number): Promise<void> | void;
}

/** The end of one run in a worker process. */
export interface PoolExecuteResult extends ExecuteResult {
  /** Which limit stopped the run, if one did. */
  killed: KillKind | null;
  /** The worker process that ran it (null when it never reached one). */
  pid: number | null;
}

/** A worker process as seen from the pool. */
export interface PoolWorkerInfo {
  pid: number;
  state: 'starting' | 'idle' | 'busy' | 'retiring';
  /** Jobs it has been given. */
  jobs: number;
}

interface Worker extends PoolWorkerInfo {
  child: ChildProcess;
  run: Run | null;
  ready: Promise<void>;
  exited: Promise<void>;
  onReady(): void;
  onFailed(err: Error): void;
  fatal: Error | null;
  alive: boolean;
  sigkilled: boolean;
  killTimer: NodeJS.Timeout | null;
  lastCpuMs: number | null;
  lastRss: number | null;
}

interface Run {
  job: WireJob;
  opts: PoolExecuteOptions;
  resolve(r: PoolExecuteResult): void;
  startedAt: number;
  limitMs: number;
  worker: Worker | null;
  t0: number;
  cpuBase: number | null;
  cpuMs: number;
  peakRss: number;
  settings: RunSettings | null;
  limit: { kind: 'timeout' | 'cpu_limit' | 'memory_limit'; thresholdMs: number; message: string } | null;
  decided: boolean;
  timer: NodeJS.Timeout | null;
  onAbort: (() => void) | null;
}

const DROPPED_FLAGS = /^--(test|watch|inspect|debug)/;

/** The parent's node flags that make sense in a worker. */
function workerExecArgv(extra: readonly string[]): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (DROPPED_FLAGS.test(a)) {
      // a value given as the next element belongs to the dropped flag
      if (!a.includes('=') && i + 1 < argv.length && !argv[i + 1]!.startsWith('-')) i++;
      continue;
    }
    out.push(a);
  }
  return [...out, ...extra];
}

function moduleUrl(module: string): string {
  return /^[a-z]+:/i.test(module) && !/^[a-z]:\\/i.test(module) ? module : pathToFileURL(path.resolve(module)).href;
}

function failed(error: Error): Outcome {
  return { kind: 'failed', reason: 'error', error };
}

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
  readonly #url: string;
  readonly #logger: Logger;
  readonly #env: NodeJS.ProcessEnv;
  readonly #execArgv: string[];
  readonly #limits: Required<ProcessPoolLimits>;
  readonly #sampleMs: number;
  readonly #startTimeoutMs: number;
  readonly #now: () => number;
  readonly #workers = new Set<Worker>();
  readonly #queue: Run[] = [];
  #accepting = false;
  #started = false;
  #closed = false;
  #closing: Promise<void> | null = null;
  #sampler: NodeJS.Timeout | null = null;
  #respawnTimer: NodeJS.Timeout | null = null;
  #spawnFailures = 0;

  constructor(options: ProcessPoolOptions) {
    if (!options.module || typeof options.module !== 'string')
      throw new ConfigurationError(
        'process pool: module is required (the module whose default export is the Conveyor)',
      );
    if (!Number.isInteger(options.size) || options.size < 1)
      throw new ConfigurationError(`process pool: size must be an integer >= 1, got ${String(options.size)}`);
    this.size = options.size;
    this.#module = options.module;
    this.#url = moduleUrl(options.module);
    this.#logger = options.logger;
    const l = options.limits ?? {};
    this.#limits = {
      timeRealMs: l.timeRealMs ?? 0,
      timeCpuMs: l.timeCpuMs ?? 0,
      memorySoftBytes: l.memorySoftBytes ?? 0,
      memoryHardBytes: l.memoryHardBytes ?? 0,
      graceMs: l.graceMs ?? 1500,
      requests: l.requests ?? 0,
    };
    this.#sampleMs = options.sampleMs ?? 250;
    this.#startTimeoutMs = options.startTimeoutMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#execArgv = workerExecArgv(options.execArgv ?? []);
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env.NODE_TEST_CONTEXT; // a worker is not a test file
    for (const [k, v] of Object.entries(options.env ?? {})) {
      if (v === undefined) delete env[k];
      else env[k] = v;
    }
    if (!HAS_PROC) env.CONVEYOR_WORKER_STATS_MS = String(this.#sampleMs);
    this.#env = env;
  }

  /** The worker processes now (including those being stopped). */
  workers(): PoolWorkerInfo[] {
    return [...this.#workers].map((w) => ({ pid: w.pid, state: w.state, jobs: w.jobs }));
  }

  /**
   * Start the workers and wait until each has loaded the module.
   * @throws ConfigurationError when a worker cannot load it (the pool is closed again)
   */
  async start(): Promise<void> {
    if (this.#started) throw new ConfigurationError('process pool: already started');
    this.#started = true;
    const first = Array.from({ length: this.size }, () => this.#spawn());
    try {
      await Promise.all(first.map((w) => w.ready));
    } catch (err) {
      await this.close();
      throw new ConfigurationError(
        `process isolation: a worker process could not load '${this.#module}': ${(err as Error).message}`,
        { cause: err },
      );
    }
    this.#accepting = true;
    this.#sampler = setInterval(() => this.#sample(), this.#sampleMs);
    this.#sampler.unref();
    this.#replenish();
  }

  /** Run one job in a worker. Never rejects: every ending is an outcome. */
  execute(job: WireJob, opts: PoolExecuteOptions = {}): Promise<PoolExecuteResult> {
    return new Promise<PoolExecuteResult>((resolve) => {
      const limitMs = opts.limitMs ?? this.#limits.timeRealMs;
      const run: Run = {
        job: {
          id: job.id,
          uuid: job.uuid,
          model: job.model,
          method: job.method,
          records: job.records,
          args: job.args,
          attempt: job.attempt,
          maxRetries: job.maxRetries,
          context: job.context,
          checkpoint: job.checkpoint,
        },
        opts,
        resolve,
        startedAt: this.#now(),
        limitMs: limitMs > 0 && Number.isFinite(limitMs) ? limitMs : 0,
        worker: null,
        t0: 0,
        cpuBase: null,
        cpuMs: 0,
        peakRss: 0,
        settings: null,
        limit: null,
        decided: false,
        timer: null,
        onAbort: null,
      };
      const signal = opts.signal;
      if (signal?.aborted) {
        void this.#decide(
          run,
          null,
          failed(signal.reason instanceof Error ? signal.reason : new Error(String(signal.reason))),
        );
        return;
      }
      if (this.#closed || !this.#started) {
        void this.#decide(
          run,
          null,
          failed(new ClosedError(this.#closed ? 'the process pool is closed' : 'the process pool is not started')),
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
      this.#closed = true;
      this.#accepting = false;
      if (this.#sampler) clearInterval(this.#sampler);
      if (this.#respawnTimer) clearTimeout(this.#respawnTimer);
      for (const run of this.#queue.splice(0))
        void this.#decide(run, null, failed(new ClosedError('the process pool was closed')));
      for (const w of this.#workers) this.#terminate(w);
      await Promise.all([...this.#workers].map((w) => w.exited));
    })();
    return this.#closing;
  }

  // ---------------------------------------------------------------- workers

  #spawn(): Worker {
    const child = fork(CHILD_FILE, [this.#url], {
      execArgv: this.#execArgv,
      env: this.#env,
      serialization: 'advanced',
      detached: true, // its own process group: signals reach the subprocesses a job starts
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let onReady!: () => void;
    let onFailed!: (err: Error) => void;
    const ready = new Promise<void>((resolve, reject) => {
      onReady = resolve;
      onFailed = reject;
    });
    ready.catch(() => {
      /* observed by start() or #spawnFailed */
    });
    let onExited!: () => void;
    const exited = new Promise<void>((resolve) => {
      onExited = resolve;
    });
    const w: Worker = {
      pid: child.pid ?? 0,
      state: 'starting',
      jobs: 0,
      child,
      run: null,
      ready,
      exited,
      onReady,
      onFailed,
      fatal: null,
      alive: true,
      sigkilled: false,
      killTimer: null,
      lastCpuMs: null,
      lastRss: null,
    };
    this.#workers.add(w);
    const startTimer = setTimeout(() => {
      if (w.state !== 'starting') return;
      w.fatal = new Error(`the worker process did not load the module within ${this.#startTimeoutMs} ms`);
      this.#kill(w);
    }, this.#startTimeoutMs);
    startTimer.unref();
    child.on('message', (msg: FromWorker) => this.#onMessage(w, msg));
    let gone = false;
    const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
      if (gone) return;
      gone = true;
      clearTimeout(startTimer);
      this.#onExit(w, code, signal);
      onExited();
    };
    child.on('exit', onGone);
    child.on('error', (err) => {
      this.#logger.error({ pid: w.pid, err }, 'worker process error');
      if (!child.pid) onGone(null, null);
    });
    return w;
  }

  #onMessage(w: Worker, msg: FromWorker): void {
    switch (msg.t) {
      case 'ready':
        if (w.state === 'starting') w.state = 'idle';
        this.#spawnFailures = 0;
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
      case 'call': {
        const run = w.run;
        const reply = (error?: unknown) => {
          if (!w.alive || !w.child.connected) return;
          const m: ToWorker =
            error === undefined ? { t: 'reply', id: msg.id } : { t: 'reply', id: msg.id, error: toWireError(error) };
          w.child.send(m, () => {
            /* a worker that went away needs no reply */
          });
        };
        if (!run || run.decided) {
          reply(new Error('the run has already ended'));
          return;
        }
        const fn =
          msg.op === 'progress'
            ? run.opts.onProgress
            : msg.op === 'checkpoint'
              ? run.opts.onCheckpoint
              : msg.op === 'committed'
                ? run.opts.onCommitted
                : run.opts.onTimeoutLog;
        Promise.resolve()
          .then(() => fn?.call(run.opts, msg.value as never))
          .then(
            () => reply(),
            (err: unknown) => reply(err ?? new Error('failed')),
          );
        return;
      }
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
        if (w.state === 'busy') {
          const rss = (HAS_PROC ? readRssBytes(w.pid) : w.lastRss) ?? 0;
          // above the soft limit (or the hard one, when there is no soft limit: the next job would pay for it)
          const soft = this.#limits.memorySoftBytes || this.#limits.memoryHardBytes;
          if (msg.exiting) {
            this.#terminate(w); // it is on its way out (an uncaught error in the job)
          } else if (soft > 0 && rss > soft) {
            this.#logger.info(
              { pid: w.pid, rss, limit: soft },
              `worker process memory ${formatBytes(rss)} is above the ${this.#limits.memorySoftBytes ? 'soft' : 'hard'} limit of ${formatBytes(soft)}: recycling it`,
            );
            this.#terminate(w);
          } else if (this.#limits.requests > 0 && w.jobs >= this.#limits.requests) {
            this.#logger.info(
              { pid: w.pid, jobs: w.jobs, limit: this.#limits.requests },
              `worker process ${w.pid} has run ${w.jobs} jobs (limitRequest): recycling it`,
            );
            this.#terminate(w);
          } else {
            w.state = 'idle';
          }
        }
        void this.#decide(run, null, outcome);
        return;
      }
    }
  }

  #onExit(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    w.alive = false;
    if (w.killTimer) clearTimeout(w.killTimer);
    this.#workers.delete(w);
    // anything the job started in the worker's process group goes with it
    if (w.pid) {
      try {
        process.kill(-w.pid, 'SIGKILL');
      } catch {
        /* nothing left */
      }
    }
    const how = code !== null ? `exited with code ${code}` : `exited on signal ${signal ?? 'unknown'}`;
    if (w.state === 'starting') {
      const err = w.fatal ?? new Error(`the worker process ${how} before it was ready`);
      w.onFailed(err);
      this.#spawnFailed(err);
    }
    const run = w.run;
    if (run && !run.decided) {
      if (run.limit) {
        void this.#decide(run, run.limit.kind === 'timeout' && w.sigkilled ? 'hard_kill' : run.limit.kind);
      } else if (this.#closed) {
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
    this.#replenish();
    this.#pump();
  }

  #spawnFailed(err: Error): void {
    if (!this.#accepting) return; // start() reports it
    this.#spawnFailures++;
    this.#logger.error(
      { module: this.#module, err, failures: this.#spawnFailures },
      'a worker process could not start',
    );
    // jobs waiting for a worker go back to the queue rather than waiting on a broken module
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

  #replenish(): void {
    if (!this.#accepting || this.#closed || this.#respawnTimer) return;
    let live = 0;
    for (const w of this.#workers) if (w.state !== 'retiring') live++;
    if (live >= this.size) return;
    if (this.#spawnFailures > 0) {
      const delay = Math.min(30_000, 500 * 2 ** (this.#spawnFailures - 1));
      this.#respawnTimer = setTimeout(() => {
        this.#respawnTimer = null;
        if (!this.#accepting || this.#closed) return;
        this.#spawn();
        this.#replenish();
      }, delay);
      return;
    }
    for (let i = live; i < this.size; i++) this.#spawn();
  }

  /** SIGTERM now, SIGKILL after the grace period; the worker is replaced at once. */
  #terminate(w: Worker): void {
    if (!w.alive || w.killTimer) return;
    w.state = 'retiring';
    this.#signal(w, 'SIGTERM');
    w.killTimer = setTimeout(() => {
      w.killTimer = null;
      const run = w.run;
      this.#kill(w);
      if (run && !run.decided) {
        if (run.limit) void this.#decide(run, run.limit.kind === 'timeout' ? 'hard_kill' : run.limit.kind);
        else void this.#decide(run, null, failed(new ClosedError('the worker process was stopped')));
      }
    }, this.#limits.graceMs);
    this.#replenish();
  }

  #kill(w: Worker): void {
    if (!w.alive) return;
    w.state = 'retiring';
    w.sigkilled = true;
    if (w.killTimer) clearTimeout(w.killTimer);
    w.killTimer = null;
    this.#signal(w, 'SIGKILL');
    this.#replenish();
  }

  #signal(w: Worker, sig: NodeJS.Signals): void {
    try {
      if (w.pid > 0)
        process.kill(-w.pid, sig); // never -0: that would be our own group
      else w.child.kill(sig);
    } catch {
      try {
        w.child.kill(sig);
      } catch {
        /* already gone */
      }
    }
  }

  // ---------------------------------------------------------------- runs

  #pump(): void {
    while (this.#queue.length) {
      let idle: Worker | undefined;
      for (const w of this.#workers)
        if (w.state === 'idle') {
          idle = w;
          break;
        }
      if (!idle) break;
      this.#dispatch(idle, this.#queue.shift()!);
    }
    this.#replenish();
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
    const hard = this.#limits.memoryHardBytes;
    const cpuLimit = this.#limits.timeCpuMs;
    for (const w of this.#workers) {
      const run = w.run;
      if (w.state !== 'busy' || !run || run.decided || run.limit) continue;
      const rss = HAS_PROC ? readRssBytes(w.pid) : w.lastRss;
      const cpu = HAS_PROC ? readCpuMs(w.pid) : w.lastCpuMs;
      if (rss !== null) run.peakRss = Math.max(run.peakRss, rss);
      if (cpu !== null && run.cpuBase !== null) run.cpuMs = cpu - run.cpuBase;
      const what = `${run.job.model}.${run.job.method} (job ${run.job.id})`;
      if (hard > 0 && rss !== null && rss > hard) {
        this.#limit(
          run,
          'memory_limit',
          0,
          `${what}: its worker process used ${formatBytes(rss)}, above the hard memory limit of ${formatBytes(hard)}, and was killed`,
        );
      } else if (cpuLimit > 0 && run.cpuMs >= cpuLimit) {
        this.#limit(
          run,
          'cpu_limit',
          cpuLimit,
          `${what} used ${Math.round(run.cpuMs)} ms of CPU time in ${Math.round(performance.now() - run.t0)} ms, past its CPU time limit of ${cpuLimit} ms`,
        );
      }
    }
  }

  /** A limit fired: stop the worker; the run is decided when it answers, exits or is killed. */
  #limit(run: Run, kind: 'timeout' | 'cpu_limit' | 'memory_limit', thresholdMs: number, message: string): void {
    const w = run.worker;
    if (run.decided || run.limit || !w) return;
    run.limit = { kind, thresholdMs, message };
    if (run.timer) clearTimeout(run.timer);
    this.#logger.warn({ jobId: run.job.id, job: `${run.job.model}.${run.job.method}`, pid: w.pid, kind }, message);
    if (kind === 'memory_limit') {
      this.#kill(w);
      void this.#decide(run, 'memory_limit');
    } else {
      this.#terminate(w);
    }
  }

  /** Aborted from outside (shutdown, cancel): the run ends now, its worker is stopped and replaced. */
  #abort(run: Run, reason: unknown): void {
    if (run.decided) return;
    const error = reason instanceof Error ? reason : new Error(String(reason));
    const i = this.#queue.indexOf(run);
    if (i >= 0) this.#queue.splice(i, 1);
    if (run.worker && run.worker.run === run) this.#terminate(run.worker);
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
      const limit = run.limit!;
      const message =
        killed === 'hard_kill'
          ? `${limit.message}; its worker process did not stop within ${this.#limits.graceMs} ms of SIGTERM and was killed (SIGKILL)`
          : limit.message;
      const error = new TimeoutError(message, limit.thresholdMs);
      (error as TimeoutError & { kind?: KillKind }).kind = killed;
      const settings = run.settings ?? run.opts.settings ?? { retryPattern: null, retryOnTimeout: true };
      outcome = decideFailure(error, {
        attempt: run.job.attempt,
        maxRetries: run.job.maxRetries,
        retryPattern: settings.retryPattern,
        retryOnTimeout: settings.retryOnTimeout,
      });
      try {
        await run.opts.onTimeoutLog?.({
          operation: `${run.job.model}.${run.job.method}`,
          kind: killed,
          model: run.job.model,
          method: run.job.method,
          jobId: run.job.id || null,
          thresholdMs: limit.thresholdMs,
          durationMs: killed === 'cpu_limit' ? Math.round(run.cpuMs) : durationMs,
          exceeded: true,
          error: message,
        });
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
