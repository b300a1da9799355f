/**
 * `npm test`: typecheck, lint (Biome: formatting, lint rules, import cycles), then every test file on node's
 * test runner. The integration tests run on
 * SQLite and PostgreSQL (see test/helpers/backends.ts; with CI=true an unreachable PostgreSQL fails).
 * Extra arguments are passed to `node --test` (e.g. `npm test -- --test-name-pattern=graph`) or, when
 * they are file paths, replace the file list (and skip the typecheck and the lint).
 * `CONVEYOR_SKIP_TYPECHECK=1` skips the typecheck and the lint.
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
  // `biome ci`: fails on unformatted files, lint errors and import cycles (biome.json)
  const lint = spawnSync(
    process.execPath,
    ['node_modules/@biomejs/biome/bin/biome', 'ci', '--diagnostic-level=error', '.'],
    { stdio: 'inherit' },
  );
  if (lint.status !== 0) {
    console.error('lint failed: `npx biome check --write .` fixes the formatting; the rest is named above');
    process.exit(lint.status ?? 1);
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
