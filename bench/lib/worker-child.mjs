// A worker process for S2-drain-2proc and S5. Protocol over IPC:
//   parent -> {type:'init', spec, concurrency, setupOptions}   connect (setup({fresh:false}))
//   child  -> {type:'ready'}
//   parent -> {type:'go'}                                      startWorkers(concurrency, no-op)
//   child  -> {type:'done', ids, ends, firstStart}             every 50 ms while busy
//   parent -> {type:'stop'}                                    stop workers, flush, report, exit 0
//   child  -> {type:'final', rss, heapUsedMax}
// It samples its own process.memoryUsage().rss every 100 ms from 'go' to 'stop'.
import { makeAdapter, now } from './util.mjs';

let adapter = null;
let concurrency = 1;
let ids = [];
let ends = [];
let firstStart = null;
const rss = { ready: null, max: 0, atStop: null, samples: 0 };
let heapUsedMax = 0;
let sampler = null;

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
      adapter = await makeAdapter(m.spec);
      await adapter.setup({ fresh: false, ...(m.setupOptions ?? {}) });
      rss.ready = process.memoryUsage().rss;
      process.send({ type: 'ready' });
    } else if (m.type === 'go') {
      sampler = setInterval(sampleMemory, 100);
      sampleMemory();
      await adapter.startWorkers(concurrency, async (payload) => {
        const t = now();
        if (firstStart === null) firstStart = t;
        ids.push(payload.i);
        ends.push(now());
      });
    } else if (m.type === 'stop') {
      clearInterval(sampler);
      sampleMemory();
      rss.atStop = process.memoryUsage().rss;
      await adapter.teardown({ drop: false });
      clearInterval(flusher);
      await flush();
      await send({ type: 'final', rss, heapUsedMax });
      process.exit(0);
    }
  } catch (e) {
    await send({ type: 'error', message: String(e?.stack ?? e) }).catch(() => {});
    process.exit(1);
  }
});

process.on('disconnect', () => process.exit(0));
