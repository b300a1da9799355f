/**
 * The PostgreSQL schema's life cycle: migrating (the shared loop of shared/migrate.ts, under an advisory
 * lock so concurrent processes migrate once), reading its version, dropping it.
 * @module
 */
import { latestVersion, migrateSequence } from '../shared/migrate.ts';
import { runStepsAsync } from '../shared/steps.ts';
import type { PgContext } from './context.ts';
import { PG_MIGRATIONS } from './migrations.ts';

/** Whether `err` says the schema or the table does not exist (an empty database). */
function isUndefinedTable(err: unknown): boolean {
  return (err as { code?: string }).code === '42P01' || (err as { code?: string }).code === '3F000';
}

/** Apply pending migrations, each in its own transaction; refuses a newer schema. Returns the versions applied. */
export async function pgMigrate(c: PgContext): Promise<number[]> {
  const client = await c.pool.connect().catch((err: unknown) => c.wrap('migrate', err));
  client.on('error', () => {
    /* the failing query reports it */
  });
  try {
    await client.query(`SELECT pg_advisory_lock(${c.locks.migrate})`);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${c.sqlSchema}`);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${c.sqlSchema}.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      return await runStepsAsync(
        migrateSequence(
          PG_MIGRATIONS,
          (current, latest) =>
            `the schema ${c.schema} at ${c.location} has version ${current}, newer than this Conveyor knows (${latest}); upgrade conveyor-queue`,
        ),
        {
          current: async () =>
            Number(
              (await client.query(`SELECT coalesce(max(version), 0) AS v FROM ${c.sqlSchema}.migrations`)).rows[0].v,
            ),
          apply: async (m) => {
            try {
              await client.query('BEGIN');
              await client.query(m.sql(c.sqlSchema));
              await client.query(`INSERT INTO ${c.sqlSchema}.migrations (version, name) VALUES ($1, $2)`, [
                m.version,
                m.name,
              ]);
              await client.query('COMMIT');
            } catch (err) {
              await client.query('ROLLBACK').catch(() => {});
              throw err;
            }
          },
        },
      );
    } finally {
      await client.query(`SELECT pg_advisory_unlock(${c.locks.migrate})`).catch(() => {});
    }
  } catch (err) {
    return c.wrap('migrate', err);
  } finally {
    client.release();
  }
}

/** The schema version in the database (0 when the schema or its table is missing) and the newest known. */
export async function pgSchemaVersion(c: PgContext): Promise<{ current: number; latest: number }> {
  const latest = latestVersion(PG_MIGRATIONS);
  return c.read('schemaVersion', async (db) => {
    try {
      const r = await db.query(`SELECT coalesce(max(version), 0) AS v FROM ${c.sqlSchema}.migrations`);
      return { current: Number(r.rows[0].v), latest };
    } catch (err) {
      if (isUndefinedTable(err)) return { current: 0, latest };
      throw err;
    }
  });
}

/** Drop the whole schema (tests and benchmarks). */
export async function pgDropSchema(c: PgContext): Promise<void> {
  await c.read('dropSchema', (db) => db.query(`DROP SCHEMA IF EXISTS ${c.sqlSchema} CASCADE`));
}
