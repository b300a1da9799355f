/**
 * The dashboard's Hono application: middleware (security headers, authentication, CSRF, read-only) and
 * the routes of every page, fragment, action, `/metrics` and `/healthz`. It reads and writes through
 * the Conveyor's public admin API only.
 * @module
 */
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { Hono, type Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import { secureHeaders } from 'hono/secure-headers';
import type { Conveyor } from '../conveyor.ts';
import { ConveyorError, JobNotFoundError, ValidationError } from '../errors.ts';
import type { JobRow } from '../job/row.ts';
import { validateRetryPattern } from '../retry/pattern.ts';
import { normalizeChannelName } from '../channels/parse.ts';
import { renderPrometheus } from '../metrics.ts';
import {
  jobFunctionsFromModels,
  type DashboardOptions,
  type JobFunctionPatch,
  type JobFunctionsSource,
} from './options.ts';
import { jobFilter, parseIds, parseJobsQuery } from './query.ts';
import { CSRF_COOKIE, Signer, authMiddleware, newNonce } from './security.ts';
import { channelsBody, channelsTable, type ChannelsData } from './views/channels.ts';
import { functionsBody, scheduledBody } from './views/functions.ts';
import { h, type Html, type ViewContext } from './views/html.ts';
import { jobBody, jobLive, type JobData } from './views/job.ts';
import { resolveRelatedAction, type RelatedActionView } from '../job/related-action.ts';
import { jobCounts, jobsBody, type JobsData } from './views/jobs.ts';
import { errorBody, notice, page } from './views/layout.ts';
import { runnersBody, runnersTable } from './views/runners.ts';
import { KINDS, dailyBuckets, timeoutsBody, type TimeoutsData, type TimeoutsQuery } from './views/timeouts.ts';

type Env = { Variables: { csrf: string; started: number } };

/** A static asset held in memory. */
interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

const STATIC_FILES: Record<string, string> = {
  'htmx.min.js': 'text/javascript; charset=utf-8',
  'dashboard.js': 'text/javascript; charset=utf-8',
  'dashboard.css': 'text/css; charset=utf-8',
  'favicon.svg': 'image/svg+xml',
};

/** Load the assets shipped next to this module (`static/`); a missing one is reported, not fatal. */
function loadAssets(onMissing: (file: string, err: unknown) => void): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [file, type] of Object.entries(STATIC_FILES)) {
    try {
      const body = readFileSync(new URL(`./static/${file}`, import.meta.url));
      assets.set(file, { body, type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 20)}"` });
    } catch (err) {
      onMissing(file, err);
    }
  }
  return assets;
}

/** Normalise a base path: `''` or `/x/y` without a trailing slash. */
export function normalizeBasePath(base: string | undefined): string {
  if (!base || base === '/') return '';
  const b = `/${base.replace(/^\/+|\/+$/g, '')}`;
  if (!/^\/[\w\-./~%]*$/.test(b) || b.includes('//') || b.includes('..')) {
    throw new ValidationError(`dashboard basePath must be a URL path like '/admin/queue', got '${base}'`);
  }
  return b;
}

/** Only http(s) and same-site relative URLs may become related-action links. */
/** The related action of a job (queue_job: by default, open the job's records). */
export function relatedAction(conveyor: Conveyor, job: JobRow): RelatedActionView | null {
  return resolveRelatedAction(conveyor.models.get(job.model)?.settings.get(job.method), job);
}

/** Parse a positive integer form value. */
function intField(v: unknown, what: string, min: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new ValidationError(`${what} must be an integer >= ${min}, got '${String(v).slice(0, 40)}'`);
  return n;
}

function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

function all(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** A valid keyset cursor (base64url JSON `[value, id]`), else undefined: a bad cursor means the first page. */
function validCursor(cursor: string | undefined): string | undefined {
  if (!cursor) return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (
      Array.isArray(parsed) &&
      parsed.length === 2 &&
      typeof parsed[1] === 'number' &&
      (parsed[0] === null || typeof parsed[0] === 'number')
    )
      return cursor;
  } catch {
    /* fall through */
  }
  return undefined;
}

/** The resolved options the app runs with. */
export interface AppConfig extends DashboardOptions {
  basePath: string;
}

