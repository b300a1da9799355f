/**
 * The Jobs page (filters, counts, keyset-paged table, bulk actions) and the job page (attempts,
 * dependencies, graph, "why is it not running", related action, requeue / done / cancel).
 * @module
 */
import type { Hono } from 'hono';
import type { AdminApi } from '../../admin/api.ts';
import { ValidationError } from '../../errors.ts';
import { resolveRelatedAction } from '../../job/related-action.ts';
import { all, first, validCursor } from '../form.ts';
import { jobFilter, parseIds, parseJobsQuery } from '../query.ts';
import type { Env, RouteContext } from '../route-context.ts';
import { jobBody, jobLive, type JobData } from '../views/job.ts';
import { jobCounts, jobsBody, type JobsData } from '../views/jobs.ts';

/** The notice shown after each job action. */
const NOTICE_OF: Record<string, string> = { requeue: 'requeued', done: 'done', cancel: 'cancelled' };

/** Apply a job action to `ids`; returns the ids changed. @throws ValidationError on an unknown action */
async function applyAction(
  admin: AdminApi,
  action: string | undefined,
  ids: number[],
  cascade: boolean,
): Promise<number[]> {
  if (!ids.length) return [];
  switch (action) {
    case 'requeue':
      return admin.jobs.requeue(ids);
    case 'done':
      return admin.jobs.setDone(ids);
    case 'cancel':
      return admin.jobs.cancel(ids, { cascade });
    default:
      throw new ValidationError(`unknown action '${String(action).slice(0, 40)}': expected requeue, done or cancel`);
  }
}

/** Add `/jobs`, `/jobs/bulk`, `/jobs/:id` and `/jobs/:id/:action`. */
export function registerJobRoutes(app: Hono<Env>, ctx: RouteContext): void {
  const { admin, base, view, render, fail } = ctx;

  app.get('/jobs', async (c) => {
    const query = parseJobsQuery(c.req.query());
    query.cursor = validCursor(query.cursor);
    const fragment = c.req.query('fragment');
    const filter = jobFilter(query);
    const [stateCounts, groupCounts] = await Promise.all([
      admin.jobs.count({ ...jobFilter(query, false), groupBy: ['state'] }),
      query.groupBy ? admin.jobs.count({ ...filter, groupBy: [query.groupBy] }) : Promise.resolve(null),
    ]);
    if (fragment === 'counts') return c.html(jobCounts(view(c), { query, stateCounts, groupCounts }));
    const jobsPage = await admin.jobs.list({
      ...filter,
      limit: query.limit,
      cursor: query.cursor ?? null,
      sort: query.sort,
      direction: query.dir,
    });
    const channels = new Set<string>(admin.channels.nodes().map((n) => n.name));
    const models = new Map<string, string[]>();
    for (const def of admin.models.values()) {
      models.set(def.name, [...def.settings.keys()].sort());
      for (const s of def.settings.values()) channels.add(s.channel);
    }
    const data: JobsData = { query, page: jobsPage, stateCounts, groupCounts, channels: [...channels].sort(), models };
    return render(c, 'Jobs', '/jobs', jobsBody(view(c), data));
  });

  app.post('/jobs/bulk', async (c) => {
    const body = await c.req.parseBody({ all: true });
    const ids = parseIds(all(body.id));
    const action = first(body.action);
    let back = first(body.back) ?? `${base}/jobs`;
    if (!back.startsWith(`${base}/jobs`) || back.includes('//') || back.includes('\\')) back = `${base}/jobs`;
    const changed = await applyAction(admin, action, ids, first(body.cascade) === '1');
    const url = new URL(back, 'http://dashboard.invalid');
    url.searchParams.set('notice', changed.length ? NOTICE_OF[action!]! : 'none');
    url.searchParams.set('n', String(changed.length));
    return c.redirect(`${url.pathname}${url.search}`, 303);
  });

  app.get('/jobs/:id', async (c) => {
    const raw = c.req.param('id');
    const key: number | string = /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof key === 'string' && !/^[0-9a-f-]{36}$/i.test(key)) return fail(c, 404, `no job ${raw}`);
    const job = await admin.jobs.get(key);
    if (!job) return fail(c, 404, `job ${raw} does not exist (it may have been pruned)`);
    const [attempts, dependencies, explain, graph] = await Promise.all([
      admin.jobs.attempts(job.id),
      admin.jobs.dependencies(job.id),
      admin.jobs.explain(job.id),
      job.graphUuid ? admin.jobs.graph(job.graphUuid) : Promise.resolve(null),
    ]);
    // the related action of the row read above (queue_job: by default, open the job's records)
    const related = resolveRelatedAction(admin.models.get(job.model)?.settings.get(job.method), job);
    const data: JobData = { job, attempts, dependencies, explain, graph, related };
    if (c.req.query('fragment') === 'live') return c.html(jobLive(view(c), data));
    return render(c, `Job ${job.id}`, '/jobs', jobBody(view(c), data));
  });

  app.post('/jobs/:id/:action', async (c) => {
    const id = Number(c.req.param('id'));
    const action = c.req.param('action');
    if (!Number.isSafeInteger(id) || id < 1 || !(action in NOTICE_OF)) return fail(c, 404, 'no such action');
    const body = await c.req.parseBody();
    const changed = await applyAction(admin, action, [id], first(body.cascade) === '1');
    return c.redirect(
      `${base}/jobs/${id}?notice=${changed.length ? NOTICE_OF[action] : 'none'}&n=${changed.length}`,
      303,
    );
  });
}
