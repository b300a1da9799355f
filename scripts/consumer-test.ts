/**
 * `npm run test:consumer` (run by `.ci/run` after `npm test`): the test that a release works. Packs the
 * package with `npm pack` (which builds it on `prepack`), installs the tarball into a fresh temporary
 * directory, and in consumer projects there:
 * - `ts-esm`: TypeScript strict ESM compiled with the repository's TypeScript 7 and with TypeScript 5.x
 *   (installed into the consumer from the npm registry), both with default settings (no `types`, no
 *   `lib`, no `skipLibCheck`; `target: es2022`, whose lib lacks `esnext.disposable`), then run;
 * - `js-esm`: plain JavaScript ESM;
 * - `cjs`: CommonJS `require('conveyor-queue')` (Node's require of ESM);
 * - `ts-node10`: TypeScript with `moduleResolution: node10` (TypeScript 5.x; TypeScript 7 dropped node10);
 * each runs a real job on SQLite; then `npx conveyor --help`, `npx conveyor --version` and
 * `npx conveyor run ./app.ts` on a module whose job was enqueued before.
 * With `bun` / `deno` on PATH (or `CONVEYOR_CONSUMER_RUNTIMES=bun,deno` naming binaries, e.g. also an
 * older `node` such as 22.x), the JavaScript consumer also runs on them, on SQLite and PostgreSQL
 * (`CONVEYOR_TEST_PG`).
 *
 * Needs only the npm registry (or its cache). Prints `N passed, N failed` and exits non-zero on failure.
 * `--keep` keeps the temporary directory.
 */
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const keep = process.argv.includes('--keep');
const PG_URL = process.env.CONVEYOR_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';
const TYPESCRIPT_5 = 'typescript@5';
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-consumer-'));
const results: { name: string; ok: boolean | 'skip'; detail?: string }[] = [];
const started = Date.now();

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd, encoding: 'utf8', env: childEnv(env), timeout: 180_000 });
}

/** The environment of the commands: this Node first on PATH (what `npx` and the bin's shebang pick). */
function childEnv(env: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    PATH: `${path.dirname(process.execPath)}${path.delimiter}${process.env.PATH ?? ''}`,
    CI: '',
    ...env,
  };
}

function output(r: SpawnSyncReturns<string>): string {
  return `exit ${r.status ?? r.signal}${r.error ? ` (${r.error.message})` : ''}\n${r.stdout ?? ''}${r.stderr ?? ''}`.trim();
}

function record(name: string, ok: boolean | 'skip', detail?: string): void {
  results.push({ name, ok, detail });
  const mark = ok === 'skip' ? 'skip  ' : ok ? 'ok    ' : 'FAILED';
  console.log(`${mark} ${name}${ok === true || !detail ? '' : `\n${detail.replace(/^/gm, '       ')}`}`);
}

/** Run a command; passes when it exits 0 and its output matches `expect` (when given). */
function check(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  expect?: RegExp,
  env?: NodeJS.ProcessEnv,
): boolean {
  const r = run(cmd, args, cwd, env);
  const ok = r.status === 0 && (!expect || expect.test(`${r.stdout}${r.stderr}`));
  record(
    name,
    ok,
    ok ? undefined : `${cmd} ${args.join(' ')}: ${output(r)}${expect ? `\nexpected output to match ${expect}` : ''}`,
  );
  return ok;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text.trimStart());
}

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const NPX = process.platform === 'win32' ? 'npx.cmd' : 'npx';
const TSC7 = path.join(ROOT, 'node_modules/typescript/bin/tsc');

// The job every consumer runs: enqueue, start a runner, await the result, stop, close.
const JOB_BODY = `
const conveyor = await Conveyor.open({ database: DATABASE, schema: SCHEMA, logger: 'silent' });
const math = conveyor.model('consumer.math', {
  async add(_job, a, b) { return a + b; },
});
const job = await math.withDelay({ description: 'consumer job' }).add(2, 3);
const runner = conveyor.runner({ workers: 1 });
await runner.start();
const result = await job.result({ timeoutMs: 30_000 });
await runner.stop();
await conveyor.close();
if (result !== 5) throw new Error('expected 5, got ' + String(result));
console.log('job result ' + result);
`;

