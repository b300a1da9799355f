/**
 * The `conveyor` command (a real child process): admin commands, configuration precedence, errors.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { promisify } from 'node:util';
import { Conveyor } from '../src/index.ts';
import { BACKENDS, PG_URL, uniqueSchema } from './helpers/backends.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-cli-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

async function cli(
  args: string[],
  env: Record<string, string> = {},
  cwd = tmp,
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      process.execPath,
      [path.join(ROOT, 'bin/conveyor.js'), ...args],
      {
        cwd,
        env: { ...cleanEnv(), ...env },
      },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** The environment without any CONVEYOR_* setting of the caller's. */
function cleanEnv(): Record<string, string> {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('CONVEYOR_') || k === 'CONVEYOR_TEST_PG'),
  ) as Record<string, string>;
}

/** The options `conveyor run test/fixtures/options-app.ts --once` gave the runner. */
async function runnerOptionsOf(
  args: string[],
  env: Record<string, string> = {},
  cwd = tmp,
): Promise<Record<string, unknown>> {
  const r = await cli(
    ['run', path.join(ROOT, 'test/fixtures/options-app.ts'), '--once', ...args],
    { CONVEYOR_DATABASE: `sqlite:${path.join(tmp, 'options.db')}`, ...env },
    cwd,
  );
  assert.equal(r.code, 0, r.stderr);
  const line = r.stdout.split('\n').find((l) => l.startsWith('RUNNER_OPTIONS '));
  assert.ok(line, r.stdout);
  return JSON.parse(line.slice('RUNNER_OPTIONS '.length)) as Record<string, unknown>;
}

