/**
 * The metric families Conveyor exports: names, types, help texts, where each figure comes from, and
 * the shape of their samples.
 * @module
 */

/** Label names to values. */
export type Labels = Record<string, string>;

/** One sample of a family (`name` is set for a histogram's `_bucket`, `_sum` and `_count` lines). */
export interface MetricSample {
  /** The line's metric name, when it differs from the family's. */
  name?: string;
  /** Its labels. */
  labels: Labels;
  /** Its value. */
  value: number;
}

/** A metric family: what one `# HELP` / `# TYPE` block holds. */
export interface MetricFamily {
  /** The family name. */
  name: string;
  /** The Prometheus type. */
  type: 'gauge' | 'counter' | 'histogram';
  /** The help text. */
  help: string;
  /** `database`: the same figure in every process (read from the database); `process`: this process's counts. */
  source: 'database' | 'process';
  /** The samples. */
  samples: MetricSample[];
}

/** A family without its samples. */
export type FamilyDef = Omit<MetricFamily, 'samples'>;

const def = (name: string, type: FamilyDef['type'], source: FamilyDef['source'], help: string): FamilyDef => ({
  name,
  type,
  help,
  source,
});

/** The family of the scrape time (set by the collector, not by the counters). */
export const SCRAPE_TIMESTAMP = 'conveyor_metrics_scrape_timestamp_seconds';

/** The duration histogram's family. */
export const DURATION_HISTOGRAM = 'conveyor_job_duration_seconds';

/** Every family Conveyor exports, in output order. */
export const METRIC_FAMILIES: readonly FamilyDef[] = [
  def('conveyor_jobs', 'gauge', 'database', 'Jobs by state (all stored jobs).'),
  def(
    'conveyor_channel_jobs',
    'gauge',
    'database',
    'Open jobs (waiting, pending, enqueued, started, failed) by state and stored channel.',
  ),
  def(
    'conveyor_oldest_pending_age_seconds',
    'gauge',
    'database',
    'Seconds the oldest due pending job of a stored channel has waited (since its creation or its ETA, whichever is later); 0 when none waits.',
  ),
  def('conveyor_channel_capacity', 'gauge', 'database', 'Configured capacity of a channel (-1 = unlimited).'),
  def('conveyor_channel_running', 'gauge', 'database', 'Jobs enqueued or started in a channel and its sub-channels.'),
  def('conveyor_channel_blocked', 'gauge', 'database', '1 when a sequential channel is blocked by a failed job.'),
  def('conveyor_runners_alive', 'gauge', 'database', 'Runners whose lease is current.'),
  def('conveyor_runners_expired', 'gauge', 'database', 'Runners whose lease expired (dead, not yet cleaned up).'),
  def('conveyor_runner_heartbeat_age_seconds', 'gauge', 'database', "Seconds since the runner's last heartbeat."),
  def('conveyor_runner_workers', 'gauge', 'database', 'Worker slots of the runner.'),
  def('conveyor_runner_running_jobs', 'gauge', 'database', 'Jobs the runner is running (at its last heartbeat).'),
  def(
    'conveyor_runner_rss_bytes',
    'gauge',
    'database',
    'Resident memory of the runner process (at its last heartbeat).',
  ),
  def(
    'conveyor_timeout_log_entries_24h',
    'gauge',
    'database',
    'Timeout-log entries of the last 24 hours, by model.method.',
  ),
  def(
    'conveyor_timeout_log_exceeded_24h',
    'gauge',
    'database',
    'Timeout-log entries of the last 24 hours that exceeded their threshold.',
  ),
  def(
    'conveyor_timeout_log_avg_duration_seconds_24h',
    'gauge',
    'database',
    'Average duration of the timeout-log entries of the last 24 hours.',
  ),
  def('conveyor_jobs_done_total', 'counter', 'process', "Jobs done by this process's runners."),
  def('conveyor_jobs_failed_total', 'counter', 'process', "Jobs failed by this process's runners."),
  def('conveyor_job_retries_total', 'counter', 'process', "Retries scheduled by this process's runners."),
  def('conveyor_job_timeouts_total', 'counter', 'process', "Runs stopped by a time limit in this process's runners."),
  def('conveyor_jobs_rescued_total', 'counter', 'process', "Jobs rescued from dead runners by this process's runners."),
  def(DURATION_HISTOGRAM, 'histogram', 'process', "Run time of jobs done by this process's runners."),
  def(SCRAPE_TIMESTAMP, 'gauge', 'process', 'When these metrics were read.'),
];
