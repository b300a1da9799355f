/**
 * Opening a driver from a database URL.
 * @module
 */
import fs from 'node:fs';
import { ConfigurationError, DatabaseNotFoundError, describeValue } from '../errors.ts';
import type { Driver } from './driver.ts';

/** Options that apply to one backend or the other. */
export interface OpenDriverOptions {
  schema?: string;
  maxConnections?: number;
  synchronous?: 'normal' | 'full';
  /** Refuse a SQLite file that does not exist instead of creating it (read-only commands). */
  mustExist?: boolean;
}

/** Hide the password of a URL for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:/@]+):([^@]*)@/, '//$1:***@');
}

/**
 * Open `sqlite:<file>`, `sqlite::memory:` or `postgres://…`.
 * @throws ConfigurationError on a URL of another form, DatabaseError when it cannot be opened,
 *   DatabaseNotFoundError when `mustExist` is set and the SQLite file does not exist
 */
export async function openDriver(url: string, options: OpenDriverOptions = {}): Promise<Driver> {
  if (typeof url !== 'string' || !url) {
    throw new ConfigurationError(
      `database: expected a URL like 'sqlite:./conveyor.db', 'sqlite::memory:' or 'postgres://user@host/db', got ${describeValue(url)}`,
    );
  }
  if (url.startsWith('sqlite:')) {
    let file = url.slice('sqlite:'.length);
    if (file.startsWith('//')) file = file.slice(2);
    if (!file)
      throw new ConfigurationError(
        `database '${url}': missing file name (use 'sqlite:./conveyor.db' or 'sqlite::memory:')`,
      );
    if (options.mustExist && file !== ':memory:' && !fs.existsSync(file)) {
      throw new DatabaseNotFoundError(
        `SQLite database '${file}' does not exist (give the right --database or CONVEYOR_DATABASE; 'conveyor migrate' creates one)`,
        { details: { file } },
      );
    }
    const { SqliteDriver } = await import('./sqlite/driver.ts');
    return SqliteDriver.open({ filename: file, synchronous: options.synchronous });
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) {
    const { PostgresDriver } = await import('./postgres/driver.ts');
    return PostgresDriver.open({
      connectionString: url,
      schema: options.schema,
      maxConnections: options.maxConnections,
    });
  }
  throw new ConfigurationError(
    `cannot open database '${redactUrl(url)}': expected 'sqlite:<file>', 'sqlite::memory:' or 'postgres://…'`,
  );
}
