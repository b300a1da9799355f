// The scenarios. Each runs inside a fresh child process (lib/scenario-child.mjs) against
// one adapter that has just been set up on a fresh schema / queue / file, and returns a
// plain JSON result: `metric` (the headline number), secondary numbers, the raw counts of
// the exactly-once check and `violations` (correctness failures, empty when all is well).
// ctx: { deadline (soft, epoch ms), spec, setupOptions, settle() }; settle() is called
// between an untimed pre-fill and the measured part (a CHECKPOINT on PostgreSQL).
import { fork } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { BENCH_DIR, now, sleep, runConcurrently, until } from './util.mjs';
import { latencySummary, round } from './stats.mjs';
import { PgActivitySampler } from './pg-activity.mjs';

export const DEFAULTS = {
  enqueueJobs: 20000, // S1: jobs enqueued
  enqueueConcurrency: 16, // S1 callers, S4 producers
  bulkSize: 500, // S1-bulk jobs per call; also the pre-enqueue chunk of S2/S4/S6
  drainJobs: 50000, // S2
  drainConcurrency: 16, // S2: 1 process x 16
  drainProcs: 2, // S2-2proc: 2 processes x 8
  drainProcConcurrency: 8,
  latencyIntervalMs: 20, // S3: one job every 20 ms ...
  latencyDurationMs: 10000, // ... for 10 s
  latencyConcurrency: 16, // S3 worker slots (idle, waiting)
  latencyWarmupMs: 1000, // S3 idle time before the first job
  mixedJobs: 10000, // S4
  mixedConcurrency: 32,
  mixedWorkMs: 1, // S4 job body: await setTimeout(1 ms)
  scaleSmallPending: 10000, // S5-10k: pending jobs
  scaleLargePending: 1000000, // S5-1M: pending jobs
  scaleSampleJobs: 10000, // S5: the rate is measured over the first N jobs drained
  scaleConcurrency: 16, // S5 worker slots (one worker process)
  prefillChunk: 5000, // S5 pre-fill: jobs per bulk call (adapters may use their own)
  prefillConcurrency: 2, // S5 pre-fill: concurrent bulk calls
  channelJobs: 20000, // S6
  channelWorkMs: 2, // S6 job body: await setTimeout(2 ms)
  channelWorkers: 48, // S6 runner slots: more than root's capacity, so channels limit
  channels: 'root:32,root.a:16,root.b:8,root.c:4,root.d:2',
  scaleOutJobs: 100000, // S7: no-op jobs pre-enqueued, drained by 1, 2, 4 or 8 processes ...
  scaleOutConcurrency: 8, // ... of 8 slots each, on one PostgreSQL
  activitySampleMs: 20, // S7: pg_stat_activity / pg_locks sampling interval
};

/** Parameters that are job counts or durations, multiplied by --scale. */
export const SCALED = [
  'enqueueJobs',
  'drainJobs',
  'mixedJobs',
  'scaleSmallPending',
  'scaleLargePending',
  'scaleSampleJobs',
  'channelJobs',
  'scaleOutJobs',
];

export function scaleParams(params, scale) {
  const p = { ...params };
  if (scale === 1) return p;
  for (const k of SCALED) p[k] = Math.max(100, Math.round(p[k] * scale));
  p.scaleSampleJobs = Math.min(p.scaleSampleJobs, p.scaleSmallPending);
  p.latencyDurationMs = Math.max(1000, Math.round(p.latencyDurationMs * scale));
  p.latencyWarmupMs = Math.max(300, Math.round(p.latencyWarmupMs * Math.min(1, scale * 10)));
  return p;
}

// ---------------------------------------------------------------------------
// Building blocks

/** Tracks executions of jobs numbered 0..n-1: duplicates, first start, last end, completion. */
function makeTracker(n) {
  const seen = new Uint8Array(n);
  let done = 0;
  let dup = 0;
  let unknown = 0;
  let firstStart = null;
  let lastEnd = null;
  let resolveAll;
  const all = new Promise((r) => {
    resolveAll = r;
  });
  if (n === 0) resolveAll();
  return {
    all,
    started() {
      const t = now();
      if (firstStart === null) firstStart = t;
      return t;
    },
    ended(i) {
      const t = now();
      if (!(i >= 0 && i < n)) {
        unknown++;
        return t;
      }
      if (seen[i]) {
        dup++;
        return t;
      }
      seen[i] = 1;
      done++;
      lastEnd = t;
      if (done === n) resolveAll();
      return t;
    },
    snapshot() {
      return { completed: done, duplicates: dup, unknown, missing: n - done, firstStart, lastEnd };
    },
  };
}

