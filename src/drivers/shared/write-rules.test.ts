import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FINAL_STATES, RUNNING_STATES } from '../../job/states.ts';
import { DEPENDANTS_RELEASE, STATE_AFTER, freesCapacity, mayHaveDependants } from './write-rules.ts';

describe('finish rules', () => {
  it('a started job still holds its slot; every other command leaves the running states', () => {
    for (const [kind, state] of Object.entries(STATE_AFTER)) {
      assert.equal(RUNNING_STATES.includes(state), kind === 'start', kind);
      assert.equal(freesCapacity(kind as keyof typeof STATE_AFTER), kind !== 'start', kind);
    }
  });

  it('done and failed are final; retry and release go back to the queue', () => {
    assert.ok(FINAL_STATES.includes(STATE_AFTER.done));
    assert.ok(FINAL_STATES.includes(STATE_AFTER.failed));
    assert.equal(STATE_AFTER.retry, 'pending');
    assert.equal(STATE_AFTER.release, 'pending');
  });

  it('only a known `false` skips the dependants step', () => {
    assert.equal(mayHaveDependants({ hasDependants: false }), false);
    assert.equal(mayHaveDependants({ hasDependants: true }), true);
    assert.equal(mayHaveDependants({}), true);
  });

  it('dependants wait, and are released when every parent is done', () => {
    assert.deepEqual(DEPENDANTS_RELEASE, { from: 'wait_dependencies', parentsIn: 'done', to: 'pending' });
  });
});
