/**
 * `conveyor jobs ls|show|requeue|cancel|done`.
 * @module
 */
import { Option, type Command } from 'commander';
import { ConveyorError } from '../../errors.ts';
import type { JobRow } from '../../job/row.ts';
import { JOB_STATES, type JobState } from '../../job/states.ts';
import { formatTime, renderTable } from '../format.ts';
import { ids, out, withConveyor } from '../shared.ts';

function jobLine(j: JobRow): string[] {
  return [
    String(j.id),
    j.state,
    j.channel,
    `${j.model}.${j.method}`,
    String(j.priority),
    `${j.attempt}/${j.maxRetries || '∞'}`,
    formatTime(j.createdAt),
    j.description,
  ];
}

/** Add `jobs` and its subcommands to the program. */
export function registerJobs(program: Command): void {
  const jobs = program.command('jobs').description('list, show and change jobs');
  jobs
    .command('ls')
    .description('list jobs, newest first')
    .addOption(new Option('--state <state>', 'filter by state').choices([...JOB_STATES]))
    .option('--channel <name>')
    .option('--model <name>')
    .option('--method <name>')
    .option('--text <text>', 'search text')
    .option('--limit <n>', 'rows', '50')
    .option('--cursor <cursor>', 'next page cursor')
    .action((opts: Record<string, string | undefined>, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const page = await conveyor.jobs.list({
          state: opts.state as JobState | undefined,
          channel: opts.channel,
          model: opts.model,
          method: opts.method,
          text: opts.text,
          limit: Number(opts.limit),
          cursor: opts.cursor,
        });
        out(
          cmd,
          page,
          () =>
            renderTable(
              ['id', 'state', 'channel', 'job', 'prio', 'try', 'created', 'description'],
              page.jobs.map(jobLine),
            ) + (page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''),
        );
      }),
    );
  jobs
    .command('show')
    .description('show one job (id or uuid), with its attempts and why it is not running')
    .argument('<id>')
    .action((id: string, _opts: unknown, cmd: Command) =>
      withConveyor(cmd, async ({ conveyor }) => {
        const job = await conveyor.jobs.get(/^\d+$/.test(id) ? Number(id) : id);
        if (!job) throw new ConveyorError('JOB_NOT_FOUND', `no job '${id}'`);
        const [attempts, deps, why] = await Promise.all([
          conveyor.jobs.attempts(job.id),
          conveyor.jobs.dependencies(job.id),
          conveyor.jobs.explain(job.id),
        ]);
        out(cmd, { job, attempts, dependencies: deps, why }, () => {
          const lines = Object.entries(job).map(
            ([k, v]) =>
              `${k.padEnd(14)} ${k.endsWith('At') || k === 'eta' ? formatTime(v as number | null) : typeof v === 'string' ? v : JSON.stringify(v)}`,
          );
          lines.push(`${'why'.padEnd(14)} ${why}`);
          if (deps.dependsOn.length) lines.push(`${'depends on'.padEnd(14)} ${deps.dependsOn.join(', ')}`);
          if (deps.dependants.length) lines.push(`${'dependants'.padEnd(14)} ${deps.dependants.join(', ')}`);
          if (attempts.length)
            lines.push(
              '',
              renderTable(
                ['try', 'outcome', 'started', 'ended', 'error'],
                attempts.map((a) => [
                  String(a.attempt),
                  a.outcome,
                  formatTime(a.startedAt),
                  formatTime(a.endedAt),
                  `${a.excName ?? ''}: ${a.excMessage ?? ''}`,
                ]),
              ),
            );
          return lines.join('\n');
        });
      }),
    );
  for (const [name, verb, desc] of [
    ['requeue', 'requeue', 'back to pending, tries reset'],
    ['cancel', 'cancel', 'cancel (--cascade: dependants too)'],
    ['done', 'setDone', 'set done by hand'],
  ] as const) {
    const sub = jobs.command(name).description(desc).argument('<ids...>');
    if (name === 'cancel') sub.option('--cascade', 'also cancel the jobs that depend on these');
    sub.action((list: string[], opts: { cascade?: boolean }, cmd: Command) => {
      const jobIds = ids(list);
      return withConveyor(cmd, async ({ conveyor }) => {
        const changed =
          verb === 'cancel'
            ? await conveyor.jobs.cancel(jobIds, { cascade: opts.cascade })
            : await conveyor.jobs[verb](jobIds);
        out(
          cmd,
          { changed },
          () => `${name}: ${changed.length ? changed.join(', ') : 'nothing changed (check the job states)'}`,
        );
      });
    });
  }
}
