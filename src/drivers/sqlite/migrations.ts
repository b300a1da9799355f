/**
 * SQLite schema migrations, forward-only. Tables carry a `conveyor_` prefix so the queue can share the
 * application's database file. Times are INTEGER ms since the epoch; JSON is TEXT.
 * @module
 */

/** One migration. */
export interface SqliteMigration {
  version: number;
  name: string;
  sql: string;
}

/** All migrations, oldest first. */
export const SQLITE_MIGRATIONS: readonly SqliteMigration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE conveyor_jobs (
  id INTEGER PRIMARY KEY,
  uuid TEXT NOT NULL UNIQUE,
  graph_uuid TEXT,
  model TEXT NOT NULL,
  method TEXT NOT NULL,
  records TEXT NOT NULL,
  args TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('wait_dependencies','pending','enqueued','started','done','failed','cancelled')),
  priority INTEGER NOT NULL,
  eta INTEGER,
  channel TEXT NOT NULL,
  attempt INTEGER NOT NULL DEFAULT 0,
  max_retries INTEGER NOT NULL,
  crash_count INTEGER NOT NULL DEFAULT 0,
  result TEXT,
  exc_name TEXT,
  exc_message TEXT,
  exc_info TEXT,
  description TEXT NOT NULL,
  identity_key TEXT,
  context TEXT,
  progress TEXT,
  checkpoint TEXT,
  time_limit_ms INTEGER,
  created_at INTEGER NOT NULL,
  enqueued_at INTEGER,
  started_at INTEGER,
  done_at INTEGER,
  cancelled_at INTEGER,
  exec_time_ms INTEGER,
  runner_id TEXT,
  has_dependants INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX conveyor_jobs_pending ON conveyor_jobs (channel, priority, created_at, id) WHERE state = 'pending';
CREATE INDEX conveyor_jobs_eta ON conveyor_jobs (eta) WHERE state = 'pending' AND eta IS NOT NULL;
CREATE INDEX conveyor_jobs_running ON conveyor_jobs (runner_id, channel) WHERE state IN ('enqueued', 'started');
CREATE INDEX conveyor_jobs_failed ON conveyor_jobs (channel) WHERE state = 'failed';
CREATE INDEX conveyor_jobs_identity ON conveyor_jobs (identity_key) WHERE identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending', 'enqueued');
CREATE INDEX conveyor_jobs_graph ON conveyor_jobs (graph_uuid) WHERE graph_uuid IS NOT NULL;
CREATE INDEX conveyor_jobs_state ON conveyor_jobs (state, id) WHERE state IN ('wait_dependencies', 'failed', 'cancelled');
CREATE TABLE conveyor_job_deps (
  job_id INTEGER NOT NULL,
  depends_on INTEGER NOT NULL,
  PRIMARY KEY (job_id, depends_on)
) STRICT, WITHOUT ROWID;
CREATE INDEX conveyor_job_deps_parent ON conveyor_job_deps (depends_on, job_id);
CREATE TABLE conveyor_job_attempts (
  job_id INTEGER NOT NULL,
  attempt INTEGER NOT NULL,
  runner_id TEXT,
  started_at INTEGER,
  ended_at INTEGER NOT NULL,
  outcome TEXT NOT NULL,
  exc_name TEXT,
  exc_message TEXT,
  exc_info TEXT
) STRICT;
CREATE INDEX conveyor_job_attempts_job ON conveyor_job_attempts (job_id, attempt);
CREATE TABLE conveyor_runners (
  id TEXT PRIMARY KEY,
  host TEXT NOT NULL,
  pid INTEGER NOT NULL,
  workers INTEGER NOT NULL,
  started_at INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  lease_until INTEGER NOT NULL,
  info TEXT NOT NULL
) STRICT;
CREATE TABLE conveyor_channel_state (
  channel TEXT PRIMARY KEY,
  last_started_at INTEGER NOT NULL
) STRICT;
CREATE TABLE conveyor_timeout_log (
  id INTEGER PRIMARY KEY,
  at INTEGER NOT NULL,
  operation TEXT NOT NULL,
  kind TEXT NOT NULL,
  model TEXT,
  method TEXT,
  job_id INTEGER,
  threshold_ms INTEGER NOT NULL,
  duration_ms INTEGER NOT NULL,
  exceeded INTEGER NOT NULL,
  error TEXT,
  host TEXT
) STRICT;
CREATE INDEX conveyor_timeout_log_at ON conveyor_timeout_log (at);
`,
  },
  {
    version: 2,
    name: 'scheduled jobs',
    sql: `
CREATE TABLE conveyor_crons (
  name TEXT PRIMARY KEY,
  schedule TEXT NOT NULL,
  timezone TEXT,
  model TEXT NOT NULL,
  method TEXT NOT NULL,
  records TEXT NOT NULL,
  args TEXT NOT NULL,
  options TEXT NOT NULL,
  catch_up TEXT NOT NULL CHECK (catch_up IN ('none','one','all')),
  paused INTEGER NOT NULL DEFAULT 0,
  next_run_at INTEGER,
  last_run_at INTEGER,
  last_job_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
-- one row per fired slot: its primary key is what makes a slot fire once across all runners
CREATE TABLE conveyor_cron_slots (
  name TEXT NOT NULL,
  slot_at INTEGER NOT NULL,
  job_id INTEGER,
  fired_at INTEGER NOT NULL,
  PRIMARY KEY (name, slot_at)
) STRICT, WITHOUT ROWID;
`,
  },
  {
    version: 3,
    name: 'job functions as data',
    sql: `
CREATE TABLE conveyor_job_functions (
  name TEXT PRIMARY KEY,
  settings TEXT NOT NULL,
  updated_at INTEGER NOT NULL
) STRICT;
`,
  },
  {
    version: 4,
    name: 'channel pauses',
    sql: `
-- channels paused at runtime by an operator; runners read them at each heartbeat (and at once on a wake-up
-- in this process). A configured ':paused' is not stored here.
CREATE TABLE conveyor_channel_pauses (
  channel TEXT PRIMARY KEY,
  paused_at INTEGER NOT NULL,
  paused_by TEXT
) STRICT;
`,
  },
];
