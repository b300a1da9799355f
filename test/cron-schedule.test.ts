/**
 * Schedules (src/cron/schedule.ts): parsing, validation errors, property tests (fixed seed) and the
 * documented DST behaviour.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ConfigurationError } from '../src/errors.ts';
import { DEFAULT_ANCHOR_MS, describeSchedule, formatEvery, parseSchedule, slotsBetween } from '../src/cron/schedule.ts';

fc.configureGlobal({ seed: Number(process.env.FAST_CHECK_SEED ?? 42), numRuns: 200 });

const iso = (ms: number) => new Date(ms).toISOString();
const at = (text: string) => Date.parse(text);

/** 1971 … 2199: croner computes up to the year 9999; keep away from the epoch for `latest`. */
const moment = fc.integer({ min: Date.UTC(1971, 0, 1), max: Date.UTC(2199, 11, 31) });
const zones = [
  'UTC',
  'America/New_York',
  'Europe/Berlin',
  'Asia/Kolkata',
  'Australia/Lord_Howe',
  'America/Santiago',
  'Pacific/Chatham',
];
const cronExprs = [
  '* * * * *',
  '*/15 * * * *',
  '0 * * * *',
  '30 2 * * *',
  '30 1 * * *',
  '0 3 * * 0',
  '0 0 1 * *',
  '0 9 * * 1-5',
  '*/20 * * * * *',
  '5 4 L * *',
  '0 12 * * 5#2',
  '@daily',
  '@weekly',
  '15 2,14 * * *',
  '0 0 29 2 *',
];
const cronArb = fc.record({ expr: fc.constantFrom(...cronExprs), timezone: fc.constantFrom(...zones) });
const everyArb = fc.oneof(
  fc.integer({ min: 1000, max: 60 * 86_400_000 }),
  fc.constantFrom('1s', '90s', '15m', '1h', '1d', '1w', '2w'),
);
const intervalArb = fc.record({
  every: everyArb,
  anchor: fc.option(fc.integer({ min: Date.UTC(1900, 0, 1), max: Date.UTC(2300, 0, 1) }), { nil: undefined }),
});

