/**
 * The errors every driver operation fails with, in one wording for both backends: an operation on a
 * closed driver, and a database failure named by its operation.
 * @module
 */
import { DatabaseError } from '../../errors.ts';

/** The backend's name as the messages say it. */
export type BackendName = 'PostgreSQL' | 'SQLite';

/** The error of an operation called after `close()`. */
export function closedError(backend: BackendName, operation: string): DatabaseError {
  return new DatabaseError(`${backend} driver is closed (${operation})`, { details: { operation } });
}

/** A database failure of `operation`, with the driver's error as its cause; `details` adds to `{ operation }`. */
export function operationError(
  backend: BackendName,
  operation: string,
  err: unknown,
  details: Record<string, unknown> = {},
): DatabaseError {
  return new DatabaseError(`${backend} ${operation} failed: ${(err as Error).message}`, {
    cause: err,
    details: { operation, ...details },
  });
}
