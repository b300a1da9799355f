/**
 * The storage driver interface. A driver stores and performs fenced writes; it never decides what
 * runs: the claim transaction calls the pure channel scheduler through {@link ClaimPolicy}.
 * Both backends (SQLite, PostgreSQL) pass one conformance suite (`test/drivers/`).
 * Times are ms since the epoch and are always passed in, so tests control the clock.
 * @module
 */
import type { JobState } from '../job/states.ts';
import type { JobAttempt, JobRow, JobProgress } from '../job/row.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../job/timeout-log-entry.ts';
import type { Candidate, ChannelSnapshot, ClaimGuess, FetchPlan, PickResult } from '../channels/scheduler.ts';

/** A job to insert. JSON fields are already encoded text. */
export interface NewJob {
  uuid: string;
  graphUuid: string | null;
  model: string;
  method: string;
  /** JSON text of the record ids. */
  records: string;
  /** JSON text of the arguments. */
  args: string;
  priority: number;
  eta: number | null;
  channel: string;
  maxRetries: number;
  description: string;
  identityKey: string | null;
  /** JSON text of the captured context, or null. */
  context: string | null;
  timeLimitMs: number | null;
}

/** Parameters of {@link Driver.jobInsertMany}. */
export interface JobInsertParams {
  jobs: readonly NewJob[];
  /** Dependency edges as `[childIndex, parentIndex]` into `jobs`. With edges, identity dedup is all-or-nothing (queue_job). */
  edges?: readonly (readonly [number, number])[];
  now: number;
  /** A caller's transaction (PostgreSQL: a pg client inside BEGIN). The job exists iff it commits. */
  tx?: unknown;
}

/** What became of each inserted job, aligned with the input. */
export interface JobInsertResult {
  id: number;
  uuid: string;
  state: JobState;
  /** True when an open job with the same identity key was returned instead. */
  existing: boolean;
}

/** The scheduler as the claim transaction sees it (pure functions; see `channels/scheduler.ts`). */
export interface ClaimPolicy {
  sequentialChannels: readonly string[];
  throttledChannels: readonly string[];
  planFetch(snap: ChannelSnapshot, wanted: number): FetchPlan[];
  pickJobs(snap: ChannelSnapshot, candidates: readonly Candidate[], wanted: number): PickResult;
  /**
   * The claim to try before reading the snapshot (see {@link ClaimGuess}), or null. A driver may check it
   * and take its jobs in the same statement; it must fall back to planFetch/pickJobs when it does not hold.
   */
  guess?(wanted: number): ClaimGuess | null;
  /** The driver tells the policy the state its claim read (before its update) and the jobs it took. */
  observe?(snap: ChannelSnapshot, taken: readonly { channel: string }[]): void;
}

/** Parameters of {@link Driver.jobClaim}. */
export interface JobClaimParams {
  runnerId: string;
  now: number;
  /** Most jobs to take. */
  wanted: number;
  /**
   * How many of the picked jobs (in dispatch order) start at once: they are stored `started` by the claim
   * itself, so a runner that dies right away is counted as a crash; the rest stay `enqueued` (buffered).
   */
  startCount?: number;
  policy: ClaimPolicy;
}

/** Result of a claim: the jobs now `enqueued` for this runner (attempt already incremented). */
export interface JobClaimResult {
  jobs: JobRow[];
  capacityBlocked: boolean;
  /** Earliest moment something may become runnable (ETA, throttle), if known. */
  wakeAt: number | null;
  /**
   * True when the claim knows that no due job was left behind, in any channel (it saw them all and took
   * them all); then the runner claims again only on a wake-up. Omitted when the driver cannot tell.
   */
  drained?: boolean;
}

