/**
 * The `conveyor` command: run, migrate, jobs, stats, channels, timeouts, cron, dashboard, demo.
 * Configuration: flags > `CONVEYOR_*` environment variables > `conveyor.config.json`.
 * @module
 */
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import { Conveyor } from '../conveyor.ts';
import { ConfigurationError, ConveyorError } from '../errors.ts';
import { JOB_STATES, type JobState } from '../job/states.ts';
import type { JobRow } from '../job/row.ts';
import type { RunnerOptions } from '../runner/runner.ts';
import { resolveConfig, type CliConfig } from './config.ts';
import { renderTable, formatTime } from './format.ts';
import { addChannelPauseCommands } from './channel-pauses.ts';

interface GlobalFlags {
  config?: string;
  database?: string;
  schema?: string;
  json?: boolean;
  logLevel?: string;
}

/** Load the Conveyor a module exports (default export: a Conveyor or a promise of one). */
export async function loadConveyorModule(modulePath: string): Promise<Conveyor> {
  const url = /^[a-z]+:/i.test(modulePath) && !/^[a-z]:\\/i.test(modulePath) ? modulePath : pathToFileURL(path.resolve(modulePath)).href;
  // the library needs Node >= 22.13; loading a .ts module needs Node's type stripping (on by default
  // since 22.18 / 23.6; `process.features.typescript` is false before, or under --no-experimental-strip-types)
  if (/\.[cm]?ts$/i.test(modulePath) && !(process.features as { typescript?: unknown }).typescript) {
    throw new ConfigurationError(`cannot load module '${modulePath}': running a TypeScript module needs Node >= 22.18 or >= 23.6 (type stripping), this is Node ${process.versions.node}; upgrade Node, or compile it to JavaScript and run the .js file`);
  }
  let mod: { default?: unknown };
  try {
    mod = (await import(url)) as { default?: unknown };
  } catch (err) {
    throw new ConfigurationError(`cannot load module '${modulePath}': ${(err as Error).message}`, { cause: err });
  }
  const value = await (typeof mod.default === 'function' && !(mod.default as { runner?: unknown }).runner ? (mod.default as () => unknown)() : mod.default);
  if (!value || typeof (value as Conveyor).runner !== 'function' || typeof (value as Conveyor).model !== 'function') {
    throw new ConfigurationError(`module '${modulePath}' must export default a Conveyor (or a promise of one), with its models defined`);
  }
  return value as Conveyor;
}

async function openFromConfig(flags: GlobalFlags): Promise<{ conveyor: Conveyor; config: CliConfig }> {
  const config = resolveConfig({ database: flags.database, schema: flags.schema, logLevel: flags.logLevel }, flags.config);
  const conveyor = await Conveyor.open({
    database: config.database,
    schema: config.schema,
    channels: config.channels,
    dbMaxconn: config.dbMaxconn,
    logger: (config.logLevel as 'info' | undefined) ?? 'warn',
    // admin commands leave the scheduled jobs as the application registered them
    maintenance: false,
  });
  return { conveyor, config };
}

function ids(values: string[]): number[] {
  return values.map((v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new ConfigurationError(`expected job ids (positive integers), got '${v}'`);
    return n;
  });
}

function out(flags: GlobalFlags, data: unknown, text: () => string): void {
  process.stdout.write((flags.json ? JSON.stringify(data, null, 2) : text()) + '\n');
}

function jobLine(j: JobRow): string[] {
  return [String(j.id), j.state, j.channel, `${j.model}.${j.method}`, String(j.priority), `${j.attempt}/${j.maxRetries || '∞'}`, formatTime(j.createdAt), j.description];
}

