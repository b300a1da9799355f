/**
 * The SQLite schema's life cycle: migrating (the shared loop of shared/migrate.ts, in one `BEGIN
 * IMMEDIATE` transaction, so concurrent processes migrate once) and reading its version.
 * @module
 */
import { DatabaseError, MigrationError, SchemaTooNewError } from '../../errors.ts';
import { latestVersion, migrateSequence } from '../shared/migrate.ts';
import { runSteps } from '../shared/steps.ts';
import type { SqliteContext } from './context.ts';
import { SQLITE_MIGRATIONS } from './migrations.ts';

/** Apply pending migrations; refuses a newer schema. Returns the versions applied. */
export async function sqliteMigrate(c: SqliteContext): Promise<number[]> {
  try {
    return c.tx('migrate', () => {
      c.db.exec(
        'CREATE TABLE IF NOT EXISTS conveyor_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT',
      );
      return runSteps(
        migrateSequence(
          SQLITE_MIGRATIONS,
          (current, latest) =>
            `the database at ${c.location} has schema version ${current}, newer than this Conveyor knows (${latest}); upgrade conveyor-queue`,
        ),
        {
          current: () => Number(c.get('SELECT coalesce(max(version), 0) AS v FROM conveyor_migrations')!.v),
          apply: (m) => {
            c.db.exec(m.sql);
            c.run(
              'INSERT INTO conveyor_migrations (version, name, applied_at) VALUES (?, ?, ?)',
              m.version,
              m.name,
              Date.now(),
            );
          },
        },
      );
    });
  } catch (err) {
    // the transaction wraps what it does not know; these two are the caller's to see as they are
    if (err instanceof DatabaseError && (err.cause instanceof SchemaTooNewError || err.cause instanceof MigrationError))
      throw err.cause;
    throw err;
  }
}

/** The schema version in the database (0 when empty) and the newest known. */
export async function sqliteSchemaVersion(c: SqliteContext): Promise<{ current: number; latest: number }> {
  const latest = latestVersion(SQLITE_MIGRATIONS);
  return c.read('schemaVersion', () => {
    const t = c.get("SELECT 1 AS x FROM sqlite_master WHERE type = 'table' AND name = 'conveyor_migrations'");
    const current = t ? Number(c.get('SELECT coalesce(max(version), 0) AS v FROM conveyor_migrations')!.v) : 0;
    return { current, latest };
  });
}
