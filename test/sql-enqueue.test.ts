/**
 * Enqueue from SQL (PostgreSQL): `<schema>.enqueue(model, method, args, options)` called from a real
 * `psql` process and through pg: a trigger enqueues in the inserting transaction (and a rollback leaves
 * no job), identity keys return the open job (also between concurrent transactions), bad input raises
 * SQLSTATE 22023 naming the field, and a runner runs the job at once (NOTIFY, no poll).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import pg from 'pg';
import type { Conveyor, JobContext } from '../src/index.ts';
import { BACKENDS, PG_URL } from './helpers/backends.ts';

const PSQL = '/usr/bin/psql';
const backend = BACKENDS.find((b) => b.name === 'postgres');
const skip = !backend ? 'PostgreSQL is not reachable' : !existsSync(PSQL) ? `${PSQL} is not installed` : false;

/** Run `sql` with psql (a child process); resolves to its exit code, stdout and stderr. */
function psql(sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PSQL,
      [PG_URL, '-X', '-q', '-At', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      { env: { ...process.env, PGCONNECT_TIMEOUT: '5' } },
      (err, stdout, stderr) => {
        resolve({
          code: err ? Number((err as { code?: number }).code ?? 1) : 0,
          stdout: stdout.trim(),
          stderr: stderr.trim(),
        });
      },
    );
  });
}