/** Build the program (exported for tests). */
export function buildProgram(): Command {
  const program = new Command('conveyor')
    .description('Conveyor: a durable job queue and timeout toolkit (SQLite or PostgreSQL)')
    .option('--config <file>', 'config file (JSON)', undefined)
    .option('--database <url>', "database URL: sqlite:./conveyor.db, sqlite::memory:, postgres://… (env CONVEYOR_DATABASE)")
    .option('--schema <name>', 'PostgreSQL schema (env CONVEYOR_SCHEMA)')
    .option('--json', 'machine-readable output')
    .option('--log-level <level>', 'debug | info | warn | error | silent')
    .showHelpAfterError();

  program.command('run')
    .description("run jobs: load <module> (its default export is the Conveyor with its models) and start a runner; SIGTERM/SIGINT stop it gracefully")
    .argument('<module>', 'path of the module defining the Conveyor and its models')
    .option('--workers <n>', 'job slots (env CONVEYOR_WORKERS)')
    .option('--prefetch <n>', 'jobs claimed ahead into the local buffer')
    .option('--channels <config>', "channel capacities, e.g. 'root:4,root.mail:2' (env CONVEYOR_CHANNELS)")
    .option('--limit-time-real <duration>', 'wall-clock limit of one job run (default 1200s)')
    .option('--isolation <mode>', "inline (jobs in the event loop) or process (worker processes, hard limits) (env CONVEYOR_ISOLATION)")
    .option('--limit-time-cpu <duration>', 'CPU time of one job run, process isolation (default 600s)')
    .option('--limit-memory-soft <size>', "recycle a worker process above this RSS after its job, e.g. '2048mb' (default 2048mb)")
    .option('--limit-memory-hard <size>', "kill a worker process above this RSS at once (default 2560mb)")
    .option('--limit-request <n>', 'recycle a worker process after it has run n jobs, process isolation; 0 = never (default 65536)')
    .option('--shutdown-grace <duration>', 'time running jobs get to finish on stop (default 30s)')
    .option('--lease <duration>', 'runner lease: a silent runner is dead after this long (default 30s)')
    .option('--limit-time-real-cron <duration>', 'wall-clock limit of one run of a job enqueued by a scheduled job (default 3600s)')
    .addOption(new Option('--dashboard [port]', 'also serve the dashboard on 127.0.0.1 (default port 8790)'))
    .action(async (module: string, opts: Record<string, string | boolean | undefined>) => {
      const flags = program.opts<GlobalFlags>();
      const config = resolveConfig({ workers: opts.workers, prefetch: opts.prefetch, channels: opts.channels, limitTimeReal: opts.limitTimeReal,
        limitTimeCpu: opts.limitTimeCpu, limitMemorySoft: opts.limitMemorySoft, limitMemoryHard: opts.limitMemoryHard, limitRequest: opts.limitRequest }, flags.config);
      const conveyor = await loadConveyorModule(module);
      const runnerOptions: RunnerOptions = {};
      if (config.workers !== undefined) runnerOptions.workers = config.workers;
      if (config.prefetch !== undefined) runnerOptions.prefetch = config.prefetch;
      if (config.channels !== undefined) runnerOptions.channels = config.channels;
      if (config.limitTimeReal !== undefined) runnerOptions.limitTimeReal = config.limitTimeReal;
      if (opts.shutdownGrace) runnerOptions.shutdownGrace = opts.shutdownGrace as string;
      if (opts.lease) runnerOptions.lease = opts.lease as string;
      const limitTimeRealCron = (opts.limitTimeRealCron as string | undefined) ?? config.limitTimeRealCron;
      if (limitTimeRealCron !== undefined) runnerOptions.limitTimeRealCron = limitTimeRealCron;
      runnerOptions.module = module;
      if (opts.isolation) runnerOptions.isolation = opts.isolation as 'inline' | 'process';
      if (config.limitTimeCpu !== undefined) runnerOptions.limitTimeCpu = config.limitTimeCpu;
      if (config.limitMemorySoft !== undefined) runnerOptions.limitMemorySoft = config.limitMemorySoft;
      if (config.limitMemoryHard !== undefined) runnerOptions.limitMemoryHard = config.limitMemoryHard;
      if (config.limitRequest !== undefined) runnerOptions.limitRequest = config.limitRequest;
      const runner = conveyor.runner(runnerOptions);
      await runner.start();
      process.stdout.write(`runner ${runner.id} started: ${runner.workers} workers on ${conveyor.driver.location}\n`);
      let dashboard: { url: string; close(): Promise<void> } | null = null;
      if (opts.dashboard !== undefined) dashboard = await startDashboard(conveyor, opts.dashboard === true ? undefined : Number(opts.dashboard), config);
      await new Promise<void>((resolve) => {
        let stopping = false;
        const onSignal = (sig: NodeJS.Signals) => {
          if (stopping) {
            conveyor.logger.error(`${sig} again: exiting now`);
            process.exit(1);
          }
          stopping = true;
          conveyor.logger.info(`${sig}: stopping (running jobs get their grace period)`);
          void (async () => {
            await dashboard?.close();
            await runner.stop();
            await conveyor.close();
            process.off('SIGTERM', onSignal);
            process.off('SIGINT', onSignal);
            resolve();
          })();
        };
        process.on('SIGTERM', onSignal);
        process.on('SIGINT', onSignal);
      });
    });

  program.command('migrate')
    .description('apply schema migrations (also done automatically on open)')
    .action(async () => {
      const flags = program.opts<GlobalFlags>();
      const config = resolveConfig({ database: flags.database, schema: flags.schema }, flags.config);
      const conveyor = await Conveyor.open({ database: config.database, schema: config.schema, logger: 'silent', migrate: false, maintenance: false }).catch((err: unknown) => {
        if (err instanceof ConfigurationError && /schema is at version/.test(err.message)) return null;
        throw err;
      });
      const { openDriver } = await import('../drivers/open.ts');
      if (conveyor) await conveyor.close();
      const driver = await openDriver(config.database ?? 'sqlite:./conveyor.db', { schema: config.schema });
      try {
        const applied = await driver.migrate();
        const v = await driver.schemaVersion();
        out(flags, { applied, version: v.current }, () => applied.length ? `applied migrations ${applied.join(', ')}; schema at version ${v.current}` : `schema up to date (version ${v.current})`);
      } finally {
        await driver.close();
      }
    });

  const jobs = program.command('jobs').description('list, show and change jobs');
  jobs.command('ls')
    .description('list jobs, newest first')
    .addOption(new Option('--state <state>', 'filter by state').choices([...JOB_STATES]))
    .option('--channel <name>').option('--model <name>').option('--method <name>').option('--text <text>', 'search text')
    .option('--limit <n>', 'rows', '50').option('--cursor <cursor>', 'next page cursor')
    .action(async (opts: Record<string, string | undefined>) => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const page = await conveyor.jobs.list({ state: opts.state as JobState | undefined, channel: opts.channel, model: opts.model, method: opts.method, text: opts.text, limit: Number(opts.limit), cursor: opts.cursor });
        out(flags, page, () => renderTable(['id', 'state', 'channel', 'job', 'prio', 'try', 'created', 'description'], page.jobs.map(jobLine))
          + (page.nextCursor ? `\nmore: --cursor ${page.nextCursor}` : ''));
      } finally { await conveyor.close(); }
    });
  jobs.command('show')
    .description('show one job (id or uuid), with its attempts and why it is not running')
    .argument('<id>')
    .action(async (id: string) => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const job = await conveyor.jobs.get(/^\d+$/.test(id) ? Number(id) : id);
        if (!job) throw new ConveyorError('JOB_NOT_FOUND', `no job '${id}'`);
        const [attempts, deps, why] = await Promise.all([conveyor.jobs.attempts(job.id), conveyor.jobs.dependencies(job.id), conveyor.jobs.explain(job.id)]);
        out(flags, { job, attempts, dependencies: deps, why }, () => {
          const lines = Object.entries(job).map(([k, v]) => `${k.padEnd(14)} ${k.endsWith('At') || k === 'eta' ? formatTime(v as number | null) : typeof v === 'string' ? v : JSON.stringify(v)}`);
          lines.push(`${'why'.padEnd(14)} ${why}`);
          if (deps.dependsOn.length) lines.push(`${'depends on'.padEnd(14)} ${deps.dependsOn.join(', ')}`);
          if (deps.dependants.length) lines.push(`${'dependants'.padEnd(14)} ${deps.dependants.join(', ')}`);
          if (attempts.length) lines.push('', renderTable(['try', 'outcome', 'started', 'ended', 'error'], attempts.map((a) => [String(a.attempt), a.outcome, formatTime(a.startedAt), formatTime(a.endedAt), `${a.excName ?? ''}: ${a.excMessage ?? ''}`])));
          return lines.join('\n');
        });
      } finally { await conveyor.close(); }
    });
  for (const [name, verb, desc] of [['requeue', 'requeue', 'back to pending, tries reset'], ['cancel', 'cancel', 'cancel (--cascade: dependants too)'], ['done', 'setDone', 'set done by hand']] as const) {
    const cmd = jobs.command(name).description(desc).argument('<ids...>');
    if (name === 'cancel') cmd.option('--cascade', 'also cancel the jobs that depend on these');
    cmd.action(async (list: string[], opts: { cascade?: boolean }) => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const changed = verb === 'cancel' ? await conveyor.jobs.cancel(ids(list), { cascade: opts.cascade }) : await conveyor.jobs[verb](ids(list));
        out(flags, { changed }, () => `${name}: ${changed.length ? changed.join(', ') : 'nothing changed (check the job states)'}`);
      } finally { await conveyor.close(); }
    });
  }

  program.command('stats')
    .description('job counts by state and channel')
    .action(async () => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const rows = await conveyor.jobs.count({ groupBy: ['channel', 'state'] });
        const channels = [...new Set(rows.map((r) => r.key.channel!))];
        const table = channels.map((ch) => [ch, ...JOB_STATES.map((s) => String(rows.find((r) => r.key.channel === ch && r.key.state === s)?.count ?? 0))]);
        out(flags, rows, () => renderTable(['channel', ...JOB_STATES], table));
      } finally { await conveyor.close(); }
    });

  program.command('channels')
    .description('the channel tree with capacity, running and pending jobs')
    .option('--channels <config>', 'channel configuration to show (env CONVEYOR_CHANNELS)')
    .action(async (opts: { channels?: string }) => {
      const flags = program.opts<GlobalFlags>();
      const config = resolveConfig({ database: flags.database, schema: flags.schema, channels: opts.channels }, flags.config);
      const conveyor = await Conveyor.open({ database: config.database, schema: config.schema, channels: config.channels, logger: 'silent', maintenance: false });
      try {
        const tree = await conveyor.channelPauses.tree();
        const snap = await conveyor.driver.channelSnapshot({ now: Date.now(), sequentialChannels: tree.sequentialChannels(), throttledChannels: tree.throttledChannels() });
        const pending = await conveyor.jobs.count({ state: 'pending', groupBy: ['channel'] });
        const within = (node: string, ch: string) => ch === node || ch.startsWith(node + '.');
        const rows = tree.nodes().map((n) => {
          const running = [...snap.running].filter(([ch]) => within(n.name, ch)).reduce((a, [, v]) => a + v, 0);
          const pend = pending.filter((r) => within(n.name, r.key.channel!)).reduce((a, r) => a + r.count, 0);
          const flagsText = [n.sequential ? 'sequential' : '', n.throttleMs ? `throttle=${n.throttleMs / 1000}s` : '', n.paused ? (n.pausedSince === undefined ? 'paused' : `paused since ${formatTime(n.pausedSince)}`) : '', snap.sequentialFailed.has(n.name) ? `blocked by job ${snap.sequentialFailed.get(n.name)}` : ''].filter(Boolean).join(' ');
          return ['  '.repeat(n.name.split('.').length - 1) + n.name, n.capacity === null ? '∞' : String(n.capacity), String(running), String(pend), flagsText];
        });
        out(flags, { config: tree.toString(), nodes: tree.nodes(), running: Object.fromEntries(snap.running), pending }, () => renderTable(['channel', 'capacity', 'running', 'pending', 'flags'], rows));
      } finally { await conveyor.close(); }
    });

  const timeouts = program.command('timeouts').description('the timeout log');
  timeouts.command('stats').description('statistics over the last days').option('--days <n>', 'days', '7')
    .action(async (opts: { days: string }) => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const s = await conveyor.timeoutLog.statistics({ days: Number(opts.days) });
        out(flags, s, () => [`total ${s.totalCount}, exceeded ${s.exceededCount}, average ${Math.round(s.avgDurationMs)} ms (last ${opts.days} days)`,
          renderTable(['model.method', 'count', 'exceeded', 'avg ms'], Object.entries(s.byMethod).map(([k, v]) => [k, String(v.count), String(v.exceeded), String(Math.round(v.avgDurationMs))]))].join('\n'));
      } finally { await conveyor.close(); }
    });
  timeouts.command('cleanup').description('delete entries older than --days').option('--days <n>', 'days', '30')
    .action(async (opts: { days: string }) => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const n = await conveyor.timeoutLog.cleanup({ days: Number(opts.days) });
        out(flags, { deleted: n }, () => `deleted ${n} timeout log entries older than ${opts.days} days`);
      } finally { await conveyor.close(); }
    });

  const cron = program.command('cron').description('scheduled jobs: list, pause, resume, run now');
  cron.command('ls')
    .description('list the scheduled jobs stored in the database (from every process)')
    .action(async () => {
      const flags = program.opts<GlobalFlags>();
      const { conveyor } = await openFromConfig(flags);
      try {
        const list = await conveyor.crons.list();
        out(flags, list, () => list.length
          ? renderTable(['name', 'schedule', 'target', 'next run', 'last run', 'last job', 'state'], list.map((c) => [
            c.name, c.timezone ? `${c.schedule} (${c.timezone})` : c.schedule, c.target, c.paused ? '-' : formatTime(c.nextRunAt),
            formatTime(c.lastRunAt), c.lastJobId === null ? '' : String(c.lastJobId), c.paused ? 'paused' : 'active']))
          : 'no scheduled jobs');
      } finally { await conveyor.close(); }
    });
  for (const [name, desc] of [['pause', 'stop firing <name> (kept across redeploys until resumed)'], ['resume', 'fire <name> again from its next slot'], ['run', 'enqueue one job of <name> now, independent of its slots']] as const) {
    cron.command(name).description(desc).argument('<name>')
      .action(async (entry: string) => {
        const flags = program.opts<GlobalFlags>();
        const { conveyor } = await openFromConfig(flags);
        try {
          if (name === 'run') {
            const job = await conveyor.crons.runNow(entry);
            out(flags, { name: entry, jobId: job.id }, () => `${entry}: enqueued job ${job.id}`);
          } else {
            await conveyor.crons[name](entry);
            out(flags, { name: entry, paused: name === 'pause' }, () => `${entry}: ${name === 'pause' ? 'paused' : 'resumed'}`);
          }
        } finally { await conveyor.close(); }
      });
  }

  program.command('dashboard')
    .description('serve the dashboard for <module> (or the configured database) on 127.0.0.1')
    .argument('[module]')
    .option('--port <n>', 'port', '8790').option('--host <host>', 'bind address (non-local needs --token)', '127.0.0.1')
    .option('--token <token>', 'access token (required for a non-local bind)').option('--read-only', 'no actions')
    .action(async (module: string | undefined, opts: { port: string; host: string; token?: string; readOnly?: boolean }) => {
      const flags = program.opts<GlobalFlags>();
      const conveyor = module ? await loadConveyorModule(module) : (await openFromConfig(flags)).conveyor;
      const server = await startDashboard(conveyor, Number(opts.port), { dashboardHost: opts.host }, { token: opts.token, readOnly: opts.readOnly });
      await new Promise<void>((resolve) => {
        const stop = () => { void server.close().then(() => conveyor.close()).then(resolve); };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });

  addChannelPauseCommands<GlobalFlags>(program, openFromConfig);

  return program;
}

async function startDashboard(conveyor: Conveyor, port: number | undefined, config: CliConfig, extra: { token?: string; readOnly?: boolean } = {}): Promise<{ url: string; close(): Promise<void> }> {
  const { serveDashboard } = await import('../dashboard/index.ts');
  const { cronDashboardSource } = await import('../cron/api.ts');
  const server = await serveDashboard(conveyor, { host: config.dashboardHost ?? '127.0.0.1', port: port ?? config.dashboardPort ?? 8790,
    scheduledJobs: cronDashboardSource(conveyor.crons), ...extra });
  process.stdout.write(`dashboard: ${server.url}\n`);
  return server;
}

/** Run the CLI with `argv`; returns the exit code. */
export async function main(argv: string[] = process.argv): Promise<number> {
  const program = buildProgram();
  program.exitOverride();
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


