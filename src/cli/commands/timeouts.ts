/**
 * `conveyor timeouts stats|cleanup`: the timeout log.
 * @module
 */
import type { Command } from 'commander';
import { renderTable } from '../format.ts';
import { out, withConveyor } from '../shared.ts';

/** Add `timeouts` and its subcommands to the program. */
export function registerTimeouts(program: Command): void {
  const timeouts = program.command('timeouts').description('the timeout log');
  timeouts
    .command('stats')
    .description('statistics over the last days')
    .option('--days <n>', 'days', '7')
    .action((opts: { days: string }, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const s = await conveyor.timeoutLog.statistics({ days: Number(opts.days) });
        out(cmd, s, () =>
          [
            `total ${s.totalCount}, exceeded ${s.exceededCount}, average ${Math.round(s.avgDurationMs)} ms (last ${opts.days} days)`,
            renderTable(
              ['model.method', 'count', 'exceeded', 'avg ms'],
              Object.entries(s.byMethod).map(([k, v]) => [
                k,
                String(v.count),
                String(v.exceeded),
                String(Math.round(v.avgDurationMs)),
              ]),
            ),
          ].join('\n'),
        );
      }),
    );
  timeouts
    .command('cleanup')
    .description('delete entries older than --days')
    .option('--days <n>', 'days', '30')
    .action((opts: { days: string }, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const n = await conveyor.timeoutLog.cleanup({ days: Number(opts.days) });
        out(cmd, { deleted: n }, () => `deleted ${n} timeout log entries older than ${opts.days} days`);
      }),
    );
}
