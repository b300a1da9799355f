/**
 * SQLite storage of the job function overrides set at runtime (`conveyor_job_functions`).
 * @module
 */
import type { SqliteContext } from './context.ts';

/** Stored overrides of job function settings, by name (`model.method` → JSON text). */
export async function sqliteJobFunctionList(
  c: SqliteContext,
): Promise<{ name: string; settings: string; updatedAt: number }[]> {
  return c.read('jobFunctionList', () =>
    c.all('SELECT name, settings, updated_at FROM conveyor_job_functions ORDER BY name').map((r) => ({
      name: r.name as string,
      settings: r.settings as string,
      updatedAt: Number(r.updated_at),
    })),
  );
}

/** Store (or with `settings: null`, remove) the override of one job function. */
export async function sqliteJobFunctionSet(
  c: SqliteContext,
  p: { name: string; settings: string | null; now: number },
): Promise<void> {
  c.tx('jobFunctionSet', () => {
    if (p.settings === null) c.run('DELETE FROM conveyor_job_functions WHERE name = ?', p.name);
    else
      c.run(
        'INSERT INTO conveyor_job_functions (name, settings, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET settings = excluded.settings, updated_at = excluded.updated_at',
        p.name,
        p.settings,
        p.now,
      );
  });
}
