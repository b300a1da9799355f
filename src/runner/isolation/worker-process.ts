/**
 * Forking one worker process of the pool (child.ts, loading the application module) and signalling it.
 * Each worker leads its own process group, and signals go to the group, so subprocesses a job started
 * die with it.
 * @module
 */
import { fork } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { Logger } from '../../internal/logger.ts';
import { HAS_PROC } from './limits.ts';
import type { Worker } from './pool-records.ts';
import type { FromWorker } from './wire.ts';

const CHILD_FILE = fileURLToPath(
  new URL(import.meta.url.endsWith('.ts') ? './child.ts' : './child.js', import.meta.url),
);

const DROPPED_FLAGS = /^--(test|watch|inspect|debug)/;

/** The parent's node flags that make sense in a worker, then `extra`. */
export function workerExecArgv(extra: readonly string[]): string[] {
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

/** The URL a worker imports the module from (a path, or already a URL). */
export function moduleUrl(module: string): string {
  return /^[a-z]+:/i.test(module) && !/^[a-z]:\\/i.test(module) ? module : pathToFileURL(path.resolve(module)).href;
}

/**
 * The environment of a worker: the parent's, then `extra` (`undefined` removes a variable). Where the
 * parent cannot read `/proc`, the worker reports its own CPU time and memory every `statsMs`.
 */
export function workerEnv(extra: Record<string, string | undefined>, statsMs: number): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_TEST_CONTEXT; // a worker is not a test file
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  if (!HAS_PROC) env.CONVEYOR_WORKER_STATS_MS = String(statsMs);
  return env;
}

/** How to start a worker process. */
export interface WorkerSpec {
  /** The module's URL. */
  url: string;
  execArgv: string[];
  env: NodeJS.ProcessEnv;
  /** How long it may take to load the module (ms). */
  startTimeoutMs: number;
  logger: Logger;
}

/** What a worker process tells its pool. */
export interface WorkerHandlers {
  /** A message from the worker. */
  message(w: Worker, msg: FromWorker): void;
  /** It did not load the module in time (`w.fatal` says so): it must be killed. */
  startTimedOut(w: Worker): void;
  /** It exited (or could not be started at all). */
  exited(w: Worker, code: number | null, signal: NodeJS.Signals | null): void;
}

/** Fork a worker process; its events go to `handlers`. */
export function forkWorker(spec: WorkerSpec, handlers: WorkerHandlers): Worker {
  const child = fork(CHILD_FILE, [spec.url], {
    execArgv: spec.execArgv,
    env: spec.env,
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
    /* observed by the pool's start() or its spawn failure handling */
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
  const startTimer = setTimeout(() => {
    if (w.state !== 'starting') return;
    w.fatal = new Error(`the worker process did not load the module within ${spec.startTimeoutMs} ms`);
    handlers.startTimedOut(w);
  }, spec.startTimeoutMs);
  startTimer.unref();
  child.on('message', (msg: FromWorker) => handlers.message(w, msg));
  let gone = false;
  const onGone = (code: number | null, signal: NodeJS.Signals | null) => {
    if (gone) return;
    gone = true;
    clearTimeout(startTimer);
    handlers.exited(w, code, signal);
    onExited();
  };
  child.on('exit', onGone);
  child.on('error', (err) => {
    spec.logger.error({ pid: w.pid, err }, 'worker process error');
    if (!child.pid) onGone(null, null);
  });
  return w;
}

/** Send `sig` to the worker's process group (or to the worker alone when that fails). */
export function signalWorker(w: Worker, sig: NodeJS.Signals): void {
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