describe('conveyor CLI', () => {
  const db = `sqlite:${path.join(tmp, 'cli.db')}`;
  let ids: number[] = [];

  it('lists, shows, cancels, requeues and sets jobs done', async () => {
    const c = await Conveyor.open({ database: db, logger: 'silent', maintenance: false });
    const m = c.model('res.partner', { async sync() {} });
    ids = (
      await Promise.all([
        m.browse([1]).withDelay({ description: 'Sync 1' }).sync(),
        m.browse([2]).withDelay({ channel: 'root.crm' }).sync(),
      ])
    ).map((j) => j.id);
    await c.close();

    const ls = await cli(['jobs', 'ls', '--database', db, '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.deepEqual(
      JSON.parse(ls.stdout)
        .jobs.map((j: { id: number }) => j.id)
        .sort(),
      [...ids].sort(),
    );
    const table = await cli(['jobs', 'ls', '--database', db, '--channel', 'root.crm']);
    assert.match(table.stdout, new RegExp(`^${ids[1]}\\s+pending\\s+root\\.crm\\s+res\\.partner\\.sync`, 'm'));
    assert.doesNotMatch(table.stdout, /Sync 1/);

    const show = await cli(['jobs', 'show', String(ids[0]), '--database', db]);
    assert.match(show.stdout, /description\s+Sync 1/);
    assert.match(show.stdout, /why\s+/);

    assert.match(
      (await cli(['jobs', 'cancel', String(ids[0]), '--database', db])).stdout,
      new RegExp(`cancel: ${ids[0]}`),
    );
    assert.match(
      (await cli(['jobs', 'requeue', String(ids[0]), '--database', db])).stdout,
      new RegExp(`requeue: ${ids[0]}`),
    );
    assert.match((await cli(['jobs', 'done', String(ids[0]), '--database', db])).stdout, new RegExp(`done: ${ids[0]}`));
    const stats = JSON.parse((await cli(['stats', '--database', db, '--json'])).stdout) as {
      key: { state: string; channel: string };
      count: number;
    }[];
    assert.deepEqual(
      stats.map((r) => [r.key.channel, r.key.state, r.count]),
      [
        ['root', 'done', 1],
        ['root.crm', 'pending', 1],
      ],
    );
  });

  it('takes flags over CONVEYOR_* variables over conveyor.config.json', async () => {
    fs.writeFileSync(
      path.join(tmp, 'conveyor.config.json'),
      JSON.stringify({ database: db, channels: 'root:3,root.file:2' }),
    );
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

describe('conveyor CLI: version, missing databases, settings', () => {
  it('prints the package version with --version and -V', async () => {
    const { version } = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const r = await cli([flag]);
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), version);
    }
  });

  it('refuses a SQLite file that does not exist in every admin command, creating nothing', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'missing-'));
    const file = path.join(dir, 'nope.db');
    for (const args of [['jobs', 'ls'], ['jobs', 'show', '1'], ['stats'], ['channels'], ['timeouts', 'stats']]) {
      const r = await cli([...args, '--database', `sqlite:${file}`], {}, dir);
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.equal(
        r.stderr,
        `conveyor: SQLite database '${file}' does not exist (give the right --database or CONVEYOR_DATABASE; 'conveyor migrate' creates one)\n`,
        args.join(' '),
      );
      assert.equal(r.stdout, '');
    }
    // without --database: the default ./conveyor.db is not created either
    const dflt = await cli(['jobs', 'ls'], {}, dir);
    assert.equal(dflt.code, 2);
    assert.match(dflt.stderr, /SQLite database '\.\/conveyor\.db' does not exist/);
    assert.deepEqual(fs.readdirSync(dir), []);
  });

  it('refuses a PostgreSQL schema that does not exist, naming it', {
    skip: !BACKENDS.some((b) => b.name === 'postgres'),
  }, async () => {
    const schema = uniqueSchema('nocli');
    const r = await cli(['stats', '--database', PG_URL, '--schema', schema]);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      new RegExp(
        `^conveyor: there is no Conveyor schema '${schema}' in postgres://127\\.0\\.0\\.1:5432/test \\(check the database URL and schema; 'conveyor migrate' creates them\\)\n$`,
      ),
    );
    const env = await cli(['jobs', 'ls'], { CONVEYOR_DATABASE: PG_URL, CONVEYOR_SCHEMA: schema });
    assert.equal(env.code, 2);
    assert.match(env.stderr, new RegExp(`no Conveyor schema '${schema}'`));
  });

  it('sets every runner option from the config file, CONVEYOR_* variables and flags, in that order of precedence', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'settings-'));
    fs.writeFileSync(
      path.join(dir, 'conveyor.config.json'),
      JSON.stringify({
        isolation: 'process',
        lease: '9s',
        shutdownGrace: '7s',
        workers: 1,
        heartbeat: 2000,
        maxCrashes: 4,
        killGrace: '2s',
        limitMemorySoft: '700mb',
        pollInterval: '2s',
        runnerId: 'from-file',
        limitTimeRealCron: '1h',
      }),
    );
    const fromFile = await runnerOptionsOf([], {}, dir);
    assert.deepEqual(fromFile, {
      isolation: 'process',
      lease: '9s',
      shutdownGrace: '7s',
      workers: 1,
      heartbeat: 2000,
      maxCrashes: 4,
      killGrace: '2s',
      limitMemorySoft: '700mb',
      pollInterval: '2s',
      id: 'from-file',
      limitTimeRealCron: '1h',
      module: path.join(ROOT, 'test/fixtures/options-app.ts'),
    });
    const env = {
      CONVEYOR_ISOLATION: 'inline',
      CONVEYOR_LEASE: '12s',
      CONVEYOR_SHUTDOWN_GRACE: '5s',
      CONVEYOR_WORKERS: '',
      CONVEYOR_RUNNER_ID: 'from-env',
    };
    const fromEnv = await runnerOptionsOf([], env, dir);
    assert.deepEqual(
      [fromEnv.isolation, fromEnv.lease, fromEnv.shutdownGrace, fromEnv.id],
      ['inline', '12s', '5s', 'from-env'],
    );
    assert.equal(fromEnv.workers, 1, 'an empty variable counts as unset: the file decides');
    assert.equal(fromEnv.maxCrashes, 4);
    const fromFlags = await runnerOptionsOf(
      ['--isolation', 'process', '--lease', '15s', '--shutdown-grace', '1s', '--runner-id', 'from-flag'],
      env,
      dir,
    );
    assert.deepEqual(
      [fromFlags.isolation, fromFlags.lease, fromFlags.shutdownGrace, fromFlags.id],
      ['process', '15s', '1s', 'from-flag'],
    );
    assert.equal(fromFlags.heartbeat, 2000);
  });

  it('names the source of a bad setting', async () => {
    const dir = fs.mkdtempSync(path.join(tmp, 'bad-'));
    const app = path.join(ROOT, 'test/fixtures/options-app.ts');
    const env = { CONVEYOR_DATABASE: `sqlite:${path.join(dir, 'x.db')}` };
    let r = await cli(['run', app, '--once', '--lease', 'soon'], env, dir);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /invalid --lease: expected milliseconds .* got 'soon'/);
    r = await cli(['run', app, '--once'], { ...env, CONVEYOR_WORKERS: 'many' }, dir);
    assert.match(r.stderr, /CONVEYOR_WORKERS: expected an integer, got 'many'/);
    fs.writeFileSync(path.join(dir, 'conveyor.config.json'), JSON.stringify({ shutdownGrce: '5s' }));
    r = await cli(['run', app, '--once'], env, dir);
    assert.equal(r.code, 2);
    assert.match(
      r.stderr,
      /config file 'conveyor.config.json': unknown key 'shutdownGrce' \(did you mean 'shutdownGrace'\?\)/,
    );
    assert.equal(
      fs.existsSync(path.join(dir, 'x.db')),
      false,
      'a bad setting is reported before anything opens the database',
    );
  });
});

