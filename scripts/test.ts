/**
 * `npm test`: typecheck, then every test file on node's test runner. The integration tests run on
 * SQLite and PostgreSQL (see test/helpers/backends.ts; with CI=true an unreachable PostgreSQL fails).
 * Extra arguments are passed to `node --test` (e.g. `npm test -- --test-name-pattern=graph`) or, when
 * they are file paths, replace the file list.
 */
import { spawnSync } from 'node:child_process';
import { globSync } from 'node:fs';

const args = process.argv.slice(2);
const files = args.filter((a) => !a.startsWith('-'));
const flags = args.filter((a) => a.startsWith('-'));

if (!files.length && !process.env.CONVEYOR_SKIP_TYPECHECK) {
  const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], {
    stdio: 'inherit',
  });
  if (tsc.status !== 0) {
    console.error('typecheck failed');
    process.exit(tsc.status ?? 1);
  }
}

const list = files.length
  ? files
  : [
      ...globSync('src/**/*.test.ts'),
      ...globSync('test/**/*.test.ts').filter((f) => !f.startsWith('test/timeouts-decorators/')),
    ].sort();

const run = spawnSync(
  process.execPath,
  ['--test', '--test-concurrency=2', '--test-timeout=300000', ...flags, ...list],
  { stdio: 'inherit', env: process.env },
);
process.exit(run.status ?? 1);
