/**
 * A runner survives losing its PostgreSQL connections (server restart, failover, a killed backend):
 * the pool reconnects, the LISTEN connection reconnects and catches up, and jobs keep running.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, PG_URL } from './helpers/backends.ts';

const postgres = BACKENDS.find((b) => b.name === 'postgres');

describe('reconnect after a lost database connection (PostgreSQL)', {
  skip: postgres ? false : 'PostgreSQL is unreachable (CI fails instead)',
}, () => {
  it('keeps running jobs after every connection of the runner is terminated', async (t) => {
    const c = await postgres!.open({ channels: 'root:4' });
    const { default: pg } = await import('pg');
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    try {
      const m = c.model('res.partner', {
        async ping(_job, n: number) {
          return n * 2;
        },
      });
      const errors: string[] = [];
      c.on('runner_error', (e) => errors.push(e.operation));
      const r = c.runner({ workers: 2, pollInterval: '200ms' });
      await r.start();
      assert.equal(await (await m.withDelay().ping(1)).result(), 2);
      const schema = (c.driver as unknown as { schema: string }).schema;
      const killed = await admin.query(
        'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
        [`conveyor:${schema}`.slice(0, 63)],
      );
      assert.ok(killed.rowCount! >= 2, 'the pool and the listener connections were terminated');
      // the first call after the loss may meet a dead pooled connection; it fails cleanly and the next works
      let job: Awaited<ReturnType<ReturnType<typeof m.withDelay>['ping']>> | undefined;
      for (let i = 0; !job && i < 5; i++)
        job = await m
          .withDelay()
          .ping(21)
          .catch(() => undefined);
      assert.ok(job, 'enqueue works again');
      assert.equal(await job.result(), 42);
      assert.equal(await (await m.withDelay().ping(5)).result(), 10);
      t.diagnostic(`runner errors while reconnecting: ${errors.length ? errors.join(', ') : 'none'}`);
      await r.stop();
    } finally {
      await admin.end();
      await postgres!.dispose(c);
    }
  });
});
