/**
 * The dashboard's security pieces.
 *
 * - Authentication is hono's middleware: `hono/basic-auth` and `hono/bearer-auth` (both compare in
 *   constant time), tried in turn by `hono/combine`'s `some()`, then the session cookie, which is a
 *   `hono/cookie` signed cookie (HMAC-SHA256) set after a `?token=` login ({@link authMiddleware}).
 * - CSRF stays a signed double-submit token (the form field or `X-CSRF-Token` must be the HMAC of the
 *   nonce cookie under the handler's secret), not `hono/csrf`. That middleware checks the `Origin` /
 *   `Sec-Fetch-Site` headers only: it refuses a form POST that carries neither (scripts, `curl` with a
 *   token, older proxies that strip them), and it compares `Origin` with the URL the handler sees, which
 *   differs behind a TLS-terminating proxy (`https://` outside, `http://` inside) or under a rewritten
 *   host, so a mounted dashboard would refuse its own forms. The token works in every one of those cases.
 * - Also here: which hosts count as local (binding there needs no credentials).
 * @module
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { Context, MiddlewareHandler } from 'hono';
import { basicAuth } from 'hono/basic-auth';
import { bearerAuth } from 'hono/bearer-auth';
import { some } from 'hono/combine';
import { getSignedCookie, setSignedCookie } from 'hono/cookie';
import type { CookieOptions } from 'hono/utils/cookie';
import type { BasicAuthCredentials } from './options.ts';

/** Cookie holding the CSRF nonce. */
export const CSRF_COOKIE = 'conveyor_csrf';
/** Cookie holding the session after a token login. */
export const SESSION_COOKIE = 'conveyor_session';
/** What a bearer token may hold (RFC 6750 `b64token`, as `hono/bearer-auth` checks it). */
export const BEARER_TOKEN_RE = /^[A-Za-z0-9._~+/-]+=*$/;

/** True for loopback addresses and `localhost`: binding there needs no credentials. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || h === '0:0:0:0:0:0:0:1' || /^::ffff:127\./.test(h);
  return false;
}

/** Constant-time string comparison. */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba);
    return false;
  }
  return timingSafeEqual(ba, bb);
}

/** Signs values with the handler's secret. */
export class Signer {
  readonly #secret: Buffer;
  constructor(secret?: string) {
    this.#secret = secret ? Buffer.from(secret) : randomBytes(32);
  }
  /** A copy of the secret, for `hono/cookie` signed cookies. */
  secretBytes(): Uint8Array<ArrayBuffer> {
    return new Uint8Array(this.#secret);
  }
  /** HMAC-SHA256 of `purpose:value`, base64url. */
  sign(purpose: string, value: string): string {
    return createHmac('sha256', this.#secret).update(`${purpose}:${value}`).digest('base64url');
  }
  /** Whether `mac` is the signature of `value`. */
  verify(purpose: string, value: string, mac: string): boolean {
    return safeEqual(this.sign(purpose, value), mac);
  }
}

/** A fresh random nonce for the CSRF cookie. */
export function newNonce(): string {
  return randomBytes(24).toString('base64url');
}

/** What {@link authMiddleware} needs. */
export interface AuthConfig {
  token?: string | undefined;
  basicAuth?: BasicAuthCredentials | undefined;
  signer: Signer;
  /** Path prefix of the mounted handler (for the redirect after a `?token=` login). */
  base: string;
  cookieOptions(c: Context): CookieOptions;
}

/**
 * Authentication: basic auth (`hono/basic-auth`), a bearer token (`hono/bearer-auth`), or the signed
 * session cookie; the first that accepts the request wins (`hono/combine`'s `some()`). Otherwise a
 * `GET ?token=<token>` logs in (sets the session cookie and redirects without the token), and anything
 * else gets a 401 (with a basic-auth challenge when basic auth is on).
 */
export function authMiddleware(config: AuthConfig): MiddlewareHandler {
  const { token, basicAuth: creds, signer, base } = config;
  // the session cookie holds a fingerprint of the token: changing the token ends the sessions
  const fingerprint = token ? createHash('sha256').update(`conveyor-session:${token}`).digest('base64url') : null;
  const secret = signer.secretBytes();
  const checks: MiddlewareHandler[] = [];
  if (creds)
    checks.push(basicAuth({ username: creds.username, password: creds.password, realm: 'Conveyor dashboard' }));
  if (token) {
    checks.push(bearerAuth({ token }));
    checks.push(async (c, next) => {
      if ((await getSignedCookie(c, secret, SESSION_COOKIE)) !== fingerprint) throw new Error('no session'); // some(): try the next one
      await next();
    });
  }
  checks.push(async (c) => {
    const given = c.req.query('token');
    if (token && given !== undefined && c.req.method === 'GET' && safeEqual(given, token)) {
      await setSignedCookie(c, SESSION_COOKIE, fingerprint!, secret, config.cookieOptions(c));
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(`${base}${c.req.path}${url.search}`, 302);
    }
    if (creds) c.header('WWW-Authenticate', 'Basic realm="Conveyor dashboard", charset="UTF-8"');
    return c.text(
      token
        ? 'Unauthorized: open the dashboard with ?token=<token> or send Authorization: Bearer <token>.'
        : 'Unauthorized',
      401,
    );
  });
  return some(...checks);
}
