/**
 * `conveyor cron ls|pause|resume|run` (a real child process), and admin commands leaving the
 * application's scheduled jobs as it registered them.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { Conveyor } from '../src/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cron-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/conveyor.js'), ...args],
      {
        cwd: tmp,
        env: { ...process.env, CONVEYOR_DATABASE: '', CONVEYOR_CHANNELS: '' },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('conveyor cron', () => {
  it('lists, pauses, resumes and runs scheduled jobs; admin commands do not re-register the built-ins', async () => {
    const db = `sqlite:${path.join(tmp, 'cron.db')}`;
    const c = await Conveyor.open({ database: db, logger: 'silent', maintenance: { jobRetentionDays: 9 } });
    try {
      const shop = c.model('shop', {
        async report() {
          return 1;
        },
      });
      await c.cron('nightly', '0 3 * * *', shop.report, [], { timezone: 'Europe/Paris' });

      const table = await cli(['cron', 'ls', '--database', db]);
      assert.equal(table.code, 0, table.stderr);
      assert.match(
        table.stdout,
        /^nightly\s+0 3 \* \* \* \(Europe\/Paris\)\s+shop\.report\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+-\s+active$/m,
      );
      assert.match(table.stdout, /^conveyor\.job_retention\s+every 1d\s+conveyor\.maintenance\.jobRetention/m);

      assert.equal((await cli(['cron', 'pause', 'nightly', '--database', db])).stdout.trim(), 'nightly: paused');
      assert.equal((await c.crons.get('nightly'))!.paused, true);
      assert.equal((await cli(['cron', 'resume', 'nightly', '--database', db])).stdout.trim(), 'nightly: resumed');
      assert.equal((await c.crons.get('nightly'))!.paused, false);
      const run = await cli(['cron', 'run', 'nightly', '--database', db, '--json']);
      const { jobId } = JSON.parse(run.stdout) as { jobId: number };
      assert.equal((await c.jobs.get(jobId))!.description, 'shop.report (scheduled nightly, run now)');

      const bad = await cli(['cron', 'pause', 'nope', '--database', db]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /no scheduled job named 'nope'/);

      // the CLI's own Conveyor (no application module) leaves the application's settings alone
      for (const args of [['cron', 'ls'], ['jobs', 'ls'], ['channels'], ['migrate']])
        assert.equal((await cli([...args, '--database', db])).code, 0, args.join(' '));
      const list = JSON.parse((await cli(['cron', 'ls', '--database', db, '--json'])).stdout) as {
        name: string;
        args: unknown[];
      }[];
      assert.deepEqual(list.find((x) => x.name === 'conveyor.job_retention')!.args, [9]);
    } finally {
      await c.close();
    }
  });
});
