/**
 * What every PostgreSQL driver operation runs on: the pool, the schema's names and locks, named statements,
 * and the read / transaction wrappers that turn driver failures into {@link DatabaseError}s. The driver class
 * owns one and hands it to the operation modules beside this file.
 * @module
 */
import { createHash } from 'node:crypto';
import type * as PgTypes from 'pg';
import { ConfigurationError, DatabaseError, MigrationError, SchemaTooNewError, ValidationError } from '../../errors.ts';
import { closedError, operationError } from '../shared/guards.ts';

/** The `pg` module's namespace. */
export type Pg = typeof PgTypes;
/** A pool or a client: anything a statement can be sent to. */
export type Queryable = {
  query(config: PgTypes.QueryConfig | string, values?: unknown[]): Promise<PgTypes.QueryResult>;
};

/** Options of {@link PostgresDriver.open}. */
export interface PostgresDriverOptions {
  /** `postgres://…` connection string. */
  connectionString: string;
  /** Schema holding the tables. @default 'conveyor' */
  schema?: string;
  /** Pool size. @default 64 */
  maxConnections?: number;
}

/** Parse `timestamptz` text (`2026-11-23 11:08:42.123+00`) to ms since the epoch. */
function parseTimestamptz(text: string): number {
  const iso = text.replace(' ', 'T');
  return Date.parse(/[+-]\d\d$/.test(iso) ? iso + ':00' : iso);
}

/** Stable 64-bit advisory lock keys, per schema. */
function lockKey(schema: string, what: string): string {
  return BigInt.asIntN(
    64,
    BigInt('0x' + createHash('sha1').update(`conveyor:${schema}:${what}`).digest('hex').slice(0, 16)),
  ).toString();
}

/** The connection state and statement helpers shared by every PostgreSQL driver operation. */
export class PgContext {
  /** The `pg` module (for the dedicated LISTEN clients). */
  readonly pg: Pg;
  /** The connection pool every statement goes through. */
  readonly pool: PgTypes.Pool;
  /** The schema name, as configured. */
  readonly schema: string;
  /** The schema name quoted for SQL text: `"conveyor"`. */
  readonly sqlSchema: string;
  /** `postgres://host/db (schema …)`, without credentials. */
  readonly location: string;
  /** The connection string (for the dedicated LISTEN clients). */
  readonly connectionString: string;
  /** Type parsers: int8 → number, timestamptz → ms, json stays text. */
  readonly types: PgTypes.CustomTypesConfig;
  /** Advisory lock keys: the claim lock serialises claims, the graph lock graph inserts, the migrate lock migrations. */
  readonly locks: { readonly claim: string; readonly graph: string; readonly migrate: string };
  /** NOTIFY channels: new jobs, freed capacity, job events. */
  readonly notify: { readonly jobs: string; readonly freed: string; readonly events: string };
  /** Open LISTEN connections, closed with the driver. */
  readonly listeners = new Set<{ close(): Promise<void> }>();
  /** Set by `close()`: every later operation fails with a {@link DatabaseError}. */
  closed = false;
  #names = new Map<string, string>();

