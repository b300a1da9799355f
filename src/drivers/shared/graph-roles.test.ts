import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { graphRoles } from './graph-roles.ts';

describe('graph roles', () => {
  it('a job with a parent waits for it; a parent has dependants', () => {
    // 0 → 1 → 2 (child → parent), and 3 alone
    const roles = graphRoles([
      [0, 1],
      [1, 2],
    ]);
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => roles.initialState(i)),
      ['wait_dependencies', 'wait_dependencies', 'pending', 'pending'],
    );
    assert.deepEqual(
      [0, 1, 2, 3].map((i) => roles.hasDependants(i)),
      [false, true, true, false],
    );
  });

  it('without edges every job is pending, without dependants', () => {
    const roles = graphRoles([]);
    assert.equal(roles.initialState(0), 'pending');
    assert.equal(roles.hasDependants(0), false);
  });
});
