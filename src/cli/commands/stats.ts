/**
 * `conveyor stats` (job counts by channel and state) and `conveyor channels` (the channel tree with its load).
 * @module
 */
import type { Command } from 'commander';
import { JOB_STATES } from '../../job/states.ts';
import { addOptions } from '../config.ts';
import { formatTime, renderTable } from '../format.ts';
import { out, withConveyor } from '../shared.ts';

/** Add `stats` and `channels` to the program. */
export function registerStats(program: Command): void {
  program
    .command('stats')
    .description('job counts by state and channel')
    .action((_opts: unknown, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const rows = await conveyor.jobs.count({ groupBy: ['channel', 'state'] });
        const channels = [...new Set(rows.map((r) => r.key.channel!))];
        const table = channels.map((ch) => [
          ch,
          ...JOB_STATES.map((s) => String(rows.find((r) => r.key.channel === ch && r.key.state === s)?.count ?? 0)),
        ]);
        out(cmd, rows, () => renderTable(['channel', ...JOB_STATES], table));
      }),
    );

  const channels = program.command('channels').description('the channel tree with capacity, running and pending jobs');
  addOptions(channels, 'channels');
  channels.action((_opts: unknown, cmd: Command) =>
    withConveyor(cmd, async ({ conveyor }) => {
      const tree = await conveyor.channelPauses.tree();
      const snap = await conveyor.driver.channelSnapshot({
        now: Date.now(),
        sequentialChannels: tree.sequentialChannels(),
        throttledChannels: tree.throttledChannels(),
      });
      const pending = await conveyor.jobs.count({ state: 'pending', groupBy: ['channel'] });
      const within = (node: string, ch: string) => ch === node || ch.startsWith(node + '.');
      const rows = tree.nodes().map((n) => {
        const running = [...snap.running].filter(([ch]) => within(n.name, ch)).reduce((a, [, v]) => a + v, 0);
        const pend = pending.filter((r) => within(n.name, r.key.channel!)).reduce((a, r) => a + r.count, 0);
        const flagsText = [
          n.sequential ? 'sequential' : '',
          n.throttleMs ? `throttle=${n.throttleMs / 1000}s` : '',
          n.paused ? (n.pausedSince === undefined ? 'paused' : `paused since ${formatTime(n.pausedSince)}`) : '',
          snap.sequentialFailed.has(n.name) ? `blocked by job ${snap.sequentialFailed.get(n.name)}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        return [
          '  '.repeat(n.name.split('.').length - 1) + n.name,
          n.capacity === null ? '∞' : String(n.capacity),
          String(running),
          String(pend),
          flagsText,
        ];
      });
      out(
        cmd,
        { config: tree.toString(), nodes: tree.nodes(), running: Object.fromEntries(snap.running), pending },
        () => renderTable(['channel', 'capacity', 'running', 'pending', 'flags'], rows),
      );
    }),
  );
}
