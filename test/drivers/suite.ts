/**
 * The driver conformance suite's frame. Each test/drivers/<area>.test.ts file declares its cases with
 * {@link conformance}, which runs them on every store kind (SQLite in memory, SQLite in a file, PostgreSQL) and
 * gives every case a FRESH, migrated store and a new driver, so a failure names one behaviour and never depends
 * on what an earlier case left behind:
 * - SQLite: a new memory database, or a new file, per case;
 * - PostgreSQL: one schema per test file, emptied before each case (see {@link pgSchema}).
 * PostgreSQL is checked by test/helpers/backends.ts: with `CI=true` an unreachable server fails the file; elsewhere
 * its cases are reported as skipped.
 *
 * Together the files are the specification of the Driver interface (src/drivers/driver.ts).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type pg from 'pg';
import { ChannelTree } from '../../src/channels/tree.ts';
import type { Driver, NewJob } from '../../src/drivers/driver.ts';
import { openDriver } from '../../src/drivers/open.ts';
import { claimPolicy } from '../../src/runner/claim-policy.ts';
import { PG_URL, pgUnavailable, uniqueSchema } from '../helpers/backends.ts';

/** The suite's clock: every case passes `now` explicitly. */
export const T0 = Date.UTC(2026, 10, 23, 10, 0, 0);

/** A job to insert, with every field set (`over` replaces some). */
export function job(over: Partial<NewJob> = {}): NewJob {
  return {
    uuid: randomUUID(),
    graphUuid: null,
    model: 'm',
    method: 'x',
    records: '[]',
    args: '[]',
    priority: 10,
    eta: null,
    channel: 'root',
    maxRetries: 5,
    description: 'm.x',
    identityKey: null,
    context: null,
    timeLimitMs: null,
    ...over,
  };
}

/** The store kinds the suite runs on. */
export type StoreKind = 'sqlite memory' | 'sqlite file' | 'postgres';

/** Where a case's store lives, for the few cases that reach it from outside the driver. */
export interface StoreLocation {
  kind: StoreKind;
  /** The SQLite file (`sqlite file` only). */
  file?: string;
  /** The PostgreSQL schema (`postgres` only). */
  schema?: string;
}

/** What a case gets: a new driver on a fresh, migrated store. */
export interface Case {
  d: Driver;
  store: StoreLocation;
  /** Claim up to `wanted` jobs for `runnerId` at `now`, with the channels `channels` (`name:capacity,…`). */
  claim(wanted: number, channels?: string, now?: number, runnerId?: string): ReturnType<Driver['jobClaim']>;
}

/** Declares one case, like node:test's `it`; the callback gets the case's store. */
export type CaseIt = (name: string, fn: (c: Case) => Promise<void>, options?: { skip?: string | false }) => void;

/** Fresh stores of one kind. */
interface Stores {
  kind: StoreKind;
  /** A new driver on a fresh, migrated store. */
  open(): Promise<Case['store'] & { d: Driver }>;
  /** Close the case's driver (and remove its SQLite file). */
  close(d: Driver, store: StoreLocation): Promise<void>;
}

async function migrated(d: Driver): Promise<Driver> {
  await d.migrate();
  return d;
}

const sqliteMemory: Stores = {
  kind: 'sqlite memory',
  open: async () => ({ kind: 'sqlite memory', d: await migrated(await openDriver('sqlite::memory:')) }),
  close: (d) => d.close(),
};

