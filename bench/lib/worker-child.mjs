// A worker process for S2-drain-2proc and S5. Protocol over IPC:
//   parent -> {type:'init', spec, concurrency, setupOptions, appName}  connect (setup({fresh:false}));
//                                                  appName: application_name of its PostgreSQL connections
//   child  -> {type:'ready'}
//   parent -> {type:'go'}                                      startWorkers(concurrency, no-op)
//   child  -> {type:'done', ids, ends, firstStart}             every 50 ms while busy
//   parent -> {type:'stop'}                                    stop workers, flush, report, exit 0
//   child  -> {type:'final', rss, heapUsedMax, eventLoopDelayMs}
// It samples its own process.memoryUsage().rss every 100 ms from 'go' to 'stop', and
// measures its event-loop delay over the same time (a runner that never yields starves
// timers, I/O and its own heartbeats).
import { makeAdapter, now } from './util.mjs';

let adapter = null;
let concurrency = 1;
let ids = [];
let ends = [];
let firstStart = null;
const rss = { ready: null, max: 0, atStop: null, samples: 0 };
let heapUsedMax = 0;
let sampler = null;
// Event-loop delay: the largest gap between ticks of a 10 ms interval timer, minus 10 ms.
const loop = { timer: null, last: 0, maxGap: 0, ticks: 0 };
const loopTick = () => {
  const t = now();
  loop.maxGap = Math.max(loop.maxGap, t - loop.last);
  loop.last = t;
  loop.ticks++;
};

const send = (msg) => new Promise((resolve) => process.send(msg, () => resolve()));

function flush() {
  if (!ids.length) return Promise.resolve();
  const msg = { type: 'done', ids, ends, firstStart };
  ids = [];
  ends = [];
  return send(msg);
}

function sampleMemory() {
  const m = process.memoryUsage();
  if (m.rss > rss.max) rss.max = m.rss;
  if (m.heapUsed > heapUsedMax) heapUsedMax = m.heapUsed;
  rss.samples++;
}

const flusher = setInterval(flush, 50);

process.on('message', async (m) => {
  try {
    if (m.type === 'init') {
      concurrency = m.concurrency;
      adapter = await makeAdapter(m.spec, { appName: m.appName });
      await adapter.setup({ fresh: false, ...(m.setupOptions ?? {}) });
      rss.ready = process.memoryUsage().rss;
      process.send({ type: 'ready' });
    } else if (m.type === 'go') {
      sampler = setInterval(sampleMemory, 100);
      sampleMemory();
      loop.last = now();
      loop.timer = setInterval(loopTick, 10);
      await adapter.startWorkers(concurrency, async (payload) => {
        const t = now();
        if (firstStart === null) firstStart = t;
        ids.push(payload.i);
        ends.push(now());
      });
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      clearInterval(loop.timer);
      loopTick();
      sampleMemory();
      rss.atStop = process.memoryUsage().rss;
      await adapter.teardown({ drop: false });
      clearInterval(flusher);
      await flush();
      const eventLoopDelayMs = { max: Math.round(Math.max(0, loop.maxGap - 10) * 10) / 10, ticks: loop.ticks };
      await send({ type: 'final', rss, heapUsedMax, eventLoopDelayMs });
      process.exit(0);
    }
  } catch (e) {
    await send({ type: 'error', message: String(e?.stack ?? e) }).catch(() => {});
    process.exit(1);
  }
});

process.on('disconnect', () => process.exit(0));
