/**
 * The routes that are not pages: static assets, `/healthz` (public: it holds no data) and `/metrics`
 * (the Prometheus text of `conveyor.metrics`).
 * @module
 */
import type { Hono } from 'hono';
import { renderPrometheus } from '../../metrics/prometheus.ts';
import type { Asset } from '../assets.ts';
import type { Env, RouteContext } from '../route-context.ts';

/** Add `/static/:file`, `/healthz`, `/metrics` and the `/` redirect. */
export function registerSystemRoutes(app: Hono<Env>, ctx: RouteContext, assets: ReadonlyMap<string, Asset>): void {
  const { admin, base } = ctx;
  app.get('/static/:file', (c) => {
    const asset = assets.get(c.req.param('file'));
    if (!asset) return c.text('not found', 404);
    if (c.req.header('if-none-match') === asset.etag) return c.body(null, 304);
    return c.body(new Uint8Array(asset.body), 200, {
      'content-type': asset.type,
      etag: asset.etag,
      'cache-control': 'public, max-age=300',
    });
  });

  app.get('/healthz', async (c) => {
    const health = await admin.health();
    return c.json(health, health.status === 'ok' ? 200 : 503);
  });

  app.get('/metrics', async (c) =>
    c.body(renderPrometheus(await admin.metrics.collect()), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  app.get('/', (c) => c.redirect(`${base}/jobs`, 302));
}