/** Build the Hono app; `release` stops its hold on the Conveyor's event counters (behind `/metrics`). */
export function buildApp(conveyor: Conveyor, config: AppConfig): { app: Hono<Env>; release: () => void } {
  const base = config.basePath;
  const readOnly = config.readOnly ?? false;
  const refreshSeconds = config.refreshSeconds ?? 2;
  const title = config.title ?? 'Conveyor';
  const timeZone = config.timeZone ?? 'UTC';
  const chartRowLimit = config.chartRowLimit ?? 20_000;
  const signer = new Signer(config.secret);
  const functions: JobFunctionsSource = config.jobFunctions ?? jobFunctionsFromModels(conveyor);
  const release = conveyor.metrics.acquire();
  const assets = loadAssets((file, err) =>
    conveyor.logger.warn(
      { file, err },
      `dashboard: static file ${file} is missing next to the dashboard module (the build must copy src/dashboard/static)`,
    ),
  );
  const authRequired = Boolean(config.token || config.basicAuth);

  const app = new Hono<Env>({
    getPath: (req) => {
      const url = req.url;
      const start = url.indexOf('/', url.indexOf('://') + 3);
      const q = url.indexOf('?', start);
      const path = start < 0 ? '/' : url.slice(start, q < 0 ? undefined : q);
      if (base && (path === base || path.startsWith(`${base}/`))) return path.slice(base.length) || '/';
      return path;
    },
  });

  // Live regions poll every `refreshSeconds`, slower when the page's queries are slow (a huge table):
  // at most ~5 % of the time is spent answering one tab's polls.
  const view = (c: Context<Env>): ViewContext => {
    const started = c.get('started');
    const elapsed = started === undefined ? 0 : performance.now() - started;
    const period = refreshSeconds === 0 ? 0 : Math.max(refreshSeconds, Math.ceil(elapsed / 50));
    return {
      base,
      csrf: c.get('csrf') ?? '',
      readOnly,
      refreshSeconds: period,
      now: conveyor.clock.now(),
      title,
      timeZone,
    };
  };
  const render = (
    c: Context<Env>,
    title: string,
    active: string,
    body: Html,
    status: 200 | 400 | 403 | 404 | 500 | 503 = 200,
  ) => {
    const ctx = view(c);
    return c.html(page(ctx, { title, active, body, notice: notice(c.req.query('notice'), c.req.query('n')) }), status);
  };
  const fail = (c: Context<Env>, status: 400 | 403 | 404 | 500 | 503, message: string) => {
    if (c.req.header('hx-request')) return c.html(h`<p class="error">${message}</p>`, status);
    return render(c, status === 404 ? 'Not found' : 'Error', '', errorBody(status, message), status);
  };
  const cookieOptions = (c: Context): CookieOptions => ({
    path: base || '/',
    httpOnly: true,
    sameSite: 'Lax' as const,
    secure: new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
  });

  // ------------------------------------------------------------------ middleware

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
      referrerPolicy: 'same-origin',
      crossOriginEmbedderPolicy: false,
      strictTransportSecurity: false,
    }),
  );

  app.onError((err, c) => {
    if (err instanceof ValidationError) return fail(c, 400, err.message);
    if (err instanceof JobNotFoundError) return fail(c, 404, err.message);
    if (err instanceof ConveyorError && err.code === 'CLOSED') return fail(c, 503, 'the Conveyor is closed');
    conveyor.logger.error({ err, path: c.req.path }, 'dashboard: request failed');
    return fail(c, 500, `internal error: ${(err as Error).message}`);
  });

  app.notFound((c) => fail(c, 404, `no page at ${c.req.path}`));

  // Authentication (static files and /healthz stay public: they hold no data).
  if (authRequired) {
    const auth = authMiddleware({ token: config.token, basicAuth: config.basicAuth, signer, base, cookieOptions });
    app.use('*', async (c, next) => {
      const path = c.req.path;
      if (path.startsWith('/static/') || path === '/healthz') return next();
      return auth(c, next);
    });
  }

  // CSRF: a signed double-submit cookie. Every POST must carry _csrf (form) or X-CSRF-Token (header).
  app.use('*', async (c, next) => {
    if (c.req.path.startsWith('/static/')) return next();
    let nonce = getCookie(c, CSRF_COOKIE);
    if (c.req.method === 'POST') {
      if (readOnly) return fail(c, 403, 'this dashboard is read-only');
      const type = c.req.header('content-type') ?? '';
      let field = c.req.header('x-csrf-token');
      if (!field && (type.startsWith('application/x-www-form-urlencoded') || type.startsWith('multipart/form-data'))) {
        field = first((await c.req.parseBody({ all: true }))._csrf);
      }
      if (!nonce || !field || !signer.verify('csrf', nonce, field))
        return fail(c, 403, 'missing or invalid CSRF token: reload the page and try again');
    } else if (c.req.method !== 'GET' && c.req.method !== 'HEAD') {
      return fail(c, 403, `method ${c.req.method} is not allowed`);
    }
    if (!nonce || nonce.length < 16 || nonce.length > 100) {
      nonce = newNonce();
      setCookie(c, CSRF_COOKIE, nonce, cookieOptions(c));
    }
    c.set('csrf', signer.sign('csrf', nonce));
    c.set('started', performance.now());
    return next();
  });

  // ------------------------------------------------------------------ static, health, metrics

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
    try {
      if (conveyor.closed) throw new Error('the Conveyor is closed');
      const v = await conveyor.driver.schemaVersion();
      return c.json({ status: 'ok', database: conveyor.driver.dialect, schemaVersion: v.current });
    } catch (err) {
      return c.json({ status: 'error', error: (err as Error).message }, 503);
    }
  });

  app.get('/metrics', async (c) =>
    c.body(renderPrometheus(await conveyor.metrics.collect()), 200, {
      'content-type': 'text/plain; version=0.0.4; charset=utf-8',
    }),
  );

  // ------------------------------------------------------------------ pages

  app.get('/', (c) => c.redirect(`${base}/jobs`, 302));

  app.get('/jobs', async (c) => {
    const query = parseJobsQuery(c.req.query());
    query.cursor = validCursor(query.cursor);
    const fragment = c.req.query('fragment');
    const filter = jobFilter(query);
    const [stateCounts, groupCounts] = await Promise.all([
      conveyor.jobs.count({ ...jobFilter(query, false), groupBy: ['state'] }),
      query.groupBy ? conveyor.jobs.count({ ...filter, groupBy: [query.groupBy] }) : Promise.resolve(null),
    ]);
    if (fragment === 'counts') return c.html(jobCounts(view(c), { query, stateCounts, groupCounts }));
    const jobsPage = await conveyor.jobs.list({
      ...filter,
      limit: query.limit,
      cursor: query.cursor ?? null,
      sort: query.sort,
      direction: query.dir,
    });
    const channels = new Set<string>(conveyor.channels.nodes().map((n) => n.name));
    const models = new Map<string, string[]>();
    for (const def of conveyor.models.values()) {
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
    const changed = await applyAction(conveyor, action, ids, first(body.cascade) === '1');
    const url = new URL(back, 'http://dashboard.invalid');
    url.searchParams.set('notice', changed.length ? NOTICE_OF[action!]! : 'none');
    url.searchParams.set('n', String(changed.length));
    return c.redirect(`${url.pathname}${url.search}`, 303);
  });

  app.get('/jobs/:id', async (c) => {
    const raw = c.req.param('id');
    const key: number | string = /^\d+$/.test(raw) ? Number(raw) : raw;
    if (typeof key === 'string' && !/^[0-9a-f-]{36}$/i.test(key)) return fail(c, 404, `no job ${raw}`);
    const job = await conveyor.jobs.get(key);
    if (!job) return fail(c, 404, `job ${raw} does not exist (it may have been pruned)`);
    const [attempts, dependencies, explain, graph] = await Promise.all([
      conveyor.jobs.attempts(job.id),
      conveyor.jobs.dependencies(job.id),
      conveyor.jobs.explain(job.id),
      job.graphUuid ? conveyor.jobs.graph(job.graphUuid) : Promise.resolve(null),
    ]);
    const data: JobData = { job, attempts, dependencies, explain, graph, related: relatedAction(conveyor, job) };
    if (c.req.query('fragment') === 'live') return c.html(jobLive(view(c), data));
    return render(c, `Job ${job.id}`, '/jobs', jobBody(view(c), data));
  });

  app.post('/jobs/:id/:action', async (c) => {
    const id = Number(c.req.param('id'));
    const action = c.req.param('action');
    if (!Number.isSafeInteger(id) || id < 1 || !(action in NOTICE_OF)) return fail(c, 404, 'no such action');
    const body = await c.req.parseBody();
    const changed = await applyAction(conveyor, action, [id], first(body.cascade) === '1');
    return c.redirect(
      `${base}/jobs/${id}?notice=${changed.length ? NOTICE_OF[action] : 'none'}&n=${changed.length}`,
      303,
    );
  });

  app.get('/channels', async (c) => {
    const now = conveyor.clock.now();
    const [snapshot, pending, failed, tree] = await Promise.all([
      conveyor.driver.channelSnapshot({
        now,
        sequentialChannels: conveyor.channels.sequentialChannels(),
        throttledChannels: conveyor.channels.throttledChannels(),
      }),
      conveyor.jobs.count({ state: 'pending', groupBy: ['channel'] }),
      conveyor.jobs.count({ state: 'failed', groupBy: ['channel'] }),
      conveyor.channelPauses.tree(),
    ]);
    const toMap = (rows: typeof pending) => new Map(rows.map((r) => [r.key.channel ?? 'root', r.count]));
    const data: ChannelsData = { tree, snapshot, pending: toMap(pending), failed: toMap(failed) };
    if (c.req.query('fragment') === 'live') return c.html(channelsTable(view(c), data));
    return render(c, 'Channels', '/channels', channelsBody(view(c), data));
  });

  // pause or resume a channel at runtime (stored; every runner applies it), see channels/pauses.ts
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
    if (action === 'pause') await conveyor.channelPauses.pause(name, { by: 'dashboard' });
    else code = (await conveyor.channelPauses.resume(name)) ? 'channel-resumed' : 'channel-not-paused';
    return c.redirect(`${base}/channels?notice=${code}`, 303);
  });

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

  app.get('/runners', async (c) => {
    const runners = await conveyor.runners();
    if (c.req.query('fragment') === 'live') return c.html(runnersTable(view(c), runners));
    return render(c, 'Runners', '/runners', runnersBody(view(c), runners));
  });

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
      conveyor.timeoutLog.statistics({ days: 7 }),
      conveyor.timeoutLog.statistics({ days: 30 }),
      conveyor.timeoutLog.list({ days: query.days, limit: 51, cursor: query.cursor ?? null, ...filter }),
      chartRows(conveyor, query.days, filter, chartRowLimit),
    ]);
    const data: TimeoutsData = {
      query,
      stats7,
      stats30,
      buckets: dailyBuckets(chart.rows, conveyor.clock.now(), query.days),
      chartTruncated: chart.truncated,
      entries: entries.slice(0, 50),
      nextCursor: entries.length > 50 ? entries[49]!.id : null,
    };
    return render(c, 'Timeout log', '/timeouts', timeoutsBody(view(c), data));
  });

  return { app, release };
}

const NOTICE_OF: Record<string, string> = { requeue: 'requeued', done: 'done', cancel: 'cancelled' };

async function applyAction(
  conveyor: Conveyor,
  action: string | undefined,
  ids: number[],
  cascade: boolean,
): Promise<number[]> {
  if (!ids.length) return [];
  switch (action) {
    case 'requeue':
      return conveyor.jobs.requeue(ids);
    case 'done':
      return conveyor.jobs.setDone(ids);
    case 'cancel':
      return conveyor.jobs.cancel(ids, { cascade });
    default:
      throw new ValidationError(`unknown action '${String(action).slice(0, 40)}': expected requeue, done or cancel`);
  }
}

/** The rows the chart is drawn from: newest first, at most `limit` (the timeout log API has no histogram yet). */
async function chartRows(
  conveyor: Conveyor,
  days: number,
  filter: { model?: string; method?: string; kind?: string },
  limit: number,
) {
  const rows: { at: number; exceeded: boolean }[] = [];
  let cursor: number | null = null;
  const page = 1000;
  for (;;) {
    const batch = await conveyor.timeoutLog.list({
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
