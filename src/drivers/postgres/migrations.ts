/**
 * PostgreSQL schema migrations, forward-only. Everything lives in its own schema (default `conveyor`),
 * so the queue can sit in the application's database and join its transactions.
 * @module
 */

/** One migration; `sql(schema)` gets the quoted schema name. */
export interface PgMigration {
  version: number;
  name: string;
  sql(s: string): string;
}

/** All migrations, oldest first. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'init',
    sql: (s) => `
CREATE TABLE ${s}.jobs (
  id bigserial PRIMARY KEY,
  uuid uuid NOT NULL UNIQUE,
  graph_uuid uuid,
  model text NOT NULL,
  method text NOT NULL,
  records jsonb NOT NULL,
  args jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('wait_dependencies','pending','enqueued','started','done','failed','cancelled')),
  priority integer NOT NULL,
  eta timestamptz,
  channel text NOT NULL,
  attempt integer NOT NULL DEFAULT 0,
  max_retries integer NOT NULL,
  crash_count integer NOT NULL DEFAULT 0,
  result jsonb,
  exc_name text,
  exc_message text,
  exc_info text,
  description text NOT NULL,
  identity_key text,
  context jsonb,
  progress jsonb,
  checkpoint jsonb,
  time_limit_ms bigint,
  created_at timestamptz NOT NULL,
  enqueued_at timestamptz,
  started_at timestamptz,
  done_at timestamptz,
  cancelled_at timestamptz,
  exec_time_ms bigint,
  runner_id text,
  has_dependants boolean NOT NULL DEFAULT false
);
-- the claim: best pending jobs of one channel; running counts; rescue; sequential blocks
CREATE INDEX jobs_pending ON ${s}.jobs (channel, priority, created_at, id) WHERE state = 'pending';
CREATE INDEX jobs_eta ON ${s}.jobs (eta) WHERE state = 'pending' AND eta IS NOT NULL;
CREATE INDEX jobs_running ON ${s}.jobs (runner_id, channel) WHERE state IN ('enqueued', 'started');
CREATE INDEX jobs_failed ON ${s}.jobs (channel) WHERE state = 'failed';
CREATE INDEX jobs_identity ON ${s}.jobs (identity_key) WHERE identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending', 'enqueued');
CREATE INDEX jobs_graph ON ${s}.jobs (graph_uuid) WHERE graph_uuid IS NOT NULL;
-- listings by state; the hot path (pending → enqueued → started → done) adds no entry after the insert
CREATE INDEX jobs_state ON ${s}.jobs (state, id) WHERE state IN ('wait_dependencies', 'failed', 'cancelled');
CREATE TABLE ${s}.job_deps (
  job_id bigint NOT NULL,
  depends_on bigint NOT NULL,
  PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX job_deps_parent ON ${s}.job_deps (depends_on, job_id);
CREATE TABLE ${s}.job_attempts (
  job_id bigint NOT NULL,
  attempt integer NOT NULL,
  runner_id text,
  started_at timestamptz,
  ended_at timestamptz NOT NULL,
  outcome text NOT NULL,
  exc_name text,
  exc_message text,
  exc_info text
);
CREATE INDEX job_attempts_job ON ${s}.job_attempts (job_id, attempt);
CREATE TABLE ${s}.runners (
  id text PRIMARY KEY,
  host text NOT NULL,
  pid integer NOT NULL,
  workers integer NOT NULL,
  started_at timestamptz NOT NULL,
  heartbeat_at timestamptz NOT NULL,
  lease_until timestamptz NOT NULL,
  info jsonb NOT NULL
);
CREATE TABLE ${s}.channel_state (
  channel text PRIMARY KEY,
  last_started_at timestamptz NOT NULL
);
CREATE TABLE ${s}.timeout_log (
  id bigserial PRIMARY KEY,
  at timestamptz NOT NULL,
  operation text NOT NULL,
  kind text NOT NULL,
  model text,
  method text,
  job_id bigint,
  threshold_ms bigint NOT NULL,
  duration_ms bigint NOT NULL,
  exceeded boolean NOT NULL,
  error text,
  host text
);
CREATE INDEX timeout_log_at ON ${s}.timeout_log (at);
`,
  },
  {
    version: 2,
    name: 'scheduled jobs',
    sql: (s) => `
CREATE TABLE ${s}.crons (
  name text PRIMARY KEY,
  schedule text NOT NULL,
  timezone text,
  model text NOT NULL,
  method text NOT NULL,
  records jsonb NOT NULL,
  args jsonb NOT NULL,
  options jsonb NOT NULL,
  catch_up text NOT NULL CHECK (catch_up IN ('none','one','all')),
  paused boolean NOT NULL DEFAULT false,
  next_run_at timestamptz,
  last_run_at timestamptz,
  last_job_id bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);
-- one row per fired slot: its primary key is what makes a slot fire once across all runners
CREATE TABLE ${s}.cron_slots (
  name text NOT NULL,
  slot_at timestamptz NOT NULL,
  job_id bigint,
  fired_at timestamptz NOT NULL,
  PRIMARY KEY (name, slot_at)
);
`,
  },
  {
    version: 3,
    name: 'job functions as data',
    sql: (s) => `
-- operator overrides of a job method's settings (channel, retries, limits…); code holds the defaults
CREATE TABLE ${s}.job_functions (
  name text PRIMARY KEY,
  settings jsonb NOT NULL,
  updated_at timestamptz NOT NULL
);
`,
  },
  {
    version: 4,
    name: 'enqueue from SQL, channel pauses',
    sql: (s) => `
-- channels paused at runtime by an operator (admin API, CLI, dashboard); every runner reads them at its
-- heartbeat and on a '<schema>:channels' wake-up. A configured ':paused' is not stored here.
CREATE TABLE ${s}.channel_pauses (
  channel text PRIMARY KEY,
  paused_at timestamptz NOT NULL,
  paused_by text
);
${sqlEnqueueFunction(s)}
`,
  },
];

/**
 * `<schema>.enqueue(model, method, args, options)`: create a job from SQL (triggers, migrations, other
 * languages) in the caller's transaction, stored as the Node API stores it (see docs/sql-enqueue.md).
 * Bad input raises SQLSTATE 22023 (invalid_parameter_value) naming the field, also in the error's column.
 */
