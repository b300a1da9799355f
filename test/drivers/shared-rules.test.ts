/**
 * The rules both drivers share (src/drivers/shared/), tested without a database: each step sequence is
 * driven by in-memory answers, synchronously and asynchronously, as the SQLite and PostgreSQL drivers do.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MigrationError, SchemaTooNewError } from '../../src/errors.ts';
import type { JobRow } from '../../src/job/row.ts';
import { CRON_SLOT_RETENTION_MS, cronFireSequence, type CronFireSteps } from '../../src/drivers/shared/cron-fire.ts';
import { cancelSequence, pruneSequence } from '../../src/drivers/shared/job-admin.ts';
import {
  decodeCursor,
  encodeCursor,
  keysetOrder,
  keysetPage,
  keysetPlan,
} from '../../src/drivers/shared/keyset-page.ts';
import { migrateSequence } from '../../src/drivers/shared/migrate.ts';
import { RESCUE_EXC_NAME, rescueDecision, rescueMessage, rescueMessageSql } from '../../src/drivers/shared/rescue.ts';
import { runSteps, runStepsAsync, type StepRequest } from '../../src/drivers/shared/steps.ts';
import type { JobListParams, JobPage, NewJob } from '../../src/drivers/driver.ts';

describe('cascade cancel (shared/job-admin.ts)', () => {
  /** A random graph: `deps[i]` are the parents of job i (always lower ids, so no cycles), and which jobs are final. */
  const graph = fc.integer({ min: 1, max: 12 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      deps: fc.array(fc.uniqueArray(fc.nat({ max: n - 1 }), { maxLength: 3 }), { minLength: n, maxLength: n }),
      final: fc.array(fc.boolean(), { minLength: n, maxLength: n }),
      start: fc.uniqueArray(fc.nat({ max: n - 1 }), { minLength: 1, maxLength: n }),
      cascade: fc.boolean(),
    }),
  );

  /** The in-memory database: cancel changes the cancellable ones, children lists the distinct dependants. */
  function store(g: { n: number; deps: number[][]; final: boolean[] }) {
    const edges = g.deps.flatMap((parents, child) => parents.filter((p) => p < child).map((p) => [child, p]));
    const state: string[] = g.final.map((f) => (f ? 'done' : 'pending'));
    return {
      edges,
      state,
      steps: {
        cancel: (ids: readonly number[]) =>
          ids.filter((id) => {
            if (state[id] !== 'pending') return false;
            state[id] = 'cancelled';
            return true;
          }),
        children: (ids: readonly number[]) => [
          ...new Set(edges.filter(([, parent]) => ids.includes(parent!)).map(([child]) => child!)),
        ],
      },
    };
  }

  it('cancels the cancellable jobs asked for, and with cascade every cancellable job below a cancelled one', () => {
    fc.assert(
      fc.property(graph, (g) => {
        const db = store(g);
        const cancelled = runSteps(cancelSequence(g.start, g.cascade), db.steps);
        assert.equal(new Set(cancelled).size, cancelled.length, 'no job twice');
        for (const id of cancelled) assert.equal(g.final[id], false, 'a final job is never cancelled');
        for (const id of g.start) assert.equal(cancelled.includes(id), !g.final[id]);
        for (const id of cancelled) {
          const reached = g.start.includes(id) || db.edges.some(([c, p]) => c === id && cancelled.includes(p!));
          assert.ok(reached, `job ${id} was asked for, or depends on a job cancelled`);
        }
        if (!g.cascade) assert.deepEqual(new Set(cancelled), new Set(g.start.filter((id) => !g.final[id])));
        else
          for (const [child, parent] of db.edges)
            if (cancelled.includes(parent!) && !g.final[child!]) assert.ok(cancelled.includes(child!));
      }),
    );
  });

  it('gives the same answer driven asynchronously', async () => {
    await fc.assert(
      fc.asyncProperty(graph, async (g) => {
        const sync = runSteps(cancelSequence(g.start, g.cascade), store(g).steps);
        const db = store(g);
        const async = await runStepsAsync(cancelSequence(g.start, g.cascade), {
          cancel: async (ids) => db.steps.cancel(ids),
          children: async (ids) => db.steps.children(ids),
        });
        assert.deepEqual(async, sync);
      }),
    );
  });
});

