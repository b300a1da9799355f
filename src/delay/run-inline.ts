/**
 * Running calls now, inline: a direct call of a job method (`partners.browse([1]).sendNewsletter()`),
 * and delayed calls in no-delay mode (tests, debugging), which then return handles on done jobs that
 * were never stored.
 * @module
 */
import type { ContextApi } from '../context.ts';
import type { Driver } from '../drivers/driver.ts';
import type { Clock } from '../internal/clock.ts';
import { encodeJson } from '../internal/json.ts';
import type { Logger } from '../internal/logger.ts';
import { Job, type JobHandleHost } from '../job/handle.ts';
import type { JobRow } from '../job/row.ts';
import type { TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { executeJob } from '../runner/executor.ts';
import type { Delayable } from './delayable.ts';

/** What running inline needs from its Conveyor. */
export interface InlineHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly context: ContextApi;
  readonly models: ReadonlyMap<string, ModelDefinition>;
  /** What the returned job handles act through. */
  readonly jobHost: JobHandleHost;
  /** Write a timeout-log row (the method's own timeouts are recorded as a runner's would be). */
  recordTimeout(entry: TimeoutLogEntryInput): Promise<void>;
}

/** Run a method now, inline; its errors propagate. */
export async function runInline(
  host: InlineHost,
  model: string,
  method: string,
  records: readonly unknown[],
  args: readonly unknown[],
  maxRetries = 1,
): Promise<unknown> {
  encodeJson(args, 'args');
  const r = await executeJob({
    job: {
      id: 0,
      uuid: '',
      model,
      method,
      records: [...records],
      args: [...args],
      attempt: 1,
      maxRetries,
      context: host.context.get() as Record<string, unknown>,
      checkpoint: undefined,
    },
    models: host.models,
    limitMs: 0,
    logger: host.logger,
    context: host.context,
    persistProgress: async () => {},
    // a direct call has no stored row to resume from: its checkpoints are dropped
    persistCheckpoint: async () => {},
    recordTimeout: (e) => host.recordTimeout(e),
    // no job row to complete: the callback's writes alone, in one transaction (docs/transactions.md)
    transaction: async (fn, signal) =>
      (
        await host.driver.jobTransaction({
          job: null,
          fn,
          encodeResult: () => null,
          now: () => host.clock.now(),
          signal,
        })
      ).value,
    now: () => host.clock.now(),
  });
  if (r.outcome.kind === 'done') return r.outcome.result;
  throw r.outcome.error;
}

/** Run delayed calls one after the other, inline (no-delay mode); returns handles on done, unstored jobs. */
export async function runGraphInline(host: InlineHost, nodes: readonly Delayable[]): Promise<Job[]> {
  host.logger.warn({ jobs: nodes.length }, 'no-delay mode: running delayed jobs inline');
  const jobs: Job[] = [];
  for (const d of nodes) {
    const startedAt = host.clock.now();
    const result = await runInline(host, d.model, d.method, d.records, d.args, d.options.maxRetries);
    const doneAt = host.clock.now();
    const row: JobRow = {
      id: 0,
      uuid: '',
      graphUuid: null,
      model: d.model,
      method: d.method,
      records: [...d.records],
      args: [...d.args],
      state: 'done',
      priority: d.options.priority ?? 10,
      eta: null,
      channel: d.options.channel ?? 'root',
      attempt: 1,
      maxRetries: d.options.maxRetries ?? 5,
      crashCount: 0,
      result,
      excName: null,
      excMessage: null,
      excInfo: null,
      description: d.options.description ?? `${d.model}.${d.method}`,
      identityKey: null,
      context: host.context.capture(),
      progress: null,
      checkpoint: undefined,
      timeLimitMs: null,
      createdAt: startedAt,
      enqueuedAt: null,
      startedAt,
      doneAt,
      cancelledAt: null,
      execTimeMs: doneAt - startedAt,
      runnerId: null,
      hasDependants: false,
    };
    jobs.push(new Job(host.jobHost, 0, '', 'done', false, row));
  }
  return jobs;
}
