/**
 * The shape of a timeout log row (DESIGN §5), shared by the toolkit, the runner and the drivers.
 * @module
 */

/** What kind of event a timeout log row records. */
export type TimeoutKind = 'monitor' | 'timeout' | 'hard_kill' | 'cpu_limit' | 'memory_limit';

/** A timeout log row as written by the toolkit or the runner (the store fills id, time, host). */
export interface TimeoutLogEntryInput {
  /** Operation name (`withTimeout(…, { name })`, the job's `model.method`, …). */
  operation: string;
  /** Event kind. */
  kind: TimeoutKind;
  /** The limit or threshold, ms. */
  thresholdMs: number;
  /** How long the operation ran, ms. */
  durationMs: number;
  /** Whether the duration exceeded the threshold. */
  exceeded: boolean;
  /** Model of the job, if any. */
  model?: string | null;
  /** Method of the job, if any. */
  method?: string | null;
  /** Id of the job, if any. */
  jobId?: number | null;
  /** Error message, if any. */
  error?: string | null;
  /** When it happened (ms epoch); the store uses its clock when absent. */
  at?: number;
}

/** A stored timeout log row. */
export interface TimeoutLogEntry extends Required<Omit<TimeoutLogEntryInput, 'at'>> {
  /** Row id. */
  id: number;
  /** When it happened, ms epoch. */
  at: number;
  /** Host and runner that wrote it. */
  host: string | null;
}
