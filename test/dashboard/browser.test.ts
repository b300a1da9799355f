/**
 * Browser tests: a real Chromium (Debian's, driven by playwright-core) uses the dashboard served over a
 * Conveyor with demo-like data and a running runner. It filters jobs, opens a job page (graph, "why is
 * it not running"), requeues a failed job and sees it finish through the live refresh, watches the
 * channel load change, and opens the timeout-log chart. No CSP violation, no script error, no payload
 * ever runs. Screenshots go to test-artifacts/screenshots/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { serveDashboard, type DashboardServer } from '../../src/dashboard/index.ts';
import { chromiumMissing, launchChromium } from './browser.ts';
import { closeDemo, openConveyor, seedDemo, type Demo } from './fixtures.ts';

const SHOTS = new URL('../../test-artifacts/screenshots/', import.meta.url);
const missing = chromiumMissing();

describe('dashboard in a browser', { skip: missing ?? false }, () => {
  let demo: Demo;
  let server: DashboardServer;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    demo = await seedDemo(await openConveyor('sqlite'));
    server = await serveDashboard(demo.conveyor, { refreshSeconds: 1 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    page.setDefaultTimeout(20_000);
    page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
    page.on('console', (msg) => {
      if (msg.type() === 'error' || /Content Security Policy|Refused to/i.test(msg.text()))
        problems.push(`console ${msg.type()}: ${msg.text()}`);
    });
    page.on('dialog', (d) => {
      problems.push(`dialog: ${d.message()}`);
      void d.dismiss();
    });
  });

  after(async () => {
    await browser?.close();
    await server?.close();
    if (demo) await closeDemo(demo);
  });

  const shot = (name: string) => page.screenshot({ path: new URL(name, SHOTS).pathname, fullPage: true });
  const noPayloadRan = async () =>
    assert.equal(await page.evaluate(() => (window as unknown as { __xss?: unknown }).__xss), undefined);

  it('opens the jobs list, with htmx loaded from the dashboard itself', async () => {
    await page.goto(`${server.url}jobs`);
    assert.equal(await page.title(), 'Jobs · Conveyor');
    assert.equal(await page.evaluate(() => typeof (window as unknown as { htmx?: unknown }).htmx), 'object');
    assert.equal(await page.locator('table.jobs tbody tr').count(), 24);
    await noPayloadRan();
    await shot('01-jobs.png');
  });

  it('filters jobs by state and text', async () => {
    await page.selectOption('select[name=state]', 'failed');
    await Promise.all([page.waitForURL(/state=failed/), page.click('form.filters button[type=submit]')]);
    const rows = page.locator('table.jobs tbody tr');
    assert.equal(await rows.count(), 3);
    for (const state of await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-state'))))
      assert.equal(state, 'failed');
    await page.fill('input[name=text]', 'Charge');
    await Promise.all([page.waitForURL(/text=Charge/), page.press('input[name=text]', 'Enter')]);
    assert.deepEqual(
      await page
        .locator('table.jobs tbody tr')
        .evaluateAll((trs) => trs.map((tr) => Number(tr.getAttribute('data-job')))),
      [demo.ids.flaky],
    );
    await page.click('a.tab[data-state="all"]');
    await page.waitForURL(/text=Charge/);
    await shot('02-jobs-filtered.png');
    await page.click('a.button.secondary:text("Reset")');
    await page.waitForURL(/\/jobs$/);
    await page.check('input.select-all');
    assert.equal(await page.locator('input[name=id]:checked').count(), 24, 'select all');
  });

  it('opens a job page: the graph drawn in SVG and why it is not running', async () => {
    await page.goto(`${server.url}jobs?state=wait_dependencies`);
    await Promise.all([
      page.waitForURL(new RegExp(`/jobs/${demo.ids.graphWaiting}$`)),
      page.click(`table.jobs a[href="/jobs/${demo.ids.graphWaiting}"] >> nth=0`),
    ]);
    const why = page.locator('#why .sentence');
    assert.equal(await why.textContent(), `waiting for job ${demo.ids.graphFailed}`);
    assert.ok(await why.isVisible());
    const svg = page.locator('figure.graph svg');
    await svg.waitFor();
    assert.equal(await svg.locator('a.node').count(), 4);
    const fill = (id: number) => svg.locator(`a.node[data-job="${id}"] rect`).getAttribute('fill');
    assert.equal(await fill(demo.ids.graphRoot), '#2e9e5b');
    assert.equal(await fill(demo.ids.graphFailed), '#d64545');
    assert.equal(await fill(demo.ids.graphWaiting), '#6b8fc7');
    await shot('03-job-waiting.png');
    // Graph nodes are links.
    await Promise.all([
      page.waitForURL(new RegExp(`/jobs/${demo.ids.graphFailed}$`)),
      svg.locator(`a.node[data-job="${demo.ids.graphFailed}"]`).click(),
    ]);
    assert.match((await page.locator('#why .sentence').textContent()) ?? '', /^failed: Error: CRM refused the sync/);
    assert.ok(await page.locator('pre.stack-trace').first().isVisible());
    await page.goto(`${server.url}jobs/${demo.ids.slowWaiting}`);
    assert.equal(await page.locator('#why .sentence').textContent(), 'channel root.slow full: 1/1 running');
  });

  it('shows hostile data as text, and nothing runs', async () => {
    await page.goto(`${server.url}jobs/${demo.ids.xss}`);
    assert.match(
      (await page.locator('.exc-message').textContent()) ?? '',
      /<\/pre><script>window.__xss = "error"<\/script>/,
    );
    assert.match(
      (await page.locator('section.args pre').textContent()) ?? '',
      /<script>window.__xss = \\"arg\\"<\/script>/,
    );
    await noPayloadRan();
    await shot('04-job-hostile-data.png');
  });

  it('requeues a failed job and sees it run (live refresh)', async () => {
    await page.goto(`${server.url}jobs/${demo.ids.flaky}`);
    assert.equal(await page.locator('#job-live .summary .badge').textContent(), 'failed');
    await Promise.all([page.waitForURL(/notice=requeued/), page.click('button[data-action="requeue"]')]);
    assert.equal(await page.locator('p.notice').textContent(), 'Requeued 1 job.');
    // The runner picks it up; the live region (htmx polling) shows the outcome without a reload.
    await page.locator('#job-live .summary .badge.state-done').waitFor();
    assert.match((await page.locator('#why .sentence').textContent()) ?? '', /^done at /);
    assert.match((await page.locator('section.result pre').textContent()) ?? '', /"paid": true/);
    assert.equal((await demo.conveyor.jobs.get(demo.ids.flaky))!.state, 'done');
    await shot('05-job-requeued-done.png');
  });

  it('shows the channels, and their load changes live', async () => {
    await page.goto(`${server.url}channels`);
    const slow = page.locator('tr[data-channel="root.slow"] td.load span');
    assert.equal(await slow.textContent(), '1 / 1');
    await shot('06-channels.png');
    demo.releaseSlow();
    await page.locator('tr[data-channel="root.slow"] td.load span', { hasText: '0 / 1' }).waitFor();
    await page.locator('tr[data-channel="root.slow"] td.num', { hasText: /^0$/ }).first().waitFor();
  });

  it('opens the timeout-log chart and switches to 30 days', async () => {
    await page.goto(`${server.url}timeouts`);
    const chart = page.locator('svg.timeout-chart');
    await chart.waitFor();
    assert.equal(await chart.locator('g.bar').count(), 7);
    assert.ok((await chart.boundingBox())!.height > 100);
    assert.ok(await page.locator('table.pivot').isVisible());
    await shot('07-timeout-log.png');
    await Promise.all([page.waitForURL(/days=30/), page.click('a.tab:text("30 days")')]);
    assert.equal(await page.locator('svg.timeout-chart g.bar').count(), 30);
    await noPayloadRan();
  });

  it('opens the runners, job functions and scheduled jobs pages', async () => {
    for (const [path, name] of [
      ['runners', '08-runners.png'],
      ['functions', '09-functions.png'],
      ['scheduled', '10-scheduled.png'],
    ] as const) {
      await page.goto(`${server.url}${path}`);
      await page.locator('main h1').waitFor();
      await shot(name);
    }
    assert.match((await page.locator('main').textContent()) ?? '', /conveyor\.job_retention/);
  });

  it('saw no script error, CSP violation or dialog', () => {
    assert.deepEqual(problems, []);
  });
});