describe('prune batches (shared/job-admin.ts)', () => {
  it('deletes batch after batch until one comes back short, and reports the total', () => {
    fc.assert(
      fc.property(fc.nat({ max: 5000 }), fc.integer({ min: 1, max: 700 }), (prunable, size) => {
        let left = prunable;
        const asked: number[] = [];
        const total = runSteps(pruneSequence(size), {
          batch: (n) => {
            asked.push(n);
            const deleted = Math.min(n, left);
            left -= deleted;
            return deleted;
          },
        });
        assert.equal(total, prunable);
        assert.equal(asked.length, Math.floor(prunable / size) + 1);
        assert.ok(asked.every((n) => n === size));
      }),
    );
  });

  it('uses batches of 1000 by default', () => {
    const asked: number[] = [];
    runSteps(pruneSequence(), {
      batch: (n) => {
        asked.push(n);
        return 0;
      },
    });
    assert.deepEqual(asked, [1000]);
  });
});

describe('keyset paging (shared/keyset-page.ts)', () => {
  it('decodes what it encodes', () => {
    fc.assert(
      fc.property(fc.option(fc.integer(), { nil: null }), fc.nat(), (value, id) => {
        assert.deepEqual(decodeCursor(encodeCursor(value, id)), [value, id]);
      }),
    );
  });

  it('refuses a malformed cursor and reads a missing one as the first page', () => {
    assert.throws(() => decodeCursor(Buffer.from('[1]').toString('base64url')), /malformed cursor/);
    assert.throws(() => decodeCursor(Buffer.from('["a","b"]').toString('base64url')), /malformed cursor/);
    assert.equal(decodeCursor(undefined), null);
    assert.equal(decodeCursor(''), null);
    assert.equal(keysetPlan({ limit: 10 }).after, null);
  });

  it('orders by id alone, or by the sort column then id, in one direction', () => {
    assert.equal(keysetOrder(keysetPlan({ limit: 1 }), 'id'), 'id DESC');
    const plan = keysetPlan({ limit: 1, sort: 'doneAt', direction: 'asc' });
    assert.deepEqual([plan.sort, plan.dir, plan.op], ['done_at', 'ASC', '>']);
    assert.equal(keysetOrder(plan, 'coalesce(done_at, -1)'), 'coalesce(done_at, -1) ASC, id ASC');
  });

  it('walks every row exactly once, in order, page by page', () => {
    const rows = fc.uniqueArray(
      fc.record({ id: fc.nat({ max: 10_000 }), doneAt: fc.option(fc.nat({ max: 20 }), { nil: null }) }),
      { selector: (r) => r.id, maxLength: 40 },
    );
    fc.assert(
      fc.property(
        rows,
        fc.constantFrom('id' as const, 'doneAt' as const),
        fc.constantFrom('asc' as const, 'desc' as const),
        fc.integer({ min: 1, max: 7 }),
        (table, sort, direction, limit) => {
          // what the SQL does: order by (coalesce(value, -1), id) and keep the rows after the cursor
          const key = (r: (typeof table)[number]) => (sort === 'id' ? [r.id, r.id] : [r.doneAt ?? -1, r.id]);
          const cmp = (a: number[], b: number[]) => (a[0]! - b[0]! || a[1]! - b[1]!) * (direction === 'desc' ? -1 : 1);
          const sorted = [...table].sort((a, b) => cmp(key(a), key(b)));
          const seen: number[] = [];
          let cursor: string | null = null;
          for (let pages = 0; pages <= table.length + 1; pages++) {
            const p: JobListParams = { limit, sort, direction, cursor };
            const plan = keysetPlan(p);
            const after = plan.after;
            const read = sorted.filter((r) => !after || cmp(key(r), [after.value, after.id]) > 0).slice(0, limit + 1);
            const page: JobPage = keysetPage(read, p, (r) => r as unknown as JobRow);
            seen.push(...page.jobs.map((j) => j.id));
            cursor = page.nextCursor;
            if (!cursor) break;
          }
          assert.deepEqual(
            seen,
            sorted.map((r) => r.id),
          );
        },
      ),
    );
  });
});

