/**
 * The layering promises of docs/architecture.md ("Layout"), checked on every source file's imports, so that
 * a new import across a boundary fails here with its file and line instead of drifting silently. Import
 * cycles are Biome's check (`noImportCycles` in biome.json); this file checks direction.
 */
import assert from 'node:assert/strict';
import { globSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

/** One import of a source file: where it is, what it imports (a path under src/, or a package), whether it is lazy. */
interface Import {
  readonly file: string;
  readonly line: number;
  readonly target: string;
  readonly dynamic: boolean;
}

const SOURCE_FILES = globSync('src/**/*.ts').filter((f) => !f.endsWith('.test.ts'));

/** Every `import … from`, `export … from` and `import(…)` of a file; relative targets resolved to `src/…` paths. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const out: Import[] = [];
  const re = /(?:\bfrom\s*|\bimport\s*\(\s*|^import\s+)'([^']+)'/gm;
  for (const m of text.matchAll(re)) {
    const spec = m[1]!;
    const target = spec.startsWith('.') ? path.posix.normalize(path.posix.join(path.posix.dirname(file), spec)) : spec;
    const line = text.slice(0, m.index).split('\n').length;
    out.push({ file, line, target, dynamic: m[0].includes('(') });
  }
  return out;
}

const IMPORTS = SOURCE_FILES.flatMap(importsOf);

/** The imports from files under `from` (a folder or file prefix) that land under one of `to`. */
function crossing(from: string, to: readonly string[], opts: { except?: readonly string[]; lazyOk?: boolean } = {}) {
  return IMPORTS.filter(
    (i) =>
      i.file.startsWith(from) &&
      to.some((t) => i.target.startsWith(t)) &&
      !(opts.except ?? []).some((e) => i.target.startsWith(e)) &&
      !(opts.lazyOk && i.dynamic),
  ).map((i) => `${i.file}:${i.line} imports ${i.target}`);
}

describe('layers (docs/architecture.md, Layout)', () => {
  it('finds the source files and their imports (the check below is not vacuous)', () => {
    assert.ok(SOURCE_FILES.length > 100, `${SOURCE_FILES.length} source files`);
    assert.ok(IMPORTS.some((i) => i.target === 'src/drivers/driver.ts'));
  });

  it('the drivers import no layer above them: they store and fence, they never decide', () => {
    const above = ['src/runner/', 'src/admin/', 'src/dashboard/', 'src/delay/', 'src/cron/', 'src/metrics/'];
    const roots = ['src/conveyor.ts', 'src/model/', 'src/testing/', 'src/cli/', 'src/timeouts/'];
    assert.deepEqual(crossing('src/drivers/', [...above, ...roots]), []);
  });

  it('only drivers/open.ts and the drivers themselves reach a backend', () => {
    const backends = ['src/drivers/postgres/', 'src/drivers/sqlite/'];
    const outside = IMPORTS.filter(
      (i) =>
        backends.some((b) => i.target.startsWith(b)) &&
        !backends.some((b) => i.file.startsWith(b)) &&
        i.file !== 'src/drivers/open.ts',
    ).map((i) => `${i.file}:${i.line} imports ${i.target}`);
    assert.deepEqual(outside, []);
  });

  it('the shared driver rules and the driver types import no backend', () => {
    const backends = ['src/drivers/postgres/', 'src/drivers/sqlite/'];
    assert.deepEqual([...crossing('src/drivers/shared/', backends), ...crossing('src/drivers/types/', backends)], []);
  });

  it('the dashboard depends on the admin API: never on Conveyor, the runner, a driver or the CLI', () => {
    const forbidden = ['src/conveyor.ts', 'src/runner/', 'src/drivers/', 'src/cli/', 'src/delay/'];
    // the drivers' data types (a job page, a graph…) are what the admin API returns
    assert.deepEqual(crossing('src/dashboard/', forbidden, { except: ['src/drivers/types/'] }), []);
  });

  it('nothing in the core imports the dashboard, except the lazy import behind conveyor.dashboard()', () => {
    const core = SOURCE_FILES.filter((f) => !f.startsWith('src/dashboard/') && !f.startsWith('src/cli/'));
    const found = IMPORTS.filter(
      (i) =>
        core.includes(i.file) && i.target.startsWith('src/dashboard/') && !(i.file === 'src/conveyor.ts' && i.dynamic),
    ).map((i) => `${i.file}:${i.line} imports ${i.target}`);
    assert.deepEqual(found, []);
  });

  it('the admin API imports the layers below it only: never the dashboard, the runner, the CLI or the facade', () => {
    assert.deepEqual(crossing('src/admin/', ['src/dashboard/', 'src/runner/', 'src/cli/', 'src/conveyor.ts']), []);
  });

  it('the runner does not import the facade, the admin API, the dashboard or the enqueue path', () => {
    const forbidden = ['src/conveyor.ts', 'src/admin/', 'src/dashboard/', 'src/delay/', 'src/cli/', 'src/testing/'];
    assert.deepEqual(crossing('src/runner/', forbidden), []);
  });

  it('the pure modules (channels, retry, internal, job states) do no I/O and import no layer above them', () => {
    const above = ['src/runner/', 'src/admin/', 'src/dashboard/', 'src/delay/', 'src/conveyor.ts', 'src/cli/'];
    const io = ['node:fs', 'node:net', 'node:http', 'node:child_process', 'pg', 'node:sqlite'];
    const pure = ['src/channels/', 'src/retry/', 'src/internal/', 'src/job/states.ts'];
    assert.deepEqual(
      pure.flatMap((p) => crossing(p, [...above, ...io], { except: ['src/channels/pauses.ts'] })),
      [],
    );
  });

  it("the timeout toolkit (src/timeouts/, the user's with_timeout) is independent of the runner's job time limits", () => {
    assert.deepEqual(crossing('src/timeouts/', ['src/runner/', 'src/drivers/', 'src/conveyor.ts', 'src/admin/']), []);
  });

  it('the test kit is not imported by the library (it is its own entry point, conveyor-queue/testing)', () => {
    const found = IMPORTS.filter((i) => !i.file.startsWith('src/testing/') && i.target.startsWith('src/testing/'));
    assert.deepEqual(
      found.map((i) => `${i.file}:${i.line} imports ${i.target}`),
      [],
    );
  });

  it('no SQL outside src/drivers/', () => {
    const sql = /\b(SELECT\s+[\w*(]|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+(TABLE|INDEX))\b/;
    const found = SOURCE_FILES.filter((f) => !f.startsWith('src/drivers/')).flatMap((f) =>
      readFileSync(f, 'utf8')
        .split('\n')
        .map((line, i) => ({ line, at: `${f}:${i + 1}` }))
        .filter(({ line }) => sql.test(line) && !/^\s*(\*|\/\/)/.test(line))
        .map(({ at }) => at),
    );
    assert.deepEqual(found, []);
  });
});
