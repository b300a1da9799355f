#!/usr/bin/env node
// Conveyor's side-by-side benchmark: Conveyor (PostgreSQL, SQLite) vs graphile-worker, pg-boss, BullMQ.
//
//   npm run bench [-- --systems conveyor:pg,graphile-worker] [--scenarios S2-drain,S3-latency]
//                 [--repeats 3] [--scale 1] [--timeout 120] [--out results] [--tag name]
//                 [--params '{"drainJobs":100000}'] [--quiet-wait 30] [--quiet-busy 40]
//   npm run bench -- --smoke      scale 0.02, 1 repeat, short quiet wait, out results/smoke/
//   npm run bench -- --list       systems and scenarios
//
// Every (repeat, system, scenario) runs in its own child process against a fresh schema /
// queue / file, after a quiet-CPU wait; repeats are the outer loop. Exit code: 0 when every
// run was correct, 1 on a correctness failure (duplicates, missing or lost jobs, channel over
// capacity), 3 when runs failed or timed out without a correctness failure, 2 on bad usage.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  BENCH_DIR,
  RESULTS_DIR,
  DEFAULT_SYSTEMS,
  parseArgs,
  parseSystemSpec,
  loadAdapterModule,
  now,
  isoStamp,
} from './lib/util.mjs';
import { SCENARIOS, SCENARIO_GROUPS, DEFAULTS, scaleParams } from './lib/scenarios.mjs';
import { round } from './lib/stats.mjs';
import {
  captureEnv,
  ensureDatabase,
  synchronousCommit,
  redisPing,
  pkgVersion,
  waitQuiet,
  foreignPgSessions,
  ForeignCpuMonitor,
  ourPostmasterPid,
} from './lib/env.mjs';
import { summarize, renderTable, renderMarkdown, fmt, isGood } from './lib/report.mjs';

const args = parseArgs(process.argv.slice(2));
if (args.help || args.h) {
  const lines = fs
    .readFileSync(new URL(import.meta.url), 'utf8')
    .split('\n')
    .slice(1);
  console.log(
    lines
      .slice(
        0,
        lines.findIndex((l) => !l.startsWith('//')),
      )
      .map((l) => l.replace(/^\/\/ ?/, ''))
      .join('\n'),
  );
  process.exit(0);
}
const smoke = Boolean(args.smoke);
const systems = String(args.systems ?? DEFAULT_SYSTEMS.join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
// A group name (S7-scale) stands for its scenarios; --smoke without --scenarios leaves out those marked smoke: false.
const scenarioIds = args.scenarios
  ? [
      ...new Set(
        String(args.scenarios)
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
          .flatMap((s) => SCENARIO_GROUPS[s] ?? [s]),
      ),
    ]
  : Object.keys(SCENARIOS).filter((id) => !smoke || SCENARIOS[id].smoke !== false);
const repeats = Number(args.repeats ?? (smoke ? 1 : 3));
const scale = Number(args.scale ?? (smoke ? 0.02 : 1));
const hardTimeoutS = Number(args.timeout ?? (smoke ? 60 : 120));
const quietWaitS = Number(args['quiet-wait'] ?? (smoke ? 0.6 : 30));
const quietBusyPct = Number(args['quiet-busy'] ?? 40);
const quietSampleMs = smoke ? 200 : 1000;
const outDir = path.resolve(String(args.out ?? (smoke ? path.join(RESULTS_DIR, 'smoke') : RESULTS_DIR)));
const tag = args.tag ? String(args.tag).replace(/[^a-z0-9_.-]/gi, '_') : smoke ? 'smoke' : '';

if (args.list) {
  console.log(`systems (default): ${DEFAULT_SYSTEMS.join(', ')}`);
  for (const [id, s] of Object.entries(SCENARIOS)) console.log(`${id.padEnd(15)} ${s.title}`);
  for (const [g, ids] of Object.entries(SCENARIO_GROUPS)) console.log(`${g.padEnd(15)} group: ${ids.join(', ')}`);
  process.exit(0);
}
for (const id of scenarioIds) {
  if (!SCENARIOS[id]) {
    console.error(
      `unknown scenario ${id}; known: ${[...Object.keys(SCENARIOS), ...Object.keys(SCENARIO_GROUPS)].join(', ')}`,
    );
    process.exit(2);
  }
}
if (!(repeats >= 1) || !(scale > 0) || !(hardTimeoutS > 0)) {
  console.error('--repeats, --scale and --timeout must be positive');
  process.exit(2);
}

let params;
try {
  params = { ...scaleParams(DEFAULTS, scale), ...(args.params ? JSON.parse(args.params) : {}) };
} catch (e) {
  console.error(`--params: ${e.message}`);
  process.exit(2);
}

fs.mkdirSync(path.join(outDir, 'raw'), { recursive: true });
const stamp = isoStamp();
const base = `${stamp}${tag ? '-' + tag : ''}`;
const logFile = path.join(outDir, 'raw', `${base}.log`);
const rawFile = path.join(outDir, 'raw', `${base}.json`);
const mdFile = path.join(outDir, `${base}.md`);
const logStream = fs.createWriteStream(logFile);
const log = (s) => logStream.write(s + '\n');

// Ctrl-C / SIGTERM: the running child is in its own process group, take it down too.
let currentChildPid = null;
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (currentChildPid) {
      try {
        process.kill(-currentChildPid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    process.exit(130);
  });
}

function runChild(spec, scenarioId) {
  const timeoutS = hardTimeoutS * (SCENARIOS[scenarioId].timeoutFactor ?? 1);
  return new Promise((resolve) => {
    const t0 = now();
    const child = spawn(
      process.execPath,
      [
        path.join(BENCH_DIR, 'lib', 'scenario-child.mjs'),
        '--system',
        spec,
        '--scenario',
        scenarioId,
        '--params',
        JSON.stringify(params),
        '--soft-limit-ms',
        String(Math.max(5000, timeoutS * 1000 - 10000)),
      ],
      { cwd: BENCH_DIR, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
    );
    // The child leads its own process group, with the worker processes it forks (S2-2proc,
    // S5): a hard kill, and the cleanup after every run, take them all down together.
    const killGroup = () => {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    currentChildPid = child.pid;
    let buf = '';
    let result = null;
    child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.startsWith('@@RESULT ')) result = JSON.parse(line.slice(9));
        else log(`[${spec} ${scenarioId} stdout] ${line}`);
      }
    });
    child.stderr.on('data', (d) => {
      const text = String(d).trimEnd();
      log(`[${spec} ${scenarioId} stderr] ${text}`);
      if (text.includes('CAPACITY VIOLATION')) process.stderr.write(`${text}\n`);
    });
    let killed = false;
    const timer = setTimeout(() => {
      killed = true;
      killGroup();
    }, timeoutS * 1000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      killGroup();
      currentChildPid = null;
      result ??= {
        system: spec,
        scenario: scenarioId,
        metric: null,
        error: killed ? `hard timeout ${timeoutS} s` : `child exited code=${code} signal=${signal}`,
      };
      if (killed) result.hardTimeout = true;
      result.childWallMs = round(now() - t0);
      resolve(result);
    });
  });
}

