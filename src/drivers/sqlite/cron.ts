/**
 * SQLite storage of the scheduled jobs (`conveyor_crons`) and of their fired slots
 * (`conveyor_cron_slots`), which make each slot fire once across all runners.
 * @module
 */
import { rowToCron } from '../rows.ts';
import { cronFireSequence } from '../shared/cron-fire.ts';
import { runSteps } from '../shared/steps.ts';
import type { CronDef, CronFireParams, CronFireResult, CronRow } from '../types/cron.ts';
import type { SqliteContext } from './context.ts';
import { insertJobs } from './insert.ts';

/** The crons table's columns. */
const CRON_FIELDS = `name, schedule, timezone, model, method, records, args, options, catch_up, paused, next_run_at, last_run_at,
  last_job_id, created_at, updated_at`;

/** Insert or update a scheduled job from code; keeps its runtime state unless the schedule changed. */
export async function sqliteCronUpsert(c: SqliteContext, p: CronDef & { now: number }): Promise<CronRow> {
  return c.tx('cronUpsert', () =>
    rowToCron(
      c.get(
        `INSERT INTO conveyor_crons (name, schedule, timezone, model, method, records, args, options, catch_up, paused, next_run_at, created_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
     ON CONFLICT (name) DO UPDATE SET
       next_run_at = CASE WHEN conveyor_crons.schedule IS NOT excluded.schedule OR conveyor_crons.timezone IS NOT excluded.timezone
                            OR conveyor_crons.next_run_at IS NULL THEN excluded.next_run_at ELSE conveyor_crons.next_run_at END,
       schedule = excluded.schedule, timezone = excluded.timezone, model = excluded.model, method = excluded.method,
       records = excluded.records, args = excluded.args, options = excluded.options, catch_up = excluded.catch_up,
       updated_at = excluded.updated_at
     RETURNING ${CRON_FIELDS}`,
        p.name,
        p.schedule,
        p.timezone,
        p.model,
        p.method,
        p.records,
        p.args,
        p.options,
        p.catchUp,
        p.nextRunAt,
        p.now,
        p.now,
      )!,
    ),
  );
}

/** Every scheduled job, by name. */
export async function sqliteCronList(c: SqliteContext): Promise<CronRow[]> {
  return c.read('cronList', () => c.all(`SELECT ${CRON_FIELDS} FROM conveyor_crons ORDER BY name`).map(rowToCron));
}

/** One scheduled job; null when unknown. */
export async function sqliteCronGet(c: SqliteContext, name: string): Promise<CronRow | null> {
  return c.read('cronGet', () => {
    const row = c.get(`SELECT ${CRON_FIELDS} FROM conveyor_crons WHERE name = ?`, name);
    return row ? rowToCron(row) : null;
  });
}

/** Pause or resume (a resume may set `nextRunAt`); false when unknown. */
export async function sqliteCronSetPaused(
  c: SqliteContext,
  p: { name: string; paused: boolean; nextRunAt?: number | null; now: number },
): Promise<boolean> {
  return c.tx(
    'cronSetPaused',
    () =>
      c.run(
        'UPDATE conveyor_crons SET paused = ?, next_run_at = CASE WHEN ? THEN ? ELSE next_run_at END, updated_at = ? WHERE name = ?',
        p.paused ? 1 : 0,
        p.nextRunAt === undefined ? 0 : 1,
        p.nextRunAt ?? null,
        p.now,
        p.name,
      ) > 0,
  );
}

/** Fire one slot exactly once across all runners (shared/cron-fire.ts), in one transaction. */
export async function sqliteCronFire(c: SqliteContext, p: CronFireParams): Promise<CronFireResult> {
  const out = c.tx('cronFire', () =>
    runSteps(cronFireSequence(p), {
      lock: (name) => {
        const cron = c.get('SELECT paused FROM conveyor_crons WHERE name = ?', name);
        return cron ? { paused: Number(cron.paused) === 1 } : null;
      },
      claimSlot: (slotAt) =>
        c.run(
          'INSERT OR IGNORE INTO conveyor_cron_slots (name, slot_at, fired_at) VALUES (?, ?, ?)',
          p.name,
          slotAt,
          p.now,
        ) > 0,
      insertJob: (job) => insertJobs(c, { jobs: [job], now: p.now })[0]!.id,
      linkSlot: ({ slotAt, jobId }) => {
        c.run('UPDATE conveyor_cron_slots SET job_id = ? WHERE name = ? AND slot_at = ?', jobId, p.name, slotAt);
      },
      forgetSlots: (before) => {
        c.run('DELETE FROM conveyor_cron_slots WHERE name = ? AND slot_at < ?', p.name, before);
      },
      advance: ({ lastRunAt, jobId, nextRunAt }) => {
        c.run(
          'UPDATE conveyor_crons SET last_run_at = ?, last_job_id = ?, next_run_at = coalesce(max(next_run_at, ?), ?, next_run_at) WHERE name = ?',
          lastRunAt,
          jobId,
          nextRunAt,
          nextRunAt,
          p.name,
        );
      },
    }),
  );
  if (out.fired) c.wake('jobs');
  return out;
}

/** Move `next_run_at` forward (never back) without firing. */
export async function sqliteCronAdvance(
  c: SqliteContext,
  p: { name: string; nextRunAt: number; now: number },
): Promise<void> {
  c.tx('cronAdvance', () =>
    c.run(
      'UPDATE conveyor_crons SET next_run_at = coalesce(max(next_run_at, ?), ?) WHERE name = ?',
      p.nextRunAt,
      p.nextRunAt,
      p.name,
    ),
  );
}

/** Delete a scheduled job and its fired slots; false when unknown. */
export async function sqliteCronDelete(c: SqliteContext, name: string): Promise<boolean> {
  return c.tx('cronDelete', () => {
    c.run('DELETE FROM conveyor_cron_slots WHERE name = ?', name);
    return c.run('DELETE FROM conveyor_crons WHERE name = ?', name) > 0;
  });
}
