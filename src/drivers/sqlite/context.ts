/**
 * What every SQLite driver operation runs on: the `node:sqlite` database, its cached prepared statements,
 * the in-process wake-up emitter, and the read / transaction wrappers that turn failures into
 * {@link DatabaseError}s. The driver class owns one and hands it to the operation modules beside this file.
 * @module
 */
import type { EventEmitter } from 'node:events';
import { DatabaseError, ValidationError } from '../../errors.ts';
import { closedError, operationError } from '../shared/guards.ts';
import type { RawRow } from '../rows.ts';
import { acquireWakeEmitter, emitWake, releaseWakeEmitter } from './wake.ts';
import type { WakeTopic } from '../driver.ts';

/** A value `node:sqlite` binds or returns. */
export type SqlValue = null | number | bigint | string | Uint8Array;

/** The part of `node:sqlite`'s `StatementSync` the driver uses. */
export interface Statement {
  run(...params: SqlValue[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: SqlValue[]): Record<string, SqlValue> | undefined;
  all(...params: SqlValue[]): Record<string, SqlValue>[];
}

/** The part of `node:sqlite`'s `DatabaseSync` the driver uses. */
export interface Database {
  exec(sql: string): void;
  prepare(sql: string): Statement;
  close(): void;
  readonly isTransaction?: boolean;
}

/** The database handle and statement helpers shared by every SQLite driver operation. */
export class SqliteContext {
  /** The open database. */
  readonly db: Database;
  /** `sqlite:<file>` or `sqlite::memory:`. */
  readonly location: string;
  /** Wake-ups and events between the Conveyors of this process on the same file. */
  readonly wakes: EventEmitter;
  /** Set by `close()`: every later operation fails with a {@link DatabaseError}. */
  closed = false;
  #wakeKey: string;
  #statements = new Map<string, Statement>();

  constructor(db: Database, location: string, wakeKey: string) {
    this.db = db;
    this.location = location;
    this.#wakeKey = wakeKey;
    this.wakes = acquireWakeEmitter(wakeKey);
  }

  /** The prepared statement for `sql` (prepared once, then cached). */
  statement(sql: string): Statement {
    let s = this.#statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.#statements.set(sql, s);
    }
    return s;
  }

  /** Every row `sql` returns. */
  all(sql: string, ...params: SqlValue[]): RawRow[] {
    return this.statement(sql).all(...params) as RawRow[];
  }

  /** The first row `sql` returns, if any. */
  get(sql: string, ...params: SqlValue[]): RawRow | undefined {
    return this.statement(sql).get(...params) as RawRow | undefined;
  }

  /** Run `sql`; the number of rows it changed. */
  run(sql: string, ...params: SqlValue[]): number {
    return Number(this.statement(sql).run(...params).changes);
  }

  /** Tell this process's runners on the same file (`origin`: the runner that caused it, if any). */
  wake(topic: WakeTopic, origin?: string): void {
    emitWake(this.wakes, topic, origin);
  }

  /** Fail with a {@link DatabaseError} once the driver is closed. */
  assertOpen(operation: string): void {
    if (this.closed) throw closedError('SQLite', operation);
  }

  /** Run `fn` in `BEGIN IMMEDIATE … COMMIT`, synchronously. */
  tx<T>(operation: string, fn: () => T): T {
    this.assertOpen(operation);
    try {
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      throw operationError('SQLite', operation, err);
    }
    try {
      const out = fn();
      this.db.exec('COMMIT');
      return out;
    } catch (err) {
      try {
        this.db.exec('ROLLBACK');
      } catch {
        /* already rolled back */
      }
      if (err instanceof ValidationError || err instanceof DatabaseError) throw err;
      throw operationError('SQLite', operation, err);
    }
  }

  /** Run `fn` outside a transaction (reads). */
  read<T>(operation: string, fn: () => T): T {
    this.assertOpen(operation);
    try {
      return fn();
    } catch (err) {
      throw operationError('SQLite', operation, err);
    }
  }

  /** Close the database (idempotent). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    releaseWakeEmitter(this.#wakeKey);
    this.#statements.clear();
    this.db.close();
  }
}
