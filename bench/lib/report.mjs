// Summaries over repeats and the Markdown report.
import { SCENARIOS } from './scenarios.mjs';
import { repeatSummary } from './stats.mjs';
import { BASELINE_SYSTEM } from './util.mjs';

const k = (n) => (n >= 1e6 && n % 1e6 === 0 ? `${n / 1e6}M` : n >= 1000 && n % 1000 === 0 ? `${n / 1000}k` : String(n));

/**
 * Rows of the table. `pick(run)` is a number taken from each successful run; the cell is the
 * median over repeats with the spread, and the ratio to the baseline system's median.
 */
export function tableRows(p) {
  const ratio = { ratio: true };
  return [
    {
      id: 'S1-single',
      label: `S1 enqueue ${k(p.enqueueJobs)}, 1 job per call, ${p.enqueueConcurrency} callers`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S1-single',
      label: '&nbsp;&nbsp;per-call latency p50 / p99',
      unit: 'ms',
      pick: (r) => r.callLatencyMs?.p50,
      pick2: (r) => r.callLatencyMs?.p99,
    },
    {
      id: 'S1-bulk',
      label: `S1 enqueue ${k(p.enqueueJobs)}, bulk ${p.bulkSize} per call, ${p.enqueueConcurrency} callers`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S2-drain',
      label: `S2 drain ${k(p.drainJobs)} no-op jobs, 1 process × ${p.drainConcurrency}`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S2-drain-2proc',
      label: `S2 drain ${k(p.drainJobs)} no-op jobs, ${p.drainProcs} processes × ${p.drainProcConcurrency}`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S3-latency',
      label: 'S3 enqueue-to-start latency p50 (idle queue)',
      unit: 'ms',
      pick: (r) => r.latencyMs?.p50,
      ...ratio,
    },
    { id: 'S3-latency', label: '&nbsp;&nbsp;p95', unit: 'ms', pick: (r) => r.latencyMs?.p95, ...ratio },
    { id: 'S3-latency', label: '&nbsp;&nbsp;p99', unit: 'ms', pick: (r) => r.latencyMs?.p99, ...ratio },
    { id: 'S3-latency', label: '&nbsp;&nbsp;max', unit: 'ms', pick: (r) => r.latencyMs?.max, ...ratio },
    {
      id: 'S4-mixed',
      label: `S4 ${k(p.mixedJobs)} × ${p.mixedWorkMs} ms jobs, ${p.mixedConcurrency} slots, enqueued while running`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S4-prefilled',
      label: `S4 ${k(p.mixedJobs)} × ${p.mixedWorkMs} ms jobs, ${p.mixedConcurrency} slots, pre-enqueued`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S5-10k',
      label: `S5 drain rate, ${k(p.scaleSmallPending)} pending (first ${k(Math.min(p.scaleSampleJobs, p.scaleSmallPending))} jobs, 1 × ${p.scaleConcurrency})`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S5-1M',
      label: `S5 drain rate, ${k(p.scaleLargePending)} pending (first ${k(p.scaleSampleJobs)} jobs, 1 × ${p.scaleConcurrency})`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    {
      id: 'S5-10k',
      label: `&nbsp;&nbsp;worker RSS (max while draining), ${k(p.scaleSmallPending)} pending`,
      unit: 'MiB',
      pick: (r) => r.rssMiB?.maxWhileDraining,
      ...ratio,
    },
    {
      id: 'S5-1M',
      label: `&nbsp;&nbsp;worker RSS (max while draining), ${k(p.scaleLargePending)} pending`,
      unit: 'MiB',
      pick: (r) => r.rssMiB?.maxWhileDraining,
      ...ratio,
    },
    {
      id: 'S5-1M',
      label: `&nbsp;&nbsp;worker event-loop delay (max while draining), ${k(p.scaleLargePending)} pending`,
      unit: 'ms',
      pick: (r) => r.eventLoopDelayMs?.max,
      ...ratio,
    },
    {
      id: 'S5-1M',
      label: `&nbsp;&nbsp;pre-fill ${k(p.scaleLargePending)} (bulk, ${k(p.prefillChunk)} per call; untimed setup)`,
      unit: 'jobs/s',
      pick: (r) => r.prefillRate,
      ...ratio,
    },
    {
      id: 'S6-channels',
      label: `S6 channels ${channelLabel(p.channels)}: ${k(p.channelJobs)} × ${p.channelWorkMs} ms jobs, ${p.channelWorkers} slots`,
      unit: 'jobs/s',
      pick: (r) => r.metric,
      ...ratio,
    },
    { id: 'S6-channels', label: '&nbsp;&nbsp;max running at once per channel / capacity', unit: '', text: channelText },
    ...[1, 2, 4, 8].flatMap((n) => [
      {
        id: `S7-scale-${n}`,
        label: `S7 scale-out ${k(p.scaleOutJobs)} no-op jobs, ${n} process${n > 1 ? 'es' : ''} × ${p.scaleOutConcurrency}`,
        unit: 'jobs/s',
        pick: (r) => r.metric,
        ...ratio,
      },
      {
        id: `S7-scale-${n}`,
        label: '&nbsp;&nbsp;waiting for a lock, % of runner time (Conveyor: its claim lock)',
        unit: '%',
        pick: (r) => r.activity?.claimWaitPct ?? r.activity?.lockWaitPct,
      },
      {
        id: `S7-scale-${n}`,
        label: '&nbsp;&nbsp;claim lock held, % of samples',
        unit: '%',
        pick: (r) => r.activity?.claimHeldPct,
      },
      {
        id: `S7-scale-${n}`,
        label: '&nbsp;&nbsp;PostgreSQL connections per runner process (max)',
        unit: 'conns',
        pick: (r) => r.activity?.connsPerProc?.max,
      },
    ]),
  ];
}

/** 'root:32,root.a:16,root.b:8' -> 'root:32 > a:16 b:8' */
function channelLabel(spec) {
  const [root, ...subs] = spec.split(',').map((c) => c.trim());
  return `${root}${subs.length ? ' > ' + subs.map((c) => c.replace(/^[^.]+\./, '')).join(' ') : ''}`;
}

function channelText(runs) {
  if (!runs.length) return null;
  const caps = runs[0].capacity ?? {};
  return Object.keys(caps)
    .map((c) => {
      const max = Math.max(...runs.map((r) => r.maxConcurrency?.[c] ?? 0));
      return `${c.replace(/^root\./, '')} ${max}/${caps[c]}${max > caps[c] ? ' **VIOLATION**' : ''}`;
    })
    .join(', ');
}

export function fmt(x, digits = 0) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-';
  return x.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

const digitsFor = (unit, v) => (unit === 'ms' || unit === 'MiB' || unit === '%' ? (v < 100 ? 1 : 0) : 0);

/** A run counts for the figures when it finished without error and within its time. */
export const isGood = (r) => !r.skipped && !r.error && !r.hardTimeout && !r.timedOut;

/** Per (system, scenario): status counts; per table row: median/spread of the picked value. */
export function summarize(runs, systems, scenarioIds, params) {
  const out = { cells: {}, status: {} };
  for (const s of systems) {
    out.status[s] = {};
    for (const id of scenarioIds) {
      const rs = runs.filter((r) => r.system === s && r.scenario === id);
      out.status[s][id] = {
        runs: rs.length,
        skipped: rs.filter((r) => r.skipped).length,
        errors: rs.filter((r) => r.error || r.hardTimeout).length,
        softTimeouts: rs.filter((r) => !r.error && r.timedOut).length,
        violations: rs.flatMap((r) => (r.violations ?? []).map((v) => `rep ${r.rep}: ${v}`)),
      };
    }
  }
  for (const [n, row] of tableRows(params).entries()) {
    if (!scenarioIds.includes(row.id)) continue;
    out.cells[n] = {};
    for (const s of systems) {
      const good = runs.filter((r) => r.system === s && r.scenario === row.id && isGood(r));
      out.cells[n][s] = row.text
        ? { text: row.text(good) }
        : {
            ...repeatSummary(good.map((r) => row.pick(r) ?? NaN)),
            second: row.pick2 ? repeatSummary(good.map((r) => row.pick2(r) ?? NaN)).median : undefined,
          };
    }
  }
  return out;
}

export function renderTable(summary, systems, scenarioIds, params) {
  const base = systems.includes(BASELINE_SYSTEM) ? BASELINE_SYSTEM : null;
  const lines = [`| scenario | unit | ${systems.join(' | ')} |`, `|---|---|${systems.map(() => '---:').join('|')}|`];
  for (const [n, row] of tableRows(params).entries()) {
    if (!scenarioIds.includes(row.id)) continue;
    const cells = systems.map((s) => {
      const st = summary.status[s][row.id];
      if (st.skipped === st.runs && st.runs) return 'n/a';
      const c = summary.cells[n][s];
      const failed = st.errors + st.softTimeouts;
      const flag = (st.violations.length ? ' ⚠ **violation**' : '') + (failed ? ` [${failed} failed]` : '');
      if (row.text) return (c.text ?? '-') + flag;
      if (!c.n) return (failed ? 'FAIL' : '-') + flag;
      const d = digitsFor(row.unit, c.median);
      let cell = row.pick2 ? `${fmt(c.median, d)} / ${fmt(c.second, d)}` : fmt(c.median, d);
      if (c.n > 1 && !row.pick2) cell += ` ±${fmt(c.spreadPct / 2, 0)}%`;
      if (row.ratio && base && s !== base) {
        const b = summary.cells[n][base];
        if (b?.median) cell += ` (${fmt(c.median / b.median, 2)}×)`;
      }
      return cell + flag;
    });
    lines.push(`| ${row.label} | ${row.unit} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export function renderMarkdown({
  title,
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
  rawFile,
  options,
}) {
  const pgs = env.postgres ?? {};
  const base = systems.includes(BASELINE_SYSTEM) ? BASELINE_SYSTEM : null;
  const problems = [];
  for (const s of systems) {
    for (const id of scenarioIds) {
      const st = summary.status[s][id];
      for (const v of st.violations) problems.push(`- **${s} ${id}**: ${v}`);
      if (st.errors)
        problems.push(
          `- ${s} ${id}: ${st.errors} run(s) failed (${runs
            .filter((r) => r.system === s && r.scenario === id && (r.error || r.hardTimeout))
            .map((r) => String(r.error).split('\n')[0])
            .join('; ')})`,
        );
      if (st.softTimeouts) problems.push(`- ${s} ${id}: ${st.softTimeouts} run(s) did not finish in time`);
    }
  }
  const measured = runs.filter((r) => !r.skipped);
  const foreign = measured.map((r) => r.noise?.foreignCpuS ?? 0);
  return [
    `# ${title}`,
    '',
    `Command: \`${commandLine}\``,
    '',
    `Median of ${repeats} run(s) per cell, ± half the min–max spread in % of the median` +
      (base
        ? `, and in parentheses the ratio to **${base}** from the same run (for jobs/s higher is better, for ms and MiB lower is better)`
        : '') +
      '. Every run is its own process on a fresh schema / queue / file. `n/a`: the system has no such feature.',
    '',
    renderTable(summary, systems, scenarioIds, params),
    '',
    '## Correctness',
    '',
    problems.length
      ? `**${problems.length} problem(s):**\n\n${problems.join('\n')}`
      : `All ${measured.length} runs: every job ran exactly once (0 duplicates, 0 missing), nothing unfinished after stop, no job lost, no channel over capacity, no timeouts.`,
    '',
    '## Machine and settings',
    '',
    `- Date: ${env.date}; wall time of the whole run: ${fmt(wallS, 0)} s`,
    `- Node ${env.node}; ${env.platform}; ${env.cpus} × ${env.cpuModel}; ${env.memGiB} GiB RAM; load average at start ${env.loadavgAtStart?.join(' / ')}`,
    `- PostgreSQL ${pgs.server_version ?? '?'}: synchronous_commit=${pgs.synchronous_commit} (as a benchmark session sees it: ${pgs.synchronous_commit_session}), fsync=${pgs.fsync}, wal_sync_method=${pgs.wal_sync_method}, full_page_writes=${pgs.full_page_writes}, commit_delay=${pgs.commit_delay}, shared_buffers=${pgs.shared_buffers}, max_connections=${pgs.max_connections}`,
    `- Redis ${env.redis?.version ?? '?'} (appendonly=${env.redis?.appendonly}, save="${env.redis?.save}"): BullMQ's writes are not durable here`,
    `- SQLite ${env.sqlite} (node:sqlite), database files in ${env.tmpdir} (${env.tmpdirDisk ?? '?'})`,
    `- Conveyor ${env.conveyor?.version} at commit ${env.conveyor?.commit}${env.conveyor?.uncommittedSrcChanges ? ' (with uncommitted changes in src/)' : ''}; ` +
      systems
        .map(
          (s) =>
            `${s}: ${
              Object.entries(systemInfo[s]?.packages ?? {})
                .map(([p, v]) => `${p}@${v}`)
                .join(', ') || '-'
            }`,
        )
        .join('; '),
    `- Parameters: ${JSON.stringify(params)}`,
    `- Noise: foreign CPU during a run (CPU-s used by processes outside the benchmark) median ${fmt(median(foreign), 2)}, max ${fmt(Math.max(0, ...foreign), 2)}` +
      '',
    ...noisyRuns(measured),
    `- Raw results: \`${rawFile}\``,
    '',
    '## Options per system',
    '',
    ...systems.map((s) => `- **${s}**: \`${JSON.stringify(options[s] ?? null)}\``),
    '',
  ].join('\n');
}

/** Runs during which other processes used more than 1 CPU-second: their figures are suspect. */
function noisyRuns(runs) {
  const noisy = runs
    .filter((r) => (r.noise?.foreignCpuS ?? 0) > 1)
    .sort((a, b) => b.noise.foreignCpuS - a.noise.foreignCpuS);
  if (!noisy.length) return [];
  const shown = noisy.slice(0, 12).map(
    (r) =>
      `${r.system} ${r.scenario} rep ${r.rep} (${fmt(r.noise.foreignCpuS, 1)} s: ${String(r.noise.foreignTop?.[0] ?? '')
        .replace(/^[\d.]+s /, '')
        .slice(0, 50)})`,
  );
  return [
    `- Noisy runs (foreign CPU > 1 s; rerun those scenarios if a figure matters): ${shown.join('; ')}${noisy.length > 12 ? `; and ${noisy.length - 12} more` : ''}`,
  ];
}

function median(xs) {
  const v = xs.filter(Number.isFinite).sort((a, b) => a - b);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
}

export { SCENARIOS };
