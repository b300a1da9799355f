/**
 * The Runners page: every runner registered in the database, with its lease and load.
 * @module
 */
import type { Hono } from 'hono';
import type { Env, RouteContext } from '../route-context.ts';
import { runnersBody, runnersTable } from '../views/runners.ts';

/** Add `/runners`. */
export function registerRunnerRoutes(app: Hono<Env>, ctx: RouteContext): void {
  const { admin, view, render } = ctx;
  app.get('/runners', async (c) => {
    const runners = await admin.runners();
    if (c.req.query('fragment') === 'live') return c.html(runnersTable(view(c), runners));
    return render(c, 'Runners', '/runners', runnersBody(view(c), runners));
  });
}
