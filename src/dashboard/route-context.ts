/**
 * What every route of the dashboard shares: the admin API it reads and acts through, the resolved
 * options, and how a page, a fragment or an error is rendered.
 * @module
 */
import type { Context } from 'hono';
import type { CookieOptions } from 'hono/utils/cookie';
import type { AdminApi } from '../admin/api.ts';
import { ValidationError } from '../errors.ts';
import type { DashboardOptions } from './options.ts';
import { h, type Html, type ViewContext } from './views/html.ts';
import { errorBody, notice, page } from './views/layout.ts';

/** The Hono environment: the CSRF token of the request and when its handling started. */
export type Env = { Variables: { csrf: string; started: number } };

/** The resolved options the app runs with. */
export interface AppConfig extends DashboardOptions {
  /** The normalised base path (`''` or `/x/y`). */
  basePath: string;
}

/** An HTTP status a page is rendered with. */
export type PageStatus = 200 | 400 | 403 | 404 | 500 | 503;

/** What the routes share. */
export interface RouteContext {
  /** The admin API every page reads and acts through. */
  readonly admin: AdminApi;
  /** The resolved options. */
  readonly config: AppConfig;
  /** The base path, prefixed to every link. */
  readonly base: string;
  /** Whether actions are hidden and POSTs refused. */
  readonly readOnly: boolean;
  /** What the views of one request need. */
  view(c: Context<Env>): ViewContext;
  /** A full page with the layout. */
  render(c: Context<Env>, title: string, active: string, body: Html, status?: PageStatus): Response | Promise<Response>;
  /** An error: a fragment for an htmx request, else an error page. */
  fail(c: Context<Env>, status: Exclude<PageStatus, 200>, message: string): Response | Promise<Response>;
  /** Options of the cookies the dashboard sets (scoped to the base path, secure behind https). */
  cookieOptions(c: Context): CookieOptions;
}

/** Normalise a base path: `''` or `/x/y` without a trailing slash. @throws ValidationError on anything else */
export function normalizeBasePath(base: string | undefined): string {
  if (!base || base === '/') return '';
  const b = `/${base.replace(/^\/+|\/+$/g, '')}`;
  if (!/^\/[\w\-./~%]*$/.test(b) || b.includes('//') || b.includes('..')) {
    throw new ValidationError(`dashboard basePath must be a URL path like '/admin/queue', got '${base}'`);
  }
  return b;
}

/** The route context of a dashboard over `admin` with `config`. */
export function createRouteContext(admin: AdminApi, config: AppConfig): RouteContext {
  const base = config.basePath;
  const readOnly = config.readOnly ?? false;
  const refreshSeconds = config.refreshSeconds ?? 2;
  const title = config.title ?? 'Conveyor';
  const timeZone = config.timeZone ?? 'UTC';
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
      now: admin.clock.now(),
      title,
      timeZone,
    };
  };
  const render: RouteContext['render'] = (c, pageTitle, active, body, status = 200) =>
    c.html(
      page(view(c), { title: pageTitle, active, body, notice: notice(c.req.query('notice'), c.req.query('n')) }),
      status,
    );
  return {
    admin,
    config,
    base,
    readOnly,
    view,
    render,
    fail: (c, status, message) => {
      if (c.req.header('hx-request')) return c.html(h`<p class="error">${message}</p>`, status);
      return render(c, status === 404 ? 'Not found' : 'Error', '', errorBody(status, message), status);
    },
    cookieOptions: (c) => ({
      path: base || '/',
      httpOnly: true,
      sameSite: 'Lax' as const,
      secure: new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https',
    }),
  };
}
