// The cost of remote events on PostgreSQL: drain N no-op jobs with publishEvents false, then true (with a
// subscriber), three rounds; prints jobs/s, CPU per job and how many publications (one per completion batch).
// node bench/profile/remote-events.ts   (N=5000 by default; env N). Also prints the time per publishEvents call.
import { Conveyor } from '../../src/index.ts';
import pg from 'pg';
const URL = 'postgres://postgres@127.0.0.1:5432/test';
const N = Number(process.env.N ?? 5000);
async function run(publish: boolean, round: number) {
  const schema = `evb_${process.pid}_${round}_${publish ? 'p' : 'n'}`;
  const c = await Conveyor.open({ database: URL, schema, logger: 'silent', channels: 'root:8' });
  const m = c.model('b.m', {
    async x() {
      return 1;
    },
  });
  let received = 0;
  const sub = publish
    ? await c.events.subscribeRemote(['job_done'], () => {
        received++;
      })
    : null;
  await c.delayMany(Array.from({ length: N }, () => m.delayable().x()));
  let notifies = 0;
  let publishMs = 0;
  let payloads = 0;
  const orig = c.driver.publishEvents.bind(c.driver);
  c.driver.publishEvents = async (p) => {
    notifies++;
    payloads += p.length;
    const t = performance.now();
    try {
      return await orig(p);
    } finally {
      publishMs += performance.now() - t;
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let done = 0;
  let finish!: () => void;
  const all = new Promise<void>((res) => {
    finish = res;
  });
  c.on('job_done', () => {
    if (++done === N) finish();
  });
  const r = c.runner({ workers: 8, publishEvents: publish });
  await r.start();
  await all;
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await r.stop();
  if (sub) {
    while (received < N) await new Promise((res) => setTimeout(res, 20));
    await sub.close();
  }
  await c.close();
  const cl = new pg.Client({ connectionString: URL });
  await cl.connect();
  await cl.query(`DROP SCHEMA "${schema}" CASCADE`);
  await cl.end();
  console.log(
    JSON.stringify({
      publish,
      round,
      N,
      ms: Math.round(ms),
      jobsPerS: Math.round((N / ms) * 1000),
      cpuUsPerJob: Math.round((cpu.user + cpu.system) / N),
      publishCalls: notifies,
      payloads,
      msPerPublish: notifies ? +(publishMs / notifies).toFixed(2) : 0,
      received,
    }),
  );
}
for (let round = 0; round < 3; round++) {
  await run(false, round);
  await run(true, round);
}
