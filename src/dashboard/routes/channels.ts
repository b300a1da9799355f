/**
 * The Channels page (the tree with its live load, from `conveyor.channelLoad()`) and pausing or
 * resuming a channel at runtime (stored; every runner applies it, see channels/pauses.ts).
 * @module
 */
import type { Hono } from 'hono';
import { normalizeChannelName } from '../../channels/parse.ts';
import type { Env, RouteContext } from '../route-context.ts';
import { channelsBody, channelsTable } from '../views/channels.ts';

/** Add `/channels` and `/channels/:name/:action`. */
export function registerChannelRoutes(app: Hono<Env>, ctx: RouteContext): void {
  const { admin, base, view, render, fail } = ctx;

  app.get('/channels', async (c) => {
    const data = await admin.channelLoad();
    if (c.req.query('fragment') === 'live') return c.html(channelsTable(view(c), data));
    return render(c, 'Channels', '/channels', channelsBody(view(c), data));
  });

  app.post('/channels/:name/:action', async (c) => {
    const action = c.req.param('action');
    if (action !== 'pause' && action !== 'resume') return fail(c, 404, 'no such action');
    let name: string;
    try {
      name = normalizeChannelName(c.req.param('name'));
    } catch (err) {
      return fail(c, 400, (err as Error).message);
    }
    let code = 'channel-paused';
    if (action === 'pause') await admin.channelPauses.pause(name, { by: 'dashboard' });
    else code = (await admin.channelPauses.resume(name)) ? 'channel-resumed' : 'channel-not-paused';
    return c.redirect(`${base}/channels?notice=${code}`, 303);
  });
}
