/**
 * `conveyor run <module>`: load the application's Conveyor and run jobs until SIGTERM/SIGINT, or with
 * `--once` until no job is due.
 * @module
 */
import { Option, type Command } from 'commander';
import { addOptions, resolveOptions, runnerOptions } from '../config.ts';
import { loadConveyorModule, startDashboard } from '../shared.ts';

/** Add `run` to the program. */
export function registerRun(program: Command): void {
  const run = program
    .command('run')
    .description(
      'run jobs: load <module> (its default export is the Conveyor with its models) and start a runner; SIGTERM/SIGINT stop it gracefully',
    )
    .argument('<module>', 'path of the module defining the Conveyor and its models')
    .option(
      '--once',
      'run until no job is due (none pending and due, none running here), then exit 0: for cron jobs, serverless and scripts',
    )
    .addOption(new Option('--dashboard [port]', 'also serve the dashboard on 127.0.0.1 (default port 8790)'));
  addOptions(run, 'run');
  run.action(async (module: string, opts: { once?: boolean; dashboard?: string | boolean }, cmd: Command) => {
    // The graceful-stop handler goes in first: a SIGTERM that arrives while the module loads, the runner
    // starts or its start line is being printed must stop it gracefully, not kill the process.
    let stopRequested!: (signal: NodeJS.Signals) => void;
    const stop = new Promise<NodeJS.Signals>((resolve) => {
      stopRequested = resolve;
    });
    let signalled: NodeJS.Signals | null = null;
    let logError: (line: string) => void = (line) => process.stderr.write(line + '\n');
    const onSignal = (sig: NodeJS.Signals) => {
      if (signalled) {
        logError(`${sig} again: exiting now`);
        process.exit(1);
      }
      signalled = sig;
      stopRequested(sig);
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
    try {
      const config = resolveOptions(cmd, 'run');
      // the module's own Conveyor.open() reads these when it does not set them itself
      if (config.database !== undefined) process.env.CONVEYOR_DATABASE = config.database;
      if (config.schema !== undefined) process.env.CONVEYOR_SCHEMA = config.schema;
      if (config.logLevel !== undefined) process.env.CONVEYOR_LOG_LEVEL = config.logLevel;
      if (config.dbMaxconn !== undefined) process.env.CONVEYOR_DB_MAXCONN = String(config.dbMaxconn);
      const conveyor = await loadConveyorModule(module);
      logError = (line) => conveyor.logger.error(line);
      try {
        const runner = conveyor.runner({ ...runnerOptions(config), module });
        let dashboard: { close(): Promise<void> } | null = null;
        if (!signalled) {
          await runner.start();
          process.stdout.write(
            `runner ${runner.id} started: ${runner.workers} workers on ${conveyor.driver.location}${opts.once ? ' (--once)' : ''}\n`,
          );
          if (opts.dashboard !== undefined) {
            dashboard = await startDashboard(conveyor, {
              port: opts.dashboard === true ? config.dashboardPort : Number(opts.dashboard),
              host: config.dashboardHost,
            });
          }
          const idle = opts.once ? runner.untilIdle().then(() => 'idle' as const) : new Promise<never>(() => {});
          const why = await Promise.race([stop, idle]);
          if (why === 'idle') process.stdout.write(`runner ${runner.id}: no job is due, stopping (--once)\n`);
          else conveyor.logger.info(`${why}: stopping (running jobs get their grace period)`);
        }
        await dashboard?.close();
        await runner.stop();
        process.stdout.write(`runner ${runner.id} stopped\n`);
      } finally {
        await conveyor.close();
      }
    } finally {
      process.off('SIGTERM', onSignal);
      process.off('SIGINT', onSignal);
    }
  });
}
