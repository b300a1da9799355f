/**
 * The pool's worker processes: keeping `size` of them alive (replacing one as soon as it retires,
 * backing off while they fail to start), and stopping them (SIGTERM, then SIGKILL after the grace period).
 * @module
 */
import type { Logger } from '../../internal/logger.ts';
import type { ProcessPoolLimits } from './pool-options.ts';
import type { Run, Worker } from './pool-records.ts';
import { recycleReason } from './run-limits.ts';
import type { FromWorker } from './wire.ts';
import { forkWorker, signalWorker, type WorkerHandlers, type WorkerSpec } from './worker-process.ts';

/** What the worker set tells the pool. */
export interface WorkerSetListener {
  /** A message from a worker. */
  message(w: Worker, msg: FromWorker): void;
  /** A worker exited (the set has dropped it); `how` says how, for messages. */
  exited(w: Worker, code: number | null, signal: NodeJS.Signals | null, how: string): void;
  /** A worker stopped with SIGTERM was killed after the grace period while its run was undecided. */
  killedAfterGrace(run: Run): void;
  /** A worker could not start (while the pool accepts jobs). */
  spawnFailed(err: Error): void;
}

/** The pool's worker processes (see the module comment). */
export class WorkerSet implements WorkerHandlers {
  /** Worker processes kept alive. */
  readonly size: number;
  readonly #spec: WorkerSpec;
  readonly #module: string;
  readonly #logger: Logger;
  readonly #limits: Required<ProcessPoolLimits>;
  readonly #listener: WorkerSetListener;
  readonly #workers = new Set<Worker>();
  #respawnTimer: NodeJS.Timeout | null = null;
  #spawnFailures = 0;
  /** The pool has started and takes jobs: workers that retire are replaced. */
  accepting = false;
  /** The pool is closed. */
  closed = false;

  constructor(
    size: number,
    spec: WorkerSpec,
    module: string,
    limits: Required<ProcessPoolLimits>,
    listener: WorkerSetListener,
  ) {
    this.size = size;
    this.#spec = spec;
    this.#module = module;
    this.#logger = spec.logger;
    this.#limits = limits;
    this.#listener = listener;
  }

  /** The worker processes now (including those being stopped). */
  all(): ReadonlySet<Worker> {
    return this.#workers;
  }

  /** A worker waiting for a job, if any. */
  idle(): Worker | undefined {
    for (const w of this.#workers) if (w.state === 'idle') return w;
    return undefined;
  }

  /** Start one worker process. */
  spawn(): Worker {
    const w = forkWorker(this.#spec, this);
    this.#workers.add(w);
    return w;
  }

  /** @internal A message from a worker (see {@link WorkerHandlers}). */
  message(w: Worker, msg: FromWorker): void {
    if (msg.t === 'ready') this.#spawnFailures = 0;
    this.#listener.message(w, msg);
  }

  /** @internal The worker did not load the module in time. */
  startTimedOut(w: Worker): void {
    this.kill(w);
  }

  /** @internal A worker exited: drop it, kill what it left in its group, tell the pool. */
  exited(w: Worker, code: number | null, signal: NodeJS.Signals | null): void {
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
    this.#listener.exited(w, code, signal, how);
  }

  #spawnFailed(err: Error): void {
    if (!this.accepting) return; // start() reports it
    this.#spawnFailures++;
    this.#logger.error(
      { module: this.#module, err, failures: this.#spawnFailures },
      'a worker process could not start',
    );
    this.#listener.spawnFailed(err);
  }

  /**
   * A busy worker answered with its run's result: it takes the next job, or it is recycled (it is on its
   * way out after an uncaught error in the job, or it passed its soft memory or request limit).
   */
  runEnded(w: Worker, exiting: boolean): void {
    if (exiting) {
      this.terminate(w); // it is on its way out (an uncaught error in the job)
      return;
    }
    const recycle = recycleReason(w, this.#limits);
    if (recycle) {
      this.#logger.info(recycle.fields, recycle.message);
      this.terminate(w);
    } else {
      w.state = 'idle';
    }
  }

  /** Start workers until `size` are alive (not retiring); after start failures, one at a time on a backoff. */
  replenish(): void {
    if (!this.accepting || this.closed || this.#respawnTimer) return;
    let live = 0;
    for (const w of this.#workers) if (w.state !== 'retiring') live++;
    if (live >= this.size) return;
    if (this.#spawnFailures > 0) {
      const delay = Math.min(30_000, 500 * 2 ** (this.#spawnFailures - 1));
      this.#respawnTimer = setTimeout(() => {
        this.#respawnTimer = null;
        if (!this.accepting || this.closed) return;
        this.spawn();
        this.replenish();
      }, delay);
      return;
    }
    for (let i = live; i < this.size; i++) this.spawn();
  }

  /** Start no more workers (the pool is closing). */
  stopRespawning(): void {
    if (this.#respawnTimer) clearTimeout(this.#respawnTimer);
  }

  /** SIGTERM now, SIGKILL after the grace period; the worker is replaced at once. */
  terminate(w: Worker): void {
    if (!w.alive || w.killTimer) return;
    w.state = 'retiring';
    signalWorker(w, 'SIGTERM');
    w.killTimer = setTimeout(() => {
      w.killTimer = null;
      const run = w.run;
      this.kill(w);
      if (run && !run.decided) this.#listener.killedAfterGrace(run);
    }, this.#limits.graceMs);
    this.replenish();
  }

  /** SIGKILL now; the worker is replaced at once. */
  kill(w: Worker): void {
    if (!w.alive) return;
    w.state = 'retiring';
    w.sigkilled = true;
    if (w.killTimer) clearTimeout(w.killTimer);
    w.killTimer = null;
    signalWorker(w, 'SIGKILL');
    this.replenish();
  }
}
