/**
 * The Scheduled jobs page: next and last run of every entry; pause, resume and run now when the
 * source allows them.
 * @module
 */
import type { Hono } from 'hono';
import type { Env, RouteContext } from '../route-context.ts';
import { scheduledBody } from '../views/functions.ts';

/** Add `/scheduled` and `/scheduled/:name/:action` over `config.scheduledJobs`. */
export function registerScheduledRoutes(app: Hono<Env>, ctx: RouteContext): void {
  const { base, config, view, render, fail } = ctx;

  app.get('/scheduled', async (c) => {
    const source = config.scheduledJobs;
    const entries = source ? await source.list() : null;
    return render(
      c,
      'Scheduled jobs',
      '/scheduled',
      scheduledBody(view(c), entries, {
        pause: Boolean(source?.pause),
        resume: Boolean(source?.resume),
        runNow: Boolean(source?.runNow),
      }),
    );
  });

  app.post('/scheduled/:name/:action', async (c) => {
    const source = config.scheduledJobs;
    const name = c.req.param('name');
    const action = c.req.param('action');
    if (!source) return fail(c, 404, 'no scheduled-jobs source');
    if (!(await source.list()).some((e) => e.name === name)) return fail(c, 404, `no scheduled job ${name}`);
    if (action === 'pause' && source.pause) await source.pause(name);
    else if (action === 'resume' && source.resume) await source.resume(name);
    else if (action === 'run' && source.runNow) await source.runNow(name);
    else return fail(c, 404, `action ${action} is not available`);
    return c.redirect(
      `${base}/scheduled?notice=${action === 'run' ? 'ran' : action === 'pause' ? 'paused' : 'resumed'}`,
      303,
    );
  });
}
