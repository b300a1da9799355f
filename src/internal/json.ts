/**
 * The JSON encoding of job arguments, records, results and context.
 *
 * Plain JSON plus two documented extensions, so values survive the round trip through the database:
 * - `Date` → `{ "$date": "2026-11-23T10:00:00.000Z" }`
 * - `bigint` → `{ "$bigint": "12345678901234567890" }`
 * - a plain object whose only key is `$date`, `$bigint` or `$esc` is wrapped as `{ "$esc": … }`.
 *
 * Anything else that JSON would silently change or drop (functions, `undefined` or holes in arrays, `NaN`,
 * `Infinity`, `Map`, `Set`, class instances, cycles) is rejected with a {@link ValidationError} whose
 * message names the path (`args[1].when`).
 * @module
 */
import { ValidationError, describeValue } from '../errors.ts';

function isPlainObject(v: object): boolean {
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

const SPECIAL_KEYS = new Set(['$date', '$bigint', '$esc']);

/**
 * Turn a value into a JSON-safe tree, validating as it goes.
 * @param root names the value in error messages (`args`, `records`, `result`).
 * @throws ValidationError naming the path of the first unacceptable value.
 */
export function toJsonTree(value: unknown, root: string): unknown {
  const seen = new Set<object>();
  const walk = (v: unknown, path: string): unknown => {
    switch (typeof v) {
      case 'string':
      case 'boolean':
        return v;
      case 'number':
        if (!Number.isFinite(v))
          throw new ValidationError(
            `${path} must be JSON-serialisable: got ${String(v)}, which JSON cannot represent`,
            { details: { path } },
          );
        return v;
      case 'bigint':
        return { $bigint: v.toString() };
      case 'undefined':
        throw new ValidationError(`${path} must be JSON-serialisable: got undefined`, { details: { path } });
      case 'function':
      case 'symbol':
        throw new ValidationError(
          `${path} must be JSON-serialisable: got ${typeof v === 'function' ? 'a function' : 'a symbol'}`,
          { details: { path } },
        );
    }
    if (v === null) return null;
    const obj = v as object;
    if (obj instanceof Date) {
      if (Number.isNaN(obj.getTime()))
        throw new ValidationError(`${path} must be JSON-serialisable: got an invalid Date`, { details: { path } });
      return { $date: obj.toISOString() };
    }
    if (seen.has(obj))
      throw new ValidationError(`${path} must be JSON-serialisable: it refers back to itself (a cycle)`, {
        details: { path },
      });
    seen.add(obj);
    try {
      if (Array.isArray(obj)) {
        // a for loop, not map(): a hole is read as undefined and refused, where map() would skip it and JSON write null
        const out = new Array<unknown>(obj.length);
        for (let i = 0; i < obj.length; i++) out[i] = walk(obj[i], `${path}[${i}]`);
        return out;
      }
      if (!isPlainObject(obj)) {
        throw new ValidationError(
          `${path} must be JSON-serialisable: got ${describeValue(obj)}; pass plain objects, arrays, strings, numbers, booleans, null, Date or bigint`,
          { details: { path } },
        );
      }
      const out: Record<string, unknown> = {};
      const keys = Object.keys(obj);
      for (const key of keys) {
        const item = (obj as Record<string, unknown>)[key];
        if (item === undefined) continue; // like JSON.stringify: an absent optional property
        out[key] = walk(item, /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`);
      }
      const kept = Object.keys(out); // an undefined property is dropped: `{ $date: 'x', y: undefined }` needs $esc too
      if (kept.length === 1 && SPECIAL_KEYS.has(kept[0]!)) return { $esc: out };
      return out;
    } finally {
      seen.delete(obj);
    }
  };
  return walk(value, root);
}

/** Deeper than this, {@link isPlainJson} gives up and the full walk (which detects cycles) decides. */
const PLAIN_DEPTH_LIMIT = 64;

/**
 * Whether `JSON.stringify(value)` already gives exactly what {@link toJsonTree} would: only strings, finite
 * numbers, booleans, null, arrays without holes or `undefined`, and plain objects that need no `$esc`.
 * It allocates nothing (no copy, no path strings), which is why enqueueing checks it first: most job
 * arguments are plain, and the full walk is reserved for the values that need converting or an error.
 */
function isPlainJson(v: unknown, depth: number): boolean {
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(v);
    case 'object':
      break;
    default:
      return false;
  }
  if (v === null) return true;
  if (depth > PLAIN_DEPTH_LIMIT) return false;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) if (v[i] === undefined || !isPlainJson(v[i], depth + 1)) return false; // holes read as undefined
    return true;
  }
  const proto = Object.getPrototypeOf(v);
  if (proto !== Object.prototype && proto !== null) return false;
  let n = 0;
  let only = '';
  for (const key in v) {
    if (!Object.hasOwn(v, key)) return false; // inherited enumerable keys: let the full walk decide
    const item = (v as Record<string, unknown>)[key];
    if (item === undefined) continue; // dropped by JSON.stringify, as by the full walk
    if (!isPlainJson(item, depth + 1)) return false;
    n++;
    only = key;
  }
  return !(n === 1 && SPECIAL_KEYS.has(only));
}

/** Encode a value as JSON text with the Date/BigInt extensions. @throws ValidationError */
export function encodeJson(value: unknown, root: string): string {
  if (isPlainJson(value, 0)) return JSON.stringify(value);
  return JSON.stringify(toJsonTree(value, root));
}

/** Decode the extensions of a parsed JSON tree back to `Date` and `bigint`. */
export function fromJsonTree(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map(fromJsonTree);
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj);
  if (keys.length === 1) {
    const k = keys[0]!;
    if (k === '$date' && typeof obj.$date === 'string') return new Date(obj.$date);
    if (k === '$bigint' && typeof obj.$bigint === 'string') return BigInt(obj.$bigint);
    if (k === '$esc' && obj.$esc && typeof obj.$esc === 'object') {
      const inner = obj.$esc as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of Object.keys(inner)) out[key] = fromJsonTree(inner[key]);
      return out;
    }
  }
  const out: Record<string, unknown> = {};
  for (const k of keys) out[k] = fromJsonTree(obj[k]);
  return out;
}

/** Decode JSON text written by {@link encodeJson}; `null`/empty text gives `undefined`. */
export function decodeJson(text: string | null | undefined): unknown {
  if (text === null || text === undefined || text === '') return undefined;
  return fromJsonTree(JSON.parse(text));
}
