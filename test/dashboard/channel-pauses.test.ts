/**
 * The dashboard's channel pause and resume buttons on SQLite and PostgreSQL: a POST with the CSRF field
 * stores the pause (seen by the API and by "why is this job not running"), resume removes it; no CSRF,
 * read-only, a bad name and an unknown action change nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Conveyor } from '../../src/index.ts';
import { createDashboard, type Dashboard } from '../../src/dashboard/index.ts';
import { Client, unescapeHtml, whySentence } from './client.ts';
import { disposeConveyor, openConveyor, pgUnavailable } from './fixtures.ts';

const pgReason = await pgUnavailable();

for (const backend of ['sqlite', 'postgres'] as const) {
  describe(`dashboard channel pauses on ${backend}`, {
    skip: backend === 'postgres' && pgReason ? pgReason : false,
  }, () => {
    let conveyor: Conveyor;
    let dashboard: Dashboard;
    let client: Client;
    let jobId: number;

    before(async () => {
      conveyor = await openConveyor(backend);
      const m = conveyor.model('mail.message', { async send() {} }, { send: { channel: 'root.mail' } });
      jobId = (await m.withDelay().send()).id;
      dashboard = createDashboard(conveyor);
      client = new Client(dashboard.fetch);
    });
    after(async () => {
      dashboard?.close();
      if (conveyor) await disposeConveyor(conveyor);
    });

    it('pauses and resumes a channel with a CSRF-protected POST', async () => {
      const page = await client.get('/channels');
      assert.equal(page.status, 200);
      const form =
        /<tr data-channel="root\.mail">[\s\S]*?<form method="post" class="inline" action="\/channels\/root\.mail\/pause"><input type="hidden" name="_csrf" value="[^"]+">/;
      assert.match(page.html, form);

      const refused = await client.post('/channels/root.mail/pause', { _csrf: null });
      assert.equal(refused.status, 403);
      assert.deepEqual(await conveyor.channelPauses.list(), []);

      const paused = await client.post('/channels/root.mail/pause', {});
      assert.equal(paused.status, 303);
      assert.equal(paused.headers.get('location'), '/channels?notice=channel-paused');
      const stored = await conveyor.channelPauses.list();
      assert.deepEqual(
        stored.map((p) => [p.channel, p.pausedBy]),
        [['root.mail', 'dashboard']],
      );

      const after = await client.get('/channels?notice=channel-paused');
      assert.match(after.html, /Channel paused: runners start no new job in it or below/);
      assert.match(
        after.html,
        /<tr data-channel="root\.mail">[\s\S]*?<span class="badge warn">paused<\/span> <span class="muted">since [\s\S]*?action="\/channels\/root\.mail\/resume"/,
      );
      assert.match(
        whySentence((await client.get(`/jobs/${jobId}`)).html) ?? '',
        /^channel root\.mail is paused \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\)(; no runner is alive)?$/,
      );

      const resumed = await client.post('/channels/root.mail/resume', {});
      assert.equal(resumed.headers.get('location'), '/channels?notice=channel-resumed');
      assert.deepEqual(await conveyor.channelPauses.list(), []);
      assert.equal(
        (await client.post('/channels/root.mail/resume', {})).headers.get('location'),
        '/channels?notice=channel-not-paused',
      );
      assert.notEqual(whySentence((await client.get(`/jobs/${jobId}`)).html), undefined);
      assert.doesNotMatch(whySentence((await client.get(`/jobs/${jobId}`)).html)!, /paused/);
    });

    it('refuses a bad channel name and an unknown action', async () => {
      await client.get('/channels');
      const bad = await client.post(`/channels/${encodeURIComponent('bad name')}/pause`, {});
      assert.equal(bad.status, 400);
      assert.match(unescapeHtml(bad.html), /invalid channel name 'bad name'/);
      assert.equal((await client.post('/channels/root.mail/delete', {})).status, 404);
      assert.deepEqual(await conveyor.channelPauses.list(), []);
    });

    it('a read-only dashboard shows no button and refuses the POST', async () => {
      const ro = createDashboard(conveyor, { readOnly: true });
      try {
        const c = new Client(ro.fetch);
        const page = await c.get('/channels');
        assert.doesNotMatch(page.html, /\/channels\/root\.mail\/pause/);
        assert.equal((await c.post('/channels/root.mail/pause', {})).status, 403);
        assert.deepEqual(await conveyor.channelPauses.list(), []);
      } finally {
        ro.close();
      }
    });
  });
}
