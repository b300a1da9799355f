/**
 * Regenerate the README/docs screenshots of the dashboard (docs/screenshots/dashboard-*.png) from the
 * demo data of the tests. Not a test: run `node test/dashboard/screenshots.ts`.
 */
import { mkdirSync } from 'node:fs';
import { serveDashboard } from '../../src/dashboard/index.ts';
import { launchChromium } from './browser.ts';
import { closeDemo, openConveyor, seedDemo } from './fixtures.ts';

const OUT = new URL('../../docs/screenshots/', import.meta.url);
mkdirSync(OUT, { recursive: true });

const demo = await seedDemo(await openConveyor('sqlite'));
const server = await serveDashboard(demo.conveyor, { refreshSeconds: 0 });
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1200, height: 760 }, deviceScaleFactor: 1 });
  const shots: [string, string][] = [
    ['dashboard-jobs.png', 'jobs?limit=14'],
    ['dashboard-job.png', `jobs/${demo.ids.graphFailed}`],
    ['dashboard-job-waiting.png', `jobs/${demo.ids.graphWaiting}`],
    ['dashboard-channels.png', 'channels'],
    ['dashboard-timeouts.png', 'timeouts'],
    ['dashboard-runners.png', 'runners'],
  ];
  for (const [file, path] of shots) {
    await page.goto(`${server.url}${path}`);
    await page.locator('main h1').waitFor();
    await page.screenshot({ path: new URL(file, OUT).pathname });
    console.log(`wrote docs/screenshots/${file}`);
  }
} finally {
  await browser.close();
  await server.close();
  await closeDemo(demo);
}
