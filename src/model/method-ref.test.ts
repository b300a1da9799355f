import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigurationError, UnknownMethodError, UnknownModelError, ValidationError } from '../errors.ts';
import { defineModel } from './definition.ts';
import { resolveMethodRef, tagMethod, type MethodRefRules } from './method-ref.ts';

const send = async () => 'sent';
const partner = defineModel('res.partner', { send }, {});
const models = new Map([[partner.name, partner]]);
const cron: MethodRefRules = {
  what: "cron('x')",
  noun: 'target',
  invalid: (m) => new ConfigurationError(m),
  objects: false,
};
const trap: MethodRefRules = {
  what: 'assertEnqueuedJob()',
  noun: 'method',
  invalid: (m) => new ValidationError(m),
  objects: true,
};

describe('resolveMethodRef', () => {
  it('reads the model, method and records a model put on its function', () => {
    const bound = tagMethod(() => 1, { model: 'res.partner', method: 'send', records: [1, 2] });
    assert.deepEqual(resolveMethodRef(models, bound, cron), { model: 'res.partner', method: 'send', records: [1, 2] });
  });

  it('finds a function as defined among the models, bound to no records', () => {
    assert.deepEqual(resolveMethodRef(models, send, trap), { model: 'res.partner', method: 'send', records: [] });
  });

  it("splits 'model.method' at the last dot", () => {
    assert.deepEqual(resolveMethodRef(models, 'res.partner.send', cron), {
      model: 'res.partner',
      method: 'send',
      records: [],
    });
  });

  it('accepts { model, method, records } only where the rules say so', () => {
    const ref = { model: 'res.partner', method: 'send', records: [3] };
    assert.deepEqual(resolveMethodRef(models, ref, trap), ref);
    assert.throws(() => resolveMethodRef(models, ref, cron), ConfigurationError);
  });

  it('checks that the model and the method exist, whatever the form', () => {
    const ghost = tagMethod(() => 1, { model: 'ghost', method: 'send', records: [] });
    assert.throws(() => resolveMethodRef(models, ghost, cron), UnknownModelError);
    assert.throws(() => resolveMethodRef(models, 'res.partner.nope', cron), /has no method 'nope'/);
    assert.throws(() => resolveMethodRef(models, { model: 'res.partner', method: 'nope' }, trap), UnknownMethodError);
  });

  it("throws the caller's error for anything else", () => {
    assert.throws(
      () => resolveMethodRef(models, () => 1, trap),
      (e) => e instanceof ValidationError && /not a job method/.test(e.message),
    );
    assert.throws(() => resolveMethodRef(models, 'report', cron), /expected a target 'model.method'/);
    assert.throws(() => resolveMethodRef(models, 'res.partner.', cron), ConfigurationError);
    assert.throws(() => resolveMethodRef(models, 42, trap), ValidationError);
  });
});
