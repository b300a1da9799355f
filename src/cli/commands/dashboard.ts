/**
 * `conveyor dashboard [module]`: serve the dashboard until SIGTERM/SIGINT.
 * @module
 */
import type { Command } from 'commander';
import type { Conveyor } from '../../conveyor.ts';
import { addOptions, resolveOptions } from '../config.ts';
import { loadConveyorModule, startDashboard, withConveyor } from '../shared.ts';

/** Add `dashboard` to the program. */
export function registerDashboard(program: Command): void {
  const dashboard = program
    .command('dashboard')
    .description('serve the dashboard for <module> (or the configured database) on 127.0.0.1')
    .argument('[module]')
    .option('--token <token>', 'access token (required for a non-local bind)')
    .option('--read-only', 'no actions');
  addOptions(dashboard, 'dashboard');
  dashboard.action(async (module: string | undefined, opts: { token?: string; readOnly?: boolean }, cmd: Command) => {
    const serve = async (conveyor: Conveyor) => {
      const config = resolveOptions(cmd, 'dashboard');
      const server = await startDashboard(conveyor, {
        port: config.dashboardPort,
        host: config.dashboardHost,
        token: opts.token,
        readOnly: opts.readOnly,
      });
      await new Promise<void>((resolve) => {
        const stop = () => {
          void server.close().then(resolve);
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    };
    if (!module) return withConveyor(cmd, ({ conveyor }) => serve(conveyor));
    const conveyor = await loadConveyorModule(module);
    try {
      await serve(conveyor);
    } finally {
      await conveyor.close();
    }
  });
}