describe('parseSchedule: cron expressions', () => {
  it('parses 5 and 6 fields and nicknames, and normalises the text', () => {
    const s = parseSchedule('  0   3 * *  0 ');
    assert.equal(s.kind, 'cron');
    assert.equal(s.text, '0 3 * * 0');
    assert.equal(s.timezone, null);
    assert.equal(iso(s.next(at('2026-11-23T10:00:00Z'))), '2026-11-29T03:00:00.000Z'); // a Sunday
    assert.equal(iso(parseSchedule('*/10 * * * * *').next(at('2026-01-01T00:00:01Z'))), '2026-01-01T00:00:10.000Z');
    assert.equal(iso(parseSchedule('@daily').next(at('2026-01-01T00:00:00Z'))), '2026-01-02T00:00:00.000Z');
  });

  it('reads the expression in its time zone', () => {
    const paris = parseSchedule('0 9 * * *', { timezone: 'Europe/Paris' });
    assert.equal(paris.timezone, 'Europe/Paris');
    assert.equal(iso(paris.next(at('2026-01-10T00:00:00Z'))), '2026-01-10T08:00:00.000Z'); // CET
    assert.equal(iso(paris.next(at('2026-07-10T00:00:00Z'))), '2026-07-10T07:00:00.000Z'); // CEST
    assert.equal(describeSchedule(paris), '0 9 * * * (Europe/Paris)');
  });

  it('rejects bad expressions with a ConfigurationError naming the expression', () => {
    const cases: [unknown, RegExp][] = [
      ['61 * * * *', /invalid cron expression '61 \* \* \* \*'.*minute/],
      ['* * *', /invalid cron expression '\* \* \*'/],
      ['0 0 1 1 * 2030', /invalid cron expression '0 0 1 1 \* 2030'/],
      ['2026-01-01T00:00:00', /invalid cron expression '2026-01-01T00:00:00'.*withDelay/],
      ['0 0 30 2 *', /cron expression '0 0 30 2 \*' never matches/],
      ['', /invalid schedule ''/],
      ['every', /invalid schedule 'every'/],
      [42, /invalid schedule 42/],
      [null, /invalid schedule null/],
    ];
    for (const [spec, re] of cases) {
      assert.throws(
        () => parseSchedule(spec as string),
        (err: unknown) => err instanceof ConfigurationError && re.test(err.message),
        String(spec),
      );
    }
    assert.throws(
      () => parseSchedule('0 9 * * *', { timezone: 'Mars/Olympus' }),
      (err: unknown) => err instanceof ConfigurationError && /unknown time zone 'Mars\/Olympus'/.test(err.message),
    );
  });

  it('DST: a time in the skipped hour runs at 03:00 in New York (croner), then back to 02:30', () => {
    const s = parseSchedule('30 2 * * *', { timezone: 'America/New_York' });
    const slots = slotsBetween(s, at('2026-03-07T12:00:00Z'), at('2026-03-10T12:00:00Z'), 10);
    assert.deepEqual(slots.map(iso), [
      '2026-03-08T07:00:00.000Z',
      '2026-03-09T06:30:00.000Z',
      '2026-03-10T06:30:00.000Z',
    ]);
    // 03:00 EDT on 03-08, then 02:30 EDT
  });

  it('DST: a fixed time in the repeated hour runs once; an hourly expression runs in both hours', () => {
    const once = parseSchedule('30 1 * * *', { timezone: 'America/New_York' });
    assert.deepEqual(slotsBetween(once, at('2026-10-31T12:00:00Z'), at('2026-11-02T12:00:00Z'), 10).map(iso), [
      '2026-11-01T05:30:00.000Z',
      '2026-11-02T06:30:00.000Z',
    ]); // 01:30 EDT, then 01:30 EST the next day
    const hourly = parseSchedule('0 * * * *', { timezone: 'America/New_York' });
    assert.deepEqual(slotsBetween(hourly, at('2026-11-01T04:30:00Z'), at('2026-11-01T07:00:00Z'), 10).map(iso), [
      '2026-11-01T05:00:00.000Z',
      '2026-11-01T06:00:00.000Z',
      '2026-11-01T07:00:00.000Z',
    ]); // 01:00 EDT, 01:00 EST, 02:00 EST
  });

  it('DST: a half-hourly expression across the Berlin spring jump goes 01:30 CET → 03:00 CEST', () => {
    const s = parseSchedule('*/30 * * * *', { timezone: 'Europe/Berlin' });
    assert.deepEqual(slotsBetween(s, at('2026-03-29T00:15:00Z'), at('2026-03-29T01:30:00Z'), 10).map(iso), [
      '2026-03-29T00:30:00.000Z',
      '2026-03-29T01:00:00.000Z',
      '2026-03-29T01:30:00.000Z',
    ]); // 01:30 CET, 03:00 CEST, 03:30 CEST
  });
});

describe('parseSchedule: intervals', () => {
  it('accepts { every }, { every, anchor } and the text forms, and round-trips the canonical text', () => {
    const w = parseSchedule({ every: '1w' });
    assert.equal(w.kind, 'interval');
    assert.equal(w.text, 'every 1w');
    assert.equal(w.everyMs, 604_800_000);
    assert.equal(w.anchorMs, DEFAULT_ANCHOR_MS);
    assert.equal(new Date(w.next(at('2026-11-25T10:00:00Z'))).getUTCDay(), 1, 'weekly on Mondays 00:00 UTC by default');
    assert.equal(iso(w.next(at('2026-11-25T10:00:00Z'))), '2026-11-30T00:00:00.000Z');
    const q = parseSchedule({ every: 900_000, anchor: new Date('2026-01-01T00:07:00Z') });
    assert.equal(q.text, 'every 15m from 2026-01-01T00:07:00.000Z');
    assert.equal(iso(q.next(at('2026-06-01T10:00:00Z'))), '2026-06-01T10:07:00.000Z');
    for (const s of [w, q, parseSchedule('every 90s'), parseSchedule('@every 1500ms')]) {
      const back = parseSchedule(s.text);
      assert.equal(back.text, s.text);
      assert.equal(back.everyMs, s.everyMs);
      assert.equal(back.anchorMs, s.anchorMs);
    }
    assert.equal(formatEvery(86_400_000), '1d');
    assert.equal(formatEvery(90_000), '90s');
    assert.equal(formatEvery(1500), '1500ms');
  });

  it('rejects bad intervals', () => {
    const cases: [unknown, RegExp, object?][] = [
      [{ every: 'soon' }, /invalid schedule \{ every: 'soon' \}/],
      [{ every: 10 }, /at least 1000 ms/],
      [{ every: '1d', at: 3 }, /unknown key 'at'/],
      [{ every: '1d', anchor: 'yesterday' }, /anchor must be/],
      ['every 2 days', /invalid schedule 'every 2 days'/],
      [{ every: '1d' }, /a time zone applies to cron expressions only/, { timezone: 'Europe/Paris' }],
    ];
    for (const [spec, re, options] of cases) {
      assert.throws(
        () => parseSchedule(spec as string, options),
        (err: unknown) => err instanceof ConfigurationError && re.test(err.message),
        JSON.stringify(spec),
      );
    }
  });
});