describe('rescue of jobs held by dead runners (shared/rescue.ts)', () => {
  it('gives an enqueued job its try back without a crash, and counts a crash for a started one', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('enqueued' as const, 'started' as const),
        fc.nat({ max: 10 }),
        fc.integer({ min: 1, max: 10 }),
        (state, crashCount, maxCrashes) => {
          const d = rescueDecision({ state, crashCount }, maxCrashes);
          if (state === 'enqueued') assert.deepEqual(d, { state: 'pending', crashes: crashCount, wasStarted: false });
          else {
            assert.equal(d.crashes, crashCount + 1);
            assert.equal(d.state, crashCount + 1 >= maxCrashes ? 'failed' : 'pending');
            assert.equal(d.wasStarted, true);
          }
        },
      ),
    );
  });

  it('says who held the job and how many crashes it has against the limit', () => {
    assert.equal(
      rescueMessage('r-1', 2, 3),
      'runner r-1 stopped heartbeating while running the job (crash 2 of at most 3)',
    );
    assert.equal(
      rescueMessage(null, 1, 3),
      'runner ? stopped heartbeating while running the job (crash 1 of at most 3)',
    );
    assert.equal(RESCUE_EXC_NAME, 'JobFoundDead');
  });

  it('builds the same message in SQL', () => {
    const sql = rescueMessageSql('d.old_runner', 'd.crashes', '$2');
    assert.equal(
      sql,
      "'runner ' || coalesce(d.old_runner, '?') || ' stopped heartbeating while running the job (crash ' || d.crashes || ' of at most ' || $2 || ')'",
    );
    // evaluate the concatenation with values bound, and compare with the JavaScript message
    fc.assert(
      fc.property(fc.option(fc.string(), { nil: null }), fc.nat(), fc.nat(), (runner, crashes, max) => {
        const values: Record<string, string> = { 'd.crashes': String(crashes), $2: String(max) };
        const text = sql
          .split(' || ')
          .map((part) =>
            part.startsWith("'")
              ? part.slice(1, -1).replaceAll("''", "'")
              : part.startsWith('coalesce(')
                ? (runner ?? '?')
                : values[part]!,
          )
          .join('');
        assert.equal(text, rescueMessage(runner, crashes, max));
      }),
    );
  });
});

