/**
 * The admin API the dashboard depends on, on SQLite and PostgreSQL: `conveyor.channelLoad()` (the
 * per-channel rows of the Channels page and of `conveyor channels`) and `conveyor.health()` (/healthz).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AdminApi } from '../../src/index.ts';
import { BACKENDS } from '../helpers/backends.ts';

for (const backend of BACKENDS) {
  describe(`admin API on ${backend.name}`, () => {
    it('channelLoad() counts pending and failed jobs over the sub-tree, auto-created channels included', async () => {
      const conveyor = await backend.open({ channels: 'root:4,root.mail:2', unknownChannels: 'allow' });
      try {
        const m = conveyor.model('mail.message', { async send() {} }, { send: { channel: 'root.mail' } });
        await m.withDelay().send();
        await m.withDelay().send();
        await m.withDelay({ channel: 'root.mail.bulk' }).send();
        await m.withDelay({ channel: 'root.other' }).send();
        const load = await conveyor.channelLoad();
        const rows = load.rows.map((r) => [r.node.name, r.depth, r.pending, r.ownPending, r.running, r.failed]);
        assert.deepEqual(rows, [
          ['root', 0, 4, 0, 0, 0],
          ['root.mail', 1, 3, 2, 0, 0],
          ['root.mail.bulk', 2, 1, 1, 0, 0],
          ['root.other', 1, 1, 1, 0, 0],
        ]);
        assert.equal(load.tree.toString(), conveyor.channels.toString());
        assert.equal(load.pending.get('root.mail'), 2);
        assert.deepEqual([...load.snapshot.sequentialFailed], []);
      } finally {
        await backend.dispose(conveyor);
      }
    });

    it('health() reports the schema version, and an error once closed (never throws)', async () => {
      const conveyor = await backend.open();
      const admin: AdminApi = conveyor;
      const ok = await admin.health();
      assert.equal(ok.status, 'ok');
      assert.ok(ok.status === 'ok' && ok.database === backend.name && ok.schemaVersion >= 1);
      await backend.dispose(conveyor);
      assert.deepEqual(await admin.health(), { status: 'error', error: 'the Conveyor is closed' });
    });
  });
}