try {
  // 1. pack (prepack builds dist/)
  const pack = run(NPM, ['pack', '--json', '--pack-destination', tmp], ROOT);
  let tarball = '';
  if (pack.status === 0) {
    const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('['))) as {
      filename: string;
      files: { path: string }[];
    }[];
    tarball = path.join(tmp, info[0].filename);
    const files = info[0].files.map((f) => f.path);
    const missing = [
      'dist/index.js',
      'dist/index.d.ts',
      'dist/cli/main.js',
      'dist/dashboard/static/htmx.min.js',
      'bin/conveyor.js',
      'LICENSE',
      'README.md',
    ].filter((f) => !files.includes(f));
    const maps = files.filter((f) => f.endsWith('.map'));
    const sources = files.filter((f) => f.startsWith('src/') || f.startsWith('test/'));
    record(
      `npm pack ships the code (${files.length} files)`,
      !missing.length && !maps.length && !sources.length,
      `missing: ${missing.join(', ') || 'none'}; source maps: ${maps.length}; src/test files: ${sources.length}`,
    );
  } else {
    record('npm pack', false, output(pack));
    throw new Error('npm pack failed');
  }

  // 2. one install root; each consumer is a sub-project with its own package.json and tsconfig
  write(
    path.join(tmp, 'package.json'),
    JSON.stringify({ name: 'consumer-root', private: true, type: 'module' }, null, 2),
  );
  const install = run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', tarball, TYPESCRIPT_5], tmp);
  if (install.status !== 0) {
    record(`npm install the tarball and ${TYPESCRIPT_5}`, false, output(install));
    throw new Error('npm install failed');
  }
  record(`npm install the tarball and ${TYPESCRIPT_5}`, true);
  const TSC5 = path.join(tmp, 'node_modules/typescript/bin/tsc');
  const ts5Version = JSON.parse(fs.readFileSync(path.join(tmp, 'node_modules/typescript/package.json'), 'utf8'))
    .version as string;
  const ts7Version = JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules/typescript/package.json'), 'utf8'))
    .version as string;
  const installed = JSON.parse(fs.readFileSync(path.join(tmp, 'node_modules/conveyor-queue/package.json'), 'utf8')) as {
    dependencies: Record<string, string>;
  };
  const exact = Object.entries(installed.dependencies).filter(([, range]) => /^\d/.test(range));
  record('runtime dependencies use ranges', !exact.length, `pinned: ${exact.map(([n, r]) => `${n}@${r}`).join(', ')}`);

  // (a) TypeScript strict ESM, tsc 7 and tsc 5, default settings
  const tsEsm = path.join(tmp, 'ts-esm');
  write(path.join(tsEsm, 'package.json'), JSON.stringify({ name: 'ts-esm', private: true, type: 'module' }));
  write(
    path.join(tsEsm, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: { strict: true, module: 'nodenext', target: 'es2022', outDir: 'out' },
        include: ['main.ts'],
      },
      null,
      2,
    ),
  );
  write(
    path.join(tsEsm, 'main.ts'),
    `
import { Conveyor, type JobContext } from 'conveyor-queue';
import { withTimeout, ProgressTracker } from 'conveyor-queue/timeouts';
import { trapJobs } from 'conveyor-queue/testing';
import type { DashboardOptions } from 'conveyor-queue/dashboard';

const DATABASE: string = 'sqlite::memory:';
const conveyor = await Conveyor.open({ database: DATABASE, logger: 'silent' });
const math = conveyor.model('consumer.math', {
  async add(job: JobContext, a: number, b: number) {
    using progress = new ProgressTracker({ total: 1, job: null, bar: false, logger: conveyor.logger });
    progress.increment();
    return withTimeout(5_000, async () => a + b + job.records.length);
  },
});
// @ts-expect-error: a wrong argument type is caught at the call site
void (() => math.withDelay().add('2', 3));
const job = await math.withDelay({ description: 'consumer job' }).add(2, 3);
const runner = conveyor.runner({ workers: 1 });
await runner.start();
const result: number = await job.result({ timeoutMs: 30_000 });
await runner.stop();
await conveyor.close();
const options: DashboardOptions = { basePath: '/queue' };
if (result !== 5 || typeof trapJobs !== 'function' || !options.basePath) throw new Error('expected 5, got ' + String(result));
console.log('job result ' + result);
`,
  );
  for (const [label, tsc] of [
    [`TypeScript ${ts7Version}`, TSC7],
    [`TypeScript ${ts5Version}`, TSC5],
  ] as const) {
    fs.rmSync(path.join(tsEsm, 'out'), { recursive: true, force: true });
    if (
      check(
        `(a) TS strict ESM compiles with ${label}, default settings`,
        process.execPath,
        [tsc, '-p', 'tsconfig.json'],
        tsEsm,
      )
    ) {
      check(
        `(a) TS strict ESM (${label}) runs a job on SQLite`,
        process.execPath,
        ['out/main.js'],
        tsEsm,
        /job result 5/,
      );
    }
  }

  // (b) plain JavaScript ESM
  const jsEsm = path.join(tmp, 'js-esm');
  write(path.join(jsEsm, 'package.json'), JSON.stringify({ name: 'js-esm', private: true, type: 'module' }));
  write(
    path.join(jsEsm, 'main.js'),
    `
import { Conveyor } from 'conveyor-queue';
const DATABASE = process.env.DATABASE ?? 'sqlite::memory:';
const SCHEMA = process.env.SCHEMA || undefined;
${JOB_BODY}`,
  );
  check('(b) JavaScript ESM runs a job on SQLite', process.execPath, ['main.js'], jsEsm, /job result 5/);

  // (c) CommonJS require (Node's require of ESM)
  const cjs = path.join(tmp, 'cjs');
  write(path.join(cjs, 'package.json'), JSON.stringify({ name: 'cjs', private: true, type: 'commonjs' }));
  write(
    path.join(cjs, 'main.js'),
    `
const { Conveyor } = require('conveyor-queue');
const { withTimeout } = require('conveyor-queue/timeouts');
const DATABASE = 'sqlite::memory:';
const SCHEMA = undefined;
(async () => {
${JOB_BODY}
if (typeof withTimeout !== 'function') throw new Error('conveyor-queue/timeouts');
})().catch((err) => { console.error(err); process.exitCode = 1; });
`,
  );
  check('(c) CommonJS require() runs a job on SQLite', process.execPath, ['main.js'], cjs, /job result 5/);

  // (d) TypeScript, moduleResolution node10, compiled to CommonJS
  const node10 = path.join(tmp, 'ts-node10');
  write(path.join(node10, 'package.json'), JSON.stringify({ name: 'ts-node10', private: true, type: 'commonjs' }));
  write(
    path.join(node10, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          strict: true,
          module: 'commonjs',
          moduleResolution: 'node10',
          target: 'es2022',
          outDir: 'out',
        },
        include: ['main.ts'],
      },
      null,
      2,
    ),
  );
  write(
    path.join(node10, 'main.ts'),
    `
import { Conveyor, type JobContext } from 'conveyor-queue';
import { withTimeout } from 'conveyor-queue/timeouts';
import { trapJobs } from 'conveyor-queue/testing';

async function main(): Promise<void> {
  const conveyor = await Conveyor.open({ database: 'sqlite::memory:', logger: 'silent' });
  const math = conveyor.model('consumer.math', {
    async add(_job: JobContext, a: number, b: number) { return withTimeout(5_000, async () => a + b); },
  });
  const job = await math.withDelay().add(2, 3);
  const runner = conveyor.runner({ workers: 1 });
  await runner.start();
  const result: number = await job.result({ timeoutMs: 30_000 });
  await runner.stop();
  await conveyor.close();
  if (result !== 5 || typeof trapJobs !== 'function') throw new Error('expected 5, got ' + String(result));
  console.log('job result ' + result);
}
void main();
`,
  );
  if (
    check(
      `(d) TS moduleResolution node10 compiles with TypeScript ${ts5Version}`,
      process.execPath,
      [TSC5, '-p', 'tsconfig.json'],
      node10,
    )
  ) {
    check(
      '(d) TS node10 consumer (CommonJS output) runs a job on SQLite',
      process.execPath,
      ['out/main.js'],
      node10,
      /job result 5/,
    );
  }

  // 3. the CLI
  const cliDir = path.join(tmp, 'cli');
  write(path.join(cliDir, 'package.json'), JSON.stringify({ name: 'cli', private: true, type: 'module' }));
  const help = run(NPX, ['--no-install', 'conveyor', '--help'], cliDir);
  record('npx conveyor --help', help.status === 0 && /Usage: conveyor/.test(help.stdout), output(help));
  if (/--version\b/.test(help.stdout)) {
    const pkgVersion = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string })
      .version;
    check(
      'npx conveyor --version',
      NPX,
      ['--no-install', 'conveyor', '--version'],
      cliDir,
      new RegExp(pkgVersion.replace(/\./g, '\\.')),
    );
  } else {
    // a CLI from before --version (kept so the script also checks older checkouts)
    record('npx conveyor --version', 'skip', 'the CLI lists no --version yet');
  }
  write(
    path.join(cliDir, 'app.ts'),
    `
import { Conveyor, type JobContext } from 'conveyor-queue';
const conveyor = await Conveyor.open({ database: 'sqlite:./cli.db', logger: 'warn' });
export const greeter = conveyor.model('consumer.cli', {
  async hello(_job: JobContext, name: string) {
    console.log('JOB RAN hello ' + name);
    return 'hello ' + name;
  },
});
export default conveyor;
`,
  );
  write(
    path.join(cliDir, 'enqueue.js'),
    `
import app, { greeter } from './app.ts';
const job = await greeter.withDelay().hello('world');
await app.close();
console.log('enqueued ' + job.id);
`,
  );
  write(
    path.join(cliDir, 'state.js'),
    `
import { Conveyor } from 'conveyor-queue';
const conveyor = await Conveyor.open({ database: 'sqlite:./cli.db', logger: 'silent' });
const rows = await conveyor.jobs.list({ limit: 10 });
await conveyor.close();
console.log(JSON.stringify(rows.jobs.map((r) => [r.state, r.result])));
`,
  );
  if (check('enqueue a job for `conveyor run`', process.execPath, ['enqueue.js'], cliDir, /enqueued \d+/)) {
    const runHelp = run(NPX, ['--no-install', 'conveyor', 'run', '--help'], cliDir);
    const once = /--once\b/.test(runHelp.stdout);
    const ok = await conveyorRun(cliDir, once);
    record(
      `npx conveyor run ./app.ts${once ? ' --once' : ' (stopped with SIGTERM once the job ran)'}`,
      ok.ok,
      ok.detail,
    );
    if (ok.ok)
      check(
        'the job run by `conveyor run` is done with its result',
        process.execPath,
        ['state.js'],
        cliDir,
        /\["done","hello world"\]/,
      );
  }

  // 4. other runtimes (when present): the JavaScript consumer on SQLite and PostgreSQL
  const runtimes = (process.env.CONVEYOR_CONSUMER_RUNTIMES ?? 'bun,deno')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const runtime of runtimes) {
    const name = path.basename(runtime);
    const probe = spawnSync(runtime, ['--version'], { encoding: 'utf8' });
    if (probe.status !== 0) {
      record(`${name}: JavaScript consumer`, 'skip', `${runtime} not found on PATH`);
      continue;
    }
    const first = probe.stdout.trim().split('\n')[0];
    const version = first.toLowerCase().includes(name.toLowerCase()) ? first : `${name} ${first}`;
    const args = name.startsWith('deno') ? ['run', '-A', 'main.js'] : ['main.js'];
    check(`${version}: JavaScript consumer on SQLite`, runtime, args, jsEsm, /job result 5/, {
      DATABASE: `sqlite:${path.join(jsEsm, `${name}.db`)}`,
    });
    const pgInstall =
      fs.existsSync(path.join(tmp, 'node_modules/pg')) ||
      run(NPM, ['install', '--no-audit', '--no-fund', '--prefer-offline', 'pg@8'], tmp).status === 0;
    if (pgInstall) {
      // its own schema in the shared test database, dropped afterwards
      const schema = `consumer_${process.pid}_${name.replace(/\W/g, '_')}`;
      check(`${version}: JavaScript consumer on PostgreSQL`, runtime, args, jsEsm, /job result 5/, {
        DATABASE: PG_URL,
        SCHEMA: schema,
      });
      await dropSchema(schema);
    } else {
      record(`${version}: JavaScript consumer on PostgreSQL`, false, 'could not install pg');
    }
  }
} catch (err) {
  record('consumer test', false, (err as Error).stack);
} finally {
  if (keep) console.log(`kept ${tmp}`);
  else fs.rmSync(tmp, { recursive: true, force: true });
}

