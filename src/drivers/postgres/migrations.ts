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
];
