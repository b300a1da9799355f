import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelConfigError } from '../errors.ts';
import { type ChannelSpec, formatChannels, normalizeChannelName, parseChannels } from './parse.ts';

const spec = (name: string, capacity: number, extra: Partial<ChannelSpec> = {}): ChannelSpec => ({
  name,
  capacity,
  sequential: false,
  throttleMs: 0,
  paused: false,
  ...extra,
});

describe('normalizeChannelName', () => {
  const cases: [string | null | undefined, string][] = [
    ['mail', 'root.mail'],
    ['root.mail', 'root.mail'],
    ['root', 'root'],
    ['', 'root'],
    [null, 'root'],
    [undefined, 'root'],
    ['  sale.invoice ', 'root.sale.invoice'],
    ['autosub.sub', 'root.autosub.sub'],
    ['rootish', 'root.rootish'],
    ['root.root', 'root.root'],
    ['a_b-C9', 'root.a_b-C9'],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} -> ${expected}`, () => assert.equal(normalizeChannelName(input), expected));
  }
  for (const bad of ['foo bar', 'root.', '.mail', 'a..b', 'mail#1', 'é', 'root.mail:2']) {
    it(`rejects ${JSON.stringify(bad)} naming it`, () => {
      assert.throws(
        () => normalizeChannelName(bad),
        (err: unknown) => {
          assert.ok(err instanceof ChannelConfigError);
          assert.equal(err.code, 'CHANNEL_CONFIG');
          assert.ok(err.message.includes(`'${bad}'`), err.message);
          return true;
        },
      );
    });
  }
});

describe('parseChannels', () => {
  const cases: [string, ChannelSpec[]][] = [
    // queue_job's parse_simple_config doctests (unknown keys and names with spaces are errors here).
    ['root:4', [spec('root', 4)]],
    ['root:4,root.sub:2', [spec('root', 4), spec('root.sub', 2)]],
    ['root:4,root.sub:1:sequential', [spec('root', 4), spec('root.sub', 1, { sequential: true })]],
    ['root', [spec('root', 1)]],
    ['sub:2', [spec('root.sub', 2)]],
    ['\n    root : 4,\n    ,\n    foo:1: throttle=2,\n', [spec('root', 4), spec('root.foo', 1, { throttleMs: 2000 })]],
    ['\n    root : 4\n    foo:1\n    baz\n', [spec('root', 4), spec('root.foo', 1), spec('root.baz', 1)]],
    // DESIGN §3 example.
    [
      'root:4,root.mail:2,root.sync:1:sequential,root.api:2:throttle=1',
      [
        spec('root', 4),
        spec('root.mail', 2),
        spec('root.sync', 1, { sequential: true }),
        spec('root.api', 2, { throttleMs: 1000 }),
      ],
    ],
    ['', []],
    ['  ,, \n\n', []],
    ['# channels\nroot:2\n  # mail is slow\nmail:1', [spec('root', 2), spec('root.mail', 1)]],
    ['root:2\r\nmail:1\r\n', [spec('root', 2), spec('root.mail', 1)]],
    ['api:3:throttle=500ms', [spec('root.api', 3, { throttleMs: 500 })]],
    ['api:3:throttle=1.5s', [spec('root.api', 3, { throttleMs: 1500 })]],
    ['api:3:throttle=2m:paused', [spec('root.api', 3, { throttleMs: 120_000, paused: true })]],
    ['x:0', [spec('root.x', 0)]],
    ['s:1:paused:sequential', [spec('root.s', 1, { sequential: true, paused: true })]],
    ['root.sender:4', [spec('root.sender', 4)]],
    [
      'root:4,autosub.sub:2,seq:1:sequential',
      [spec('root', 4), spec('root.autosub.sub', 2), spec('root.seq', 1, { sequential: true })],
    ],
  ];
  for (const [input, expected] of cases) {
    it(`parses ${JSON.stringify(input)}`, () => assert.deepEqual(parseChannels(input), expected));
  }

  // Every error names the entry it comes from (and the problem).
  const errors: [config: string, entry: string, fragment: string][] = [
    ['root.mail:x', 'root.mail:x', "invalid capacity 'x' in 'root.mail:x'"],
    ['root:4,mail:-1', 'mail:-1', "invalid capacity '-1'"],
    ['mail:1.5', 'mail:1.5', "invalid capacity '1.5'"],
    ['mail:', 'mail:', "invalid capacity ''"],
    ['mail:99999999999999999999', 'mail:99999999999999999999', 'invalid capacity'],
    [':4', ':4', 'missing channel name'],
    ['root:4,  : 2', ': 2', 'missing channel name'],
    ['foo bar:1', 'foo bar:1', "invalid channel name 'foo bar'"],
    ['root.:1', 'root.:1', 'empty part'],
    ['mail:2:sequential:sequential', 'mail:2:sequential:sequential', "duplicate key 'sequential'"],
    ['mail:1:capacity=2', 'mail:1:capacity=2', "duplicate key 'capacity'"],
    ['mail:2:throttle=1=2', 'mail:2:throttle=1=2', "invalid option 'throttle=1=2'"],
    ['mail:2:', 'mail:2:', 'empty option'],
    ['mail:2:=3', 'mail:2:=3', 'empty option'],
    ['mail:2:colour=red', 'mail:2:colour=red', "unknown option 'colour'"],
    ['mail:2:k=v', 'mail:2:k=v', "unknown option 'k'"],
    ['sync:2:sequential', 'sync:2:sequential', "channel 'root.sync' is sequential, so its capacity must be 1, got 2"],
    ['sync:0:sequential', 'sync:0:sequential', 'so its capacity must be 1, got 0'],
    ['sync:1:sequential=yes', 'sync:1:sequential=yes', "option 'sequential' takes no value"],
    ['x:1:paused=1', 'x:1:paused=1', "option 'paused' takes no value"],
    ['api:1:throttle', 'api:1:throttle', "invalid throttle ''"],
    ['api:1:throttle=', 'api:1:throttle=', "invalid throttle ''"],
    ['api:1:throttle=0', 'api:1:throttle=0', "invalid throttle '0'"],
    ['api:1:throttle=0ms', 'api:1:throttle=0ms', "invalid throttle '0ms'"],
    ['api:1:throttle=-1', 'api:1:throttle=-1', "invalid throttle '-1'"],
    ['api:1:throttle=fast', 'api:1:throttle=fast', "invalid throttle 'fast'"],
    ['api:1:throttle=1.5', 'api:1:throttle=1.5', "invalid throttle '1.5'"],
    ['root.mail:2,mail:3', 'mail:3', "duplicate channel 'root.mail'"],
    ['root:1\nroot:2', 'root:2', "duplicate channel 'root'"],
  ];
  for (const [config, entry, fragment] of errors) {
    it(`rejects ${JSON.stringify(config)}: ${fragment}`, () => {
      assert.throws(
        () => parseChannels(config),
        (err: unknown) => {
          assert.ok(err instanceof ChannelConfigError, String(err));
          assert.equal(err.code, 'CHANNEL_CONFIG');
          assert.ok(err.message.includes(fragment), `${err.message} should contain ${fragment}`);
          assert.ok(err.message.includes(`'${entry}'`), `${err.message} should name the entry '${entry}'`);
          assert.equal(err.details['entry'], entry);
          return true;
        },
      );
    });
  }

  it('names the first configuration of a duplicate channel', () => {
    assert.throws(() => parseChannels('root.mail:2,mail:3'), /already configured by 'root.mail:2'/);
  });

  it('rejects a non-string configuration', () => {
    assert.throws(() => parseChannels(4 as unknown as string), ChannelConfigError);
  });
});

describe('formatChannels', () => {
  it('writes full names, flags and throttles', () => {
    assert.equal(
      formatChannels(
        parseChannels('root:4, mail:2, sync:1:sequential, api:2:throttle=10, slow:3:throttle=250ms:paused, off:0'),
      ),
      'root:4,root.mail:2,root.sync:1:sequential,root.api:2:throttle=10,root.slow:3:throttle=250ms:paused,root.off:0',
    );
  });
  it('writes an empty configuration as an empty string', () => assert.equal(formatChannels([]), ''));
  const bad: [ChannelSpec[], RegExp][] = [
    [
      [spec('root.x', 2, { sequential: true })],
      /sequential, so its capacity must be 1, got 2 \(in 'root.x:2:sequential'\)/,
    ],
    [[{ ...spec('root.x', 1), capacity: null }], /capacity null.*in 'root.x:null'/],
    [[spec('root.x', -1)], /capacity -1/],
    [[spec('root.x', 1.5)], /capacity 1.5/],
    [[spec('x', 1)], /not normalised \(expected 'root.x'\)/],
    [[spec('root.a b', 1)], /invalid channel name 'root.a b'/],
    [[spec('', 1)], /missing channel name/],
    [[spec('root.x', 1, { throttleMs: 1.5 })], /throttleMs 1.5/],
    [[spec('root.x', 1, { throttleMs: -5 })], /throttleMs -5/],
    [[spec('root.x', 1), spec('root.x', 2)], /duplicate channel 'root.x' in 'root.x:2'/],
  ];
  for (const [specs, pattern] of bad) {
    it(`rejects ${JSON.stringify(specs)}`, () =>
      assert.throws(
        () => formatChannels(specs),
        (err: unknown) => {
          assert.ok(err instanceof ChannelConfigError);
          assert.match(err.message, pattern);
          return true;
        },
      ));
  }
});