/** A `conveyor run` child process whose output lines can be awaited. */
function runProcess(args: string[], env: Record<string, string>) {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin/conveyor.js'), 'run', ...args], {
    env: { ...cleanEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const waiters: { re: RegExp; resolve(line: string): void }[] = [];
  readline.createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const w of [...waiters])
      if (w.re.test(line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    lines,
    exited,
    stderr: () => stderr,
    waitFor: (re: RegExp) =>
      new Promise<string>((resolve) => {
        const seen = lines.find((l) => re.test(l));
        if (seen) resolve(seen);
        else waiters.push({ re, resolve });
      }),
  };
}

for (const backend of BACKENDS) {
  describe(`conveyor run on ${backend.name}`, () => {
    const store = (): Record<string, string> =>
      backend.name === 'postgres'
        ? { CONVEYOR_DATABASE: PG_URL, CONVEYOR_SCHEMA: uniqueSchema('clirun') }
        : { CONVEYOR_DATABASE: `sqlite:${path.join(tmp, `run-${Math.random().toString(36).slice(2)}.db`)}` };

    it('--once runs every due job, leaves future ones, then exits 0', async () => {
      const env = store();
      const c = await Conveyor.open({
        database: env.CONVEYOR_DATABASE,
        schema: env.CONVEYOR_SCHEMA,
        logger: 'silent',
        maintenance: false,
      });
      try {
        const probe = c.model('probe', { async work(_job: unknown, _ms: number) {} });
        const now = await Promise.all([1, 2, 3].map((n) => probe.browse([n]).withDelay().work(10)));
        const later = await probe.withDelay({ eta: '1h' }).work(10);
        const r = runProcess([path.join(ROOT, 'test/fixtures/app.ts'), '--once', '--workers', '2'], {
          ...env,
          CONVEYOR_LOG_LEVEL: 'warn',
        });
        const { code } = await r.exited;
        assert.equal(code, 0, r.stderr());
        assert.ok(
          r.lines.some((l) => /^runner .* no job is due, stopping \(--once\)$/.test(l)),
          r.lines.join('\n'),
        );
        for (const j of now) assert.equal((await j.refresh()).state, 'done');
        assert.equal((await later.refresh()).state, 'pending');
      } finally {
        if (env.CONVEYOR_SCHEMA) await (c.driver as unknown as { dropSchema(): Promise<void> }).dropSchema();
        await c.close();
      }
    });
  });
}

describe('conveyor run and SIGTERM', () => {
  it('stops gracefully when SIGTERM arrives the moment the start line is printed (5 times)', async () => {
    const database = `sqlite:${path.join(tmp, 'sigterm.db')}`;
    await (await Conveyor.open({ database, logger: 'silent', maintenance: false })).close();
    for (let i = 0; i < 5; i++) {
      const r = runProcess([path.join(ROOT, 'test/fixtures/app.ts')], {
        CONVEYOR_DATABASE: database,
        CONVEYOR_LOG_LEVEL: 'info',
      });
      await r.waitFor(/^runner .* started/);
      r.child.kill('SIGTERM');
      const exit = await r.exited;
      assert.deepEqual(exit, { code: 0, signal: null }, `try ${i + 1}: ${r.stderr()}`);
      assert.ok(
        r.lines.some((l) => /^runner .* stopped$/.test(l)),
        `try ${i + 1}: ${r.lines.join(' | ')}`,
      );
    }
  });
});
