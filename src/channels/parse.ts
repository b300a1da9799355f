/**
 * The channel configuration syntax of queue_job: `name[:capacity[:key[=value]]...]`, entries separated by
 * commas or newlines, e.g. `root:4,root.mail:2,root.sync:1:sequential,root.api:2:throttle=1`.
 * See `docs/channels.md` for the full grammar and where Conveyor deviates from queue_job.
 * @module
 */
import { ChannelConfigError } from '../errors.ts';
import { parseDuration } from '../internal/duration.ts';

/** One configured channel, as written in the configuration string (names are always full: `root.mail`). */
export interface ChannelSpec {
  /** Full dot-separated name, always starting with `root` (`'root.mail'`). */
  name: string;
  /** Maximum jobs `enqueued` + `started` in this channel and its sub-channels; `null` = unlimited (only auto-created nodes). */
  capacity: number | null;
  /** Run the channel's jobs strictly one after the other, stopping at a failed job. Requires capacity 1. */
  sequential: boolean;
  /** Minimum time between two job starts in this channel, in milliseconds; `0` = no throttle. */
  throttleMs: number;
  /** When true nothing runs in this channel nor in its sub-channels. */
  paused: boolean;
}

/** The name of the root channel. */
export const ROOT_CHANNEL = 'root';

const SEGMENT = /^[A-Za-z0-9_-]+$/;
const INTEGER = /^\d+$/;
const KNOWN_KEYS = ['sequential', 'throttle', 'paused'] as const;

/**
 * Normalise a channel name: `'mail'` → `'root.mail'`, `'root.mail'` stays, `''`/`null`/`undefined` → `'root'`.
 * Surrounding whitespace is ignored.
 * @throws ChannelConfigError naming the name when a dot-separated part is empty or not `[A-Za-z0-9_-]+`.
 */
export function normalizeChannelName(name: string | null | undefined): string {
  if (name === null || name === undefined) return ROOT_CHANNEL;
  if (typeof name !== 'string') {
    throw new ChannelConfigError(`invalid channel name: expected a string, got ${typeof name}`, { details: { name } });
  }
  const problem = nameProblem(name);
  if (problem !== null) throw new ChannelConfigError(problem, { details: { name } });
  const trimmed = name.trim();
  if (trimmed === '' || trimmed === ROOT_CHANNEL) return ROOT_CHANNEL;
  return trimmed.startsWith(ROOT_CHANNEL + '.') ? trimmed : `${ROOT_CHANNEL}.${trimmed}`;
}

/** Why `name` is not a valid channel name, or null when it is (empty counts as valid: it is the root). */
function nameProblem(name: string): string | null {
  const trimmed = name.trim();
  if (trimmed === '') return null;
  for (const segment of trimmed.split('.')) {
    if (!SEGMENT.test(segment)) {
      return segment === ''
        ? `invalid channel name '${name}': it has an empty part (each dot-separated part must match [A-Za-z0-9_-]+)`
        : `invalid channel name '${name}': part '${segment}' must match [A-Za-z0-9_-]+`;
    }
  }
  return null;
}

/** Split the configuration into entries: newlines and commas separate, `#` lines are comments. */
function entries(config: string): string[] {
  const out: string[] = [];
  for (const line of config.split(/\r\n|\r|\n/)) {
    if (line.trim().startsWith('#')) continue;
    for (const piece of line.split(',')) {
      const entry = piece.trim();
      if (entry !== '') out.push(entry);
    }
  }
  return out;
}

function fail(message: string, entry: string, extra: Record<string, unknown> = {}): never {
  throw new ChannelConfigError(message, { details: { entry, ...extra } });
}

/** Parse one entry (already trimmed, not empty). */
function parseEntry(entry: string): ChannelSpec {
  const items = entry.split(':').map((item) => item.trim());
  const rawName = items[0]!;
  if (rawName === '') fail(`missing channel name in '${entry}'`, entry);
  const problem = nameProblem(rawName);
  if (problem !== null) fail(`${problem} in '${entry}'`, entry);
  const name = normalizeChannelName(rawName);
  let capacity = 1;
  if (items.length > 1) {
    const raw = items[1]!;
    const value = Number(raw);
    if (!INTEGER.test(raw) || !Number.isSafeInteger(value)) {
      fail(`invalid capacity '${raw}' in '${entry}': expected an integer >= 0`, entry, { channel: name });
    }
    capacity = value;
  }
  const spec: ChannelSpec = { name, capacity, sequential: false, throttleMs: 0, paused: false };
  const seen = new Set<string>();
  for (const item of items.slice(2)) {
    const kv = item.split('=').map((part) => part.trim());
    if (kv.length > 2)
      fail(`invalid option '${item}' in '${entry}': expected key or key=value`, entry, { channel: name });
    const key = kv[0]!;
    const value = kv.length === 2 ? kv[1]! : undefined;
    if (key === '') fail(`empty option '${item}' in '${entry}'`, entry, { channel: name });
    if (seen.has(key) || key === 'capacity')
      fail(`duplicate key '${key}' in '${entry}'`, entry, { channel: name, key });
    seen.add(key);
    switch (key) {
      case 'sequential':
      case 'paused':
        if (value !== undefined)
          fail(`option '${key}' takes no value, got '${item}' in '${entry}'`, entry, { channel: name, key });
        spec[key] = true;
        break;
      case 'throttle':
        spec.throttleMs = parseThrottle(value, entry, name);
        break;
      default:
        fail(`unknown option '${key}' in '${entry}': expected one of ${KNOWN_KEYS.join(', ')}`, entry, {
          channel: name,
          key,
        });
    }
  }
  const invalid = specProblem(spec);
  if (invalid !== null) fail(`${invalid} (in '${entry}')`, entry, { channel: name });
  return spec;
}

