/**
 * `conveyor channels pause|resume|paused`: pause and resume channels at runtime (stored in the database,
 * applied by every runner at once or at its next heartbeat). Kept apart from `main.ts`, which adds
 * these subcommands to its `channels` command with one call.
 * @module
 */
import type { Command } from 'commander';
import type { Conveyor } from '../conveyor.ts';
import { formatTime, renderTable } from './format.ts';

/** The global flags these commands read (`--json`; the rest is for `open`). */
interface Flags {
  json?: boolean;
}

/**
 * Add `pause <name>`, `resume <name>` and `paused` under the program's `channels` command (created when
 * absent). `open` opens the Conveyor from the global flags and configuration, as other admin commands do.
 */
export function addChannelPauseCommands<F extends Flags>(
  program: Command,
  open: (flags: F) => Promise<{ conveyor: Conveyor }>,
): void {
  const channels =
    program.commands.find((c) => c.name() === 'channels') ?? program.command('channels').description('channels');
  const write = (data: unknown, text: () => string) => {
    process.stdout.write((program.opts<F>().json ? JSON.stringify(data, null, 2) : text()) + '\n');
  };
  const withConveyor = async (fn: (conveyor: Conveyor) => Promise<void>) => {
    const { conveyor } = await open(program.opts<F>());
    try {
      await fn(conveyor);
    } finally {
      await conveyor.close();
    }
  };

  channels
    .command('pause')
    .description('pause <name> and its sub-channels on every runner (running jobs finish; kept until resumed)')
    .argument('<name>', "channel, e.g. 'mail' or 'root.mail'")
    .option('--by <who>', 'who pauses it (shown with the pause)')
    .action(async (name: string, opts: { by?: string }) =>
      withConveyor(async (conveyor) => {
        const pause = await conveyor.channelPauses.pause(name, { by: opts.by ?? 'cli' });
        write(
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
      withConveyor(async (conveyor) => {
        const changed = await conveyor.channelPauses.resume(name);
        const tree = await conveyor.channelPauses.tree();
        const stillPaused = tree
          .path(name)
          .filter((n) => n.paused)
          .map((n) => n.name);
        write({ channel: tree.path(name).at(-1)!.name, resumed: changed, pausedBy: stillPaused }, () => {
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
      withConveyor(async (conveyor) => {
        const list = await conveyor.channelPauses.list();
        write(list, () =>
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
