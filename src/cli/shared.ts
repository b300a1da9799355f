/**
 * What the CLI's commands share: opening the configured database around a command, output, argument
 * checks, loading an application module, serving the dashboard.
 * @module
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import { Conveyor } from '../conveyor.ts';
import { ConfigurationError } from '../errors.ts';
import { resolveOptions, type CliConfig } from './config.ts';

/** Load the Conveyor a module exports (default export: a Conveyor or a promise of one). */
export async function loadConveyorModule(modulePath: string): Promise<Conveyor> {
  const url =
    /^[a-z]+:/i.test(modulePath) && !/^[a-z]:\\/i.test(modulePath)
      ? modulePath
      : pathToFileURL(path.resolve(modulePath)).href;
  // the library needs Node >= 22.13; loading a .ts module needs Node's type stripping (on by default
  // since 22.18 / 23.6; `process.features.typescript` is false before, or under --no-experimental-strip-types)
  if (/\.[cm]?ts$/i.test(modulePath) && !(process.features as { typescript?: unknown }).typescript) {
    throw new ConfigurationError(
      `cannot load module '${modulePath}': running a TypeScript module needs Node >= 22.18 or >= 23.6 (type stripping), this is Node ${process.versions.node}; upgrade Node, or compile it to JavaScript and run the .js file`,
    );
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new ConfigurationError(`cannot load module '${modulePath}': ${(err as Error).message}`, { cause: err });
  }
  const value = await (typeof mod.default === 'function' && !(mod.default as { runner?: unknown }).runner
    ? (mod.default as () => unknown)()
    : mod.default);
  if (!value || typeof (value as Conveyor).runner !== 'function' || typeof (value as Conveyor).model !== 'function') {
    throw new ConfigurationError(
      `module '${modulePath}' must export default a Conveyor (or a promise of one), with its models defined`,
    );
  }
  return value as Conveyor;
}

/** What {@link withConveyor} passes to a command. */
export interface CommandContext {
  conveyor: Conveyor;
  config: CliConfig;
}

/**
 * Open the configured database, run `fn`, close it. Admin commands never create a database: a SQLite
 * file that does not exist or a PostgreSQL schema never created is refused (DatabaseNotFoundError);
 * only `conveyor migrate` (and `run`'s own module) creates one.
 */
export async function withConveyor<T>(cmd: Command, fn: (ctx: CommandContext) => Promise<T>): Promise<T> {
  const ctx = await openConveyor(cmd);
  try {
    return await fn(ctx);
  } finally {
    await ctx.conveyor.close();
  }
}

/** Open the configured database for `cmd` as {@link withConveyor} does; the caller closes it. */
async function openConveyor(cmd: Command): Promise<CommandContext> {
  const config = resolveOptions(cmd, cmd.name());
  const conveyor = await Conveyor.open({
    database: config.database,
    schema: config.schema,
    channels: config.channels,
    dbMaxconn: config.dbMaxconn,
    logger: (config.logLevel as 'info' | undefined) ?? 'warn',
    create: false,
    // admin commands leave the scheduled jobs as the application registered them
    maintenance: false,
    // and say nothing about channels they did not enqueue into
    unknownChannels: 'allow',
  });
  return { conveyor, config };
}

/** Write `data` as JSON with `--json`, else the text. */
export function out(cmd: Command, data: unknown, text: () => string): void {
  process.stdout.write(
    (cmd.optsWithGlobals<{ json?: boolean }>().json ? JSON.stringify(data, null, 2) : text()) + '\n',
  );
}

/** Job ids from the command line. @throws ConfigurationError on anything but positive integers */
export function ids(values: string[]): number[] {
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`expected job ids (positive integers), got '${v}'`);
    return n;
  });
}

/** Serve the dashboard of `conveyor` and print its URL. */
export async function startDashboard(
  conveyor: Conveyor,
  options: { port?: number; host?: string; token?: string; readOnly?: boolean },
): Promise<{ url: string; close(): Promise<void> }> {
  const { serveDashboard } = await import('../dashboard/index.ts');
  // the Scheduled jobs page reads conveyor.crons: the dashboard's default source
  const server = await serveDashboard(conveyor, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 8790,
    token: options.token,
    readOnly: options.readOnly,
  });
  process.stdout.write(`dashboard: ${server.url}\n`);
  return server;
}
