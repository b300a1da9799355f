/**
 * `npm run build` (and `prepack`, so `npm pack` / `npm publish` always ship fresh code): compile src/ to
 * dist/ with tsc, copy the dashboard's static files, then make the published .d.ts files stand alone for
 * consumers on their own TypeScript settings:
 * - relative imports keep `.ts` in tsc's declaration output: they are rewritten to `.js` (the files
 *   that ship), as `rewriteRelativeImportExtensions` does for the JavaScript;
 * - files that name `Disposable` / `Symbol.dispose` get `/// <reference lib="esnext.disposable" />`
 *   (what @types/node does), so they compile without `"types": ["node"]` or an esnext `lib`.
 * No source maps are emitted: the JavaScript is the TypeScript with its types erased (erasable syntax
 * only), so a stack trace already points at readable code, and maps would point at src/, which does not
 * ship.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

fs.rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
  stdio: 'inherit',
});
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
fs.cpSync('src/dashboard/static', 'dist/dashboard/static', { recursive: true });

const DISPOSABLE = /\b(?:Async)?Disposable\b|Symbol\.(?:async)?[dD]ispose\b/;
const LIB_REF = '/// <reference lib="esnext.disposable" />\n';
let declarations = 0;
for (const file of fs.globSync('dist/**/*.d.ts')) {
  const text = fs.readFileSync(file, 'utf8');
  let next = text.replace(/(\bfrom\s+|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*?)\.ts\2/g, '$1$2$3.js$2');
  if (DISPOSABLE.test(next) && !next.includes(LIB_REF)) next = LIB_REF + next;
  if (next !== text) fs.writeFileSync(file, next);
  declarations++;
}
const leftover = fs
  .globSync('dist/**/*.{js,d.ts}')
  .filter((f) => /(?:from\s+|import\s*\(\s*)['"]\.\.?\/[^'"]*\.ts['"]/.test(fs.readFileSync(f, 'utf8')));
if (leftover.length) {
  console.error(`relative .ts imports left in ${leftover.map((f) => path.normalize(f)).join(', ')}`);
  process.exit(1);
}
console.log(`built dist/ (${declarations} declaration files)`);
