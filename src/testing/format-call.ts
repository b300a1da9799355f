/**
 * How the test kit writes a call in its messages: `res.partner(1,2).sendNewsletter('welcome') with
 * properties (priority=15, eta=… (+1h))`.
 * @module
 */
import { inspect } from 'node:util';
import type { ResolvedMethodRef } from '../model/method-ref.ts';
import { pickProperties, type JobProperties } from './properties.ts';

/** A call as the messages show it; `at` (when it was made) lets an `eta` show as relative to it. */
export interface ShownCall {
  readonly model: string;
  readonly method: string;
  readonly records: readonly unknown[];
  readonly args: readonly unknown[];
  readonly at?: number;
}

/** Text shown as is in messages (not quoted like a string). */
export class Shown {
  /** The text. */
  readonly text: string;
  /** Wrap `text`. */
  constructor(text: string) {
    this.text = text;
  }
  /** The text, unquoted, for `util.inspect`. */
  [inspect.custom](): string {
    return this.text;
  }
}

function show(value: unknown): string {
  return inspect(value, { depth: 6, breakLength: Infinity, compact: true, sorted: false });
}

/** `ms` as a signed duration in its largest whole unit: `+1h`, `-30s`, `+1500ms`. */
export function showDuration(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const a = Math.abs(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ] as const) {
    if (a >= size && a % size === 0) return `${sign}${a / size}${unit}`;
  }
  return `${sign}${a}ms`;
}

function showProperty(key: string, value: unknown, at: number | null): string {
  if (key === 'eta' && typeof value === 'number' && at !== null)
    return `${new Date(value).toISOString()} (${showDuration(value - at)})`;
  if (key === 'eta' && value instanceof Date) return value.toISOString();
  return show(value);
}

/** `model(records).method(args) with properties (k=v, …)`; `properties` null leaves the suffix out. */
export function formatCall(c: ShownCall, properties: Readonly<Record<string, unknown>> | null): string {
  const records = c.records.length ? `(${c.records.map(show).join(',')})` : '';
  const head = `${c.model}${records}.${c.method}(${c.args.map(show).join(', ')})`;
  if (properties === null) return head;
  const props = Object.entries(properties)
    .map(([k, v]) => `${k}=${showProperty(k, v, c.at ?? null)}`)
    .join(', ');
  return `${head} with properties (${props})`;
}

/** One call per line (` * …`), with the properties `keys` (all that are set when null); ` (none)` when empty. */
export function listCalls(
  items: readonly (ShownCall & { readonly properties: Readonly<JobProperties> })[],
  keys: readonly string[] | null,
): string {
  return items.length
    ? items.map((c) => ` * ${formatCall(c, pickProperties(c.properties, keys))}`).join('\n')
    : ' (none)';
}

/** A method reference as a count's label: `res.partner.send` (any records) or `res.partner(1).send`. */
export function describeRef(r: ResolvedMethodRef, anyRecords: boolean): string {
  return anyRecords ? `${r.model}.${r.method}` : formatCall({ ...r, args: [] }, null).replace(/\(\)$/, '');
}