describe('enqueue from SQL (PostgreSQL)', { skip }, () => {
  let c: Conveyor;
  let s: string;
  let client: pg.Client;

  before(async () => {
    c = await backend!.open({ channels: 'root:4,root.mail:2' });
    s = `"${(c.driver as unknown as { schema: string }).schema}"`;
    c.model('res.partner', {
      async hello(job: JobContext, name: string, when?: Date) {
        return { name, records: job.records, when: when instanceof Date ? when.toISOString() : null };
      },
    });
    client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
  });

  after(async () => {
    await client?.end();
    if (c) await backend!.dispose(c);
  });

  it('stores a job from psql as the Node API stores it, and a runner runs it at once', async () => {
    const r = c.runner({ workers: 2, pollInterval: '1h', lease: '1h', heartbeat: '20m' });
    await r.start();
    try {
      const out =
        await psql(`SELECT ${s}.enqueue('res.partner', 'hello', '["Ada", {"$date": "2026-12-06T10:00:00.000Z"}]',
        '{"records": [7, 8], "priority": 3, "channel": "mail", "description": "from psql", "max_retries": 2}')`);
      assert.equal(out.code, 0, out.stderr);
      const id = Number(out.stdout);
      assert.ok(Number.isSafeInteger(id) && id > 0, out.stdout);
      const job = (await c.jobs.handle(id))!;
      // no poll within the test: the NOTIFY sent at commit woke the runner
      assert.deepEqual(await job.result({ timeoutMs: 10_000 }), {
        name: 'Ada',
        records: [7, 8],
        when: '2026-12-06T10:00:00.000Z',
      });
      const row = (await c.jobs.get(id))!;
      assert.equal(row.channel, 'root.mail');
      assert.equal(row.priority, 3);
      assert.equal(row.maxRetries, 2);
      assert.equal(row.description, 'from psql');
      assert.equal(row.state, 'done');
      assert.match(
        row.uuid,
        /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
        'a version 7 uuid',
      );
      assert.equal(await c.jobs.explain(id), `done at ${new Date(row.doneAt!).toISOString()}`);
    } finally {
      await r.stop();
    }
  });

  it('defaults: no records, priority 10, 5 tries, root (or the stored job function override), model.method', async () => {
    const id = Number((await client.query(`SELECT ${s}.enqueue('res.partner', 'hello') AS id`)).rows[0].id);
    const row = (await c.jobs.get(id))!;
    assert.deepEqual(
      [row.records, row.args, row.priority, row.maxRetries, row.channel, row.description, row.eta, row.identityKey],
      [[], [], 10, 5, 'root', 'res.partner.hello', null, null],
    );
    await c.jobFunctions.update('res.partner.hello', { channel: 'mail', priority: 7, maxRetries: 1 });
    try {
      const id2 = Number((await client.query(`SELECT ${s}.enqueue('res.partner', 'hello', '["x"]') AS id`)).rows[0].id);
      const row2 = (await c.jobs.get(id2))!;
      assert.deepEqual([row2.channel, row2.priority, row2.maxRetries], ['root.mail', 7, 1]);
      // an option wins over the override
      const id3 = Number(
        (
          await client.query(
            `SELECT ${s}.enqueue('res.partner', 'hello', '[]', '{"channel": "root", "priority": 1}') AS id`,
          )
        ).rows[0].id,
      );
      const row3 = (await c.jobs.get(id3))!;
      assert.deepEqual([row3.channel, row3.priority], ['root', 1]);
    } finally {
      await c.jobFunctions.reset('res.partner.hello');
    }
    await c.jobs.cancel([id]);
  });

  it('eta: a timestamp, an interval, or seconds from now', async () => {
    const at = '2030-01-02T03:04:05.678Z';
    const q = (o: object) =>
      client.query(
        `SELECT ${s}.enqueue('res.partner', 'hello', '[]', $1) AS id, (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
        [JSON.stringify(o)],
      );
    const a = await q({ eta: at });
    assert.equal((await c.jobs.get(Number(a.rows[0].id)))!.eta, Date.parse(at));
    for (const [eta, ms] of [
      ['10 minutes', 600_000],
      [90, 90_000],
      [0.5, 500],
    ] as const) {
      const r = await q({ eta });
      const row = (await c.jobs.get(Number(r.rows[0].id)))!;
      const now = Number(r.rows[0].now);
      // the function reads the clock just before the caller's select does
      assert.ok(
        row.eta! > now + ms - 60_000 && row.eta! <= now + ms,
        `eta ${String(eta)}: ${row.eta! - now} ms from now`,
      );
      assert.match(await c.jobs.explain(row.id), /^ETA in /);
    }
  });

  it('a trigger enqueues in the inserting transaction; a rolled-back insert leaves no job', async () => {
    const setup = await psql(`
      CREATE TABLE ${s}.signups (id serial PRIMARY KEY, email text NOT NULL);
      CREATE FUNCTION ${s}.signup_welcome() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM ${s}.enqueue('res.partner', 'hello', jsonb_build_array(NEW.email),
          jsonb_build_object('records', jsonb_build_array(NEW.id), 'channel', 'root.mail', 'identity_key', 'welcome:' || NEW.email));
        RETURN NEW;
      END $$;
      CREATE TRIGGER signup_welcome AFTER INSERT ON ${s}.signups FOR EACH ROW EXECUTE FUNCTION ${s}.signup_welcome();`);
    assert.equal(setup.code, 0, setup.stderr);

    const rolledBack = await psql(`BEGIN; INSERT INTO ${s}.signups (email) VALUES ('ghost@example.com'); ROLLBACK;`);
    assert.equal(rolledBack.code, 0, rolledBack.stderr);
    assert.equal(
      (await c.jobs.list({ identityKey: 'welcome:ghost@example.com' })).jobs.length,
      0,
      'no job for a rolled-back insert',
    );

    const committed = await psql(`BEGIN; INSERT INTO ${s}.signups (email) VALUES ('ada@example.com'); COMMIT;`);
    assert.equal(committed.code, 0, committed.stderr);
    const jobs = (await c.jobs.list({ identityKey: 'welcome:ada@example.com' })).jobs;
    assert.equal(jobs.length, 1);
    assert.deepEqual([jobs[0]!.args, jobs[0]!.channel, jobs[0]!.state], [['ada@example.com'], 'root.mail', 'pending']);

    // a failing statement later in the transaction takes the job with it
    const failed = await psql(
      `BEGIN; INSERT INTO ${s}.signups (email) VALUES ('bob@example.com'); SELECT 1/0; COMMIT;`,
    );
    assert.notEqual(failed.code, 0);
    assert.match(failed.stderr, /division by zero/);
    assert.equal((await c.jobs.list({ identityKey: 'welcome:bob@example.com' })).jobs.length, 0);

    const r = c.runner({ workers: 2, pollInterval: '1h', lease: '1h', heartbeat: '20m' });
    await r.start();
    try {
      assert.deepEqual(await (await c.jobs.handle(jobs[0]!.id))!.result({ timeoutMs: 10_000 }), {
        name: 'ada@example.com',
        records: [jobs[0]!.records[0]],
        when: null,
      });
    } finally {
      await r.stop();
    }
  });

  it('identity key: an open job with the key is returned, also to a concurrent transaction', async () => {
    const call = (db: pg.Client | pg.Pool, key: string) =>
      db
        .query(
          `SELECT ${s}.enqueue('res.partner', 'hello', '["k"]', jsonb_build_object('identity_key', $1::text)) AS id`,
          [key],
        )
        .then((x) => Number(x.rows[0].id));
    const first = await call(client, 'key-1');
    assert.equal(await call(client, 'key-1'), first);
    // the Node API sees the same key
    assert.deepEqual(
      (await c.jobs.list({ identityKey: 'key-1' })).jobs.map((j) => j.id),
      [first],
    );

    // two transactions: the second waits for the first's lock, then returns its job
    const other = new pg.Client({ connectionString: PG_URL });
    await other.connect();
    try {
      await client.query('BEGIN');
      const a = await call(client, 'key-2');
      await other.query('BEGIN');
      const pendingB = call(other, 'key-2');
      await client.query('COMMIT');
      const b = await pendingB;
      await other.query('COMMIT');
      assert.equal(b, a);
      assert.equal((await c.jobs.list({ identityKey: 'key-2' })).jobs.length, 1);
    } finally {
      await other.end();
    }

    // once the job is done, the key enqueues a new job
    await c.jobs.setDone([first]);
    assert.notEqual(await call(client, 'key-1'), first);
  });

  it('bad input raises SQLSTATE 22023 naming the field (pg and psql)', async () => {
    const cases: [string, string, string, RegExp][] = [
      ["''", "'[]'", "'{}'", /model must be a non-empty text/],
      ["'m'", "'{}'", "'{}'", /args must be a JSON array/],
      ["'m'", "'[]'", "'[]'", /options must be a JSON object/],
      ["'m'", "'[]'", `'{"colour": "red"}'`, /unknown option 'colour'/],
      ["'m'", "'[]'", `'{"priority": 1.5}'`, /priority must be an integer/],
      ["'m'", "'[]'", `'{"priority": "high"}'`, /priority must be an integer/],
      ["'m'", "'[]'", `'{"max_retries": -1}'`, /max_retries must be an integer >= 0/],
      ["'m'", "'[]'", `'{"eta": "soon"}'`, /eta must be a timestamp with time zone, an interval/],
      ["'m'", "'[]'", `'{"eta": true}'`, /eta must be/],
      ["'m'", "'[]'", `'{"channel": "root.bad name"}'`, /invalid channel name 'root.bad name': part 'bad name'/],
      ["'m'", "'[]'", `'{"channel": 3}'`, /channel must be a text/],
      ["'m'", "'[]'", `'{"records": {"id": 1}}'`, /records must be a JSON array/],
      ["'m'", "'[]'", `'{"identity_key": 5}'`, /identity_key must be a text/],
      ["'m'", "'[]'", `'{"description": []}'`, /description must be a text/],
    ];
    const columns = [
      'model',
      'args',
      'options',
      'colour',
      'priority',
      'priority',
      'max_retries',
      'eta',
      'eta',
      'channel',
      'channel',
      'records',
      'identity_key',
      'description',
    ];
    const before = (await c.jobs.count({})).reduce((n, r) => n + r.count, 0);
    for (const [i, [model, args, options, message]] of cases.entries()) {
      const err = await client.query(`SELECT ${s}.enqueue(${model}, 'x', ${args}, ${options})`).then(
        () => null,
        (e: unknown) => e as pg.DatabaseError,
      );
      assert.ok(err, `case ${i} should fail`);
      assert.equal(err.code, '22023', `case ${i}: ${err.message}`);
      assert.match(err.message, message);
      assert.match(err.message, /^conveyor\.enqueue: /);
      assert.equal(err.column, columns[i], `case ${i}: the field is in the error's column`);
    }
    const unknown = await client
      .query(`SELECT ${s}.enqueue('m', 'x', '[]', '{"colour": 1}')`)
      .catch((e: pg.DatabaseError) => e);
    assert.match(
      (unknown as pg.DatabaseError).hint ?? '',
      /known options: records, priority, eta, channel, max_retries, identity_key, description/,
    );
    const viaPsql = await psql(`SELECT ${s}.enqueue('res.partner', 'hello', '[]', '{"priority": "high"}')`);
    assert.notEqual(viaPsql.code, 0);
    assert.match(
      viaPsql.stderr,
      /ERROR: {2}conveyor\.enqueue: priority must be an integer between -2147483648 and 2147483647, got "high"/,
    );
    assert.equal(
      (await c.jobs.count({})).reduce((n, r) => n + r.count, 0),
      before,
      'no job was stored',
    );
  });
});
