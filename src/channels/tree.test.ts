import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ChannelConfigError } from '../errors.ts';
import { parseChannels } from './parse.ts';
import { ChannelTree } from './tree.ts';

const names = (nodes: readonly { name: string }[]) => nodes.map((n) => n.name);

describe('ChannelTree', () => {
  it("leaves root unlimited when it is not configured (the runners' slots bound it; queue_job's root:1 default ran one job at a time)", () => {
    const tree = ChannelTree.fromConfig('root.sender:4');
    assert.deepEqual(tree.node('root'), {
      name: 'root',
      capacity: null,
      sequential: false,
      throttleMs: 0,
      paused: false,
      configured: false,
    });
    assert.equal(tree.node('sender')?.capacity, 4);
    assert.equal(ChannelTree.fromConfig('').node('root')?.capacity, null);
    assert.equal(ChannelTree.fromConfig('root:3').node('root')?.capacity, 3);
  });

  it('auto-creates missing intermediate channels unlimited (simple_configure doctest)', () => {
    const tree = ChannelTree.fromConfig('root:4,autosub.sub:2,seq:1:sequential');
    assert.equal(tree.node('root')?.capacity, 4);
    assert.equal(tree.node('root')?.sequential, false);
    assert.deepEqual(tree.node('root.autosub'), {
      name: 'root.autosub',
      capacity: null,
      sequential: false,
      throttleMs: 0,
      paused: false,
      configured: false,
    });
    assert.equal(tree.node('root.autosub.sub')?.capacity, 2);
    assert.equal(tree.node('root.autosub.sub')?.sequential, false);
    assert.equal(tree.node('autosub.sub')?.capacity, 2);
    assert.equal(tree.node('seq')?.capacity, 1);
    assert.equal(tree.node('seq')?.sequential, true);
    assert.equal(tree.node('seq')?.configured, true);
    assert.equal(tree.node('unknown'), undefined);
    assert.equal(tree.node('not valid'), undefined);
  });

  it('resolves paths root first, short names and root included (get_channel_by_name doctest)', () => {
    const tree = ChannelTree.fromConfig('root:4,sub:2');
    assert.deepEqual(names(tree.path('root')), ['root']);
    assert.deepEqual(names(tree.path('')), ['root']);
    assert.deepEqual(names(tree.path('root.sub')), ['root', 'root.sub']);
    assert.deepEqual(names(tree.path('sub')), ['root', 'root.sub']);
    assert.deepEqual(names(tree.path('autosub.sub')), ['root', 'root.autosub', 'root.autosub.sub']);
  });

  it('parent fallback: unconfigured sub-channels hang under the nearest configured ancestor, unlimited', () => {
    // queue_job re-appends segments ('root.sub.sub.not.configured'); Conveyor keeps the stored path.
    const tree = ChannelTree.fromConfig('root:4,root.sub:2');
    const path = tree.path('root.sub.not.configured');
    assert.deepEqual(names(path), ['root', 'root.sub', 'root.sub.not', 'root.sub.not.configured']);
    assert.deepEqual(
      path.map((n) => n.capacity),
      [4, 2, null, null],
    );
    assert.deepEqual(
      path.map((n) => n.configured),
      [true, true, false, false],
    );
    // Auto-created nodes are shared between paths and are not listed as configured nodes.
    assert.equal(tree.path('root.sub.not.other')[2], path[2]);
    assert.equal(tree.node('root.sub.not'), undefined);
  });

  it('caches paths (same frozen array for the same name)', () => {
    const tree = ChannelTree.fromConfig('root:2,mail:1');
    const a = tree.path('root.mail.x');
    assert.equal(tree.path('root.mail.x'), a);
    assert.equal(tree.path('mail.x'), a);
    assert.ok(Object.isFrozen(a));
    assert.ok(Object.isFrozen(a[0]));
  });

  it('rejects invalid stored channel names', () => {
    const tree = ChannelTree.fromConfig('root:2');
    assert.throws(() => tree.path('bad name'), ChannelConfigError);
    assert.throws(() => tree.path('root..x'), /invalid channel name 'root..x'/);
  });

  it('lists nodes parents first, siblings by name, and the sequential and throttled channels', () => {
    const tree = ChannelTree.fromConfig(
      'a-x:1, a.b.c:2, root:3, z:1:sequential, a.b:4:throttle=2, m:2:throttle=500ms:paused',
    );
    assert.deepEqual(names(tree.nodes()), ['root', 'root.a', 'root.a.b', 'root.a.b.c', 'root.a-x', 'root.m', 'root.z']);
    assert.deepEqual(tree.sequentialChannels(), ['root.z']);
    assert.deepEqual(tree.throttledChannels(), ['root.a.b', 'root.m']);
    assert.equal(tree.node('m')?.paused, true);
  });

  it('keeps the specs and prints them back in the channel syntax', () => {
    const config = 'root:4,root.mail:2,root.sync:1:sequential,root.api:2:throttle=1';
    const tree = ChannelTree.fromConfig(config);
    assert.equal(tree.toString(), config);
    assert.deepEqual(tree.specs, parseChannels(config));
    assert.ok(Object.isFrozen(tree.specs));
    assert.equal(ChannelTree.fromConfig(tree.specs).toString(), config);
  });

  it('validates specs given as objects', () => {
    assert.throws(
      () =>
        ChannelTree.fromConfig([{ name: 'root.sync', capacity: 3, sequential: true, throttleMs: 0, paused: false }]),
      /channel 'root.sync' is sequential, so its capacity must be 1, got 3/,
    );
    assert.throws(
      () => ChannelTree.fromConfig([{ name: 'mail', capacity: 3, sequential: false, throttleMs: 0, paused: false }]),
      ChannelConfigError,
    );
  });

  it('propagates parser errors', () => {
    assert.throws(() => ChannelTree.fromConfig('root.mail:x'), /invalid capacity 'x' in 'root.mail:x'/);
  });

  it('applies runtime pauses to a copy, configured or not; the same pauses give the same tree', () => {
    const tree = ChannelTree.fromConfig('root:4,mail:2,off:1:paused');
    const paused = tree.withPauses([
      { channel: 'mail', pausedAt: 100 },
      { channel: 'root.tenants.acme', pausedAt: 200 },
    ]);
    assert.notEqual(paused, tree);
    assert.equal(tree.node('mail')?.paused, false, 'the original is unchanged');
    assert.deepEqual(paused.node('mail'), {
      name: 'root.mail',
      capacity: 2,
      sequential: false,
      throttleMs: 0,
      paused: true,
      configured: true,
      pausedSince: 100,
    });
    assert.equal(
      paused.path('root.mail.bulk').at(-1)?.paused,
      false,
      'a sub-channel keeps its own flag: its parent is paused',
    );
    // an unconfigured channel paused at runtime is listed, with its parents, and paused where jobs find it
    assert.deepEqual(names(paused.nodes()), ['root', 'root.mail', 'root.off', 'root.tenants', 'root.tenants.acme']);
    assert.equal(paused.path('tenants.acme').at(-1)?.pausedSince, 200);
    assert.equal(paused.path('tenants.other').at(-1)?.paused, false);
    assert.equal(paused.node('off')?.pausedSince, undefined, 'paused by the configuration only');
    assert.equal(
      paused.withPauses([
        { channel: 'root.mail', pausedAt: 100 },
        { channel: 'tenants.acme', pausedAt: 200 },
      ]),
      paused,
    );
    assert.equal(tree.withPauses([]), tree);
    assert.deepEqual(
      [...paused.pauses],
      [
        ['root.mail', 100],
        ['root.tenants.acme', 200],
      ],
    );
    // pauses replace, they do not add up
    const other = paused.withPauses([{ channel: 'root', pausedAt: 5 }]);
    assert.equal(other.node('mail')?.paused, false);
    assert.equal(other.node('root')?.pausedSince, 5);
    assert.throws(() => tree.withPauses([{ channel: 'bad name', pausedAt: 1 }]), ChannelConfigError);
  });
});