/** A new file per case, in a folder removed when the test file ends. */
function sqliteFile(): Stores {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-conf-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return {
    kind: 'sqlite file',
    open: async () => {
      const file = path.join(dir, `${randomUUID()}.db`);
      return { kind: 'sqlite file', file, d: await migrated(await openDriver(`sqlite:${file}`)) };
    },
    close: async (d, store) => {
      await d.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${store.file}${suffix}`, { force: true });
    },
  };
}

/** The test file's PostgreSQL schema, migrated, with a connection of its own to empty it. */
interface PgSchema {
  schema: string;
  admin: pg.Client;
  /** Empties the schema (parameter: the migration versions to keep). */
  reset: string;
  versions: number[];
  /** A case has run on it since it was last emptied. */
  used: boolean;
}

/**
 * One schema per test file (a schema per case would cost a migration each, ~35 ms), made by the first case and
 * dropped when the file ends. One statement empties it before each case that follows another: it deletes every
 * row (data-modifying CTEs run on one snapshot and foreign keys are checked at the statement's end, so the order
 * of the tables does not matter), puts the migrations table back as the migration wrote it (a case may simulate a
 * newer writer) and restarts the id sequences. It takes ~2 ms where TRUNCATE, which makes new files for every
 * table, takes ~15 ms.
 */
function pgSchema(): () => Promise<PgSchema> {
  let made: Promise<PgSchema> | null = null;
  after(async () => {
    if (!made) return;
    const { schema, admin } = await made;
    try {
      await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    } finally {
      await admin.end();
    }
  });
  return () => {
    made ??= (async () => {
      const schema = uniqueSchema('conf');
      const q = `"${schema}"`;
      await (await migrated(await openDriver(PG_URL, { schema }))).close();
      const { default: pg } = await import('pg');
      const admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      const names = async (sql: string) => (await admin.query<{ name: string }>(sql, [schema])).rows.map((r) => r.name);
      const tables = await names(
        `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'migrations' ORDER BY 1`,
      );
      const sequences = await names('SELECT sequencename AS name FROM pg_sequences WHERE schemaname = $1 ORDER BY 1');
      const versions = (await admin.query<{ v: number }>(`SELECT version AS v FROM ${q}.migrations`)).rows.map(
        (r) => r.v,
      );
      const deletes = tables.map((t, i) => `d${i} AS (DELETE FROM ${q}."${t}")`);
      deletes.push(`m AS (DELETE FROM ${q}.migrations WHERE NOT (version = ANY($1::int[])))`);
      const restarts = sequences.map((s) => `setval('${q}."${s}"', 1, false)`);
      const reset = `WITH ${deletes.join(', ')} SELECT ${restarts.join(', ') || '1'}`;
      return { schema, admin, reset, versions, used: false };
    })();
    return made;
  };
}

/** The file's schema, emptied before each case that follows another, and a new driver on it. */
function postgres(): Stores {
  const schemaOnce = pgSchema();
  return {
    kind: 'postgres',
    open: async () => {
      const s = await schemaOnce();
      if (s.used) await s.admin.query(s.reset, [s.versions]);
      s.used = true;
      return {
        kind: 'postgres',
        schema: s.schema,
        d: await openDriver(PG_URL, { schema: s.schema, maxConnections: 6 }),
      };
    },
    close: (d) => d.close(),
  };
}

const pgReason = await pgUnavailable();
let kinds: Stores[] | null = null;

/** The store kinds of this test file, made on first use (at the top level, so their cleanup is the file's). */
function storeKinds(): Stores[] {
  kinds ??= pgReason ? [sqliteMemory, sqliteFile()] : [sqliteMemory, sqliteFile(), postgres()];
  return kinds;
}

/**
 * Declare the cases of one area, run on every store kind: `define` is called once per kind with the `it` that
 * declares a case and the kind (to skip a case a kind cannot run). Call it at the top level of a test file.
 */
export function conformance(area: string, define: (it: CaseIt, kind: StoreKind) => void): void {
  for (const stores of storeKinds()) {
    describe(`driver conformance, ${area}: ${stores.kind}`, () => {
      define((name, fn, options = {}) => {
        it(name, { skip: options.skip }, async () => {
          const { d, ...store } = await stores.open();
          const claim: Case['claim'] = (wanted, channels = 'root:100', now = T0, runnerId = 'r1') =>
            d.jobClaim({ runnerId, now, wanted, policy: claimPolicy(ChannelTree.fromConfig(channels)) });
          try {
            await fn({ d, store, claim });
          } finally {
            await stores.close(d, store);
          }
        });
      }, stores.kind);
    });
  }
}
