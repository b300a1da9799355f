/**
 * UUID version 7 (RFC 9562): a 48-bit millisecond timestamp, a 42-bit counter, then random bits. Job
 * uuids are v7 so that the unique index on them grows at its right edge, like the id, instead of
 * touching a random page per insert (which costs cache misses on SQLite and full-page WAL writes on
 * PostgreSQL).
 *
 * Monotonic within the process (RFC 9562 §6.2 method 1, a fixed-length dedicated counter): the 12 bits
 * of `rand_a` and the next 30 bits of `rand_b` are a counter, seeded at random (top bit clear, so it has
 * room to count) at each new millisecond and increased by one for every uuid made in the same
 * millisecond; on overflow the timestamp moves one millisecond ahead. A clock that steps back a little
 * (up to {@link MAX_REGRESSION_MS}) keeps the last timestamp, so uuids keep increasing; a larger step
 * (a fake clock set in the past) starts again from the given time. The last 32 bits stay random.
 * Written here because it is about 40 lines; `crypto.randomUUID()` only makes version 4, and the `uuid`
 * package's v7 has the same counter but would be one more runtime dependency for this one function.
 * @module
 */
import { randomFillSync } from 'node:crypto';

const pool = Buffer.allocUnsafe(16 * 256);
let offset = pool.length;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const COUNTER_MAX = 2 ** 42 - 1;

/** A clock step back up to this long keeps the last timestamp (uuids keep increasing). */
export const MAX_REGRESSION_MS = 10_000;

let lastMs = -Infinity;
let counter = 0;

/** A new UUID v7 string; uuids made in this process increase strictly (see the module notes). */
export function uuidv7(now = Date.now()): string {
  if (offset >= pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const b = pool.subarray(offset, offset + 16);
  offset += 16;
  if (now > lastMs || now < lastMs - MAX_REGRESSION_MS) {
    lastMs = now;
    // 41 random bits from the fresh bytes 6..11 (the counter's top bit stays clear)
    counter =
      (b[6]! & 0x01) * 2 ** 40 + b[7]! * 2 ** 32 + (b[8]! * 2 ** 24 + b[9]! * 2 ** 16 + b[10]! * 2 ** 8 + b[11]!);
  } else if (counter >= COUNTER_MAX) {
    lastMs++;
    counter = 0;
  } else {
    counter++;
  }
  const ms = lastMs;
  b[0] = Math.floor(ms / 2 ** 40) & 0xff;
  b[1] = Math.floor(ms / 2 ** 32) & 0xff;
  b[2] = (ms >>> 24) & 0xff;
  b[3] = (ms >>> 16) & 0xff;
  b[4] = (ms >>> 8) & 0xff;
  b[5] = ms & 0xff;
  const hi = Math.floor(counter / 2 ** 30); // 12 bits: rand_a
  const lo = counter % 2 ** 30; // 30 bits: the top of rand_b
  b[6] = 0x70 | (hi >>> 8);
  b[7] = hi & 0xff;
  b[8] = 0x80 | (lo >>> 24);
  b[9] = (lo >>> 16) & 0xff;
  b[10] = (lo >>> 8) & 0xff;
  b[11] = lo & 0xff;
  const h = (i: number) => HEX[b[i]!]!;
  return `${h(0)}${h(1)}${h(2)}${h(3)}-${h(4)}${h(5)}-${h(6)}${h(7)}-${h(8)}${h(9)}-${h(10)}${h(11)}${h(12)}${h(13)}${h(14)}${h(15)}`;
}
