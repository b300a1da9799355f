/**
 * The web dashboard: server-rendered pages over the Conveyor's admin API (jobs, job page with graph and
 * "why is it not running", channels, job functions, scheduled jobs, runners, timeout log), `/metrics`
 * and `/healthz`.
 *
 * `createDashboard()` gives a web-standard handler to mount in any server; `serveDashboard()` serves it
 * on its own port (127.0.0.1 by default; any other address requires a token or basic auth).
 * @example
 * const dashboard = createDashboard(conveyor, { basePath: '/queue', token: process.env.DASHBOARD_TOKEN });
 * http.createServer(getRequestListener(dashboard.fetch)).listen(3000);
 * @example
 * const { url, close } = await serveDashboard(conveyor, { port: 8080 });
 * @module
 */
import type { AddressInfo } from 'node:net';
import { createAdaptorServer } from '@hono/node-server';
import type { AdminApi } from '../admin/api.ts';
import { cronDashboardSource } from '../cron/api.ts';
import { ConfigurationError, describeValue } from '../errors.ts';
import { buildApp, normalizeBasePath } from './app.ts';
import type { DashboardOptions, ServeDashboardOptions } from './options.ts';
import { BEARER_TOKEN_RE, isLoopbackHost } from './security.ts';

export type { AdminApi, HealthStatus } from '../admin/api.ts';
export type { ChannelLoad, ChannelLoadRow } from '../admin/channel-load.ts';
export type {
  BasicAuthCredentials,
  DashboardOptions,
  JobFunctionInfo,
  JobFunctionPatch,
  JobFunctionsSource,
  JobFunctionView,
  ScheduledJobInfo,
  ScheduledJobsSource,
  ServeDashboardOptions,
} from './options.ts';
export { jobFunctionsFromModels } from './job-functions-source.ts';
export { isLoopbackHost } from './security.ts';

/** A mounted dashboard: a web-standard request handler. */
export interface Dashboard {
  /** Handle one request (`(Request) => Promise<Response>`); mount with `getRequestListener(dashboard.fetch)`. */
  fetch(request: Request): Promise<Response>;
  /** The normalised base path (`''` or `'/admin/queue'`). */
  readonly basePath: string;
  /** Release the Conveyor's event counters behind `/metrics` (they stop unless another consumer holds them). */
  close(): void;
}

/** A dashboard served on its own port by {@link serveDashboard}. */
export interface DashboardServer {
  /** Where it listens, e.g. `http://127.0.0.1:43125/` (with the base path). */
  readonly url: string;
  /** The bound port. */
  readonly port: number;
  /** Stop listening and close open connections. */
  close(): Promise<void>;
}

const OPTION_KEYS = new Set([
  'basePath',
  'readOnly',
  'token',
  'basicAuth',
  'secret',
  'refreshSeconds',
  'title',
  'timeZone',
  'scheduledJobs',
  'jobFunctions',
  'chartRowLimit',
]);

function checkOptions(options: DashboardOptions, extra: readonly string[], what: string): void {
  if (options === null || typeof options !== 'object')
    throw new ConfigurationError(`${what}: options must be an object, got ${describeValue(options)}`);
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key) && !extra.includes(key)) throw new ConfigurationError(`${what}: unknown option '${key}'`);
  }
  if (options.token !== undefined && (typeof options.token !== 'string' || options.token.length < 8)) {
    throw new ConfigurationError(`${what}: token must be a string of at least 8 characters`);
  }
  if (options.token !== undefined && !BEARER_TOKEN_RE.test(options.token)) {
    throw new ConfigurationError(
      `${what}: token may hold only letters, digits and - . _ ~ + / (then = padding), as an HTTP bearer token must`,
    );
  }
  if (options.basicAuth !== undefined) {
    const b = options.basicAuth as unknown as Record<string, unknown>;
    if (
      !b ||
      typeof b.username !== 'string' ||
      typeof b.password !== 'string' ||
      !b.username ||
      !b.password ||
      b.username.includes(':')
    ) {
      throw new ConfigurationError(
        `${what}: basicAuth must be { username, password } with non-empty strings (no ':' in the username)`,
      );
    }
  }
  if (
    options.refreshSeconds !== undefined &&
    (!Number.isFinite(options.refreshSeconds) || options.refreshSeconds < 0)
  ) {
    throw new ConfigurationError(
      `${what}: refreshSeconds must be a number >= 0, got ${describeValue(options.refreshSeconds)}`,
    );
  }
  if (options.timeZone !== undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: options.timeZone });
    } catch {
      throw new ConfigurationError(`${what}: unknown timeZone ${describeValue(options.timeZone)}`);
    }
  }
}

/**
 * Create the dashboard's request handler over a Conveyor (or anything else that implements the admin
 * API, {@link AdminApi}): it reads and acts through that interface only.
 * @throws ConfigurationError on bad options
 */
export function createDashboard(conveyor: AdminApi, options: DashboardOptions = {}): Dashboard {
  checkOptions(options, [], 'createDashboard()');
  let basePath: string;
  try {
    basePath = normalizeBasePath(options.basePath);
  } catch (err) {
    throw new ConfigurationError((err as Error).message);
  }
  // scheduled jobs come from the Conveyor's cron API unless the caller plugs in another source
  const { app, release } = buildApp(conveyor, {
    scheduledJobs: cronDashboardSource(conveyor.crons),
    ...options,
    basePath,
  });
  return {
    basePath,
    fetch: async (request: Request) => app.fetch(request),
    close: release,
  };
}

/**
 * Serve the dashboard on its own port.
 * @throws ConfigurationError when `host` is not a loopback address and neither `token` nor `basicAuth`
 *   is given (nothing listens then), or on bad options.
 */
export async function serveDashboard(
  conveyor: AdminApi,
  options: ServeDashboardOptions = {},
): Promise<DashboardServer> {
  const { host = '127.0.0.1', port = 0, ...rest } = options;
  checkOptions(rest, [], 'serveDashboard()');
  if (typeof host !== 'string' || !host)
    throw new ConfigurationError(`serveDashboard(): host must be a non-empty string, got ${describeValue(host)}`);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new ConfigurationError(`serveDashboard(): port must be an integer 0-65535, got ${describeValue(port)}`);
  if (!isLoopbackHost(host) && !rest.token && !rest.basicAuth) {
    throw new ConfigurationError(
      `serveDashboard(): refusing to listen on '${host}' without authentication: pass token or basicAuth, or bind to 127.0.0.1`,
      { details: { host } },
    );
  }
  const dashboard = createDashboard(conveyor, rest);
  const server = createAdaptorServer({ fetch: dashboard.fetch, overrideGlobalObjects: false });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  }).catch((err: unknown) => {
    dashboard.close();
    throw err;
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' || host.includes(':') ? `[${address.address}]` : host;
  let closed: Promise<void> | null = null;
  return {
    url: `http://${shownHost}:${address.port}${dashboard.basePath}/`,
    port: address.port,
    close: () => {
      closed ??= new Promise<void>((resolve) => {
        dashboard.close();
        server.close(() => resolve());
        const s = server as unknown as { closeAllConnections?: () => void };
        s.closeAllConnections?.();
      });
      return closed;
    },
  };
}
