/**
 * The Timeout log page: statistics over 7 and 30 days, the daily chart, and the paged entries.
 * @module
 */
import type { Hono } from 'hono';
import type { AdminApi } from '../../admin/api.ts';
import type { Env, RouteContext } from '../route-context.ts';
import { KINDS, dailyBuckets, timeoutsBody, type TimeoutsData, type TimeoutsQuery } from '../views/timeouts.ts';

/** The rows the chart is drawn from: newest first, at most `limit` (the timeout log API has no histogram yet). */
async function chartRows(
  admin: AdminApi,
  days: number,
  filter: { model?: string; method?: string; kind?: string },
  limit: number,
) {
  const rows: { at: number; exceeded: boolean }[] = [];
  let cursor: number | null = null;
  const page = 1000;
  for (;;) {
    const batch = await admin.timeoutLog.list({
      days,
      limit: Math.min(page, limit - rows.length),
      cursor,
      ...filter,
    });
    for (const e of batch) rows.push({ at: e.at, exceeded: e.exceeded });
    if (batch.length < page || rows.length >= limit)
      return { rows, truncated: rows.length >= limit && batch.length > 0 };
    cursor = batch[batch.length - 1]!.id;
  }
}

/** Add `/timeouts`. */
export function registerTimeoutRoutes(app: Hono<Env>, ctx: RouteContext): void {
  const { admin, config, view, render } = ctx;
  const chartRowLimit = config.chartRowLimit ?? 20_000;
  app.get('/timeouts', async (c) => {
    const q = c.req.query();
    const cursor = Number(q.cursor);
    const query: TimeoutsQuery = {
      days: q.days === '30' ? 30 : 7,
      groupBy: q.groupBy === 'model' || q.groupBy === 'method' ? q.groupBy : undefined,
      model: q.model?.trim() || undefined,
      method: q.method?.trim() || undefined,
      kind: (KINDS as readonly string[]).includes(q.kind ?? '') ? q.kind : undefined,
      cursor: Number.isSafeInteger(cursor) && cursor > 0 ? cursor : undefined,
    };
    const filter = { model: query.model, method: query.method, kind: query.kind };
    const [stats7, stats30, entries, chart] = await Promise.all([
      admin.timeoutLog.statistics({ days: 7 }),
      admin.timeoutLog.statistics({ days: 30 }),
      admin.timeoutLog.list({ days: query.days, limit: 51, cursor: query.cursor ?? null, ...filter }),
      chartRows(admin, query.days, filter, chartRowLimit),
    ]);
    const data: TimeoutsData = {
      query,
      stats7,
      stats30,
      buckets: dailyBuckets(chart.rows, admin.clock.now(), query.days),
      chartTruncated: chart.truncated,
      entries: entries.slice(0, 50),
      nextCursor: entries.length > 50 ? entries[49]!.id : null,
    };
    return render(c, 'Timeout log', '/timeouts', timeoutsBody(view(c), data));
  });
}