/** `throttle=N` (whole seconds > 0) or `throttle=500ms` / `throttle=1.5s` (any duration > 0). */
function parseThrottle(value: string | undefined, entry: string, name: string): number {
  const bad = (): never =>
    fail(
      `invalid throttle '${value ?? ''}' in '${entry}': expected whole seconds > 0 or a duration like '500ms', '2s', '1m'`,
      entry,
      { channel: name, key: 'throttle' },
    );
  if (value === undefined || value === '') return bad();
  let ms: number;
  if (INTEGER.test(value)) {
    ms = Number(value) * 1000;
  } else {
    try {
      ms = parseDuration(value, 'throttle');
    } catch {
      return bad();
    }
  }
  if (!Number.isSafeInteger(ms) || ms <= 0) return bad();
  return ms;
}

/** Why a spec's values are inconsistent (its name is assumed valid), or null. */
function specProblem(spec: ChannelSpec): string | null {
  if (!(Number.isSafeInteger(spec.capacity) && (spec.capacity as number) >= 0)) {
    return `channel '${spec.name}' has capacity ${String(spec.capacity)}, expected an integer >= 0 (only auto-created channels are unlimited)`;
  }
  if (spec.sequential && spec.capacity !== 1) {
    return `channel '${spec.name}' is sequential, so its capacity must be 1, got ${spec.capacity}`;
  }
  if (!(Number.isSafeInteger(spec.throttleMs) && spec.throttleMs >= 0)) {
    return `channel '${spec.name}' has throttleMs ${String(spec.throttleMs)}, expected an integer >= 0`;
  }
  return null;
}

/**
 * Check specs handed in as objects (not parsed from a string) and return normalised copies.
 * Used by {@link formatChannels} and `ChannelTree.fromConfig`.
 * @throws ChannelConfigError naming the entry (written in the channel syntax as far as possible).
 * @internal
 */
export function checkSpecs(specs: readonly ChannelSpec[]): ChannelSpec[] {
  const out: ChannelSpec[] = [];
  const byName = new Map<string, string>();
  for (const spec of specs) {
    const entry = describeSpec(spec);
    if (spec === null || typeof spec !== 'object' || typeof spec.name !== 'string') {
      fail(`invalid channel spec ${entry}: expected an object with a string 'name'`, entry);
    }
    if (spec.name.trim() === '') fail(`missing channel name in '${entry}'`, entry);
    const problem = nameProblem(spec.name);
    if (problem !== null) fail(`${problem} in '${entry}'`, entry);
    if (spec.name !== normalizeChannelName(spec.name)) {
      fail(
        `channel name '${spec.name}' is not normalised (expected '${normalizeChannelName(spec.name)}') in '${entry}'`,
        entry,
      );
    }
    const copy: ChannelSpec = {
      name: spec.name,
      capacity: spec.capacity,
      sequential: spec.sequential === true,
      throttleMs: spec.throttleMs ?? 0,
      paused: spec.paused === true,
    };
    const invalid = specProblem(copy);
    if (invalid !== null) fail(`${invalid} (in '${entry}')`, entry, { channel: copy.name });
    const previous = byName.get(copy.name);
    if (previous !== undefined) {
      fail(`duplicate channel '${copy.name}' in '${entry}' (already configured by '${previous}')`, entry, {
        channel: copy.name,
      });
    }
    byName.set(copy.name, entry);
    out.push(copy);
  }
  return out;
}

function describeSpec(spec: ChannelSpec): string {
  if (spec === null || typeof spec !== 'object') return String(spec);
  try {
    return formatSpec(spec);
  } catch {
    return String((spec as { name?: unknown }).name);
  }
}

function formatThrottle(ms: number): string {
  return ms % 1000 === 0 ? `throttle=${ms / 1000}` : `throttle=${ms}ms`;
}

function formatSpec(spec: ChannelSpec): string {
  let text = `${spec.name}:${String(spec.capacity)}`;
  if (spec.sequential) text += ':sequential';
  if (spec.throttleMs) text += `:${formatThrottle(spec.throttleMs)}`;
  if (spec.paused) text += ':paused';
  return text;
}

/**
 * Parse a channel configuration string into the list of configured channels, in the order written.
 * Root is not added when absent (a tree built from the result gives it capacity 1, as queue_job).
 * @example parseChannels('root:4, mail:2, sync:1:sequential, api:2:throttle=10')
 * @throws ChannelConfigError naming the offending entry ("invalid capacity 'x' in 'root.mail:x'").
 */
export function parseChannels(config: string): ChannelSpec[] {
  if (typeof config !== 'string') {
    throw new ChannelConfigError(`invalid channel configuration: expected a string, got ${typeof config}`);
  }
  const specs: ChannelSpec[] = [];
  const byName = new Map<string, string>();
  for (const entry of entries(config)) {
    const spec = parseEntry(entry);
    const previous = byName.get(spec.name);
    if (previous !== undefined) {
      fail(`duplicate channel '${spec.name}' in '${entry}' (already configured by '${previous}')`, entry, {
        channel: spec.name,
      });
    }
    byName.set(spec.name, entry);
    specs.push(spec);
  }
  return specs;
}

/**
 * Write specs back in the channel syntax (`root:4,root.sync:1:sequential,root.api:2:throttle=10`);
 * `parseChannels(formatChannels(x))` deep-equals `x` for valid specs.
 * @throws ChannelConfigError when a spec is invalid, e.g. has a `null` (unlimited) capacity, which the syntax cannot express.
 */
export function formatChannels(specs: readonly ChannelSpec[]): string {
  return checkSpecs(specs).map(formatSpec).join(',');
}
