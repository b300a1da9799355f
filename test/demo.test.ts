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
    const { stdout } = await promisify(execFile)(process.execPath, [path.resolve(import.meta.dirname, '../examples/demo/main.ts'), '--once'], {
      env: { ...process.env, CONVEYOR_DATABASE: `sqlite:${path.join(dir, 'demo.db')}`, CONVEYOR_LOG_LEVEL: 'error' },
      timeout: 120_000,
    });
    assert.match(stdout, /enqueued 25 jobs/);
    assert.match(stdout, /TIMED OUT #\d+ report\.exportSales/);
    assert.match(stdout, /workload finished: \{"done":25\}/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
