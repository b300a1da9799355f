/**
 * `npm run build`: compile src/ to dist/ with tsc, then copy the dashboard's static files.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';

fs.rmSync('dist', { recursive: true, force: true });
const tsc = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
fs.cpSync('src/dashboard/static', 'dist/dashboard/static', { recursive: true });
console.log('built dist/');
