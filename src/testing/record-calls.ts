/**
 * Recording: the trap's stand-in for storing a delayed call. Each call is resolved as the real enqueue
 * resolves it (same defaults, same checks), deduplicated by identity key, and kept in the ledger.
 * @module
 */
import { randomUUID } from 'node:crypto';
import type { Conveyor } from '../conveyor.ts';
import type { Delayable } from '../delay/delayable.ts';
import { GraphError, InvalidStateError } from '../errors.ts';
import { encodeJson } from '../internal/json.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import { planIdentity } from './identity.ts';
import type { TrapLedger } from './ledger.ts';
import type { JobProperties } from './properties.ts';
import { TrappedJob, type TrappedCall } from './trapped-job.ts';

/**
 * Record the delayed calls `nodes` (one enqueue; `edges` are `[child, parent]` index pairs) in `ledger`
 * and return a handle per node. A bad call records nothing, like the real enqueue stores nothing.
 * @throws what the real enqueue throws for a bad call (unknown method, bad option, arguments not JSON)
 */
export function recordCalls(
  conveyor: Conveyor,
  ledger: TrapLedger,
  nodes: readonly Delayable[],
  edges: readonly (readonly [number, number])[],
): Job[] {
  const now = conveyor.clock.now();
  const txs = new Set(nodes.map((n) => n.options.tx).filter((t) => t !== undefined));
  if (txs.size > 1) throw new GraphError('the jobs of one graph must all use the same tx');
  const context = conveyor.context.capture();
  if (context) encodeJson(context, 'context');
  const isGraph = edges.length > 0;
  const graphUuid = nodes.length > 1 && isGraph ? randomUUID() : null;
  const calls: Omit<TrappedCall, 'existing' | 'job'>[] = nodes.map((d) => ({
    ...resolveCall(conveyor, d, now),
    graphUuid,
    at: now,
    context,
  }));
  const decisions = planIdentity(
    calls.map((call) => call.properties.identityKey),
    isGraph,
    (key) => ledger.openTwin(key),
  );

  const jobs: (TrappedJob | null)[] = [];
  const handles: Job[] = [];
  calls.forEach((call, i) => {
    const decision = decisions[i]!;
    if (decision.kind === 'add') {
      const waits = edges.some((e) => e[0] === i);
      const job = new TrappedJob(ledger, call, waits ? 'wait_dependencies' : 'pending');
      jobs.push(job);
      handles.push(job.handle);
      return;
    }
    const job = decision.kind === 'twin' ? decision.twin : decision.kind === 'repeat' ? jobs[decision.of]! : null;
    jobs.push(job);
    handles.push(job?.handleFor(true) ?? new Job(NO_JOB_HOST, 0, '', 'cancelled', true));
  });
  // a graph is added whole or not at all: only an added one gets its edges
  if (isGraph && decisions.every((d) => d.kind === 'add')) {
    for (const [child, parent] of edges) {
      const c = jobs[child]!;
      const p = jobs[parent]!;
      if (!c.dependsOn.includes(p)) {
        c.dependsOn.push(p);
        p.dependants.push(c);
      }
    }
  }
  calls.forEach((call, i) => {
    const added = decisions[i]!.kind === 'add';
    ledger.calls.push({ ...call, existing: !added, job: jobs[i] ?? null });
    if (added) ledger.enqueued.push(jobs[i]!);
  });
  return handles;
}

/** What `Conveyor.storeGraph` would store for `d` (same defaults and checks). */
function resolveCall(
  conveyor: Conveyor,
  d: Delayable,
  now: number,
): Omit<TrappedCall, 'graphUuid' | 'at' | 'context' | 'existing' | 'job'> {
  const r = conveyor.resolveCall(d, now);
  encodeJson(d.records, 'records');
  encodeJson(d.args, 'args');
  const properties: JobProperties = {
    priority: r.priority,
    eta: r.eta,
    maxRetries: r.maxRetries,
    description: r.description,
    channel: r.channel,
    identityKey: r.identityKey,
  };
  return { model: r.model, method: r.method, records: [...r.records], args: [...r.args], properties };
}

/** The handle of a key-less node of a skipped graph: it stands for no job. */
const NO_JOB_HOST: JobHandleHost = {
  getJob: async () => null,
  waitJob: async () => {
    throw new InvalidStateError(
      'this job was not enqueued: its graph was skipped because every identity key matched an open job',
    );
  },
  requeueJobs: async () => [],
  setDoneJobs: async () => [],
  cancelJobs: async () => [],
};
