/**
 * PostgreSQL storage of the job function overrides set at runtime (`job_functions`).
 * @module
 */
import type { RawRow } from '../rows.ts';
import type { PgContext } from './context.ts';
import { columnMs, paramTime } from './sql.ts';

/** Stored overrides of job function settings, by name (`model.method` → JSON text). */
export async function pgJobFunctionList(
  c: PgContext,
): Promise<{ name: string; settings: string; updatedAt: number }[]> {
  return c.read('jobFunctionList', async (db) => {
    const r = await db.query(
      c.named(
        `SELECT name, settings, ${columnMs('updated_at')} AS updated_at FROM ${c.sqlSchema}.job_functions ORDER BY name`,
      ),
    );
    return (r.rows as RawRow[]).map((x) => ({
      name: x.name as string,
      settings: x.settings as string,
      updatedAt: Number(x.updated_at),
    }));
  });
}

/** Store (or with `settings: null`, remove) the override of one job function. */
export async function pgJobFunctionSet(
  c: PgContext,
  p: { name: string; settings: string | null; now: number },
): Promise<void> {
  await c.read('jobFunctionSet', (db) =>
    p.settings === null
      ? db.query(c.named(`DELETE FROM ${c.sqlSchema}.job_functions WHERE name = $1`, [p.name]))
      : db.query(
          c.named(
            `INSERT INTO ${c.sqlSchema}.job_functions (name, settings, updated_at) VALUES ($1, $2, ${paramTime(3)})
        ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at`,
            [p.name, p.settings, p.now],
          ),
        ),
  );
}
