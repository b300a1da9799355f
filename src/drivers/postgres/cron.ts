/**
 * PostgreSQL storage of the scheduled jobs (`crons`) and of their fired slots (`cron_slots`), which make
 * each slot fire once across all runners.
 * @module
 */
import { type RawRow, rowToCron } from '../rows.ts';
import { cronFireSequence } from '../shared/cron-fire.ts';
import { runStepsAsync } from '../shared/steps.ts';
import type { CronDef, CronFireParams, CronFireResult, CronRow } from '../types/cron.ts';
import type { PgContext } from './context.ts';
import { insertJobs } from './insert.ts';
import { columnMs, paramTime } from './sql.ts';

/** The crons table's columns, times as ms. */
function cronFields(): string {
  return `name, schedule, timezone, model, method, records, args, options, catch_up, paused, ${columnMs('next_run_at')} AS next_run_at,
    ${columnMs('last_run_at')} AS last_run_at, last_job_id, ${columnMs('created_at')} AS created_at, ${columnMs('updated_at')} AS updated_at`;
}

/** Insert or update a scheduled job from code; keeps its runtime state unless the schedule changed. */
export async function pgCronUpsert(c: PgContext, p: CronDef & { now: number }): Promise<CronRow> {
  return c.read('cronUpsert', async (db) => {
    const r = await db.query(
      c.named(
        `INSERT INTO ${c.sqlSchema}.crons AS c (name, schedule, timezone, model, method, records, args, options, catch_up, next_run_at, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, ${paramTime(10)}, ${paramTime(11)}, ${paramTime(11)})
       ON CONFLICT (name) DO UPDATE SET
         next_run_at = CASE WHEN c.schedule IS DISTINCT FROM excluded.schedule OR c.timezone IS DISTINCT FROM excluded.timezone
                              OR c.next_run_at IS NULL THEN excluded.next_run_at ELSE c.next_run_at END,
         schedule = excluded.schedule, timezone = excluded.timezone, model = excluded.model, method = excluded.method,
         records = excluded.records, args = excluded.args, options = excluded.options, catch_up = excluded.catch_up,
         updated_at = excluded.updated_at
       RETURNING ${cronFields()}`,
        [
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
        ],
      ),
    );
    return rowToCron(r.rows[0]);
  });
}

/** Every scheduled job, by name. */
export async function pgCronList(c: PgContext): Promise<CronRow[]> {
  return c.read('cronList', async (db) => {
    const r = await db.query(c.named(`SELECT ${cronFields()} FROM ${c.sqlSchema}.crons ORDER BY name`));
    return (r.rows as RawRow[]).map(rowToCron);
  });
}

/** One scheduled job; null when unknown. */
export async function pgCronGet(c: PgContext, name: string): Promise<CronRow | null> {
  return c.read('cronGet', async (db) => {
    const r = await db.query(c.named(`SELECT ${cronFields()} FROM ${c.sqlSchema}.crons WHERE name = $1`, [name]));
    return r.rows.length ? rowToCron(r.rows[0]) : null;
  });
}

/** Pause or resume (a resume may set `nextRunAt`); false when unknown. */
export async function pgCronSetPaused(
  c: PgContext,
  p: { name: string; paused: boolean; nextRunAt?: number | null; now: number },
): Promise<boolean> {
  return c.read('cronSetPaused', async (db) => {
    const r = await db.query(
      c.named(
        `UPDATE ${c.sqlSchema}.crons SET paused = $2, next_run_at = CASE WHEN $3::boolean THEN ${paramTime(4)} ELSE next_run_at END, updated_at = ${paramTime(5)}
       WHERE name = $1`,
        [p.name, p.paused, p.nextRunAt !== undefined, p.nextRunAt ?? null, p.now],
      ),
    );
    return (r.rowCount ?? 0) > 0;
  });
}

/** Fire one slot exactly once across all runners (shared/cron-fire.ts), in one transaction. */
export async function pgCronFire(c: PgContext, p: CronFireParams): Promise<CronFireResult> {
  return c.tx('cronFire', async (client): Promise<CronFireResult> => {
    const s = c.sqlSchema;
    return runStepsAsync(cronFireSequence(p), {
      lock: async (name) => {
        const cron = await client.query(c.named(`SELECT paused FROM ${s}.crons WHERE name = $1 FOR UPDATE`, [name]));
        return cron.rows.length ? { paused: cron.rows[0].paused === true } : null;
      },
      claimSlot: async (slotAt) => {
        const ins = await client.query(
          c.named(
            `INSERT INTO ${s}.cron_slots (name, slot_at, fired_at) VALUES ($1, ${paramTime(2)}, ${paramTime(3)}) ON CONFLICT DO NOTHING`,
            [p.name, slotAt, p.now],
          ),
        );
        return Boolean(ins.rowCount);
      },
      insertJob: async (job) => (await insertJobs(c, client, { jobs: [job], now: p.now }))[0]!.id,
      linkSlot: async ({ slotAt, jobId }) => {
        await client.query(
          c.named(`UPDATE ${s}.cron_slots SET job_id = $3 WHERE name = $1 AND slot_at = ${paramTime(2)}`, [
            p.name,
            slotAt,
            jobId,
          ]),
        );
      },
      forgetSlots: async (before) => {
        await client.query(
          c.named(`DELETE FROM ${s}.cron_slots WHERE name = $1 AND slot_at < ${paramTime(2)}`, [p.name, before]),
        );
      },
      advance: async ({ lastRunAt, jobId, nextRunAt }) => {
        await client.query(
          c.named(
            `UPDATE ${s}.crons SET last_run_at = ${paramTime(2)}, last_job_id = $3, next_run_at = greatest(next_run_at, ${paramTime(4)}) WHERE name = $1`,
            [p.name, lastRunAt, jobId, nextRunAt],
          ),
        );
      },
    });
  });
}

/** Move `next_run_at` forward (never back) without firing. */
export async function pgCronAdvance(c: PgContext, p: { name: string; nextRunAt: number; now: number }): Promise<void> {
  await c.read('cronAdvance', (db) =>
    db.query(
      c.named(`UPDATE ${c.sqlSchema}.crons SET next_run_at = greatest(next_run_at, ${paramTime(2)}) WHERE name = $1`, [
        p.name,
        p.nextRunAt,
      ]),
    ),
  );
}

/** Delete a scheduled job and its fired slots; false when unknown. */
export async function pgCronDelete(c: PgContext, name: string): Promise<boolean> {
  return c.tx('cronDelete', async (client) => {
    await client.query(c.named(`DELETE FROM ${c.sqlSchema}.cron_slots WHERE name = $1`, [name]));
    const r = await client.query(c.named(`DELETE FROM ${c.sqlSchema}.crons WHERE name = $1`, [name]));
    return (r.rowCount ?? 0) > 0;
  });
}