function sqlEnqueueFunction(s: string): string {
  const schema = s.slice(1, -1);
  return `
CREATE FUNCTION ${s}.enqueue(model text, method text, args jsonb DEFAULT '[]', options jsonb DEFAULT '{}')
RETURNS bigint LANGUAGE plpgsql VOLATILE AS $enqueue$
#variable_conflict use_variable
DECLARE
  known CONSTANT text[] := ARRAY['records', 'priority', 'eta', 'channel', 'max_retries', 'identity_key', 'description'];
  opts jsonb := coalesce(options, '{}'::jsonb);
  fn jsonb;
  v jsonb;
  k text;
  o_records jsonb := '[]';
  o_priority integer;
  o_max_retries integer;
  o_eta timestamptz;
  o_channel text;
  o_identity text;
  o_description text;
  part text;
  now_ts timestamptz := date_trunc('milliseconds', clock_timestamp());
  found_id bigint;
  new_id bigint;
BEGIN
  IF model IS NULL OR btrim(model) = '' THEN
    RAISE EXCEPTION 'conveyor.enqueue: model must be a non-empty text, got %', coalesce(quote_literal(model), 'NULL') USING ERRCODE = '22023', COLUMN = 'model';
  END IF;
  IF method IS NULL OR btrim(method) = '' THEN
    RAISE EXCEPTION 'conveyor.enqueue: method must be a non-empty text, got %', coalesce(quote_literal(method), 'NULL') USING ERRCODE = '22023', COLUMN = 'method';
  END IF;
  IF args IS NULL OR jsonb_typeof(args) <> 'array' THEN
    RAISE EXCEPTION 'conveyor.enqueue: args must be a JSON array, got %', coalesce(left(args::text, 60), 'NULL') USING ERRCODE = '22023', COLUMN = 'args';
  END IF;
  IF jsonb_typeof(opts) <> 'object' THEN
    RAISE EXCEPTION 'conveyor.enqueue: options must be a JSON object, got %', left(opts::text, 60) USING ERRCODE = '22023', COLUMN = 'options';
  END IF;
  FOR k IN SELECT jsonb_object_keys(opts) LOOP
    IF NOT k = ANY (known) THEN
      RAISE EXCEPTION 'conveyor.enqueue: unknown option %', quote_literal(k) USING ERRCODE = '22023', COLUMN = k,
        HINT = 'known options: ' || array_to_string(known, ', ');
    END IF;
  END LOOP;
  -- an operator's override of the job function (conveyor jobFunctions.update) gives the defaults it stores
  SELECT settings INTO fn FROM ${s}.job_functions WHERE name = model || '.' || method;
  fn := coalesce(fn, '{}'::jsonb);

  v := opts->'records';
  IF v IS NOT NULL AND v <> 'null' THEN
    IF jsonb_typeof(v) <> 'array' THEN
      RAISE EXCEPTION 'conveyor.enqueue: records must be a JSON array, got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'records';
    END IF;
    o_records := v;
  END IF;

  v := coalesce(nullif(opts->'priority', 'null'), fn->'priority', '10');
  IF (CASE WHEN jsonb_typeof(v) = 'number' THEN v::numeric <> trunc(v::numeric) OR v::numeric NOT BETWEEN -2147483648 AND 2147483647 ELSE true END) THEN
    RAISE EXCEPTION 'conveyor.enqueue: priority must be an integer between -2147483648 and 2147483647, got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'priority';
  END IF;
  o_priority := v::numeric::integer;

  v := coalesce(nullif(opts->'max_retries', 'null'), fn->'maxRetries', '5');
  IF (CASE WHEN jsonb_typeof(v) = 'number' THEN v::numeric <> trunc(v::numeric) OR v::numeric NOT BETWEEN 0 AND 2147483647 ELSE true END) THEN
    RAISE EXCEPTION 'conveyor.enqueue: max_retries must be an integer >= 0 (0 = infinite), got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'max_retries';
  END IF;
  o_max_retries := v::numeric::integer;

  v := opts->'eta';
  IF v IS NOT NULL AND v <> 'null' THEN
    IF jsonb_typeof(v) = 'number' THEN
      -- seconds from now
      o_eta := date_trunc('milliseconds', now_ts + (v::text)::double precision * interval '1 second');
    ELSIF jsonb_typeof(v) = 'string' THEN
      BEGIN
        o_eta := date_trunc('milliseconds', (v->>0)::timestamptz);
      EXCEPTION WHEN others THEN
        BEGIN
          o_eta := date_trunc('milliseconds', now_ts + (v->>0)::interval);
        EXCEPTION WHEN others THEN
          RAISE EXCEPTION 'conveyor.enqueue: eta must be a timestamp with time zone, an interval (''10 minutes'') or seconds from now, got %', left(v::text, 60)
            USING ERRCODE = '22023', COLUMN = 'eta';
        END;
      END;
    ELSE
      RAISE EXCEPTION 'conveyor.enqueue: eta must be a timestamp with time zone, an interval (''10 minutes'') or seconds from now, got %', left(v::text, 60)
        USING ERRCODE = '22023', COLUMN = 'eta';
    END IF;
  END IF;

  -- channel: the option, else the job function's stored override, else root (the code's default channel is
  -- not in the database: pass channel when the function has one)
  v := coalesce(nullif(opts->'channel', 'null'), fn->'channel', '"root"');
  IF jsonb_typeof(v) <> 'string' THEN
    RAISE EXCEPTION 'conveyor.enqueue: channel must be a text like ''root.mail'', got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'channel';
  END IF;
  o_channel := btrim(v->>0);
  IF o_channel <> '' THEN
    FOREACH part IN ARRAY string_to_array(o_channel, '.') LOOP
      IF part !~ '^[A-Za-z0-9_-]+$' THEN
        RAISE EXCEPTION 'conveyor.enqueue: invalid channel name %: part % must match [A-Za-z0-9_-]+', quote_literal(o_channel), quote_literal(part)
          USING ERRCODE = '22023', COLUMN = 'channel';
      END IF;
    END LOOP;
  END IF;
  o_channel := CASE WHEN o_channel IN ('', 'root') THEN 'root' WHEN o_channel LIKE 'root.%' THEN o_channel ELSE 'root.' || o_channel END;

  v := opts->'identity_key';
  IF v IS NOT NULL AND v <> 'null' THEN
    IF jsonb_typeof(v) <> 'string' THEN
      RAISE EXCEPTION 'conveyor.enqueue: identity_key must be a text, got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'identity_key';
    END IF;
    o_identity := v->>0;
  END IF;

  v := opts->'description';
  IF v IS NOT NULL AND v <> 'null' THEN
    IF jsonb_typeof(v) <> 'string' THEN
      RAISE EXCEPTION 'conveyor.enqueue: description must be a text, got %', left(v::text, 60) USING ERRCODE = '22023', COLUMN = 'description';
    END IF;
    o_description := v->>0;
  END IF;
  o_description := coalesce(o_description, model || '.' || method);

  IF o_identity IS NOT NULL THEN
    -- the same lock as the Node API's enqueue: one open job per key, held to the end of the transaction
    PERFORM pg_advisory_xact_lock(hashtextextended('conveyor:${schema}:identity:' || o_identity, 0));
    SELECT j.id INTO found_id FROM ${s}.jobs j
      WHERE j.identity_key = o_identity AND j.state IN ('wait_dependencies', 'pending', 'enqueued') ORDER BY j.id LIMIT 1;
    IF found_id IS NOT NULL THEN
      RETURN found_id;
    END IF;
  END IF;

  INSERT INTO ${s}.jobs (uuid, graph_uuid, model, method, records, args, state, priority, eta, channel, max_retries,
      description, identity_key, context, time_limit_ms, has_dependants, created_at)
    VALUES (
      -- a version 7 uuid (time-ordered), as the Node API makes
      encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
        PLACING substring(int8send((extract(epoch FROM now_ts) * 1000)::bigint) FROM 3) FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid,
      NULL, model, method, o_records, args, 'pending', o_priority, o_eta, o_channel, o_max_retries,
      o_description, o_identity, NULL, NULL, false, now_ts)
    RETURNING id INTO new_id;
  -- delivered at commit: a runner claims the job as soon as the caller's transaction commits
  PERFORM pg_notify('${schema}:jobs', '');
  RETURN new_id;
END
$enqueue$;
COMMENT ON FUNCTION ${s}.enqueue(text, text, jsonb, jsonb) IS 'Conveyor: enqueue a job in the current transaction; returns its id (an open job with the same identity_key is returned instead)';
`;
}
