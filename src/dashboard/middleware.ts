/**
 * The dashboard's middleware, in the order it runs: security headers, the error and not-found pages,
 * authentication (when a token or basic auth is set), then CSRF and the read-only guard.
 * @module
 */
import type { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { secureHeaders } from 'hono/secure-headers';
import { ConveyorError, JobNotFoundError, ValidationError } from '../errors.ts';
import { first } from './form.ts';
import type { Env, RouteContext } from './route-context.ts';
import { CSRF_COOKIE, type Signer, authMiddleware, newNonce } from './security.ts';

/** Install the middleware on `app`; `signer` signs the CSRF token and the session cookie. */
export function installMiddleware(app: Hono<Env>, ctx: RouteContext, signer: Signer): void {
  const { admin, base, config, fail, readOnly, cookieOptions } = ctx;
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
    admin.logger.error({ err, path: c.req.path }, 'dashboard: request failed');
    return fail(c, 500, `internal error: ${(err as Error).message}`);
  });

  app.notFound((c) => fail(c, 404, `no page at ${c.req.path}`));

  // Authentication (static files and /healthz stay public: they hold no data).
  if (config.token || config.basicAuth) {
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
}
