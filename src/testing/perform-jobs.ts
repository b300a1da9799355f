/**
 * Performing: run the trapped jobs inline, in the order a runner would reach them, as a runner would
 * run them (captured context restored, arguments through the JSON encoding).
 * @module
 */
import type { Conveyor } from '../conveyor.ts';
import { decodeJson, encodeJson } from '../internal/json.ts';
import { WAITING_STATES } from '../job/states.ts';
import type { TrapLedger } from './ledger.ts';
import type { TrappedJob } from './trapped-job.ts';

/**
 * Run the ledger's enqueued jobs now and empty the list: lone jobs by priority (stable), the jobs of a
 * graph in dependency order. A job whose dependencies are not all done stays enqueued. Jobs delayed while
 * they run are recorded and wait for the next call.
 * @throws the first job's error; the jobs not run yet stay enqueued
 */
export async function performEnqueued(conveyor: Conveyor, ledger: TrapLedger): Promise<void> {
  const order = planOrder(ledger.enqueued.splice(0));
  const held: TrappedJob[] = [];
  for (let i = 0; i < order.length; i++) {
    const job = order[i]!;
    if (!WAITING_STATES.includes(job.state)) continue; // cancelled or set done meanwhile
    if (job.dependsOn.some((p) => p.state !== 'done')) {
      held.push(job);
      continue;
    }
    try {
      await perform(conveyor, job);
    } catch (err) {
      ledger.enqueued.unshift(...held, ...order.slice(i + 1).filter((j) => WAITING_STATES.includes(j.state)));
      throw err;
    }
  }
  ledger.enqueued.unshift(...held);
}

async function perform(conveyor: Conveyor, job: TrappedJob): Promise<void> {
  const records = decodeJson(encodeJson(job.records, 'records')) as unknown[];
  const args = decodeJson(encodeJson(job.args, 'args')) as unknown[];
  job._start(conveyor.clock.now());
  try {
    const result = await conveyor.context.run({ ...(job.context ?? {}) }, () =>
      conveyor.runInline(job.model, job.method, records, args, job.properties.maxRetries),
    );
    job._end('done', conveyor.clock.now(), result);
  } catch (err) {
    job._end('failed', conveyor.clock.now(), undefined, err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

/** Consecutive lone jobs sorted by priority (stable); each graph's jobs in dependency order. */
function planOrder(jobs: readonly TrappedJob[]): TrappedJob[] {
  const runs: { graphUuid: string | null; jobs: TrappedJob[] }[] = [];
  for (const j of jobs) {
    const last = runs.at(-1);
    if (last && last.graphUuid === j.graphUuid) last.jobs.push(j);
    else runs.push({ graphUuid: j.graphUuid, jobs: [j] });
  }
  return runs.flatMap((r) =>
    r.graphUuid === null
      ? [...r.jobs].sort((a, b) => a.properties.priority - b.properties.priority)
      : topological(r.jobs),
  );
}

/** `jobs` with each after the jobs it depends on (Kahn's order; as given if the edges loop). */
function topological(jobs: readonly TrappedJob[]): TrappedJob[] {
  const inside = new Set(jobs);
  const indeg = new Map(jobs.map((j) => [j, j.dependsOn.filter((p) => inside.has(p)).length]));
  const ready = jobs.filter((j) => indeg.get(j) === 0);
  const out: TrappedJob[] = [];
  while (ready.length) {
    const j = ready.shift()!;
    out.push(j);
    for (const d of j.dependants) {
      if (!inside.has(d)) continue;
      const n = indeg.get(d)! - 1;
      indeg.set(d, n);
      if (n === 0) ready.push(d);
    }
  }
  return out.length === jobs.length ? out : [...jobs];
}
