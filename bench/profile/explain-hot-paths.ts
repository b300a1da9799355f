// EXPLAIN (ANALYZE, BUFFERS, WAL) of the statements a job goes through on PostgreSQL (insert, claim candidates,
// claim update, completion), 500 rows each, on a schema of 50k jobs. Run from bench/: node profile/explain-hot-paths.ts
import pg from 'pg';
import { Conveyor } from '../../src/index.ts';
const c = await Conveyor.open({
  database: 'postgres://postgres@127.0.0.1:5432/test',
  schema: 'prof_b',
  channels: 'root:100000',
  logger: 'warn',
  maintenance: false,
});
await (c.driver as any).dropSchema();
await c.driver.migrate();
const m = c.model('bench', { async run() {} });
for (let i = 0; i < 50000; i += 500)
  await c.delayMany(Array.from({ length: 500 }, (_, k) => m.delayable().run({ i: i + k })));
const cl = new pg.Client('postgres://postgres@127.0.0.1:5432/test');
await cl.connect();
await cl.query('CHECKPOINT');
const s = '"prof_b"';
const show = async (title: string, q: string) => {
  await cl.query('BEGIN');
  const r = await cl.query('EXPLAIN (ANALYZE, BUFFERS, WAL) ' + q);
  await cl.query('ROLLBACK');
  const lines = r.rows.map((x: any) => x['QUERY PLAN'] as string);
  console.log(
    `### ${title}\n\`\`\`\n${lines
      .filter((l) => !/^\s+Filter: \(id = ANY/.test(l))
      .map((l) => (l.length > 160 ? l.slice(0, 157) + '...' : l))
      .join('\n')}\n\`\`\``,
  );
};
const ids = (
  await cl.query(`SELECT id FROM ${s}.jobs WHERE state = 'pending' ORDER BY priority, created_at, id LIMIT 500`)
).rows.map((r: any) => r.id);
const arr = `'{${ids.join(',')}}'::bigint[]`;
await show(
  'insert of 500 jobs (one statement, as the bulk path does)',
  `INSERT INTO ${s}.jobs (uuid, model, method, records, args, state, priority, channel, max_retries, description, created_at)
  SELECT gen_random_uuid(), 'bench', 'run', '[]', '[{"i":1}]', 'pending', 10, 'root', 5, 'bench.run', now() FROM generate_series(1, 500)`,
);
await show(
  'candidates of a claim (500 best pending jobs of a channel)',
  `SELECT id, channel, priority, created_at, eta FROM ${s}.jobs WHERE state = 'pending' AND channel = 'root' AND (eta IS NULL OR eta <= now()) ORDER BY priority, created_at, id LIMIT 500`,
);
await show(
  'claim update of 500 jobs',
  `UPDATE ${s}.jobs SET runner_id = 'r', enqueued_at = now(), attempt = attempt + 1, state = 'enqueued' WHERE id = ANY(${arr}) RETURNING id, uuid, model, method, records, args, context, checkpoint`,
);
await cl.query(`UPDATE ${s}.jobs SET runner_id = 'r', state = 'enqueued', attempt = 1 WHERE id = ANY(${arr})`);
await show(
  'completion of 500 jobs',
  `UPDATE ${s}.jobs j SET state = 'done', done_at = now(), exec_time_ms = 1, result = NULL FROM unnest(${arr}) AS u(id) WHERE j.id = ANY(${arr}) AND j.id = u.id AND j.runner_id = 'r' AND j.state IN ('enqueued','started')`,
);
await cl.end();
await (c.driver as any).dropSchema();
await c.close();