describe('schedule properties', () => {
  it('cron: next(t) > t, iterating next() is strictly increasing, and latest(t) <= t < next(t) with nothing between', () => {
    fc.assert(
      fc.property(cronArb, moment, ({ expr, timezone }, t) => {
        const s = parseSchedule(expr, { timezone });
        let prev = t;
        for (let i = 0; i < 5; i++) {
          const n = s.next(prev);
          assert.ok(n > prev, `${expr} ${timezone}: next(${iso(prev)}) = ${iso(n)}`);
          prev = n;
        }
        const latest = s.latest(t);
        assert.ok(
          latest !== null && latest <= t,
          `${expr} ${timezone}: latest(${iso(t)}) = ${latest === null ? null : iso(latest)}`,
        );
        assert.equal(s.next(latest), s.next(t), `${expr} ${timezone}: a slot between latest(${iso(t)}) and next`);
      }),
      { numRuns: 150 },
    );
  });

  it('cron: next() is monotonic in its argument', () => {
    fc.assert(
      fc.property(cronArb, moment, fc.integer({ min: 0, max: 40 * 86_400_000 }), ({ expr, timezone }, t, d) => {
        const s = parseSchedule(expr, { timezone });
        assert.ok(s.next(t) <= s.next(t + d));
      }),
      { numRuns: 150 },
    );
  });

  it('interval: slots are exact multiples of every from the anchor, the first one strictly after t', () => {
    fc.assert(
      fc.property(intervalArb, moment, (spec, t) => {
        const s = parseSchedule(spec);
        const every = s.everyMs!;
        const anchor = spec.anchor ?? DEFAULT_ANCHOR_MS;
        const n = s.next(t);
        assert.ok(n > t && n - t <= every);
        assert.ok((n - anchor) % every === 0, 'a multiple of every from the anchor');
        const latest = s.latest(t)!;
        assert.ok(latest <= t && t - latest < every);
        assert.equal(n - latest, every);
      }),
    );
  });

  it('slotsBetween: every slot in (from, to], earliest first, capped at max', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          intervalArb.map((i) => parseSchedule(i)),
          cronArb.map(({ expr, timezone }) => parseSchedule(expr, { timezone })),
        ),
        moment,
        fc.integer({ min: 0, max: 3 * 86_400_000 }),
        fc.integer({ min: 1, max: 50 }),
        (s, from, span, max) => {
          const to = from + span;
          const slots = slotsBetween(s, from, to, max);
          assert.ok(slots.length <= max);
          slots.forEach((x, i) => {
            assert.ok(x > from && x <= to);
            if (i > 0) assert.ok(x > slots[i - 1]!);
            assert.equal(s.next(i === 0 ? from : slots[i - 1]!), x, 'no slot skipped');
          });
          if (slots.length < max) assert.ok(s.next(slots.at(-1) ?? from) > to, 'none left out below the cap');
        },
      ),
    );
  });
});
