/**
 * Regenerate the README/docs screenshots of the dashboard (docs/screenshots/dashboard-*.png) from the
 * demo's ordinary data (examples/demo: newsletters, order pipelines, the export that times out once and
 * resumes), never from the tests' hostile fixtures. Not a test: run `node test/dashboard/screenshots.ts`.
 *
 * Steps: run the demo's first workload to the end (`main.ts --once`) on a temporary SQLite file, open
 * the same file through the demo app, show its runner while it is idle, stop it, then enqueue a second
 * round that stays pending (so the pages show waiting jobs and graphs in progress).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { serveDashboard } from '../../src/dashboard/index.ts';
import { launchChromium } from './browser.ts';

const ROOT = new URL('../../', import.meta.url);
const OUT = new URL('docs/screenshots/', ROOT);
fs.mkdirSync(OUT, { recursive: true });
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-shots-'));
process.env.CONVEYOR_DATABASE = `sqlite:${path.join(dir, 'demo.db')}`;
process.env.CONVEYOR_LOG_LEVEL = 'error';

execFileSync(process.execPath, [new URL('examples/demo/main.ts', ROOT).pathname, '--once'], {
  stdio: 'inherit',
  env: process.env,
});
const { conveyor, enqueueWorkload } = await import('../../examples/demo/app.ts');
const server = await serveDashboard(conveyor, { refreshSeconds: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 }, deviceScaleFactor: 1 });
  const shoot = async (file: string, url: string) => {
    await page.goto(`${server.url}${url}`);
    await page.locator('main h1').waitFor();
    await page.screenshot({ path: new URL(file, OUT).pathname });
    console.log(`wrote docs/screenshots/${file}`);
  };
  const runner = conveyor.runner({ workers: 6 });
  await runner.start();
  await shoot('dashboard-runners.png', 'runners');
  await runner.stop();

  const first = (await conveyor.jobs.list({ limit: 100 })).jobs;
  await enqueueWorkload(1);
  const pending = (await conveyor.jobs.list({ limit: 100 })).jobs.filter((j) => !first.some((f) => f.id === j.id));
  const pick = (method: string) => pending.find((j) => j.method === method)?.id ?? pending[0]!.id;
  await shoot('dashboard-jobs.png', 'jobs?limit=14');
  // the new round's first order pipeline: a step with its graph, and the last step waiting for it
  await shoot('dashboard-job.png', `jobs/${pick('reserveStock')}`);
  await shoot('dashboard-job-waiting.png', `jobs/${pick('notifyCustomer')}`);
  await shoot('dashboard-channels.png', 'channels');
  await shoot('dashboard-timeouts.png', 'timeouts');
} finally {
  await browser.close();
  await server.close();
  await conveyor.close();
  fs.rmSync(dir, { recursive: true, force: true });
}
