/**
 * The driver conformance suite's frame: every test/drivers/<area>.test.ts file runs its cases on each store kind
 * (SQLite in memory, SQLite in a file, PostgreSQL), and every case gets a FRESH store, migrated, so a failure
 * names one behaviour and never depends on what an earlier case left behind:
 * - SQLite: a new memory database, or a new file, per case;
 * - PostgreSQL: one schema per `describe`, emptied before each case (every row deleted, ids restarted, the
 *   migrations table back to what the migration wrote) and opened by a new driver.
 * PostgreSQL is checked by test/helpers/backends.ts: with `CI=true` an unreachable server fails the file; elsewhere
 * its cases are reported as skipped.
 *
 * Together the files are the specification of the Driver interface (src/drivers/driver.ts).
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ChannelTree } from '../../src/channels/tree.ts';
import type { Driver, NewJob } from '../../src/drivers/driver.ts';
import { openDriver } from '../../src/drivers/open.ts';
import { claimPolicy } from '../../src/runner/runner.ts';
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

/** What a case gets: a driver on a fresh, migrated store. */
export interface Case {
  d: Driver;
  store: StoreLocation;
  /** Claim up to `wanted` jobs for `runnerId` at `now`, with the channels `channels` (`name:capacity,…`). */
  claim(wanted: number, channels?: string, now?: number, runnerId?: string): ReturnType<Driver['jobClaim']>;
}

/** Declares one case: like node:test's `it`, the callback gets the case's store. */
export type CaseIt = (name: string, fn: (c: Case) => Promise<void>, options?: { skip?: string | false }) => void;

/** Fresh stores of one kind, for one `describe`. */
interface Stores {
  kind: StoreKind;
  setup(): Promise<void>;
  /** A driver on a fresh, migrated store. */
  fresh(): Promise<{ d: Driver; store: StoreLocation }>;
  /** Close the case's driver (and remove its SQLite file). */
  release(d: Driver, store: StoreLocation): Promise<void>;
  teardown(): Promise<void>;
}

let tmpDir: string | null = null;
/** The folder of this file's SQLite files, removed when the file ends (first called at the top level). */
function tmp(): string {
  if (!tmpDir) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'conveyor-conf-'));
    tmpDir = dir;
    after(() => fs.rmSync(dir, { recursive: true, force: true }));
  }
  return tmpDir;
}

async function migrated(d: Driver): Promise<Driver> {
  await d.migrate();
  return d;
}

const sqliteMemory = (): Stores => ({
  kind: 'sqlite memory',
  setup: async () => {},
  fresh: async () => ({ d: await migrated(await openDriver('sqlite::memory:')), store: { kind: 'sqlite memory' } }),
  release: (d) => d.close(),
  teardown: async () => {},
});

function sqliteFile(): Stores {
  const dir = tmp();
  return {
    kind: 'sqlite file',
    setup: async () => {},
    fresh: async () => {
      const file = path.join(dir, `${randomUUID()}.db`);
      return { d: await migrated(await openDriver(`sqlite:${file}`)), store: { kind: 'sqlite file', file } };
    },
    release: async (d, store) => {
      await d.close();
      for (const suffix of ['', '-wal', '-shm']) fs.rmSync(`${store.file}${suffix}`, { force: true });
    },
    teardown: async () => {},
  };
}

/**
 * One schema for the `describe`, emptied before each case that follows another: one statement deletes every row
 * (data-modifying CTEs run on one snapshot and foreign keys are checked at its end, so the order does not matter),
 * puts the migrations table back as the migration wrote it, and restarts the id sequences. It is ten times faster
 * than TRUNCATE, which makes new files for every table.
 */
function postgres(): Stores {
  const schema = uniqueSchema('conf');
  const q = `"${schema}"`;
  let admin: import('pg').Client | null = null;
  let reset = '';
  let versions: number[] = [];
  let used = false;
  return {
    kind: 'postgres',
    setup: async () => {
      const first = await migrated(await openDriver(PG_URL, { schema }));
      await first.close();
      const { default: pg } = await import('pg');
      admin = new pg.Client({ connectionString: PG_URL });
      await admin.connect();
      const tables = await admin.query<{ name: string }>(
        `SELECT tablename AS name FROM pg_tables WHERE schemaname = $1 AND tablename <> 'migrations' ORDER BY 1`,
        [schema],
      );
      const sequences = await admin.query<{ name: string }>(
        'SELECT sequencename AS name FROM pg_sequences WHERE schemaname = $1 ORDER BY 1',
        [schema],
      );
      versions = (await admin.query<{ v: number }>(`SELECT version AS v FROM ${q}.migrations`)).rows.map((r) => r.v);
      const deletes = tables.rows.map((t, i) => `d${i} AS (DELETE FROM ${q}."${t.name}")`);
      deletes.push(`m AS (DELETE FROM ${q}.migrations WHERE NOT (version = ANY($1::int[])))`);
      const restarts = sequences.rows.map((s) => `setval('${q}."${s.name}"', 1, false)`);
      reset = `WITH ${deletes.join(', ')} SELECT ${restarts.join(', ') || '1'}`;
    },
    fresh: async () => {
      if (used) await admin!.query(reset, [versions]);
      used = true;
      const d = await migrated(await openDriver(PG_URL, { schema, maxConnections: 6 }));
      return { d, store: { kind: 'postgres', schema } };
    },
    release: (d) => d.close(),
    teardown: async () => {
      if (!admin) return;
      try {
        await admin.query(`DROP SCHEMA IF EXISTS ${q} CASCADE`);
      } finally {
        await admin.end();
      }
    },
  };
}

const KINDS: (() => Stores)[] = [sqliteMemory, sqliteFile];
if (!(await pgUnavailable())) KINDS.push(postgres);

/**
 * Declare the cases of one area, run on every store kind: `define` is called once per kind with the `it` to
 * declare cases with, and the kind (to skip a case a kind cannot run).
 */
export function conformance(area: string, define: (it: CaseIt, kind: StoreKind) => void): void {
  for (const make of KINDS) {
    const stores = make();
    describe(`driver conformance, ${area}: ${stores.kind}`, () => {
      before(() => stores.setup());
      after(() => stores.teardown());
      define((name, fn, options = {}) => {
        it(name, { skip: options.skip }, async () => {
          const { d, store } = await stores.fresh();
          const claim: Case['claim'] = (wanted, channels = 'root:100', now = T0, runnerId = 'r1') =>
            d.jobClaim({ runnerId, now, wanted, policy: claimPolicy(ChannelTree.fromConfig(channels)) });
          try {
            await fn({ d, store, claim });
          } finally {
            await stores.release(d, store);
          }
        });
      }, stores.kind);
    });
  }
}