/** A fenced state change by the runner holding the job. */
export type FinishCommand =
  | { kind: 'start'; id: number; attempt: number; at: number }
  | {
      kind: 'done';
      id: number;
      attempt: number;
      startedAt: number;
      at: number;
      result: string | null;
      /** Whether other jobs depend on this one (from the claimed row); lets a driver skip the dependants step. Unknown = maybe. */
      hasDependants?: boolean;
    }
  | {
      kind: 'retry';
      id: number;
      attempt: number;
      startedAt: number | null;
      at: number;
      eta: number;
      /** When false, the try is given back (attempt decremented). */
      countTry: boolean;
      outcome: string;
      excName: string | null;
      excMessage: string | null;
      excInfo: string | null;
    }
  | {
      kind: 'failed';
      id: number;
      attempt: number;
      startedAt: number | null;
      at: number;
      outcome: string;
      excName: string | null;
      excMessage: string | null;
      excInfo: string | null;
    }
  | { kind: 'release'; id: number; attempt: number; at: number };

/** The job a {@link Driver.jobTransaction} records as done, fenced like every runner write. */
export interface JobTransactionJob {
  id: number;
  attempt: number;
  /** The runner holding the job: the fence is `(id, attempt, runnerId, state ∈ {enqueued, started})`. */
  runnerId: string;
  /** When the run started (ms), stored as the job's start time. */
  startedAt: number;
  /** Whether other jobs depend on this one (from the claimed row). Unknown = maybe. */
  hasDependants?: boolean;
}

/** Parameters of {@link Driver.jobTransaction}. */
export interface JobTransactionParams {
  /** The job to record as done in the same transaction; null when there is no job row (a direct, inline call). */
  job: JobTransactionJob | null;
  /**
   * The job's own writes. PostgreSQL: gets a `pg` client inside `BEGIN` and may be async. SQLite: gets the
   * `DatabaseSync` handle and must be synchronous (a returned promise is a `TransactionScopeError`, rolled back).
   */
  fn(db: unknown): unknown;
  /** The value `fn` returned as the stored result (JSON text or null); a throw rolls the transaction back. */
  encodeResult(value: unknown): string | null;
  /** The completion time, read once `fn` has returned. */
  now(): number;
  /** PostgreSQL: an abort before the COMMIT is sent ends the transaction at once (rolled back on the server). */
  signal?: AbortSignal;
}

/** What a committed {@link Driver.jobTransaction} did. */
export interface JobTransactionResult {
  /** What `fn` returned (awaited). */
  value: unknown;
  /** True when the job was recorded as done with the writes. */
  completed: boolean;
  /** The completion time stored (ms). */
  at: number;
}

/** Per command: `ok`, or `stale` when the fence no longer matched (the job was rescued, requeued, cancelled…). */
export type FinishResult = 'ok' | 'stale';

/** Filters of the admin listing and counts. */
export interface JobFilter {
  state?: JobState | readonly JobState[];
  channel?: string;
  model?: string;
  method?: string;
  graphUuid?: string;
  /** Case-insensitive text search in description, model, method, exception message, uuid and args. */
  text?: string;
  /** Created at or after (ms). */
  createdFrom?: number;
  /** Created before (ms). */
  createdTo?: number;
  ids?: readonly number[];
  identityKey?: string;
  /** Exception class name of the last failure or retry (`TypeError`, `JobFoundDead`…). */
  excName?: string;
}

/** Sort keys of {@link Driver.jobList}. */
export type JobSortKey = 'id' | 'priority' | 'createdAt' | 'doneAt' | 'execTimeMs';

/** Parameters of {@link Driver.jobList}. */
export interface JobListParams extends JobFilter {
  limit: number;
  /** Opaque keyset cursor from a previous page. */
  cursor?: string | null;
  sort?: JobSortKey;
  direction?: 'asc' | 'desc';
}

/** A page of jobs. */
export interface JobPage {
  jobs: JobRow[];
  /** Pass back as `cursor` for the next page; null at the end. */
  nextCursor: string | null;
}

/** Group-by keys of {@link Driver.jobCount}. */
export type JobCountKey = 'state' | 'channel' | 'model' | 'method' | 'excName';

