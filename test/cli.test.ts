/**
 * The `conveyor` command (a real child process): admin commands, configuration precedence, errors.
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
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}, cwd = tmp): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin/conveyor.js'), ...args], {
      cwd, env: { ...process.env, CONVEYOR_DATABASE: '', CONVEYOR_CHANNELS: '', ...env },
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('conveyor CLI', () => {
  const db = `sqlite:${path.join(tmp, 'cli.db')}`;
  let ids: number[] = [];

  it('lists, shows, cancels, requeues and sets jobs done', async () => {
    const c = await Conveyor.open({ database: db, logger: 'silent', maintenance: false });
    const m = c.model('res.partner', { async sync() {} });
    ids = (await Promise.all([m.browse([1]).withDelay({ description: 'Sync 1' }).sync(), m.browse([2]).withDelay({ channel: 'root.crm' }).sync()])).map((j) => j.id);
    await c.close();

    const ls = await cli(['jobs', 'ls', '--database', db, '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout).jobs.map((j: { id: number }) => j.id).sort(), [...ids].sort());
    const table = await cli(['jobs', 'ls', '--database', db, '--channel', 'root.crm']);
    assert.match(table.stdout, new RegExp(`^${ids[1]}\\s+pending\\s+root\\.crm\\s+res\\.partner\\.sync`, 'm'));
    assert.doesNotMatch(table.stdout, /Sync 1/);

    const show = await cli(['jobs', 'show', String(ids[0]), '--database', db]);
    assert.match(show.stdout, /description\s+Sync 1/);
    assert.match(show.stdout, /why\s+/);

    assert.match((await cli(['jobs', 'cancel', String(ids[0]), '--database', db])).stdout, new RegExp(`cancel: ${ids[0]}`));
    assert.match((await cli(['jobs', 'requeue', String(ids[0]), '--database', db])).stdout, new RegExp(`requeue: ${ids[0]}`));
    assert.match((await cli(['jobs', 'done', String(ids[0]), '--database', db])).stdout, new RegExp(`done: ${ids[0]}`));
    const stats = JSON.parse((await cli(['stats', '--database', db, '--json'])).stdout) as { key: { state: string; channel: string }; count: number }[];
    assert.deepEqual(stats.map((r) => [r.key.channel, r.key.state, r.count]), [['root', 'done', 1], ['root.crm', 'pending', 1]]);
  });

  it('takes flags over CONVEYOR_* variables over conveyor.config.json', async () => {
    fs.writeFileSync(path.join(tmp, 'conveyor.config.json'), JSON.stringify({ database: 'sqlite::memory:', channels: 'root:3,root.file:2' }));
    const fromFile = await cli(['channels', '--json']);
    assert.equal(JSON.parse(fromFile.stdout).config, 'root:3,root.file:2');
    const fromEnv = await cli(['channels', '--json'], { CONVEYOR_CHANNELS: 'root:5,root.env:1' });
    assert.equal(JSON.parse(fromEnv.stdout).config, 'root:5,root.env:1');
    const fromFlag = await cli(['channels', '--json', '--channels', 'root:7'], { CONVEYOR_CHANNELS: 'root:5' });
    assert.equal(JSON.parse(fromFlag.stdout).config, 'root:7');
    fs.writeFileSync(path.join(tmp, 'conveyor.config.json'), JSON.stringify({ databse: 'x' }));
    const bad = await cli(['stats']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /unknown key 'databse'/);
    fs.rmSync(path.join(tmp, 'conveyor.config.json'));
  });

  it('migrates, prints help, and fails clearly on bad input', async () => {
    const m = await cli(['migrate', '--database', `sqlite:${path.join(tmp, 'fresh.db')}`, '--json']);
    assert.equal(m.code, 0, m.stderr);
    assert.ok(JSON.parse(m.stdout).version >= 1);
    const help = await cli(['--help']);
    assert.match(help.stdout, /Usage: conveyor/);
    assert.match(help.stdout, /jobs/);
    const badDb = await cli(['jobs', 'ls', '--database', 'mysql://x']);
    assert.equal(badDb.code, 2);
    assert.match(badDb.stderr, /cannot open database 'mysql:\/\/x'/);
    const badId = await cli(['jobs', 'requeue', 'abc', '--database', db]);
    assert.equal(badId.code, 2);
    assert.match(badId.stderr, /expected job ids \(positive integers\), got 'abc'/);
    const badModule = await cli(['run', path.join(tmp, 'missing.ts')]);
    assert.equal(badModule.code, 2);
    assert.match(badModule.stderr, /cannot load module/);
  });
});
