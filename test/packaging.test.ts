/**
 * What a published package promises that the consumer-install test (scripts/consumer-test.ts, run by
 * .ci/run) cannot check cheaply: the Node version a TypeScript module needs, and the manifest's shape.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { loadConveyorModule } from '../src/cli/main.ts';
import { ConfigurationError } from '../src/index.ts';

interface Manifest {
  engines: { node: string };
  scripts: Record<string, string>;
  main: string;
  types: string;
  typesVersions: Record<string, Record<string, string[]>>;
  exports: Record<string, { types?: string; default?: string } | string>;
  dependencies: Record<string, string>;
  files: string[];
  [field: string]: unknown;
}
const pkg = JSON.parse(fs.readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as Manifest;

describe('packaging', () => {
  it('`conveyor run ./app.ts` on a Node without type stripping names the Node version it needs', async (t) => {
    const descriptor = Object.getOwnPropertyDescriptor(process.features, 'typescript');
    Object.defineProperty(process.features, 'typescript', { get: () => false, configurable: true, enumerable: true });
    t.after(() => {
      if (descriptor) Object.defineProperty(process.features, 'typescript', descriptor);
    });
    await assert.rejects(loadConveyorModule('./app.ts'), (err: unknown) => {
      assert.ok(err instanceof ConfigurationError);
      assert.match(err.message, /app\.ts.*Node >= 22\.18 or >= 23\.6 \(type stripping\), this is Node \d+/);
      return true;
    });
    // a JavaScript module is not refused for it (it fails later, on the missing file)
    await assert.rejects(loadConveyorModule('./no-such-app.js'), /cannot load module '\.\/no-such-app\.js'/);
  });

  it('the manifest points every entry at the build and uses ranges for runtime dependencies', () => {
    assert.equal(pkg.engines.node, '>=22.13');
    assert.equal(pkg.scripts.prepack, 'node scripts/build.ts');
    assert.equal(pkg.main, './dist/index.js');
    assert.equal(pkg.types, './dist/index.d.ts');
    for (const [sub, entry] of Object.entries(pkg.exports)) {
      if (sub === './package.json') continue;
      const name = sub === '.' ? 'index' : `${sub.slice(2)}/index`;
      assert.deepEqual(entry, { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` }, sub);
      if (sub !== '.')
        assert.deepEqual(pkg.typesVersions['*'][sub.slice(2)], [`dist/${name}.d.ts`], `typesVersions for ${sub}`);
    }
    for (const [dep, range] of Object.entries(pkg.dependencies)) assert.match(range, /^\^/, dep);
    for (const field of ['repository', 'homepage', 'bugs', 'keywords', 'license']) assert.ok(pkg[field], field);
    assert.ok(fs.existsSync(new URL('../LICENSE', import.meta.url)), 'LICENSE');
    assert.ok(pkg.files.includes('LICENSE') && pkg.files.includes('dist'));
  });
});
