/** Driver conformance, migrations and the schema version: see suite.ts. */
import assert from 'node:assert/strict';
import { SchemaTooNewError } from '../../src/index.ts';
import { PG_URL } from '../helpers/backends.ts';
import { conformance } from './suite.ts';

conformance('migrations', (it, kind) => {
  it('migrates idempotently and reports the version', async ({ d }) => {
    assert.deepEqual(await d.migrate(), []);
    const v = await d.schemaVersion();
    assert.equal(v.current, v.latest);
    assert.ok(v.latest >= 1);
  });

  // another connection to a memory database sees another, empty database: the case needs a shared store
  if (kind === 'sqlite memory') return;
  it('refuses a database written by a newer version', async ({ d, store }) => {
    const v = await d.schemaVersion();
    // simulate a newer writer, from outside this driver
    if (store.kind === 'postgres') {
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        await c.query(`INSERT INTO "${store.schema}".migrations (version, name) VALUES ($1, 'future')`, [v.latest + 1]);
      } finally {
        await c.end();
      }
    } else {
      const { DatabaseSync } = await import('node:sqlite');
      const db = new DatabaseSync(store.file!);
      db.prepare('INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        v.latest + 1,
        'future',
        0,
      );
      db.close();
    }
    await assert.rejects(
      d.migrate(),
      (err: unknown) => err instanceof SchemaTooNewError && /newer than this Conveyor knows/.test(err.message),
    );
  });
});
