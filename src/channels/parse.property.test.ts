import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ChannelConfigError } from '../errors.ts';
import { type ChannelSpec, formatChannels, normalizeChannelName, parseChannels } from './parse.ts';

fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: 300 });

const segment = fc.stringMatching(/^[A-Za-z0-9_-]{1,6}$/);
const channelName = fc.array(segment, { minLength: 0, maxLength: 3 }).map((parts) => ['root', ...parts].join('.'));

/** A valid spec (sequential forces capacity 1). */
const specArb: fc.Arbitrary<Omit<ChannelSpec, 'name'>> = fc
  .record({
    capacity: fc.nat({ max: 50 }),
    sequential: fc.boolean(),
    throttleMs: fc.oneof(
      fc.constant(0),
      fc.integer({ min: 1, max: 10_000 }),
      fc.integer({ min: 1, max: 100 }).map((s) => s * 1000),
    ),
    paused: fc.boolean(),
  })
  .map((s) => (s.sequential ? { ...s, capacity: 1 } : s));

const specsArb: fc.Arbitrary<ChannelSpec[]> = fc
  .uniqueArray(channelName, { maxLength: 8 })
  .chain((names) => fc.tuple(...names.map((name) => specArb.map((s) => ({ name, ...s })))))
  .map((specs) => [...specs]);

describe('parse/format properties', () => {
  it('parseChannels(formatChannels(x)) deep-equals x', () => {
    fc.assert(
      fc.property(specsArb, (specs) => {
        assert.deepEqual(parseChannels(formatChannels(specs)), specs);
      }),
    );
  });

  it('formatting is a fixed point after one parse of a messy but valid string', () => {
    // Whitespace, blank entries, comment lines, short names and newlines do not change the meaning.
    fc.assert(
      fc.property(specsArb, fc.array(fc.constantFrom(',', '\n', ' ,\n# note\n', ' \n ')), (specs, seps) => {
        const pieces = specs.map((s, i) => {
          const rest = s.name.slice('root.'.length);
          // 'root.root.x' cannot be shortened: 'root.x' would be read as already full.
          const short = s.name === 'root' || rest === 'root' || rest.startsWith('root.') ? s.name : rest;
          const text = formatChannels([s])
            .replace(s.name, i % 2 === 0 ? short : s.name)
            .replaceAll(':', ' : ');
          return text + (seps[i % Math.max(1, seps.length)] ?? ',');
        });
        const config = pieces.join(',');
        assert.deepEqual(parseChannels(config), specs);
      }),
    );
  });

  it('never throws anything but ChannelConfigError on arbitrary input', () => {
    fc.assert(
      fc.property(
        fc.string({
          unit: fc.constantFrom(...'root.mail:,=\n #1sequentialthrottlepaused0ms'.split('')),
          maxLength: 40,
        }),
        (config) => {
          try {
            const specs = parseChannels(config);
            assert.deepEqual(parseChannels(formatChannels(specs)), specs);
          } catch (err) {
            assert.ok(err instanceof ChannelConfigError, String(err));
          }
        },
      ),
    );
  });

  it('normalizeChannelName is idempotent', () => {
    fc.assert(
      fc.property(
        fc.array(segment, { maxLength: 4 }).map((p) => p.join('.')),
        (name) => {
          const once = normalizeChannelName(name);
          assert.equal(normalizeChannelName(once), once);
          assert.ok(once === 'root' || once.startsWith('root.'));
        },
      ),
    );
  });
});
