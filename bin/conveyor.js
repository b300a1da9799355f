#!/usr/bin/env node
// A checkout runs the TypeScript source (Node >= 22.18 strips types outside node_modules), so a dist/
// left by `npm run build` or `npm pack` can never be a stale CLI; the published package ships no src/
// and runs the compiled dist/.
import { existsSync } from 'node:fs';
const src = new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(existsSync(src) ? src.href : new URL('../dist/cli/main.js', import.meta.url).href);
process.exitCode = await main(process.argv);