/** Drop a schema made by a consumer run (with the repository's own pg). */
async function dropSchema(schema: string): Promise<void> {
  const { default: pg } = await import('pg');
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } catch (err) {
    console.log(`(could not drop schema ${schema}: ${(err as Error).message})`);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `conveyor run ./app.ts` until the enqueued job ran: with `--once` it exits by itself; else SIGTERM. */
function conveyorRun(cwd: string, once: boolean): Promise<{ ok: boolean; detail: string }> {
  return new Promise((resolve) => {
    // the bin npx resolves, started directly so that SIGTERM reaches the CLI itself
    const bin = path.join(tmp, 'node_modules/conveyor-queue/bin/conveyor.js');
    const child = spawn(process.execPath, [bin, 'run', './app.ts', '--workers', '1', ...(once ? ['--once'] : [])], {
      cwd,
      env: childEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let ran = false;
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (!ran && out.includes('JOB RAN hello world')) {
        ran = true;
        if (!once) child.kill('SIGTERM');
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: ran && code === 0, detail: `exit ${code ?? signal}, job ran: ${ran}\n${out}` });
    });
  });
}

const passed = results.filter((r) => r.ok === true).length;
const failed = results.filter((r) => r.ok === false).length;
const skipped = results.filter((r) => r.ok === 'skip').length;
console.log(
  `\nconsumer test: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''} (${((Date.now() - started) / 1000).toFixed(1)} s)`,
);
process.exitCode = failed ? 1 : 0;
