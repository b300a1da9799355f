/**
 * `conveyor channels pause|resume|paused` (a real child process) on a SQLite file: the pause is stored,
 * shown by `conveyor channels` and `channels paused`, and seen by the Conveyor API of another process.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Conveyor } from '../src/index.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-pause-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'bin/conveyor.js'), ...args],
      { cwd: tmp, env: { ...process.env, CONVEYOR_DATABASE: '', CONVEYOR_CHANNELS: '' } },
      (err, stdout, stderr) =>
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

describe('conveyor channels pause|resume|paused', () => {
  const db = `sqlite:${path.join(tmp, 'q.db')}`;

  it('pauses and resumes a channel for every process, and lists the pauses', async () => {
    const c = await Conveyor.open({
      database: db,
      logger: 'silent',
      maintenance: false,
      channels: 'root:4,root.mail:2',
    });
    try {
      const m = c.model('res.partner', { async send() {} }, { send: { channel: 'root.mail' } });
      const job = await m.withDelay().send();

      const pause = await cli(['channels', 'pause', 'mail', '--by', 'alice', '--database', db]);
      assert.equal(pause.code, 0, pause.stderr);
      assert.match(pause.stdout, /^root\.mail: paused \(since \d{4}-\d\d-\d\d \d\d:\d\d:\d\d, by alice\)$/m);
      const stored = await c.channelPauses.list();
      assert.deepEqual(
        stored.map((p) => [p.channel, p.pausedBy]),
        [['root.mail', 'alice']],
      );
      assert.match(await c.jobs.explain(job.id), /^channel root\.mail is paused \(since /);

      const listed = await cli(['channels', 'paused', '--database', db, '--json']);
      assert.deepEqual(JSON.parse(listed.stdout), stored);
      const tree = await cli(['channels', '--database', db, '--channels', 'root:4,root.mail:2']);
      assert.match(tree.stdout, /^ {2}root\.mail\s+2\s+0\s+1\s+paused since \d{4}-/m);

      const resume = await cli(['channels', 'resume', 'root.mail', '--database', db]);
      assert.equal(resume.code, 0, resume.stderr);
      assert.match(resume.stdout, /^root\.mail: resumed$/m);
      assert.deepEqual(await c.channelPauses.list(), []);
      assert.match(
        (await cli(['channels', 'resume', 'root.mail', '--database', db])).stdout,
        /root\.mail: was not paused at runtime/,
      );
      assert.match((await cli(['channels', 'paused', '--database', db])).stdout, /no channel is paused at runtime/);

      const bad = await cli(['channels', 'pause', 'bad name', '--database', db]);
      assert.equal(bad.code, 2);
      assert.match(bad.stderr, /invalid channel name 'bad name'/);
    } finally {
      await c.close();
    }
  });
});
