/**
 * The dashboard's Hono application: the middleware (middleware.ts) and the routes of every page,
 * fragment, action, `/metrics` and `/healthz` (routes/, one file per page). It reads and acts through
 * the public admin API only (`AdminApi`, admin/api.ts).
 * @module
 */
import { Hono } from 'hono';
import type { AdminApi } from '../admin/api.ts';
import { loadAssets } from './assets.ts';
import { jobFunctionsFromModels } from './job-functions-source.ts';
import { installMiddleware } from './middleware.ts';
import { createRouteContext, type AppConfig, type Env } from './route-context.ts';
import { registerChannelRoutes } from './routes/channels.ts';
import { registerFunctionRoutes } from './routes/functions.ts';
import { registerJobRoutes } from './routes/jobs.ts';
import { registerRunnerRoutes } from './routes/runners.ts';
import { registerScheduledRoutes } from './routes/scheduled.ts';
import { registerSystemRoutes } from './routes/system.ts';
import { registerTimeoutRoutes } from './routes/timeouts.ts';
import { Signer } from './security.ts';

export { normalizeBasePath, type AppConfig } from './route-context.ts';

/** Build the Hono app; `release` stops its hold on the Conveyor's event counters (behind `/metrics`). */
export function buildApp(admin: AdminApi, config: AppConfig): { app: Hono<Env>; release: () => void } {
  const base = config.basePath;
  const release = admin.metrics.acquire();
  const assets = loadAssets((file, err) =>
    admin.logger.warn(
      { file, err },
      `dashboard: static file ${file} is missing next to the dashboard module (the build must copy src/dashboard/static)`,
    ),
  );
  const app = new Hono<Env>({
    // the routes are written without the base path: strip it from the request's path
    getPath: (req) => {
      const url = req.url;
      const start = url.indexOf('/', url.indexOf('://') + 3);
      const q = url.indexOf('?', start);
      const path = start < 0 ? '/' : url.slice(start, q < 0 ? undefined : q);
      if (base && (path === base || path.startsWith(`${base}/`))) return path.slice(base.length) || '/';
      return path;
    },
  });
  const ctx = createRouteContext(admin, config);
  installMiddleware(app, ctx, new Signer(config.secret));
  registerSystemRoutes(app, ctx, assets);
  registerJobRoutes(app, ctx);
  registerChannelRoutes(app, ctx);
  registerFunctionRoutes(app, ctx, config.jobFunctions ?? jobFunctionsFromModels(admin));
  registerScheduledRoutes(app, ctx);
  registerRunnerRoutes(app, ctx);
  registerTimeoutRoutes(app, ctx);
  return { app, release };
}
