/**
 * The two storage backends every integration test runs on. PostgreSQL is checked once: when it cannot
 * be reached, CI (`CI=true`) fails; elsewhere the PostgreSQL cases are skipped, and counted as skipped
 * in the test runner's summary (see {@link skippedSuite}).
 */
import { randomBytes } from 'node:crypto';
import { relative } from 'node:path';
import { test } from 'node:test';
import { Conveyor, type ConveyorOptions } from '../../src/index.ts';

/** PostgreSQL URL for tests. */
export const PG_URL = process.env.CONVEYOR_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432/test';

let pgChecked: Promise<string | null> | null = null;

/** Null when PostgreSQL answers, else the reason. Throws in CI. */
export function pgUnavailable(): Promise<string | null> {
  pgChecked ??= (async () => {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (err) {
      const reason = `PostgreSQL at ${PG_URL} is unreachable: ${(err as Error).message}`;
      if (process.env.CI) throw new Error(`${reason} (CI=true: PostgreSQL tests must run, not skip)`);
      skippedSuite(
        `PostgreSQL cases of ${testFile()}`,
        `${reason} (start PostgreSQL or set CONVEYOR_TEST_PG for the full run)`,
      );
      return reason;
    } finally {
      await client.end().catch(() => {});
    }
  })();
  return pgChecked;
}

/**
 * Report a suite that cannot run here as one skipped test, so the runner's summary counts it
 * (`ℹ skipped N`; a skipped `describe` is listed but not counted) and prints the reason. Only under
 * `node --test` (a script such as test/dashboard/screenshots.ts registers nothing).
 */
export function skippedSuite(name: string, reason: string): void {
  if (process.env.NODE_TEST_CONTEXT) test(name, { skip: reason }, () => {});
}

/** The test file this process runs (node --test runs each file in its own process). */
function testFile(): string {
  return process.argv[1] ? relative(process.cwd(), process.argv[1]) : 'this file';
}

/** A backend to run a test on. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  /** Open a Conveyor on a fresh store (memory SQLite / a fresh PG schema). */
  open(options?: ConveyorOptions): Promise<Conveyor>;
  /** Close it and remove its data (drops the PG schema). */
  dispose(conveyor: Conveyor): Promise<void>;
}

/** A unique schema name. */
export function uniqueSchema(prefix = 't'): string {
  return `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

const sqlite: Backend = {
  name: 'sqlite',
  open: (options = {}) => Conveyor.open({ database: 'sqlite::memory:', logger: 'silent', ...options }),
  dispose: (c) => c.close(),
};

const postgres: Backend = {
  name: 'postgres',
  open: (options = {}) =>
    Conveyor.open({ database: PG_URL, schema: uniqueSchema(), logger: 'silent', dbMaxconn: 8, ...options }),
  dispose: async (c) => {
    await c.close();
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${(c.driver as unknown as { schema: string }).schema}" CASCADE`);
    } finally {
      await client.end();
    }
  },
};

/** The backends to run on: SQLite always, PostgreSQL when reachable (always in CI). */
export async function backends(): Promise<Backend[]> {
  return (await pgUnavailable()) ? [sqlite] : [sqlite, postgres];
}

/** The backends by name (for `describe` blocks that need the list synchronously, use with top-level await). */
export const BACKENDS = await backends();