/** One row of grouped counts. */
export interface JobCountRow {
  key: Partial<Record<JobCountKey, string | null>>;
  count: number;
}

/** An admin state change. */
export interface JobAdminParams {
  ids: readonly number[];
  now: number;
  /** Human message stored as the result ("Cancelled by …"). */
  message?: string;
  /** Cancel: also cancel jobs that depend on these, recursively. */
  cascade?: boolean;
}

/** A runner's row in the runners table. */
export interface RunnerInfo {
  id: string;
  host: string;
  pid: number;
  workers: number;
  startedAt: number;
  heartbeatAt: number;
  leaseUntil: number;
  /** Free-form live data: memory, running count, channels, isolation. */
  info: Record<string, unknown>;
}

/**
 * A runner's registration: the lease is a duration, turned into `leaseUntil` on the database's clock
 * (PostgreSQL's `clock_timestamp()`, the host clock for SQLite), so every runner judges expiry on one
 * clock whatever the skew between hosts. `now` replaces that clock (tests with fixed times only).
 */
export interface RunnerRegistration {
  id: string;
  host: string;
  pid: number;
  workers: number;
  startedAt: number;
  /** The lease from now: the runner is dead when no heartbeat lands for this long. */
  leaseMs: number;
  info: Record<string, unknown>;
  /** Fixed time instead of the database's clock (tests). */
  now?: number;
}

/** A job a runner died holding, as handled by {@link Driver.jobRescue}. */
export interface RescuedJob {
  id: number;
  runnerId: string | null;
  /** `pending` again, or `failed` after too many crashes. */
  state: JobState;
  wasStarted: boolean;
}

/** The edges and states of a graph. */
export interface JobGraph {
  graphUuid: string;
  nodes: Pick<JobRow, 'id' | 'uuid' | 'model' | 'method' | 'description' | 'state' | 'records'>[];
  /** `[parentId, childId]`. */
  edges: [number, number][];
}

/** Wake-up topics. `jobs`: new runnable work; `freed`: capacity was freed; `channels`: a channel was paused or resumed. */
export type WakeTopic = 'jobs' | 'freed' | 'channels';

/** A channel paused at runtime (stored; see {@link Driver.channelPauseSet}). */
export interface ChannelPause {
  /** Full channel name (`root.mail`). */
  channel: string;
  /** When it was paused (ms since the epoch). */
  pausedAt: number;
  /** Who paused it (free text: a user, `cli`, `dashboard`), if known. */
  pausedBy: string | null;
}

/** Statistics of the timeout log. */
export interface TimeoutStatistics {
  totalCount: number;
  exceededCount: number;
  avgDurationMs: number;
  byModel: Record<string, { count: number; exceeded: number; avgDurationMs: number }>;
  byMethod: Record<string, { count: number; exceeded: number; avgDurationMs: number }>;
}

/** Fired slots older than this (before the slot being fired) are deleted: dedup needs only recent ones. */
export const CRON_SLOT_RETENTION_MS = 7 * 86_400_000;

/** How the missed slots of a scheduled job are handled: none replayed, one run for all, or each. */
export type CronCatchUp = 'none' | 'one' | 'all';

/** A scheduled job (cron entry) as stored. JSON fields are encoded text. */
export interface CronRow {
  /** Unique name (the primary key). */
  name: string;
  /** Canonical schedule text (`0 3 * * 0`, `every 1w`), see `cron/schedule.ts`. */
  schedule: string;
  /** IANA time zone of a cron expression; null = UTC. */
  timezone: string | null;
  model: string;
  method: string;
  /** JSON text of the record ids. */
  records: string;
  /** JSON text of the arguments. */
  args: string;
  /** JSON text of the job options (`{ priority?, channel?, maxRetries?, description? }`). */
  options: string;
  catchUp: CronCatchUp;
  paused: boolean;
  /** The next slot to fire (ms); null when none. */
  nextRunAt: number | null;
  /** The slot (or, for a run-now, the moment) of the last job enqueued. */
  lastRunAt: number | null;
  lastJobId: number | null;
  createdAt: number;
  updatedAt: number;
}

