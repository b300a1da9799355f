/**
 * `conveyor channels pause|resume|paused`: pause and resume channels at runtime (stored in the database,
 * applied by every runner at once or at its next heartbeat), under the `channels` command that
 * `commands/stats.ts` adds.
 * @module
 */
import type { Command } from 'commander';
import { formatTime, renderTable } from '../format.ts';
import { out, withConveyor } from '../shared.ts';

/**
 * Add `pause <name>`, `resume <name>` and `paused` under the program's `channels` command (created when
 * absent). They open the Conveyor from the global flags and configuration, as other admin commands do.
 */
export function registerChannelPauses(program: Command): void {
  const channels =
    program.commands.find((c) => c.name() === 'channels') ?? program.command('channels').description('channels');

  channels
    .command('pause')
    .description('pause <name> and its sub-channels on every runner (running jobs finish; kept until resumed)')
    .argument('<name>', "channel, e.g. 'mail' or 'root.mail'")
    .option('--by <who>', 'who pauses it (shown with the pause)')
    .action(async (name: string, opts: { by?: string }) =>
      withConveyor(program, async ({ conveyor }) => {
        const pause = await conveyor.channelPauses.pause(name, { by: opts.by ?? 'cli' });
        out(
          program,
          pause,
          () =>
            `${pause.channel}: paused (since ${formatTime(pause.pausedAt)}${pause.pausedBy ? `, by ${pause.pausedBy}` : ''})`,
        );
      }),
    );

  channels
    .command('resume')
    .description('resume <name> (paused with `channels pause`) on every runner')
    .argument('<name>', "channel, e.g. 'mail' or 'root.mail'")
    .action(async (name: string) =>
      withConveyor(program, async ({ conveyor }) => {
        const changed = await conveyor.channelPauses.resume(name);
        const tree = await conveyor.channelPauses.tree();
        const stillPaused = tree
          .path(name)
          .filter((n) => n.paused)
          .map((n) => n.name);
        out(program, { channel: tree.path(name).at(-1)!.name, resumed: changed, pausedBy: stillPaused }, () => {
          const full = tree.path(name).at(-1)!.name;
          const head = changed ? `${full}: resumed` : `${full}: was not paused at runtime`;
          return stillPaused.length ? `${head}; still paused through ${stillPaused.join(', ')}` : head;
        });
      }),
    );

  channels
    .command('paused')
    .description('list the channels paused at runtime')
    .action(async () =>
      withConveyor(program, async ({ conveyor }) => {
        const list = await conveyor.channelPauses.list();
        out(program, list, () =>
          list.length
            ? renderTable(
                ['channel', 'paused since', 'by'],
                list.map((p) => [p.channel, formatTime(p.pausedAt), p.pausedBy ?? '']),
              )
            : 'no channel is paused at runtime',
        );
      }),
    );
}
