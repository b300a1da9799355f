/**
 * `npm start`: the demo. Enqueues a realistic workload into ./conveyor.db (SQLite, nothing to install),
 * runs a runner, serves the dashboard, and prints what happens. Ctrl-C stops it gracefully.
 * `--once` exits when the first workload is done (used by the tests).
 */
import { conveyor, enqueueWorkload, out } from './app.ts';

const once = process.argv.includes('--once');

const unsubscribe = [
  conveyor.on('job_started', (e) =>
    out(`started   #${e.id} ${e.model}.${e.method} on ${e.channel}${e.attempt > 1 ? ` (try ${e.attempt})` : ''}`),
  ),
  conveyor.on('job_done', (e) => out(`done      #${e.id} ${e.model}.${e.method} in ${e.durationMs} ms`)),
  conveyor.on('job_retried', (e) => out(`retried   #${e.id} ${e.model}.${e.method}: ${e.error}`)),
  conveyor.on('job_failed', (e) => out(`FAILED    #${e.id} ${e.model}.${e.method}: ${e.error}`)),
  conveyor.on('job_timed_out', (e) =>
    out(`TIMED OUT #${e.id} ${e.model}.${e.method} after its ${e.limitMs} ms limit (logged, will retry)`),
  ),
];

const runner = conveyor.runner({ workers: 6 });
await runner.start();

let dashboard: { url: string; close(): Promise<void> } | null = null;
if (!once) {
  const { serveDashboard } = await import('../../src/dashboard/index.ts');
  const port = Number(process.env.CONVEYOR_DASHBOARD_PORT ?? 8790);
  dashboard = await serveDashboard(conveyor, { port }).catch(async (err: Error) => {
    out(`(port ${port} is busy: ${err.message}; using a free port)`);
    return serveDashboard(conveyor, { port: 0 });
  });
}
out(`Conveyor demo on ${conveyor.driver.location}; channels ${conveyor.channels.toString()}`);
if (dashboard) out(`Dashboard: ${dashboard.url}`);

let lastLoad = '';
const load = setInterval(async () => {
  const snap = await conveyor.driver.channelSnapshot({
    now: Date.now(),
    sequentialChannels: [],
    throttledChannels: [],
  });
  const pending = await conveyor.jobs.count({ state: 'pending', groupBy: ['channel'] });
  const text = conveyor.channels
    .nodes()
    .map((n) => {
      const running = [...snap.running]
        .filter(([c]) => c === n.name || c.startsWith(n.name + '.'))
        .reduce((a, [, v]) => a + v, 0);
      const waiting = pending
        .filter((r) => r.key.channel === n.name || r.key.channel!.startsWith(n.name + '.'))
        .reduce((a, r) => a + r.count, 0);
      return `${n.name} ${running}/${n.capacity ?? '∞'} (+${waiting})`;
    })
    .join('  ');
  // on change only: an idle demo stays quiet
  if (text !== lastLoad) out(`load      ${text}`);
  lastLoad = text;
}, 2000);

let round = 0;
const first = await enqueueWorkload(round++);
out(`enqueued ${first.length} jobs (newsletters, order pipelines as graphs, a long export)`);
const settle = async (ids: number[]) => Promise.all(ids.map((id) => conveyor.jobs.wait(id)));

const stop = async () => {
  clearInterval(load);
  clearInterval(trickle);
  unsubscribe.forEach((off) => off());
  await dashboard?.close();
  await runner.stop();
  await conveyor.close();
};
// while the dashboard is open, keep a little work flowing so it stays alive
const trickle = setInterval(() => {
  if (!once) void enqueueWorkload(round++).catch(() => {});
}, 30_000);

if (once) {
  const rows = await settle(first);
  const byState = rows.reduce<Record<string, number>>((acc, r) => {
    acc[r.state] = (acc[r.state] ?? 0) + 1;
    return acc;
  }, {});
  out(`workload finished: ${JSON.stringify(byState)}`);
  await stop();
} else {
  void settle(first).then(() => out('first workload finished; a new round is enqueued every 30 s. Ctrl-C to stop.'));
  let stopping = false;
  const onSignal = () => {
    if (stopping) process.exit(1);
    stopping = true;
    out('stopping (running jobs get their grace period)...');
    void stop().then(() => process.exit(0));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
