/**
 * The dashboard's security pieces: which hosts count as local, token and basic-auth checks (constant
 * time), the session cookie given after `?token=`, and CSRF tokens (a signed double-submit cookie:
 * the form field must be the HMAC of the cookie under the handler's secret).
 * @module
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { BasicAuthCredentials } from './options.ts';

/** Cookie holding the CSRF nonce. */
export const CSRF_COOKIE = 'conveyor_csrf';
/** Cookie holding the session after a token login. */
export const SESSION_COOKIE = 'conveyor_session';

/** True for loopback addresses and `localhost`: binding there needs no credentials. */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase().replace(/^\[|\]$/g, '');
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

/** Check `Authorization: Basic …` against the credentials. */
export function checkBasic(header: string | undefined, creds: BasicAuthCredentials): boolean {
  if (!header || !/^basic /i.test(header)) return false;
  let decoded: string;
  try {
    decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
  } catch {
    return false;
  }
  const i = decoded.indexOf(':');
  if (i < 0) return false;
  const userOk = safeEqual(decoded.slice(0, i), creds.username);
  const passOk = safeEqual(decoded.slice(i + 1), creds.password);
  return userOk && passOk;
}

/** Check `Authorization: Bearer …` against the token. */
export function checkBearer(header: string | undefined, token: string): boolean {
  if (!header || !/^bearer /i.test(header)) return false;
  return safeEqual(header.slice(7).trim(), token);
}
