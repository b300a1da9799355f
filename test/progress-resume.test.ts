/**
 * A job resumed from its checkpoint reports progress over the whole list, not only the part after the
 * resume (the demo's export #25 once ended at "400 / 1500 (27 %)"), and the dashboard shows a done
 * job as complete whatever its last progress report said. On both backends.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createDashboard } from '../src/dashboard/index.ts';
import { RetryableJobError, type JobContext } from '../src/index.ts';
import { batchProcess, ProgressTracker } from '../src/timeouts/index.ts';
import { BACKENDS } from './helpers/backends.ts';
import { Client } from './dashboard/client.ts';

for (const backend of BACKENDS) {
  describe(`progress of a resumed job on ${backend.name}`, () => {
    it('counts the items committed before the resume (batchProcess with progress)', async (t) => {
      const conveyor = await backend.open();
      t.after(() => backend.dispose(conveyor));
      const seen: { attempt: number; resumed: number; firstBatchDone: number }[] = [];
      const reports = conveyor.model('report', {
        async exportRows(job: JobContext, rows: number) {
          const tracker = new ProgressTracker({
            total: rows,
            operationName: 'export',
            logInterval: 0,
            bar: false,
            logger: conveyor.logger,
          });
          const items = Array.from({ length: rows }, (_, i) => i);
          let first = true;
          for await (const batch of batchProcess(items, { batchSize: 2, progress: tracker, logger: conveyor.logger })) {
            if (first) seen.push({ attempt: job.attempt, resumed: tracker.resumed, firstBatchDone: tracker.done });
            first = false;
            // the first run stops after 3 committed batches (6 items), as a time limit would
            if (job.attempt === 1 && batch[0] === 6) throw new RetryableJobError('stopped midway', { seconds: 0 });
          }
          tracker.finish();
          return { rows };
        },
      });
      const job = await reports.withDelay().exportRows(10);
      const runner = conveyor.runner({ workers: 1 });
      await runner.start();
      t.after(() => runner.stop());
      assert.deepEqual(await job.result({ timeoutMs: 30_000 }), { rows: 10 });
      // the second run resumed after the 6 committed items and started counting from there
      assert.deepEqual(seen, [
        { attempt: 1, resumed: 0, firstBatchDone: 0 },
        { attempt: 2, resumed: 6, firstBatchDone: 6 },
      ]);
      const row = await job.refresh();
      assert.equal(row.state, 'done');
      assert.equal(row.progress?.done, 10);
      assert.equal(row.progress?.total, 10);
      // the tracker reports without awaiting; the writes are ordered and stored before the job is done
      assert.match(row.progress?.message ?? '', /^export: done 10\/10 \(100\.0%\)/);
    });

    it('shows a done job as complete on the dashboard even when its last report was partial', async (t) => {
      const conveyor = await backend.open();
      t.after(() => backend.dispose(conveyor));
      const m = conveyor.model('report', {
        async partial(job: JobContext) {
          await job.progress(400, 1500, 'export: 400/1500');
          return 'ok';
        },
      });
      const job = await m.withDelay().partial();
      const runner = conveyor.runner({ workers: 1 });
      await runner.start();
      t.after(() => runner.stop());
      await job.result({ timeoutMs: 30_000 });
      const dashboard = createDashboard(conveyor);
      t.after(() => dashboard.close());
      const res = await new Client(dashboard.fetch).request(`/jobs/${job.id}`);
      const html = await res.text();
      assert.equal(res.status, 200);
      assert.match(html, /<progress max="1500" value="1500">100<\/progress>/);
      assert.match(html, /done \(100 %\) · last reported 400 \/ 1500 · export: 400\/1500/);
      assert.doesNotMatch(html, /\(27 %\)/);
    });
  });
}