  constructor(pg: Pg, options: PostgresDriverOptions) {
    this.pg = pg;
    this.schema = options.schema ?? 'conveyor';
    if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(this.schema)) {
      throw new ConfigurationError(
        `invalid schema name '${this.schema}': expected letters, digits and underscores, starting with a letter`,
      );
    }
    this.sqlSchema = `"${this.schema}"`;
    const url = new URL(options.connectionString);
    this.location = `postgres://${url.host}${url.pathname} (schema ${this.schema})`;
    this.connectionString = options.connectionString;
    const types = pg.types;
    const parsers: Record<number, (v: string) => unknown> = {
      20: (v) => Number(v), // int8 → number (ids stay far below 2^53)
      1184: parseTimestamptz,
      1114: parseTimestamptz,
      // json/jsonb stay text: rows.ts decodes them with the Date/bigint extensions
      114: (v) => v,
      3802: (v) => v,
    };
    this.types = {
      getTypeParser: ((oid: number, format?: string) =>
        parsers[oid] ?? types.getTypeParser(oid, format as 'text')) as PgTypes.CustomTypesConfig['getTypeParser'],
    };
    this.pool = new pg.Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? 64,
      types: this.types,
      // pipelining: several statements of one transaction go out in one write (pg >= 8.23)
      ...({ pipeline: true } as object),
      options: '-c TimeZone=UTC',
      application_name: `conveyor:${this.schema}`.slice(0, 63),
    });
    this.pool.on('error', () => {
      /* idle client errors: the next query reconnects */
    });
    this.locks = {
      claim: lockKey(this.schema, 'claim'),
      graph: lockKey(this.schema, 'graph'),
      migrate: lockKey(this.schema, 'migrate'),
    };
    this.notify = { jobs: `${this.schema}:jobs`, freed: `${this.schema}:freed`, events: `${this.schema}:events` };
  }

  /** A named (prepared) query config; the name is derived from the text, so each text is prepared once per connection. */
  named(text: string, values: unknown[] = []): PgTypes.QueryConfig {
    let name = this.#names.get(text);
    if (!name) {
      name = 'cv_' + createHash('sha1').update(text).digest('hex').slice(0, 20);
      this.#names.set(text, name);
    }
    return { name, text, values };
  }

  /** Rethrow `err` as a {@link DatabaseError} naming `operation` (Conveyor's own errors pass through). */
  wrap(operation: string, err: unknown): never {
    if (
      err instanceof ValidationError ||
      err instanceof DatabaseError ||
      err instanceof SchemaTooNewError ||
      err instanceof MigrationError
    )
      throw err;
    throw operationError('PostgreSQL', operation, err, { code: (err as { code?: string }).code });
  }

  /** Fail with a {@link DatabaseError} once the driver is closed. */
  assertOpen(operation: string): void {
    if (this.closed) throw closedError('PostgreSQL', operation);
  }

  /** Run `fn` on the pool outside a transaction (reads and single statements). */
  async read<T>(operation: string, fn: (db: Queryable) => Promise<T>): Promise<T> {
    this.assertOpen(operation);
    try {
      return await fn(this.pool);
    } catch (err) {
      return this.wrap(operation, err);
    }
  }

  /**
   * Run `fn` in a transaction on one pooled client. `fn` may call `commitNow()` to pipeline the COMMIT
   * behind the statements it has sent (if one of them fails, that COMMIT rolls back, and the error surfaces).
   * `begin` may replace the BEGIN by a list of statements (the BEGIN first) sent back to back before `fn` runs.
   */
  async tx<T>(
    operation: string,
    fn: (client: PgTypes.PoolClient, commitNow: () => Promise<unknown>) => Promise<T>,
    begin: readonly (string | PgTypes.QueryConfig)[] = ['BEGIN'],
  ): Promise<T> {
    this.assertOpen(operation);
    let client: PgTypes.PoolClient;
    try {
      client = await this.pool.connect();
    } catch (err) {
      return this.wrap(operation, err);
    }
    let broken = false;
    // a checked-out client that loses its connection emits 'error'; without a listener that is an
    // uncaught exception (the pool only listens on idle clients). The failing query reports it too.
    const onError = () => {
      broken = true;
    };
    client.on('error', onError);
    try {
      for (const q of begin) void client.query(q).catch(() => {});
      let commit: Promise<unknown> | null = null;
      const out = await fn(client, () => {
        if (!commit) {
          commit = client.query('COMMIT');
          commit.catch(() => {
            /* awaited below; a statement that failed first is what gets reported */
          });
        }
        return commit;
      });
      await (commit ?? client.query('COMMIT'));
      return out;
    } catch (err) {
      try {
        await client.query('ROLLBACK');
      } catch {
        broken = true;
      }
      return this.wrap(operation, err);
    } finally {
      client.off('error', onError);
      client.release(broken);
    }
  }
}
