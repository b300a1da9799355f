/**
 * The CLI's option table: flags > CONVEYOR_* variables > config file, values checked and named by source.
 */
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { ConfigurationError } from '../errors.ts';
import { addOptions, CLI_OPTIONS, envName, readConfigFile, resolveOptions, runnerOptions } from './config.ts';

const saved = { ...process.env };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cfg-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let files = 0;
afterEach(() => {
  for (const k of Object.keys(process.env)) if (k.startsWith('CONVEYOR_') && !(k in saved)) delete process.env[k];
  Object.assign(process.env, saved);
});

function parsed(args: string[], file?: object): Command {
  const cmd = new Command('run').exitOverride();
  addOptions(cmd, 'global');
  addOptions(cmd, 'run');
  cmd.option('--config <file>');
  if (file) {
    const p = path.join(tmp, `c${files++}.json`);
    fs.writeFileSync(p, JSON.stringify(file));
    args = [...args, '--config', p];
  }
  return cmd.parse(args, { from: 'user' });
}

describe('CLI settings', () => {
  it('derives one variable per key and maps runner keys', () => {
    assert.equal(envName('limitTimeReal'), 'CONVEYOR_LIMIT_TIME_REAL');
    assert.equal(envName('shutdownGrace'), 'CONVEYOR_SHUTDOWN_GRACE');
    const keys = CLI_OPTIONS.map((o) => o.key);
    assert.equal(new Set(keys).size, keys.length);
    assert.deepEqual(runnerOptions({ runnerId: 'r1', lease: '5s', database: 'sqlite:x' }), { id: 'r1', lease: '5s' });
  });

  it('takes the flag over the variable over the file, for each key', () => {
    for (const key of ['isolation', 'lease', 'shutdownGrace', 'workers'] as const) {
      const spec = CLI_OPTIONS.find((o) => o.key === key)!;
      const [fileValue, envValue, flagValue] =
        key === 'isolation' ? ['process', 'inline', 'process'] : key === 'workers' ? [3, '5', '7'] : ['3s', '5s', '7s'];
      const flag = spec.flag.split(' ')[0]!;
      assert.equal(resolveOptions(parsed([], { [key]: fileValue }), 'run')[key], fileValue);
      process.env[envName(key)] = envValue;
      const fromEnv = resolveOptions(parsed([], { [key]: fileValue }), 'run')[key];
      assert.equal(fromEnv, key === 'workers' ? 5 : envValue);
      const fromFlag = resolveOptions(parsed([flag, String(flagValue)], { [key]: fileValue }), 'run')[key];
      assert.equal(fromFlag, key === 'workers' ? 7 : flagValue);
      process.env[envName(key)] = '';
      assert.equal(
        resolveOptions(parsed([], { [key]: fileValue }), 'run')[key],
        fileValue,
        `${key}: an empty variable is unset`,
      );
    }
  });

  it('refuses bad values, naming their source', () => {
    assert.throws(
      () => resolveOptions(parsed(['--lease', 'soon']), 'run'),
      (e: unknown) => e instanceof ConfigurationError && /invalid --lease: .*got 'soon'/.test(e.message),
    );
    process.env.CONVEYOR_WORKERS = '2.5';
    assert.throws(() => resolveOptions(parsed([]), 'run'), /CONVEYOR_WORKERS: expected an integer, got '2\.5'/);
    delete process.env.CONVEYOR_WORKERS;
    assert.throws(
      () => resolveOptions(parsed(['--isolation', 'thread']), 'run'),
      /--isolation: expected 'inline' or 'process', got 'thread'/,
    );
    assert.throws(
      () => resolveOptions(parsed([], { limitMemoryHard: 'lots' }), 'run'),
      /config file '.*c\d+\.json': limitMemoryHard/,
    );
    assert.throws(
      () => resolveOptions(parsed([], { isolation: 'threads' }), 'run'),
      /config file '.*c\d+\.json': isolation: expected 'inline' or 'process', got 'threads'/,
    );
    assert.throws(
      () => resolveOptions(parsed([], { leese: '5s' }), 'run'),
      /unknown key 'leese' \(did you mean 'lease'\?\)/,
    );
    assert.throws(
      () => readConfigFile(path.join(os.tmpdir(), 'does-not-exist-conveyor.json')),
      /cannot read config file/,
    );
  });

  it('reads settings without a flag on this command from their variable or the file', () => {
    process.env.CONVEYOR_DASHBOARD_PORT = '9999';
    assert.equal(resolveOptions(parsed([], { dashboardHost: '127.0.0.2' }), 'run').dashboardPort, 9999);
    assert.equal(resolveOptions(parsed([], { dashboardHost: '127.0.0.2' }), 'run').dashboardHost, '127.0.0.2');
  });
});
