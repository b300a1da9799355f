/**
 * Opening the storage of a Conveyor: connect, refuse a database that holds no Conveyor schema when
 * asked not to create one, and migrate (or refuse a schema at another version).
 * @module
 */
import type { Driver } from './drivers/driver.ts';
import { openDriver } from './drivers/open.ts';
import { ConfigurationError, DatabaseNotFoundError } from './errors.ts';

/** Where and how to open the storage. */
export interface StorageOptions {
  /** `sqlite:…` or `postgres://…`. */
  database: string;
  /** The PostgreSQL schema, when one is set. */
  schema: string | undefined;
  /** The PostgreSQL pool size. */
  maxConnections: number;
  /** SQLite fsync policy. */
  synchronous: 'normal' | 'full' | undefined;
  /** False refuses a database without a Conveyor schema (DatabaseNotFoundError) instead of creating it. */
  create: boolean;
  /** Apply the migrations; false refuses a schema at another version. */
  migrate: boolean;
}

/**
 * Open the driver, check the schema, migrate; the driver is closed again when a check fails.
 * @throws DatabaseError when the database cannot be opened, DatabaseNotFoundError (`create: false`),
 *   ConfigurationError when the schema needs migrating and `migrate` is false, SchemaTooNewError
 */
export async function openStorage(o: StorageOptions): Promise<Driver> {
  const driver = await openDriver(o.database, {
    schema: o.schema,
    maxConnections: o.maxConnections,
    synchronous: o.synchronous,
    mustExist: !o.create,
  });
  try {
    if (!o.create && (await driver.schemaVersion()).current === 0) {
      const what = driver.location.startsWith('sqlite:')
        ? `the SQLite database '${driver.location.slice('sqlite:'.length)}' holds no Conveyor tables`
        : `there is no Conveyor schema '${o.schema ?? 'conveyor'}' in ${driver.location.replace(/ \(schema [^)]*\)$/, '')}`;
      throw new DatabaseNotFoundError(`${what} (check the database URL and schema; 'conveyor migrate' creates them)`, {
        details: { location: driver.location, schema: o.schema },
      });
    }
    if (o.migrate) await driver.migrate();
    else {
      const v = await driver.schemaVersion();
      if (v.current !== v.latest)
        throw new ConfigurationError(
          `the database schema is at version ${v.current}, this Conveyor needs ${v.latest}: run 'conveyor migrate' or open with migrate: true`,
        );
    }
  } catch (err) {
    await driver.close();
    throw err;
  }
  return driver;
}
