/**
 * Reading form fields and query values the way the dashboard's routes need them: one value, every
 * value, a bounded integer, a keyset cursor.
 * @module
 */
import { ValidationError } from '../errors.ts';

/** The first string value of a form field (a repeated field gives an array), else undefined. */
export function first(v: unknown): string | undefined {
  if (Array.isArray(v)) return first(v[0]);
  return typeof v === 'string' ? v : undefined;
}

/** Every string value of a form field. */
export function all(v: unknown): string[] {
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === 'string');
  return typeof v === 'string' ? [v] : [];
}

/** Parse an integer form value >= `min`; empty means undefined. @throws ValidationError otherwise */
export function intField(v: unknown, what: string, min: number): number | undefined {
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new ValidationError(`${what} must be an integer >= ${min}, got '${String(v).slice(0, 40)}'`);
  return n;
}

/** A valid keyset cursor (base64url JSON `[value, id]`), else undefined: a bad cursor means the first page. */
export function validCursor(cursor: string | undefined): string | undefined {
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
