// Drain N no-op jobs on one runner (16 slots, prefetch P) and time every claim and completion call.
// node bench/profile/drain-calls.ts [database-url] [N] [prefetch]; add --cpu-prof for a CPU profile.
import { Conveyor } from '../../src/index.ts';
const db = process.argv[2] ?? 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.argv[3] ?? 20000);
const c = await Conveyor.open({ database: db, schema: 'drain_bench', channels: 'root:1000', logger: 'warn' });
if (db.startsWith('postgres')) {
  await (c.driver as any).dropSchema();
  await c.driver.migrate();
}
const d: any = c.driver;
const stats: Record<string, { n: number; items: number; ms: number }> = {};
for (const name of ['jobClaim', 'jobWriteMany']) {
  const orig = d[name].bind(d);
  stats[name] = { n: 0, items: 0, ms: 0 };
  d[name] = async (...a: any[]) => {
    const t = performance.now();
    const r = await orig(...a);
    const s = stats[name];
    s.n++;
    s.ms += performance.now() - t;
    s.items += name === 'jobClaim' ? r.jobs.length : a[1].length;
    return r;
  };
}
let done = 0;
let first = 0;
let last = 0;
let resolve: () => void;
const fin = new Promise<void>((r) => (resolve = r));
const m = c.model('bench', {
  async run(job, i: number) {
    if (!first) first = performance.now();
    last = performance.now();
    if (++done === N) resolve();
  },
});
for (let i = 0; i < N; i += 500)
  await c.delayMany(Array.from({ length: Math.min(500, N - i) }, (_, k) => m.delayable().run(i + k)));
const r = c.runner({ workers: 16, prefetch: Number(process.argv[4] ?? 500) });
await r.start();
await fin;
console.log('drain', Math.round(N / ((last - first) / 1000)), 'jobs/s');
for (const [k, s] of Object.entries(stats))
  console.log(k, 'calls', s.n, 'avg items', (s.items / s.n).toFixed(1), 'avg ms', (s.ms / s.n).toFixed(2));
await r.stop();
if (db.startsWith('postgres')) await (c.driver as any).dropSchema();
await c.close();