/** Jobs the system still holds as not finished, or null when the adapter cannot tell. */
async function unfinished(adapter) {
  if (!adapter.unfinishedCount) return null;
  try {
    return await adapter.unfinishedCount();
  } catch (e) {
    return `error: ${e.message}`;
  }
}

/** Correctness verdict of a run that should have completed all its jobs exactly once. */
function exactlyOnce(s, unfinishedAfterStop, timedOut) {
  const v = [];
  if (s.duplicates) v.push(`${s.duplicates} job(s) ran more than once`);
  if (s.unknown) v.push(`${s.unknown} job(s) with an unknown payload`);
  if (!timedOut && s.missing) v.push(`${s.missing} job(s) never ran`);
  if (typeof unfinishedAfterStop === 'number' && unfinishedAfterStop > 0 && !timedOut)
    v.push(`${unfinishedAfterStop} job(s) still unfinished after stop`);
  if (typeof unfinishedAfterStop === 'string') v.push(`unfinished count failed: ${unfinishedAfterStop}`);
  return v;
}

function payloadsOf(from, to, extra) {
  const out = [];
  for (let i = from; i < to; i++) out.push(extra ? { i, ...extra(i) } : { i });
  return out;
}

/** Enqueue jobs 0..n-1 with the bulk API (chunks, a few concurrent calls), untimed setup. */
async function preEnqueue(adapter, n, chunk, concurrency = 4, extra) {
  const t0 = now();
  if (!adapter.enqueueBulk) throw new Error('adapter has no bulk API');
  await runConcurrently(Math.ceil(n / chunk), concurrency, (c) =>
    adapter.enqueueBulk(payloadsOf(c * chunk, Math.min(n, (c + 1) * chunk), extra)),
  );
  return now() - t0;
}

/**
 * Worker processes (lib/worker-child.mjs) that connect to the system set up by this
 * process (setup({fresh:false})), run no-op jobs and report every completed job id with
 * its end time (onDone(ids, ends, k) for process k). Started and connected before the clock
 * starts. With `appPrefix`, process k's PostgreSQL connections carry application_name
 * `${appPrefix}${k}`.
 */
