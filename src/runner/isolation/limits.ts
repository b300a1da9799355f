/**
 * Resource limits of worker processes: byte sizes (`'512mb'`) and what `/proc` says about a process
 * (CPU time, resident memory). Reading `/proc` from the parent works even when the child is blocked in
 * a busy loop or a native call, which is why the pool samples it instead of asking the child.
 * @module
 */
import fs from 'node:fs';
import { ConfigurationError, describeValue } from '../../errors.ts';

const BYTE_UNITS: Record<string, number> = {
  '': 1,
  b: 1,
  k: 1024,
  kb: 1024,
  kib: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};

/**
 * Parse a memory size: bytes as a number or a digit string (Odoo's `limit_memory_soft = 2147483648`),
 * or a string with a binary unit: `'512mb'`, `'2g'`, `'1.5GiB'` (k/m/g/t are powers of 1024).
 * @throws ConfigurationError on anything else
 */
export function parseBytes(value: number | string, what = 'memory size'): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value);
  } else if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
    const unit = m ? BYTE_UNITS[m[2]!.toLowerCase()] : undefined;
    if (m && unit !== undefined) return Math.round(Number(m[1]) * unit);
  }
  throw new ConfigurationError(
    `invalid ${what}: expected bytes (a number >= 0) or a string like '512mb', '2g', got ${describeValue(value)}`,
    { details: { what } },
  );
}

/** Bytes as `'612 MB'` (MiB, for messages). */
export function formatBytes(bytes: number): string {
  return `${Math.round(bytes / 1024 ** 2)} MB`;
}

/** Whether this system has a Linux-style `/proc` the pool can sample. */
export const HAS_PROC = (() => {
  try {
    return fs.readFileSync(`/proc/${process.pid}/stat`, 'utf8').length > 0;
  } catch {
    return false;
  }
})();

/** `/proc` reports CPU times in USER_HZ ticks, 100 per second on Linux. */
const MS_PER_TICK = 10;

/** CPU time (user + system, ms) used so far by process `pid`, or null when it cannot be read. */
export function readCpuMs(pid: number): number | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // `pid (comm) state ppid …`: comm may hold spaces and parentheses, so split after the last ')'
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  return Number.isFinite(utime) && Number.isFinite(stime) ? (utime + stime) * MS_PER_TICK : null;
}

/** Resident set size (bytes) of process `pid`, or null when it cannot be read. */
export function readRssBytes(pid: number): number | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null;
  }
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : null;
}
