// Small helpers shared by the driver (run.mjs), the scenario child and the worker child.
import { fileURLToPath, pathToFileURL } from 'node:url';
import path from 'node:path';
import fs from 'node:fs';

export const BENCH_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO_DIR = path.resolve(BENCH_DIR, '..');
export const ADAPTER_DIR = path.join(BENCH_DIR, 'adapters');
export const RESULTS_DIR = path.join(BENCH_DIR, 'results');

/** Loopback services (override with BENCH_PG_URL / BENCH_REDIS_URL). */
export const PG_URL = process.env.BENCH_PG_URL || 'postgres://postgres@127.0.0.1:5432/bench';
export const REDIS_URL = process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379/0';

/** The systems `npm run bench` runs when --systems is not given, in table order. */
export const DEFAULT_SYSTEMS = ['conveyor:pg', 'conveyor:sqlite', 'graphile-worker', 'pg-boss', 'bullmq'];

/** The system every ratio in the report is relative to. */
export const BASELINE_SYSTEM = 'graphile-worker';

/** Epoch-based wall clock in ms with sub-ms resolution: comparable between processes. */
export const now = () => performance.timeOrigin + performance.now();

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Parse `--key value`, `--key=value` and bare `--flag` into an object. */
export function parseArgs(argv) {
  const out = { _: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) {
      out._.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) {
      out[a.slice(2, eq)] = a.slice(eq + 1);
      continue;
    }
    const key = a.slice(2);
    const next = argv[i + 1];
    if (next !== undefined && !next.startsWith('--')) {
      out[key] = next;
      i++;
    } else out[key] = true;
  }
  return out;
}

/** `name` or `name:variant` (e.g. `conveyor:sqlite`, `pg-boss:b500`). */
export function parseSystemSpec(spec) {
  const [name, variant] = spec.split(':');
  return { spec, name, variant: variant || undefined };
}

/** A stable per-system name for schemas, queues, key prefixes and files. */
export function namespaceOf(spec) {
  const { name, variant } = parseSystemSpec(spec);
  return `bench_${name}${variant ? '_' + variant : ''}`.replace(/[^a-z0-9_]/gi, '_').toLowerCase();
}

/** adapters/<name>.mjs; it exports `meta` and `createAdapter(ctx)`. */
export async function loadAdapterModule(name) {
  const file = path.join(ADAPTER_DIR, `${name}.mjs`);
  if (!fs.existsSync(file)) {
    const known = fs
      .readdirSync(ADAPTER_DIR)
      .filter((f) => f.endsWith('.mjs'))
      .map((f) => f.slice(0, -4));
    throw new Error(`unknown system '${name}' (adapters: ${known.join(', ')})`);
  }
  const mod = await import(pathToFileURL(file).href);
  if (typeof mod.createAdapter !== 'function' || !mod.meta)
    throw new Error(`${file} must export meta and createAdapter()`);
  return mod;
}

/** PG_URL with `application_name` set (it wins over a library's own): tells processes apart on the server. */
export function pgUrlWithAppName(appName, url = PG_URL) {
  const u = new URL(url);
  u.searchParams.set('application_name', appName);
  return u.href;
}

/**
 * Build an adapter for a system spec in the current process. `appName`: the PostgreSQL
 * application_name of every connection the system opens (S7 counts them per process).
 */
export async function makeAdapter(spec, { appName } = {}) {
  const { name, variant } = parseSystemSpec(spec);
  const mod = await loadAdapterModule(name);
  if (
    mod.meta.variants &&
    !mod.meta.variants.some((v) => (v instanceof RegExp ? v.test(variant ?? '') : v === (variant ?? '')))
  ) {
    throw new Error(`${name}: unknown variant '${variant ?? ''}'`);
  }
  return mod.createAdapter({
    variant,
    pgUrl: appName ? pgUrlWithAppName(appName) : PG_URL,
    redisUrl: REDIS_URL,
    namespace: namespaceOf(spec),
    log: (...a) => process.stderr.write(`[${spec}] ${a.join(' ')}\n`),
  });
}

/** Run `count` items through `concurrency` async loops calling fn(index). */
export async function runConcurrently(count, concurrency, fn) {
  let next = 0;
  const loop = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await fn(i);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, count)) }, loop));
}

/** Resolve true when `promise` settles before the epoch-ms `deadline`, else false. */
export function until(promise, deadline) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), Math.max(0, deadline - now()));
    promise.then(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

export function isoStamp(d = new Date()) {
  return d.toISOString().slice(0, 19).replace(/:/g, '-');
}