async function startWorkerProcs({ spec, procs, concurrency, setupOptions, onDone, appPrefix }) {
  const children = [];
  const ready = [];
  for (let k = 0; k < procs; k++) {
    const child = fork(path.join(BENCH_DIR, 'lib', 'worker-child.mjs'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const info = { child, firstStart: null, final: null, exited: false, error: null };
    children.push(info);
    ready.push(
      new Promise((resolve, reject) => {
        child.on('message', (m) => {
          if (m.type === 'ready') resolve();
          else if (m.type === 'done') {
            if (m.firstStart !== null && (info.firstStart === null || m.firstStart < info.firstStart))
              info.firstStart = m.firstStart;
            onDone(m.ids, m.ends, k);
          } else if (m.type === 'final') info.final = m;
          else if (m.type === 'error') {
            info.error = m.message;
            reject(new Error(`worker process: ${m.message}`));
          }
        });
        child.on('exit', (code, signal) => {
          info.exited = true;
          if (code || signal) reject(new Error(`worker process exited code=${code} signal=${signal}`));
        });
      }),
    );
    child.send({ type: 'init', spec, concurrency, setupOptions, appName: appPrefix ? `${appPrefix}${k}` : undefined });
  }
  await Promise.all(ready);
  return {
    children,
    go() {
      for (const c of children) c.child.send({ type: 'go' });
    },
    /** Graceful stop: each child stops its workers, flushes its last ids and exits. */
    stop(timeoutMs = 20000) {
      return Promise.all(
        children.map(
          (c) =>
            new Promise((resolve) => {
              if (c.exited) {
                resolve();
                return;
              }
              const timer = setTimeout(() => {
                c.child.kill('SIGKILL');
                c.error ??= 'killed: did not stop in time';
                resolve();
              }, timeoutMs);
              c.child.on('exit', () => {
                clearTimeout(timer);
                resolve();
              });
              c.child.send({ type: 'stop' });
            }),
        ),
      );
    },
    firstStart() {
      return Math.min(...children.map((c) => c.firstStart ?? Infinity));
    },
    errors() {
      return children.map((c) => c.error).filter(Boolean);
    },
  };
}

// ---------------------------------------------------------------------------
// S1: enqueue throughput

async function s1Single(adapter, p, { deadline }) {
  const n = p.enqueueJobs;
  const callMs = new Float64Array(n).fill(NaN);
  let enqueued = 0;
  let timedOut = false;
  const t0 = now();
  await runConcurrently(n, p.enqueueConcurrency, async (i) => {
    if (now() > deadline) {
      timedOut = true;
      return;
    }
    const a = now();
    await adapter.enqueue({ i });
    callMs[i] = now() - a;
    enqueued++;
  });
  const dt = now() - t0;
  return enqueueResult(adapter, { n, enqueued, dt, callMs, timedOut, concurrency: p.enqueueConcurrency });
}

async function s1Bulk(adapter, p, { deadline }) {
  const n = p.enqueueJobs;
  const chunks = Math.ceil(n / p.bulkSize);
  const callMs = [];
  let enqueued = 0;
  let timedOut = false;
  const t0 = now();
  await runConcurrently(chunks, p.enqueueConcurrency, async (c) => {
    if (now() > deadline) {
      timedOut = true;
      return;
    }
    const payloads = payloadsOf(c * p.bulkSize, Math.min(n, (c + 1) * p.bulkSize));
    const a = now();
    await adapter.enqueueBulk(payloads);
    callMs.push(now() - a);
    enqueued += payloads.length;
  });
  const dt = now() - t0;
  return enqueueResult(adapter, {
    n,
    enqueued,
    dt,
    callMs,
    timedOut,
    concurrency: p.enqueueConcurrency,
    bulkSize: p.bulkSize,
  });
}

async function enqueueResult(adapter, { n, enqueued, dt, callMs, timedOut, ...rest }) {
  // Exactly-once on the write side: the system must hold exactly the jobs we enqueued.
  const stored = await unfinished(adapter);
  const violations = [];
  if (typeof stored === 'number' && stored !== enqueued)
    violations.push(`${enqueued} jobs enqueued but the system holds ${stored}`);
  if (typeof stored === 'string') violations.push(`count failed: ${stored}`);
  return {
    metric: round((enqueued / dt) * 1000),
    jobs: n,
    enqueued,
    stored,
    ...rest,
    durationMs: round(dt),
    callLatencyMs: latencySummary(callMs),
    timedOut,
    violations,
  };
}

// ---------------------------------------------------------------------------
// S2: drain throughput of pre-enqueued no-op jobs

async function s2Drain(adapter, p, { deadline, settle }) {
  const n = p.drainJobs;
  const preEnqueueMs = await preEnqueue(adapter, n, p.bulkSize);
  await settle();
  const tr = makeTracker(n);
  const tStart = now();
  await adapter.startWorkers(p.drainConcurrency, async (payload) => {
    tr.started();
    tr.ended(payload.i);
  });
  const ok = await until(tr.all, deadline);
  const s = tr.snapshot();
  const tStop = now();
  await adapter.stop();
  const stopMs = now() - tStop;
  const unfinishedAfterStop = await unfinished(adapter);
  const span = s.lastEnd !== null ? s.lastEnd - s.firstStart : null;
  return {
    metric: span ? round((s.completed / span) * 1000) : 0,
    jobs: n,
    processes: 1,
    concurrency: p.drainConcurrency,
    preEnqueueMs: round(preEnqueueMs),
    firstStartToLastEndMs: round(span),
    startWorkersToLastEndMs: s.lastEnd !== null ? round(s.lastEnd - tStart) : null,
    stopMs: round(stopMs),
    completed: s.completed,
    duplicates: s.duplicates,
    missing: s.missing,
    unfinishedAfterStop,
    timedOut: !ok,
    violations: exactlyOnce(s, unfinishedAfterStop, !ok),
  };
}

/**
 * Pre-enqueue `jobs` no-op jobs, then drain them with `procs` worker processes × `concurrency`
 * slots (S2-drain-2proc, S7). `monitor`, when given, is started right before 'go' and stopped
 * when the last job has run: `{ start(), stop() -> summary }` (S7's server-side sampler).
 */
async function drainWithProcs(
  adapter,
  p,
  { deadline, spec, setupOptions, settle },
  { jobs: n, procs, concurrency, appPrefix, monitor },
) {
  const preEnqueueMs = await preEnqueue(adapter, n, p.bulkSize);
  await settle();
  const seen = new Uint8Array(n);
  const perProcess = new Array(procs).fill(0);
  let completed = 0;
  let dup = 0;
  let unknown = 0;
  let lastEnd = -Infinity;
  let resolveAll;
  const all = new Promise((r) => {
    resolveAll = r;
  });
  const tFork = now();
  const workers = await startWorkerProcs({
    spec,
    procs,
    concurrency,
    setupOptions,
    appPrefix,
    onDone(ids, ends, k) {
      for (let j = 0; j < ids.length; j++) {
        const i = ids[j];
        if (!(i >= 0 && i < n)) {
          unknown++;
          continue;
        }
        if (seen[i]) {
          dup++;
          continue;
        }
        seen[i] = 1;
        completed++;
        perProcess[k]++;
        if (ends[j] > lastEnd) lastEnd = ends[j];
      }
      if (completed >= n) resolveAll();
    },
  });
  if (monitor) await monitor.start();
  const tGo = now();
  workers.go();
  const ok = await until(all, deadline);
  const activity = monitor ? await monitor.stop() : undefined;
  const tStop = now();
  await workers.stop();
  const stopMs = now() - tStop;
  const unfinishedAfterStop = await unfinished(adapter);
  const firstStart = workers.firstStart();
  const span = Number.isFinite(firstStart) && Number.isFinite(lastEnd) ? lastEnd - firstStart : null;
  const s = { completed, duplicates: dup, unknown, missing: n - completed };
  const violations = exactlyOnce(s, unfinishedAfterStop, !ok);
  for (const e of workers.errors()) violations.push(`worker process: ${e}`);
  return {
    metric: span ? round((completed / span) * 1000) : 0,
    jobs: n,
    processes: procs,
    concurrencyPerProcess: concurrency,
    preEnqueueMs: round(preEnqueueMs),
    firstStartToLastEndMs: round(span),
    goToLastEndMs: Number.isFinite(lastEnd) ? round(lastEnd - tGo) : null,
    workersReadyMs: round(tGo - tFork),
    stopMs: round(stopMs),
    jobsPerProcess: perProcess,
    eventLoopDelayMs: workers.children.map((c) => c.final?.eventLoopDelayMs ?? null),
    rssMiBMax: workers.children.map((c) => (c.final?.rss ? round(c.final.rss.max / 2 ** 20, 1) : null)),
    ...(activity ? { activity } : {}),
    ...s,
    unfinishedAfterStop,
    timedOut: !ok,
    violations,
  };
}

function s2DrainMulti(adapter, p, ctx) {
  return drainWithProcs(adapter, p, ctx, {
    jobs: p.drainJobs,
    procs: p.drainProcs,
    concurrency: p.drainProcConcurrency,
  });
}

// ---------------------------------------------------------------------------
// S7: scale-out. `procs` runner processes × scaleOutConcurrency slots on one PostgreSQL drain
// scaleOutJobs pre-enqueued no-op jobs. While they drain, a sampler in this process reads
// pg_stat_activity / pg_locks every activitySampleMs: connections per runner process, and the
// share of runner time spent waiting for a lock (for Conveyor: its claim lock, an advisory lock
// whose key the adapter names with claimLock()). The machine's load average is recorded with it.

function s7ScaleOut(procs) {
  return async (adapter, p, ctx) => {
    const appPrefix = 'bench-s7-p';
    const monitor = new PgActivitySampler({
      appPrefix,
      procs,
      claimLock: adapter.claimLock?.() ?? null,
      intervalMs: p.activitySampleMs,
    });
    const loadavgBefore = os.loadavg().map((x) => round(x, 2));
    const r = await drainWithProcs(adapter, p, ctx, {
      jobs: p.scaleOutJobs,
      procs,
      concurrency: p.scaleOutConcurrency,
      appPrefix,
      monitor,
    });
    const a = r.activity;
    if (a && a.claimLock && a.samples >= 10 && a.claimHeldPct === 0) {
      // Conveyor's claims must take the lock: never seeing it held means the key is wrong, not that it is free.
      r.activity.warning =
        "the claim lock was never seen held: does adapters/conveyor.mjs claimLock() still match the driver's key?";
      process.stderr.write(`[S7] ${r.activity.warning}\n`);
    }
    return { ...r, loadavg: { before: loadavgBefore, after: os.loadavg().map((x) => round(x, 2)) } };
  };
}

// ---------------------------------------------------------------------------
// S3: enqueue-to-start latency on an idle queue

async function s3Latency(adapter, p, { deadline }) {
  const n = Math.floor(p.latencyDurationMs / p.latencyIntervalMs);
  const tr = makeTracker(n);
  const lat = new Float64Array(n).fill(NaN);
  const enqMs = new Float64Array(n).fill(NaN);
  await adapter.startWorkers(p.latencyConcurrency, async (payload) => {
    const t = tr.started();
    lat[payload.i] = t - payload.t;
    tr.ended(payload.i);
  });
  await sleep(p.latencyWarmupMs); // let the workers settle into their idle / waiting state
  const t0 = now();
  const pending = [];
  let lateTicks = 0;
  for (let i = 0; i < n; i++) {
    const wait = t0 + i * p.latencyIntervalMs - now();
    if (wait > 0) await sleep(wait);
    else if (wait < -p.latencyIntervalMs) lateTicks++;
    const t = now();
    // one job at a time: the enqueuer does not wait for the previous call to resolve
    pending.push(
      adapter.enqueue({ i, t }).then(() => {
        enqMs[i] = now() - t;
      }),
    );
  }
  await Promise.all(pending);
  const ok = await until(tr.all, Math.min(deadline, now() + 20000));
  const s = tr.snapshot();
  await adapter.stop();
  const unfinishedAfterStop = await unfinished(adapter);
  const latencyMs = latencySummary(lat);
  return {
    metric: latencyMs.p50 ?? null,
    latencyMs,
    jobs: n,
    intervalMs: p.latencyIntervalMs,
    concurrency: p.latencyConcurrency,
    enqueueCallMs: latencySummary(enqMs),
    lateTicks,
    completed: s.completed,
    duplicates: s.duplicates,
    missing: s.missing,
    unfinishedAfterStop,
    timedOut: !ok,
    violations: exactlyOnce(s, unfinishedAfterStop, !ok),
  };
}

// ---------------------------------------------------------------------------
// S4: 1 ms jobs, 32 slots, while being enqueued (S4-mixed) and pre-enqueued (S4-prefilled)

async function s4Mixed(adapter, p, { deadline }) {
  const n = p.mixedJobs;
  const tr = makeTracker(n);
  const lat = new Float64Array(n).fill(NaN);
  await adapter.startWorkers(p.mixedConcurrency, async (payload) => {
    const t = tr.started();
    lat[payload.i] = t - payload.t;
    await sleep(p.mixedWorkMs);
    tr.ended(payload.i);
  });
  const t0 = now();
  let enqueued = 0;
  await runConcurrently(n, p.enqueueConcurrency, async (i) => {
    if (now() > deadline) return;
    await adapter.enqueue({ i, t: now() });
    enqueued++;
  });
  const tEnq = now();
  const ok = await until(tr.all, deadline);
  const s = tr.snapshot();
  await adapter.stop();
  const unfinishedAfterStop = await unfinished(adapter);
  const span = s.lastEnd !== null ? s.lastEnd - t0 : null;
  return {
    metric: span ? round((s.completed / span) * 1000) : 0,
    jobs: n,
    concurrency: p.mixedConcurrency,
    producers: p.enqueueConcurrency,
    workMs: p.mixedWorkMs,
    firstEnqueueToLastEndMs: round(span),
    enqueuePhaseMs: round(tEnq - t0),
    enqueueRate: round((enqueued / (tEnq - t0)) * 1000),
    drainTailMs: s.lastEnd !== null ? round(s.lastEnd - tEnq) : null,
    enqueueToStartMs: latencySummary(lat),
    completed: s.completed,
    duplicates: s.duplicates,
    missing: s.missing,
    unfinishedAfterStop,
    timedOut: !ok,
    violations: exactlyOnce(s, unfinishedAfterStop, !ok),
  };
}

async function s4Prefilled(adapter, p, { deadline, settle }) {
  const n = p.mixedJobs;
  const preEnqueueMs = await preEnqueue(adapter, n, p.bulkSize);
  await settle();
  const tr = makeTracker(n);
  await adapter.startWorkers(p.mixedConcurrency, async (payload) => {
    tr.started();
    await sleep(p.mixedWorkMs);
    tr.ended(payload.i);
  });
  const ok = await until(tr.all, deadline);
  const s = tr.snapshot();
  await adapter.stop();
  const unfinishedAfterStop = await unfinished(adapter);
  const span = s.lastEnd !== null ? s.lastEnd - s.firstStart : null;
  return {
    metric: span ? round((s.completed / span) * 1000) : 0,
    jobs: n,
    concurrency: p.mixedConcurrency,
    workMs: p.mixedWorkMs,
    preEnqueueMs: round(preEnqueueMs),
    firstStartToLastEndMs: round(span),
    completed: s.completed,
    duplicates: s.duplicates,
    missing: s.missing,
    unfinishedAfterStop,
    timedOut: !ok,
    violations: exactlyOnce(s, unfinishedAfterStop, !ok),
  };
}

// ---------------------------------------------------------------------------
// S5: scale. `pending` no-op jobs are pre-filled in large bulk chunks, then ONE worker
// process (16 slots) drains; the rate is measured over the first `scaleSampleJobs`
// jobs, so 10k and 1M pending are compared on the same amount of work. The worker
// process samples its own process.memoryUsage().rss while draining.

function s5(pendingKey) {
  return async (adapter, p, { deadline, spec, setupOptions, settle }) => {
    const n = p[pendingKey];
    const sample = Math.min(n, p.scaleSampleJobs);
    const tFill = now();
    if (adapter.prefill) await adapter.prefill(n, { chunk: p.prefillChunk, concurrency: p.prefillConcurrency });
    else await preEnqueue(adapter, n, p.prefillChunk, p.prefillConcurrency);
    const prefillMs = now() - tFill;
    await settle();
    const holding = await unfinished(adapter);
    const violations = [];
    if (typeof holding === 'number' && holding !== n)
      violations.push(`pre-filled ${n} jobs but the system holds ${holding}`);

    const seen = new Uint8Array(n);
    const ends = [];
    let dup = 0;
    let unknown = 0;
    let resolveSample;
    const sampleDone = new Promise((r) => {
      resolveSample = r;
    });
    const workers = await startWorkerProcs({
      spec,
      procs: 1,
      concurrency: p.scaleConcurrency,
      setupOptions,
      onDone(ids, endTimes) {
        for (let k = 0; k < ids.length; k++) {
          const i = ids[k];
          if (!(i >= 0 && i < n)) {
            unknown++;
            continue;
          }
          if (seen[i]) {
            dup++;
            continue;
          }
          seen[i] = 1;
          ends.push(endTimes[k]);
        }
        if (ends.length >= sample) resolveSample();
      },
    });
    workers.go();
    const ok = await until(sampleDone, deadline);
    const tStop = now();
    await workers.stop();
    const stopMs = now() - tStop;
    const final = workers.children[0].final;
    const completed = ends.length;
    const unfinishedAfterStop = await unfinished(adapter);
    // Jobs that neither ran nor are still waiting were lost. (A job that ran but is still
    // unfinished, e.g. stopped between handler end and completion, counts twice: allowed.)
    const lost = typeof unfinishedAfterStop === 'number' ? n - completed - unfinishedAfterStop : null;
    if (dup) violations.push(`${dup} job(s) ran more than once`);
    if (unknown) violations.push(`${unknown} job(s) with an unknown payload`);
    if (lost > 0) violations.push(`${lost} job(s) lost: neither run nor unfinished after stop`);
    if (typeof unfinishedAfterStop === 'string') violations.push(`unfinished count failed: ${unfinishedAfterStop}`);
    for (const e of workers.errors()) violations.push(`worker process: ${e}`);
    ends.sort((a, b) => a - b);
    const firstStart = workers.firstStart();
    const span = ends.length >= sample && Number.isFinite(firstStart) ? ends[sample - 1] - firstStart : null;
    return {
      metric: span ? round((sample / span) * 1000) : 0,
      pending: n,
      sample,
      concurrency: p.scaleConcurrency,
      prefillMs: round(prefillMs),
      prefillRate: round((n / prefillMs) * 1000),
      firstStartToSampleEndMs: round(span),
      stopMs: round(stopMs),
      rssMiB: final?.rss
        ? {
            ready: round(final.rss.ready / 2 ** 20, 1),
            maxWhileDraining: round(final.rss.max / 2 ** 20, 1),
            atStop: round(final.rss.atStop / 2 ** 20, 1),
            samples: final.rss.samples,
          }
        : null,
      heapUsedMiBMax: final?.heapUsedMax ? round(final.heapUsedMax / 2 ** 20, 1) : null,
      eventLoopDelayMs: final?.eventLoopDelayMs ?? null,
      completed,
      duplicates: dup,
      unfinishedAfterStop,
      lost,
      timedOut: !ok,
      violations,
    };
  };
}

// ---------------------------------------------------------------------------
// S6: channels (systems with hierarchical channel capacities only). Pre-enqueued jobs
// spread over root's sub-channels in proportion to their capacities, a runner with more
// slots than root's capacity, jobs of 2 ms; the handler counts running jobs per channel.

export function parseChannels(spec) {
  const caps = {};
  for (const part of spec.split(',')) {
    const [name, cap] = part.trim().split(':');
    caps[name] = Number(cap);
  }
  return caps;
}

async function s6Channels(adapter, p, { deadline, settle }) {
  const n = p.channelJobs;
  const caps = parseChannels(p.channels);
  const subs = Object.keys(caps).filter((c) => c.includes('.'));
  const root = Object.keys(caps).find((c) => !c.includes('.'));
  // Jobs interleaved over the sub-channels, weighted by capacity (16:8:4:2 -> a a b a c ...).
  const pattern = [];
  const maxCap = Math.max(...subs.map((c) => caps[c]));
  for (let k = 0; k < maxCap; k++) for (const c of subs) if (k < caps[c]) pattern.push(c);
  const channelOf = (i) => pattern[i % pattern.length];
  const preEnqueueMs = await preEnqueue(adapter, n, p.bulkSize, 4, (i) => ({ ch: channelOf(i) }));
  await settle();

  const running = Object.fromEntries([root, ...subs].map((c) => [c, 0]));
  const maxSeen = { ...running };
  const jobsPer = { ...running };
  const violationsSeen = [];
  const enter = (c) => {
    running[c]++;
    if (running[c] > maxSeen[c]) {
      maxSeen[c] = running[c];
      if (running[c] > caps[c]) {
        const msg = `CAPACITY VIOLATION: ${running[c]} jobs running in ${c} (capacity ${caps[c]})`;
        if (violationsSeen.length < 20) violationsSeen.push(msg);
        process.stderr.write(`!!! ${msg}\n`);
      }
    }
  };
  const tr = makeTracker(n);
  await adapter.startWorkers(p.channelWorkers, async (payload) => {
    tr.started();
    const c = payload.ch;
    enter(root);
    enter(c);
    jobsPer[c]++;
    try {
      await sleep(p.channelWorkMs);
    } finally {
      running[c]--;
      running[root]--;
    }
    tr.ended(payload.i);
  });
  const ok = await until(tr.all, deadline);
  const s = tr.snapshot();
  await adapter.stop();
  const unfinishedAfterStop = await unfinished(adapter);
  const span = s.lastEnd !== null ? s.lastEnd - s.firstStart : null;
  const violations = [...exactlyOnce(s, unfinishedAfterStop, !ok)];
  for (const c of Object.keys(maxSeen)) {
    if (maxSeen[c] > caps[c])
      violations.push(`CAPACITY VIOLATION: max ${maxSeen[c]} jobs running at once in ${c}, capacity ${caps[c]}`);
  }
  return {
    metric: span ? round((s.completed / span) * 1000) : 0,
    jobs: n,
    channels: p.channels,
    workers: p.channelWorkers,
    workMs: p.channelWorkMs,
    preEnqueueMs: round(preEnqueueMs),
    firstStartToLastEndMs: round(span),
    capacity: caps,
    maxConcurrency: maxSeen,
    jobsPerChannel: jobsPer,
    firstViolations: violationsSeen,
    completed: s.completed,
    duplicates: s.duplicates,
    missing: s.missing,
    unfinishedAfterStop,
    timedOut: !ok,
    violations,
  };
}

// ---------------------------------------------------------------------------

/** S7's process counts (one scenario each, so every run has its own process and fresh schema). */
const SCALE_OUT_PROCS = [1, 2, 4, 8];
/** Those the default smoke run includes (CI keeps the smoke run short). */
const SMOKE_SCALE_OUT = [4];

/**
 * Scenario registry, in report order.
 *   requires      adapter meta.features that must be true (else the cell is "n/a")
 *   setupOptions  extra options for adapter.setup() (also passed to worker processes)
 *   timeoutFactor multiplies --timeout for this scenario's hard limit
 *   backends      adapter backends it runs on (else "n/a"); all when absent
 *   smoke         false: left out of `--smoke` unless named with --scenarios
 */
export const SCENARIOS = {
  'S1-single': { title: 'S1 enqueue, one job per call, 16 concurrent callers', unit: 'jobs/s', run: s1Single },
  'S1-bulk': {
    title: 'S1 enqueue, bulk API, 500 jobs per call, 16 concurrent callers',
    unit: 'jobs/s',
    run: s1Bulk,
    requires: ['bulk'],
  },
  'S2-drain': {
    title: 'S2 drain pre-enqueued no-op jobs, 1 process x 16 slots',
    unit: 'jobs/s',
    run: s2Drain,
    requires: ['bulk'],
  },
  'S2-drain-2proc': {
    title: 'S2 drain pre-enqueued no-op jobs, 2 processes x 8 slots',
    unit: 'jobs/s',
    run: s2DrainMulti,
    requires: ['bulk'],
  },
  'S3-latency': { title: 'S3 enqueue-to-start latency, idle queue, one job every 20 ms', unit: 'ms', run: s3Latency },
  'S4-mixed': {
    title: 'S4 1 ms jobs, 32 slots, enqueued one call each by 16 producers while running',
    unit: 'jobs/s',
    run: s4Mixed,
  },
  'S4-prefilled': {
    title: 'S4 1 ms jobs, 32 slots, pre-enqueued',
    unit: 'jobs/s',
    run: s4Prefilled,
    requires: ['bulk'],
  },
  'S5-10k': {
    title: 'S5 drain rate with 10k pending (1 worker process x 16)',
    unit: 'jobs/s',
    run: s5('scaleSmallPending'),
    requires: ['bulk'],
    timeoutFactor: 1,
  },
  'S5-1M': {
    title: 'S5 drain rate with 1M pending (1 worker process x 16)',
    unit: 'jobs/s',
    run: s5('scaleLargePending'),
    requires: ['bulk'],
    timeoutFactor: 3,
  },
  'S6-channels': {
    title: 'S6 channels root:32 > a:16 b:8 c:4 d:2, 2 ms jobs, 48 slots',
    unit: 'jobs/s',
    run: s6Channels,
    requires: ['bulk', 'channels'],
    setupOptions: (p) => ({ channels: p.channels }),
  },
  ...Object.fromEntries(
    SCALE_OUT_PROCS.map((n) => [
      `S7-scale-${n}`,
      {
        title: `S7 scale-out: ${n} runner process${n > 1 ? 'es' : ''} x 8 slots, 100k pre-enqueued no-op jobs, one PostgreSQL`,
        unit: 'jobs/s',
        run: s7ScaleOut(n),
        requires: ['bulk', 'scaleOut'],
        backends: ['postgres'],
        smoke: SMOKE_SCALE_OUT.includes(n),
      },
    ]),
  ),
};

/** Names that select several scenarios (`--scenarios S7-scale`). */
export const SCENARIO_GROUPS = {
  'S7-scale': SCALE_OUT_PROCS.map((n) => `S7-scale-${n}`),
};
