/**
 * The Job functions page: the settings of every job function, editable when the source allows it.
 * @module
 */
import type { Hono } from 'hono';
import type { JobFunctionPatch, JobFunctionsSource } from '../../admin/sources.ts';
import { validateRetryPattern } from '../../retry/pattern.ts';
import { first, intField } from '../form.ts';
import type { Env, RouteContext } from '../route-context.ts';
import { functionsBody } from '../views/functions.ts';

/** Add `/functions` and `/functions/:model/:method` over `functions`. */
export function registerFunctionRoutes(app: Hono<Env>, ctx: RouteContext, functions: JobFunctionsSource): void {
  const { base, view, render, fail } = ctx;

  app.get('/functions', async (c) => {
    const list = await functions.list();
    return render(
      c,
      'Job functions',
      '/functions',
      functionsBody(view(c), list, typeof functions.update === 'function'),
    );
  });

  app.post('/functions/:model/:method', async (c) => {
    if (typeof functions.update !== 'function') return fail(c, 403, 'job function settings are read-only here');
    const model = c.req.param('model');
    const method = c.req.param('method');
    const known = (await functions.list()).some((f) => f.model === model && f.method === method);
    if (!known) return fail(c, 404, `no job function ${model}.${method}`);
    const body = await c.req.parseBody();
    const patch: JobFunctionPatch = {};
    const channel = first(body.channel)?.trim();
    if (channel) patch.channel = channel;
    const maxRetries = intField(first(body.maxRetries), 'max tries', 0);
    if (maxRetries !== undefined) patch.maxRetries = maxRetries;
    const priority = intField(first(body.priority), 'priority', -2147483648);
    if (priority !== undefined) patch.priority = priority;
    if (body.timeLimitMs !== undefined) patch.timeLimitMs = intField(first(body.timeLimitMs), 'time limit', 0) ?? null;
    if (body.retryPattern !== undefined) {
      const text = first(body.retryPattern)?.trim() ?? '';
      patch.retryPattern = text ? validateRetryPattern(text, 'retry pattern') : null;
    }
    await functions.update(model, method, patch);
    return c.redirect(`${base}/functions?notice=saved`, 303);
  });
}
