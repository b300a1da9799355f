import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planIdentity } from './identity.ts';

/** Open jobs by key: what `openTwin` finds. */
const open = (twins: Record<string, string>) => (key: string) => twins[key] ?? null;

describe("planIdentity (the drivers' identity-key rule, as the trap applies it)", () => {
  it('adds lone jobs without a key, or whose key has no open twin', () => {
    assert.deepEqual(planIdentity([null, 'a'], false, open({})), [{ kind: 'add' }, { kind: 'add' }]);
  });

  it('makes a lone job with an open twin stand for that twin', () => {
    assert.deepEqual(planIdentity(['a', 'b'], false, open({ a: 'job-a' })), [
      { kind: 'twin', twin: 'job-a' },
      { kind: 'add' },
    ]);
  });

  it('adds the first lone job of a key once: later ones of the same enqueue repeat it', () => {
    assert.deepEqual(planIdentity(['a', null, 'a', 'b', 'a'], false, open({})), [
      { kind: 'add' },
      { kind: 'add' },
      { kind: 'repeat', of: 0 },
      { kind: 'add' },
      { kind: 'repeat', of: 0 },
    ]);
  });

  it('prefers an open twin to a repeat inside the enqueue', () => {
    assert.deepEqual(planIdentity(['a', 'a'], false, open({ a: 'job-a' })), [
      { kind: 'twin', twin: 'job-a' },
      { kind: 'twin', twin: 'job-a' },
    ]);
  });

  it('skips a graph when every keyed job has an open twin; its key-less jobs stand for none', () => {
    assert.deepEqual(planIdentity(['a', null, 'b'], true, open({ a: 'job-a', b: 'job-b' })), [
      { kind: 'twin', twin: 'job-a' },
      { kind: 'none' },
      { kind: 'twin', twin: 'job-b' },
    ]);
  });

  it('adds a whole graph when one keyed job has no open twin, twins and repeated keys included', () => {
    assert.deepEqual(planIdentity(['a', 'c', 'c'], true, open({ a: 'job-a' })), [
      { kind: 'add' },
      { kind: 'add' },
      { kind: 'add' },
    ]);
  });

  it('adds a graph without keys', () => {
    assert.deepEqual(planIdentity([null, null], true, open({})), [{ kind: 'add' }, { kind: 'add' }]);
  });
});