async function preflight(needs) {
  const problems = [];
  if (needs.postgres) {
    try {
      const { created } = await ensureDatabase();
      if (created) console.log(`created database ${created}`);
      const sc = await synchronousCommit();
      if (sc !== 'on')
        problems.push(
          `PostgreSQL synchronous_commit is '${sc}' for benchmark sessions; the benchmark compares systems with synchronous_commit=on`,
        );
    } catch (e) {
      problems.push(`PostgreSQL: ${e.message}`);
    }
  }
  if (needs.redis && !(await redisPing()))
    problems.push('Redis does not answer at BENCH_REDIS_URL (redis://127.0.0.1:6379)');
  return problems;
}

async function main() {
  const wallStart = now();
  const systemInfo = {};
  const systemProblems = {};
  const needs = {};
  for (const spec of systems) {
    const { name, variant } = parseSystemSpec(spec);
    let mod;
    try {
      mod = await loadAdapterModule(name);
    } catch (e) {
      console.error(e.message);
      process.exit(2);
    }
    const meta = mod.meta;
    const backend = typeof meta.backend === 'function' ? meta.backend(variant) : meta.backend;
    needs[backend] = true;
    systemInfo[spec] = {
      name,
      variant: variant ?? null,
      backend,
      features: meta.features ?? {},
      packages: Object.fromEntries(
        ((typeof meta.packages === 'function' ? meta.packages(variant) : meta.packages) ?? []).map((p) => [
          p,
          pkgVersion(p, meta.packageRoot),
        ]),
      ),
    };
    if (meta.preflight) {
      const problem = await meta.preflight(variant);
      if (problem) systemProblems[spec] = problem;
    }
  }
  const problems = await preflight(needs);
  if (problems.length) {
    for (const p of problems) console.error(`preflight: ${p}`);
    process.exit(2);
  }
  for (const [s, p] of Object.entries(systemProblems))
    console.error(`preflight: ${s}: ${p} (its runs are marked failed)`);
  const env = await captureEnv();

  const commandLine = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim();
  console.log(
    `conveyor bench ${env.date}; node ${process.version}; systems: ${systems.join(', ')}; scenarios: ${scenarioIds.length}; repeats ${repeats}; scale ${scale}; log ${path.relative(BENCH_DIR, logFile)}`,
  );

  const postmasterPid = needs.postgres ? await ourPostmasterPid() : null;
  const runs = [];
  for (let rep = 1; rep <= repeats; rep++) {
    for (const spec of systems) {
      for (const id of scenarioIds) {
        const sc = SCENARIOS[id];
        const missing = (sc.requires ?? []).filter((f) => !systemInfo[spec].features[f]);
        if (missing.length) {
          runs.push({ system: spec, scenario: id, rep, skipped: `n/a: no ${missing.join(', ')}` });
          continue;
        }
        if (sc.backends && !sc.backends.includes(systemInfo[spec].backend)) {
          runs.push({ system: spec, scenario: id, rep, skipped: `n/a: runs on ${sc.backends.join(', ')} only` });
          continue;
        }
        if (systemProblems[spec]) {
          runs.push({ system: spec, scenario: id, rep, metric: null, error: `preflight: ${systemProblems[spec]}` });
          continue;
        }
        const noise = await waitQuiet(quietWaitS, quietBusyPct, quietSampleMs);
        noise.foreignPgSessionsBefore = needs.postgres ? await foreignPgSessions() : null;
        noise.loadavg1 = round(os.loadavg()[0]);
        const mon = new ForeignCpuMonitor({ postmasterPid });
        mon.start();
        const r = await runChild(spec, id);
        Object.assign(noise, mon.stop());
        r.rep = rep;
        r.noise = noise;
        runs.push(r);
        const flag = r.violations?.length
          ? `  VIOLATION: ${r.violations.join('; ')}`
          : r.error
            ? `  ERROR: ${String(r.error).split('\n')[0]}`
            : r.timedOut
              ? '  (did not finish in time)'
              : '';
        console.log(
          `  rep ${rep} ${spec.padEnd(16)} ${id.padEnd(15)} ${fmt(r.metric, 1).padStart(10)} ${sc.unit.padEnd(6)} ` +
            `${fmt(r.childWallMs / 1000, 1).padStart(5)} s  (busy before ${noise.cpuBusyPctBefore ?? '-'}%, foreign CPU ${noise.foreignCpuS} s)${flag}`,
        );
      }
    }
  }
  const wallS = (now() - wallStart) / 1000;

  const summary = summarize(runs, systems, scenarioIds, params);
  // The options as used with workers running (S1 runs start none).
  const options = Object.fromEntries(
    systems.map((s) => {
      const mine = runs.filter((r) => r.system === s && r.options);
      return [
        s,
        (mine.find((r) => r.scenario === 'S2-drain') ?? mine.find((r) => !r.scenario.startsWith('S1')) ?? mine[0])
          ?.options ?? null,
      ];
    }),
  );
  const doc = {
    startedAt: env.date,
    commandLine,
    repeats,
    scale,
    hardTimeoutS,
    quietWaitS,
    quietBusyPct,
    params,
    env,
    systems: systemInfo,
    options,
    summary,
    runs,
    wallTimeS: round(wallS, 1),
  };
  fs.writeFileSync(rawFile, JSON.stringify(doc, null, 1));
  const md = renderMarkdown({
    title: `Conveyor bench ${env.date.slice(0, 10)}${tag ? ` (${tag})` : ''}`,
    commandLine,
    env,
    params,
    systems,
    systemInfo,
    scenarioIds,
    summary,
    runs,
    repeats,
    wallS,
    rawFile: path.relative(path.dirname(mdFile), rawFile),
    options,
  });
  fs.writeFileSync(mdFile, md);

  console.log('\n' + renderTable(summary, systems, scenarioIds, params) + '\n');
  const violations = runs.filter((r) => r.violations?.length);
  const failed = runs.filter((r) => !r.skipped && !isGood(r) && !r.violations?.length);
  for (const r of violations)
    console.error(`!!! CORRECTNESS FAILURE ${r.system} ${r.scenario} rep ${r.rep}: ${r.violations.join('; ')}`);
  for (const r of failed)
    console.error(
      `!!! FAILED ${r.system} ${r.scenario} rep ${r.rep}: ${r.error ? String(r.error).split('\n')[0] : 'did not finish in time'}`,
    );
  console.log(
    `wall time ${fmt(wallS, 1)} s; wrote ${path.relative(process.cwd(), mdFile)}, ${path.relative(process.cwd(), rawFile)}`,
  );
  await new Promise((r) => logStream.end(r));
  process.exit(violations.length ? 1 : failed.length ? 3 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
