import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { JobInsertResult } from '../driver.ts';
import {
  identityKeysToCheck,
  identityResults,
  planIdentityKeys,
  skippedResults,
  type KeyedJob,
} from './identity-keys.ts';

fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: 300 });

const twin = (id: number): JobInsertResult => ({ id, uuid: `stored-${id}`, state: 'pending', existing: true });
const own = (i: number): JobInsertResult => ({ id: 1000 + i, uuid: `new-${i}`, state: 'pending', existing: false });

/** Plan, then resolve with `own(i)` for each inserted job: the batch's results, or the skipped graph's. */
function resolve(jobs: KeyedJob[], isGraph: boolean, stored: Map<string, JobInsertResult>) {
  const plan = planIdentityKeys(jobs, isGraph, stored);
  if (plan.kind === 'skip') return { inserted: [] as number[], results: skippedResults(plan) };
  return { inserted: [...plan.toInsert], results: identityResults(plan, own) };
}

/** The rule spelled out job by job, the way queue_job states it. */
function model(jobs: KeyedJob[], isGraph: boolean, stored: Map<string, JobInsertResult>) {
  if (isGraph) {
    const keyed = jobs.filter((j) => j.identityKey);
    if (keyed.length > 0 && keyed.every((j) => stored.has(j.identityKey!))) {
      const results = jobs.map((j) =>
        j.identityKey ? twin(stored.get(j.identityKey)!.id) : { id: 0, uuid: '', state: 'cancelled', existing: true },
      );
      return { inserted: [] as number[], results };
    }
    return { inserted: jobs.map((_, i) => i), results: jobs.map((_, i) => own(i)) };
  }
  const inserted: number[] = [];
  const seen = new Map<string, JobInsertResult>();
  const results = jobs.map((j, i): JobInsertResult => {
    const key = j.identityKey;
    if (key && stored.has(key)) return twin(stored.get(key)!.id);
    if (key && seen.has(key)) return { ...seen.get(key)!, existing: true };
    inserted.push(i);
    if (key) seen.set(key, own(i));
    return own(i);
  });
  return { inserted, results };
}

const keyArb = fc.option(fc.constantFrom('', 'a', 'b', 'c', 'd'), { nil: null });
const jobsArb = fc.array(
  keyArb.map((identityKey): KeyedJob => ({ identityKey })),
  { maxLength: 8 },
);
const storedArb = fc
  .subarray(['a', 'b', 'c', 'd'])
  .map((keys) => new Map(keys.map((k, i) => [k, twin(i + 1)] as const)));

describe('identity keys', () => {
  it('plans what the job-by-job rule says, for lone jobs and graphs (property)', () => {
    fc.assert(
      fc.property(jobsArb, fc.boolean(), storedArb, (jobs, isGraph, stored) => {
        assert.deepEqual(resolve(jobs, isGraph, stored), model(jobs, isGraph, stored));
      }),
    );
  });

  it('looks up each non-empty key once, sorted', () => {
    const jobs = ['b', null, 'a', 'b', '', 'c'].map((identityKey) => ({ identityKey }));
    assert.deepEqual(identityKeysToCheck(jobs), ['a', 'b', 'c']);
  });

  it('lone jobs: a stored twin is returned, a key repeated in the batch is inserted once', () => {
    const jobs = ['a', 'b', 'b', null].map((identityKey) => ({ identityKey }));
    const plan = planIdentityKeys(jobs, false, new Map([['a', twin(7)]]));
    assert.equal(plan.kind, 'insert');
    assert.deepEqual(plan.kind === 'insert' && plan.toInsert, [1, 3]);
    assert.deepEqual(
      resolve(jobs, false, new Map([['a', twin(7)]])).results.map((r) => [r.id, r.existing]),
      [
        [7, true],
        [1001, false],
        [1001, true],
        [1003, false],
      ],
    );
  });

  it('a graph is skipped only when every keyed job has a twin, else inserted whole', () => {
    const jobs = ['a', null, 'b'].map((identityKey) => ({ identityKey }));
    const both = new Map([
      ['a', twin(1)],
      ['b', twin(2)],
    ]);
    assert.deepEqual(
      resolve(jobs, true, both).results.map((r) => r.id),
      [1, 0, 2],
    );
    assert.deepEqual(resolve(jobs, true, new Map([['a', twin(1)]])).inserted, [0, 1, 2]);
    // a graph without keys (or with empty keys only) is never skipped
    assert.deepEqual(resolve([{ identityKey: '' }, { identityKey: null }], true, new Map()).inserted, [0, 1]);
  });
});
