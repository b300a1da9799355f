/**
 * The trap's counts and assertions (queue_job's `assert_jobs_count` / `assert_enqueued_job`): what they
 * accept, how they match, and the messages that list what was recorded when they fail.
 * @module
 */
import { AssertionError } from 'node:assert';
import { isDeepStrictEqual } from 'node:util';
import type { Conveyor } from '../conveyor.ts';
import { ValidationError, describeValue } from '../errors.ts';
import { parseDuration, type Duration } from '../internal/duration.ts';
import { resolveMethodRef, type MethodRef, type ResolvedMethodRef } from '../model/method-ref.ts';
import { describeRef, formatCall, listCalls, Shown, showDuration } from './format-call.ts';
import type { TrapLedger } from './ledger.ts';
import { pickProperties, PROPERTY_KEYS, propertyMatches, type ExpectedProperties } from './properties.ts';
import type { TrappedJob } from './trapped-job.ts';

/** Options of `jobsCount()` and `assertJobsCount()`. */
export interface CountOptions {
  /**
   * Count only this method. A function taken from the model (`partners.sendNewsletter`) matches the
   * method on any records; one taken from a record set (`partners.browse([1]).sendNewsletter`) only on
   * those records.
   */
  only?: MethodRef;
}

/** What `assertEnqueuedJob()` expects. */
export interface ExpectedJob {
  /** Exact record ids. @default the records the function is bound to (none for the model itself) */
  records?: readonly unknown[];
  /** Exact arguments (deep equality). @default [] */
  args?: readonly unknown[];
  /** A subset of the properties: only the keys given are compared. */
  properties?: ExpectedProperties;
}

/** A method named in an assertion's argument: every form is accepted, a bad one is a ValidationError. */
function resolveRef(conveyor: Conveyor, ref: unknown, what: string): ResolvedMethodRef {
  return resolveMethodRef(conveyor.models, ref, {
    what,
    noun: 'method',
    invalid: (message) => new ValidationError(message),
    objects: true,
  });
}

/**
 * The enqueued jobs that `options` selects, and the label a message gives them (` of res.partner.send`).
 * @throws ValidationError on bad options
 */
export function selectJobs(
  conveyor: Conveyor,
  ledger: TrapLedger,
  options: CountOptions,
  what: string,
): { jobs: TrappedJob[]; label: string } {
  if (options === null || typeof options !== 'object')
    throw new ValidationError(`${what}: expected { only }, got ${describeValue(options)}`);
  for (const k of Object.keys(options))
    if (k !== 'only') throw new ValidationError(`${what}: unknown option '${k}' (only)`);
  if (options.only === undefined) return { jobs: [...ledger.enqueued], label: '' };
  const ref = resolveRef(conveyor, options.only, what);
  const anyRecords = ref.records.length === 0;
  const jobs = ledger.enqueued.filter(
    (j) =>
      j.model === ref.model &&
      j.method === ref.method &&
      (anyRecords || isDeepStrictEqual([...j.records], [...ref.records])),
  );
  return { jobs, label: ` of ${describeRef(ref, anyRecords)}` };
}

/**
 * Assert that `expected` enqueued jobs (of one method with `only`) are waiting to be performed.
 * @param stackStartFn the public method, so the assertion's stack starts at the test's call
 * @throws AssertionError listing the enqueued jobs when the count differs
 */
export function assertJobsCount(
  conveyor: Conveyor,
  ledger: TrapLedger,
  expected: number,
  options: CountOptions,
  stackStartFn: (...args: never[]) => unknown,
): void {
  const { jobs, label } = selectJobs(conveyor, ledger, options, 'assertJobsCount()');
  if (jobs.length === expected) return;
  throw new AssertionError({
    message: `Expected ${expected} enqueued job${expected === 1 ? '' : 's'}${label}, got ${jobs.length}.\nEnqueued jobs:\n${listCalls(ledger.enqueued, null)}`,
    actual: jobs.length,
    expected,
    operator: 'assertJobsCount',
    stackStartFn,
  });
}

/**
 * Assert that `method` was delayed with exactly these records and arguments and at least these
 * properties. Every recorded call counts, identity-key duplicates included.
 * @param stackStartFn the public method, so the assertion's stack starts at the test's call
 * @throws AssertionError listing every call when none matches, ValidationError on a bad expectation
 */
export function assertEnqueuedJob(
  conveyor: Conveyor,
  ledger: TrapLedger,
  method: MethodRef,
  expected: ExpectedJob,
  stackStartFn: (...args: never[]) => unknown,
): void {
  const what = 'assertEnqueuedJob()';
  const ref = resolveRef(conveyor, method, what);
  if (expected === null || typeof expected !== 'object')
    throw new ValidationError(`${what}: expected { records, args, properties }, got ${describeValue(expected)}`);
  for (const k of Object.keys(expected)) {
    if (!['records', 'args', 'properties'].includes(k))
      throw new ValidationError(`${what}: unknown key '${k}' (records, args, properties)`);
  }
  const records = expected.records ?? ref.records;
  const args = expected.args ?? [];
  if (!Array.isArray(records))
    throw new ValidationError(`${what}: records must be an array, got ${describeValue(records)}`);
  if (!Array.isArray(args)) throw new ValidationError(`${what}: args must be an array, got ${describeValue(args)}`);
  const props = expected.properties ?? {};
  const keys = Object.keys(props);
  for (const k of keys) {
    if (!(PROPERTY_KEYS as readonly string[]).includes(k))
      throw new ValidationError(`${what}: unknown property '${k}' (${PROPERTY_KEYS.join(', ')})`);
  }
  const calls = ledger.calls;
  const found = calls.some(
    (c) =>
      c.model === ref.model &&
      c.method === ref.method &&
      isDeepStrictEqual([...c.records], [...records]) &&
      isDeepStrictEqual([...c.args], [...args]) &&
      keys.every((k) => propertyMatches(k, (props as Record<string, unknown>)[k], c)),
  );
  if (found) return;
  const shown: Record<string, unknown> = { ...props };
  if (typeof shown.eta === 'number' || typeof shown.eta === 'string')
    shown.eta = new Shown(showDuration(parseDuration(shown.eta as Duration, `${what}: properties.eta`)));
  const wanted = formatCall({ model: ref.model, method: ref.method, records, args }, shown);
  throw new AssertionError({
    message: `Job ${wanted} was not enqueued.\nActual enqueued jobs:\n${listCalls(calls, keys.length ? keys : null)}`,
    actual: calls.map((c) => formatCall(c, pickProperties(c.properties, keys.length ? keys : null))),
    expected: wanted,
    operator: 'assertEnqueuedJob',
    stackStartFn,
  });
}
