#!/usr/bin/env node
// The published package runs the compiled CLI; a checkout without dist/ runs the TypeScript source
// (Node >= 22.18 strips types outside node_modules).
import { existsSync } from 'node:fs';
const dist = new URL('../dist/cli/main.js', import.meta.url);
const { main } = await import(existsSync(dist) ? dist.href : new URL('../src/cli/main.ts', import.meta.url).href);
process.exitCode = await main(process.argv);