describe('firing a cron slot (shared/cron-fire.ts)', () => {
  const job = { uuid: 'u' } as NewJob;

  /** An entry and its recorded slots in memory; every step is logged. */
  function store(entry: { paused: boolean } | null, slots: Set<number>) {
    const log: StepRequest<CronFireSteps>[] = [];
    const steps = {
      lock: (name: string) => {
        log.push({ op: 'lock', input: name });
        return entry;
      },
      claimSlot: (slotAt: number) => {
        log.push({ op: 'claimSlot', input: slotAt });
        if (slots.has(slotAt)) return false;
        slots.add(slotAt);
        return true;
      },
      insertJob: (j: NewJob) => {
        log.push({ op: 'insertJob', input: j });
        return 42;
      },
      linkSlot: (input: { slotAt: number; jobId: number }) => log.push({ op: 'linkSlot', input }),
      forgetSlots: (before: number) => log.push({ op: 'forgetSlots', input: before }),
      advance: (input: { lastRunAt: number; jobId: number; nextRunAt: number | null }) =>
        log.push({ op: 'advance', input }),
    };
    return { log, steps };
  }

  it('fires a slot once, only for an entry that exists and is not paused; a run-now ignores the pause', () => {
    fc.assert(
      fc.property(
        fc.option(fc.record({ paused: fc.boolean() }), { nil: null }),
        fc.option(fc.nat({ max: 5 }), { nil: null }),
        fc.uniqueArray(fc.nat({ max: 5 })),
        fc.option(fc.nat(), { nil: null }),
        (entry, slotAt, fired, nextRunAt) => {
          const slots = new Set(fired);
          const already = slotAt !== null && slots.has(slotAt);
          const { log, steps } = store(entry, slots);
          const now = 1_000_000_000;
          const out = runSteps(cronFireSequence({ name: 'n', slotAt, now, nextRunAt, job }), steps);
          const fires = entry !== null && (slotAt === null || (!entry.paused && !already));
          assert.deepEqual(out, fires ? { fired: true, jobId: 42 } : { fired: false, jobId: null });
          assert.equal(
            log.some((s) => s.op === 'insertJob'),
            fires,
          );
          if (!fires) return;
          const expected: StepRequest<CronFireSteps>[] = [{ op: 'lock', input: 'n' }];
          if (slotAt !== null)
            expected.push(
              { op: 'claimSlot', input: slotAt },
              { op: 'insertJob', input: job },
              { op: 'linkSlot', input: { slotAt, jobId: 42 } },
              { op: 'forgetSlots', input: slotAt - CRON_SLOT_RETENTION_MS },
            );
          else expected.push({ op: 'insertJob', input: job });
          expected.push({ op: 'advance', input: { lastRunAt: slotAt ?? now, jobId: 42, nextRunAt } });
          assert.deepEqual(log, expected);
        },
      ),
    );
  });

  it('fires the same slot once when asked twice', () => {
    const slots = new Set<number>();
    const p = { name: 'n', slotAt: 7, now: 7, nextRunAt: 8, job };
    assert.equal(runSteps(cronFireSequence(p), store({ paused: false }, slots).steps).fired, true);
    assert.equal(runSteps(cronFireSequence(p), store({ paused: false }, slots).steps).fired, false);
  });
});

describe('the migration loop (shared/migrate.ts)', () => {
  const migrations = [1, 2, 3, 4].map((version) => ({ version, name: `m${version}` }));
  const tooNew = (current: number, latest: number) => `at ${current}, knows ${latest}`;

  it('applies the migrations newer than the database, in order', () => {
    for (let current = 0; current <= 4; current++) {
      const applied: number[] = [];
      const out = runSteps(migrateSequence(migrations, tooNew), {
        current: () => current,
        apply: (m) => applied.push(m.version),
      });
      assert.deepEqual(out, applied);
      assert.deepEqual(
        applied,
        migrations.filter((m) => m.version > current).map((m) => m.version),
      );
    }
  });

  it('refuses a database ahead of this code, before applying anything', () => {
    const applied: number[] = [];
    assert.throws(
      () => runSteps(migrateSequence(migrations, tooNew), { current: () => 5, apply: (m) => applied.push(m.version) }),
      (err: unknown) =>
        err instanceof SchemaTooNewError &&
        err.message === 'at 5, knows 4' &&
        (err.details as { current: number; latest: number }).latest === 4,
    );
    assert.deepEqual(applied, []);
  });

  it('stops at a failing migration and names it, with the cause', async () => {
    const cause = new Error('syntax error');
    const applied: number[] = [];
    await assert.rejects(
      runStepsAsync(migrateSequence(migrations, tooNew), {
        current: async () => 1,
        apply: async (m) => {
          if (m.version === 3) throw cause;
          applied.push(m.version);
        },
      }),
      (err: unknown) =>
        err instanceof MigrationError && err.message === 'migration 3 (m3) failed: syntax error' && err.cause === cause,
    );
    assert.deepEqual(applied, [2]);
  });
});