/** What {@link Driver.cronUpsert} stores: the definition from code, plus the first slot. */
export type CronDef = Omit<CronRow, 'paused' | 'lastRunAt' | 'lastJobId' | 'createdAt' | 'updatedAt'>;

/** Parameters of {@link Driver.cronFire}. */
export interface CronFireParams {
  name: string;
  /** The slot to fire (deduplicated across all runners), or null for a run-now (no slot, no dedup). */
  slotAt: number | null;
  now: number;
  /** The slot after this one: `next_run_at` moves forward to it (never backwards). Null leaves it. */
  nextRunAt: number | null;
  /** The job to enqueue when, and only when, this call records the slot. */
  job: NewJob;
}

/** Result of {@link Driver.cronFire}. */
export interface CronFireResult {
  /** True when this call recorded the slot and enqueued the job; false when the slot was already fired, or the entry is paused or gone. */
  fired: boolean;
  jobId: number | null;
}

/** The storage driver. */
export interface Driver {
  readonly dialect: 'sqlite' | 'postgres';
  /** Whether wake-ups reach other processes (LISTEN/NOTIFY). Without it runners also poll. */
  readonly crossProcessWakeups: boolean;
  /** A secret-free description of where the data lives (for logs). */
  readonly location: string;

  /** Apply pending migrations; refuses a newer schema. Returns the versions applied now. */
  migrate(): Promise<number[]>;
  /** The schema version in the database (0 when empty) and the newest this code knows. */
  schemaVersion(): Promise<{ current: number; latest: number }>;
  /** Close connections this driver opened. */
  close(): Promise<void>;

  jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]>;
  jobClaim(p: JobClaimParams): Promise<JobClaimResult>;
  jobFinishMany(runnerId: string, commands: readonly FinishCommand[]): Promise<FinishResult[]>;
  jobProgress(p: { id: number; attempt: number; runnerId: string; progress: JobProgress }): Promise<FinishResult>;
  jobCheckpoint(p: { id: number; attempt: number; runnerId: string; checkpoint: string | null }): Promise<FinishResult>;
  /**
   * The job's own transaction (`job.transaction()`): in ONE transaction, lock the job row by its fence,
   * run `fn` with the database handle, and record the job as done with `fn`'s value as its result (like a
   * `done` of {@link jobFinishMany}: dependants released, `freed` sent on commit). A lost fence rolls back
   * and throws `JobLeaseLostError`; a throw from `fn` rolls back and is rethrown as it is.
   */
  jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult>;

  /** The channel state the scheduler reads (running counts, sequential blocks, throttles, pending channels). */
  channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot>;

  jobGet(idOrUuid: number | string): Promise<JobRow | null>;
  jobList(p: JobListParams): Promise<JobPage>;
  jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]>;
  jobAttempts(id: number): Promise<JobAttempt[]>;
  jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }>;
  graphGet(graphUuid: string): Promise<JobGraph | null>;
  /** Ahead-in-line count: pending due jobs of the same channel that sort before this one. */
  jobAhead(id: number, now: number): Promise<number>;

  /** Back to `pending` (or `wait_dependencies` when a parent is not done); resets the try count. Returns the ids changed. */
  jobRequeue(p: JobAdminParams): Promise<number[]>;
  /** Set `done` by hand; releases dependants. Returns the ids changed. */
  jobSetDone(p: JobAdminParams): Promise<number[]>;
  /** Cancel (not `done` ones); with `cascade`, dependants too. Returns the ids changed. */
  jobCancel(p: JobAdminParams): Promise<number[]>;
  /** Delete done/cancelled jobs finished before `before`, in batches. Returns the count. */
  jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number>;

  /** Register (or re-register) a runner; its lease runs from the database's clock. */
  runnerRegister(r: RunnerRegistration): Promise<void>;
  /**
   * Renew the lease to `leaseMs` from the database's clock (`now` replaces that clock in tests); false
   * when the row was gone (the runner was declared dead meanwhile).
   */
  runnerHeartbeat(p: { id: string; leaseMs: number; info: Record<string, unknown>; now?: number }): Promise<boolean>;
  runnerRemove(id: string): Promise<void>;
  runnerList(): Promise<RunnerInfo[]>;
  /**
   * Per channel, since when its oldest due pending job has been runnable (the later of its creation and
   * its ETA, epoch ms); channels without a due pending job are left out. Feeds the oldest-pending-age gauge.
   */
  oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]>;
  /**
   * Requeue (or fail after `maxCrashes`) jobs held by runners whose lease expired on the database's
   * clock (`now` replaces it in tests); drops those runners.
   */
  jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]>;

  /**
   * Wake-ups: NOTIFY on PostgreSQL, an in-process emitter on SQLite. `origin` is the id of the runner
   * whose finished jobs freed the capacity (`freed` sent by {@link Driver.jobFinishMany}), else null: a
   * runner ignores its own, since it claims again after its own writes anyway.
   */
  subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }>;
  /** Send a wake-up (used after admin changes). */
  wake(topic: WakeTopic): Promise<void>;

  /** Channels paused at runtime, by name. */
  channelPauseList(): Promise<ChannelPause[]>;
  /**
   * Pause (kept as first paused when it already is) or resume a channel (a full name), then send a
   * `channels` wake-up. True when this call changed the stored state.
   */
  channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean>;

  /**
   * Publish job lifecycle events (each payload a JSON text under 8000 bytes): one NOTIFY per payload,
   * all in one statement, on PostgreSQL; the in-process emitter shared by the drivers of one file on SQLite.
   */
  publishEvents(payloads: readonly string[]): Promise<void>;
  /**
   * Receive published events. PostgreSQL: a dedicated LISTEN connection that reconnects with backoff and
   * calls `onGap` once it is back (what was sent meanwhile is lost). SQLite: this process only.
   */
  listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<{ close(): Promise<void> }>;
  /** Whether any process listens to events now (runners ask on every heartbeat; cheap). */
  eventListeners(): Promise<boolean>;

  /** Stored overrides of job function settings: `model.method` → JSON text. */
  jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]>;
  /** Store (or with `settings: null`, remove) the override of one job function. */
  jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void>;

  timeoutLogInsert(entry: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number>;
  timeoutLogList(p: {
    since?: number;
    limit: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]>;
  timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics>;
  timeoutLogCleanup(p: { before: number }): Promise<number>;

  /**
   * Insert or update a scheduled job from code (the source of truth for schedule, target, args, options).
   * Keeps `paused`, `last_*`, and `next_run_at` unless the schedule or time zone changed (or it was null).
   */
  cronUpsert(p: CronDef & { now: number }): Promise<CronRow>;
  /** Every scheduled job, by name. */
  cronList(): Promise<CronRow[]>;
  cronGet(name: string): Promise<CronRow | null>;
  /** Pause or resume; a resume may set `nextRunAt` (slots while paused are not missed, they are skipped). False when unknown. */
  cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean>;
  /**
   * Fire one slot, exactly once across all runners: in ONE transaction, record `(name, slotAt)` (insert or
   * ignore) and, only if this call inserted it, enqueue `job` and advance `next_run_at`/`last_run_at`.
   */
  cronFire(p: CronFireParams): Promise<CronFireResult>;
  /** Move `next_run_at` forward without firing (missed slots that are not replayed). */
  cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void>;
  /** Delete a scheduled job and its fired slots. False when unknown. */
  cronDelete(name: string): Promise<boolean>;
}
