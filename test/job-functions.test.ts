/**
 * Job functions as data: an operator changes a function's channel, retries or limit without a deploy.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, RetryableJobError, ValidationError, type JobContext } from '../src/index.ts';
import { BACKENDS } from './helpers/backends.ts';

for (const backend of BACKENDS) {
  describe(`job functions as data on ${backend.name}`, () => {
    it('stores overrides over the code defaults, used at enqueue and at run time, and resets them', async () => {
      const c = await backend.open({ channels: 'root:4,root.mail:1' });
      try {
        const m = c.model(
          'res.partner',
          {
            async send(job: JobContext) {
              if (job.attempt === 1) throw new RetryableJobError('later');
              return job.attempt;
            },
          },
          { send: { channel: 'root', maxRetries: 5 } },
        );
        const before = (await c.jobFunctions.list()).find((f) => f.name === 'res.partner.send')!;
        assert.equal(before.effective.channel, 'root');
        assert.equal(before.override, null);

        const after = await c.jobFunctions.update('res.partner.send', {
          channel: 'root.mail',
          retryPattern: { 1: 0 },
          maxRetries: 2,
        });
        assert.equal(after.effective.channel, 'root.mail');
        assert.equal(after.code.channel, 'root');
        assert.deepEqual(after.override, { channel: 'root.mail', retryPattern: { 1: 0 }, maxRetries: 2 });

        const job = await m.withDelay().send();
        const row = (await c.jobs.get(job.id))!;
        assert.equal(row.channel, 'root.mail');
        assert.equal(row.maxRetries, 2);
        const r = c.runner({ workers: 2 });
        await r.start();
        try {
          assert.equal(await job.result(), 2, 'retried at once thanks to the stored retry pattern');
        } finally {
          await r.stop();
        }

        // a key set to null is removed from the override
        const other = await c.jobFunctions.update('res.partner.send', { maxRetries: null });
        assert.deepEqual(other.override, { channel: 'root.mail', retryPattern: { 1: 0 } });
        const reset = await c.jobFunctions.reset('res.partner.send');
        assert.equal(reset.effective.channel, 'root');
        assert.equal(reset.override, null);

        await assert.rejects(c.jobFunctions.update('res.partner.send', { channel: 'bad name' }), /invalid|channel/i);
        await assert.rejects(c.jobFunctions.update('res.partner.send', { maxRetries: -1 }), ConfigurationError);
        await assert.rejects(c.jobFunctions.update('res.partner.send', { retryPattern: { x: 1 } }), ValidationError);
        await assert.rejects(c.jobFunctions.update('res.partner.send', { color: 'red' }), /unknown option 'color'/);
        await assert.rejects(c.jobFunctions.update('nope.x', {}), /unknown job function 'nope\.x'/);
      } finally {
        await backend.dispose(c);
      }
    });
  });
}
