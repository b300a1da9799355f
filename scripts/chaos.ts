/**
 * `npm run chaos`: the fault-injection suite (issue 13). Real runner processes, a private PostgreSQL the
 * suite starts on its own port and removes at the end (the shared server is never touched), SQLite files.
 * Each scenario prints its figures and checks; the last line is `N passed, N failed`, and any failed
 * check makes the exit code non-zero.
 *
 *   npm run chaos                      full run (several minutes)
 *   npm run chaos -- --short           the short run of .ci/run
 *   npm run chaos -- --only storm      scenarios whose name contains "storm"
 *   npm run chaos -- --seed 42         replay the random choices of a run
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { checks, rng } from '../test/chaos/harness.ts';
import { PrivatePg } from '../test/helpers/private-pg.ts';
import { SCENARIOS } from '../test/chaos/scenarios.ts';

const { values } = parseArgs({
  options: { short: { type: 'boolean', default: false }, only: { type: 'string' }, seed: { type: 'string' } },
});
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
const short = values.short ?? false;
const chosen = SCENARIOS.filter((s) =>
  values.only ? s.name.toLowerCase().includes(values.only.toLowerCase()) : !(short && s.fullOnly),
);
if (!chosen.length) {
  console.error(`chaos: no scenario matches '${values.only}'; scenarios: ${SCENARIOS.map((s) => s.name).join(' | ')}`);
  process.exit(2);
}

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-chaos-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => process.exit(130)); // exit handlers clean up

const started = Date.now();
console.log(
  `chaos: ${short ? 'short' : 'full'} run, seed ${seed}, ${chosen.length} scenarios, node ${process.version}, ${os.cpus().length} cpus, load ${os
    .loadavg()
    .map((x) => x.toFixed(1))
    .join(' ')}`,
);
const needsPg = chosen.some((s) => !/\(sqlite\)|SQLite/.test(s.name));
const pg = needsPg ? await PrivatePg.create() : null;
if (pg) console.log(`private PostgreSQL on port ${pg.port} in ${pg.dir}`);
const random = rng(seed);
try {
  for (const s of chosen) {
    const t0 = Date.now();
    console.log(`\n== ${s.name}`);
    try {
      await s.run({ pg, short, random, tmp });
    } catch (err) {
      checks.push({
        scenario: s.name,
        name: 'scenario ran to its end',
        ok: false,
        detail: (err as Error).stack ?? String(err),
      });
      console.log(`  FAIL scenario ran to its end: ${(err as Error).stack ?? String(err)}`);
      // a scenario that failed half-way may have left the server stopped
      if (pg) await pg.start().catch(() => {});
    }
    console.log(`  (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }
} finally {
  pg?.remove();
}

const failed = checks.filter((c) => !c.ok);
if (failed.length) {
  console.log(`\nfailed checks (seed ${seed}):`);
  for (const c of failed) console.log(`  ${c.scenario} :: ${c.name}: ${c.detail.split('\n')[0]}`);
}
console.log(`\nchaos finished in ${((Date.now() - started) / 1000).toFixed(0)} s`);
console.log(`${checks.length - failed.length} passed, ${failed.length} failed`);
process.exitCode = failed.length ? 1 : 0;
