/**
 * The demo of `npm start` runs its workload to the end on a fresh SQLite file (in `--once` mode):
 * graphs, retries and a job stopped by its time limit then resumed.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

it('npm start demo runs its workload to the end', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-demo-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [path.resolve(import.meta.dirname, '../examples/demo/main.ts'), '--once'],
      {
        env: { ...process.env, CONVEYOR_DATABASE: `sqlite:${path.join(dir, 'demo.db')}`, CONVEYOR_LOG_LEVEL: 'error' },
        timeout: 120_000,
      },
    );
    assert.match(stdout, /enqueued 25 jobs/);
    assert.match(stdout, /TIMED OUT #\d+ report\.exportSales/);
    assert.match(stdout, /workload finished: \{"done":25\}/);
    // one log format (HH:MM:SS, two spaces, the message), and the load line only when it changed
    const lines = stdout.trim().split('\n');
    assert.deepEqual(
      lines.filter((l) => !/^\d\d:\d\d:\d\d {2}\S/.test(l)),
      [],
    );
    const loads = lines.filter((l) => / {2}load {6}/.test(l)).map((l) => l.slice(10));
    assert.deepEqual(
      loads.filter((l, i) => i > 0 && l === loads[i - 1]),
      [],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
