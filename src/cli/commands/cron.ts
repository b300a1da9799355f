/**
 * `conveyor cron ls|pause|resume|run`: scheduled jobs stored in the database.
 * @module
 */
import type { Command } from 'commander';
import { formatTime, renderTable } from '../format.ts';
import { out, withConveyor } from '../shared.ts';

/** Add `cron` and its subcommands to the program. */
export function registerCron(program: Command): void {
  const cron = program.command('cron').description('scheduled jobs: list, pause, resume, run now');
  cron
    .command('ls')
    .description('list the scheduled jobs stored in the database (from every process)')
    .action((_opts: unknown, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const list = await conveyor.crons.list();
        out(cmd, list, () =>
          list.length
            ? renderTable(
                ['name', 'schedule', 'target', 'next run', 'last run', 'last job', 'state'],
                list.map((c) => [
                  c.name,
                  c.timezone ? `${c.schedule} (${c.timezone})` : c.schedule,
                  c.target,
                  c.paused ? '-' : formatTime(c.nextRunAt),
                  formatTime(c.lastRunAt),
                  c.lastJobId === null ? '' : String(c.lastJobId),
                  c.paused ? 'paused' : 'active',
                ]),
              )
            : 'no scheduled jobs',
        );
      }),
    );
  for (const [name, desc] of [
    ['pause', 'stop firing <name> (kept across redeploys until resumed)'],
    ['resume', 'fire <name> again from its next slot'],
    ['run', 'enqueue one job of <name> now, independent of its slots'],
  ] as const) {
    cron
      .command(name)
      .description(desc)
      .argument('<name>')
      .action((entry: string, _opts: unknown, cmd: Command) =>
        withConveyor(cmd, async ({ conveyor }) => {
          if (name === 'run') {
            const job = await conveyor.crons.runNow(entry);
            out(cmd, { name: entry, jobId: job.id }, () => `${entry}: enqueued job ${job.id}`);
          } else {
            await conveyor.crons[name](entry);
            out(
              cmd,
              { name: entry, paused: name === 'pause' },
              () => `${entry}: ${name === 'pause' ? 'paused' : 'resumed'}`,
            );
          }
        }),
      );
  }
}
