/**
 * `conveyor stats` (job counts by channel and state) and `conveyor channels` (the channel tree with its
 * load, from `conveyor.channelLoad()`: the rows the dashboard's Channels page shows).
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
      const { tree, snapshot, pending, rows } = await conveyor.channelLoad();
      const table = rows.map(({ node: n, depth, running, pending: pend }) => {
        const flagsText = [
          n.sequential ? 'sequential' : '',
          n.throttleMs ? `throttle=${n.throttleMs / 1000}s` : '',
          n.paused ? (n.pausedSince === undefined ? 'paused' : `paused since ${formatTime(n.pausedSince)}`) : '',
          snapshot.sequentialFailed.has(n.name) ? `blocked by job ${snapshot.sequentialFailed.get(n.name)}` : '',
        ]
          .filter(Boolean)
          .join(' ');
        return [
          '  '.repeat(depth) + n.name,
          n.capacity === null ? '∞' : String(n.capacity),
          String(running),
          String(pend),
          flagsText,
        ];
      });
      const json = {
        config: tree.toString(),
        nodes: tree.nodes(),
        running: Object.fromEntries(snapshot.running),
        pending: [...pending].map(([channel, count]) => ({ key: { channel }, count })),
      };
      out(cmd, json, () => renderTable(['channel', 'capacity', 'running', 'pending', 'flags'], table));
    }),
  );
}
