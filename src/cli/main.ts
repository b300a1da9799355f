/**
 * The `conveyor` command: run, migrate, jobs, stats, channels, timeouts, cron, dashboard.
 * Each command group lives in `commands/<group>.ts` and registers itself here; settings come from one
 * table (`config.ts`): flags > `CONVEYOR_*` environment variables > `conveyor.config.json`.
 * @module
 */
import fs from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { ConveyorError } from '../errors.ts';
import { registerCron } from './commands/cron.ts';
import { registerDashboard } from './commands/dashboard.ts';
import { registerJobs } from './commands/jobs.ts';
import { registerMigrate } from './commands/migrate.ts';
import { registerRun } from './commands/run.ts';
import { registerStats } from './commands/stats.ts';
import { registerTimeouts } from './commands/timeouts.ts';
import { registerChannelPauses } from './commands/channel-pauses.ts';
import { addOptions } from './config.ts';

export { loadConveyorModule } from './shared.ts';

/** The command groups, in help order; a new group is one file in `commands/` and one entry here. */
const COMMANDS: readonly ((program: Command) => void)[] = [
  registerRun,
  registerMigrate,
  registerJobs,
  registerStats,
  registerChannelPauses,
  registerTimeouts,
  registerCron,
  registerDashboard,
];

/** The package version (package.json sits two levels up from both src/cli/ and dist/cli/). */
export function packageVersion(): string {
  return (JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string })
    .version;
}

/** Build the program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Conveyor: a durable job queue and timeout toolkit (SQLite or PostgreSQL)')
    .version(packageVersion(), '-V, --version', 'print the version')
    .addOption(
      new Option('--config <file>', 'config file (JSON; default ./conveyor.config.json)').env('CONVEYOR_CONFIG'),
    )
    .option('--json', 'machine-readable output')
    .showHelpAfterError()
    // before the commands are added, so that they inherit it: main() turns commander's exits into exit codes
    .exitOverride();
  addOptions(program, 'global');
  for (const register of COMMANDS) register(program);
  return program;
}

/** Run the CLI with `argv`; returns the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number; message?: string };
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) return e.exitCode ?? 1;
    if (err instanceof ConveyorError) {
      process.stderr.write(`conveyor: ${err.message}\n`);
      return 2;
    }
    process.stderr.write(`conveyor: ${(err as Error).stack ?? String(err)}\n`);
    return 1;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main();
}
