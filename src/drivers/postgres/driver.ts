/**
 * The PostgreSQL driver, on `pg`.
 *
 * - Claims are serialised by a transaction-scoped advisory lock, so channel capacities hold exactly
 *   across every runner process on every host; inside the lock the pure scheduler decides.
 * - Hot statements are named (prepared once per connection) and pipelined (`pipeline: true`): a claim
 *   is three round trips whatever its size, a batch of completions one.
 * - Wake-ups by LISTEN/NOTIFY on a dedicated connection that reconnects with backoff and jitter, and
 *   reports a wake-up after reconnecting so runners catch up on what they missed.
 * - Times are `timestamptz`; parameters are converted exactly from ms (`'epoch' + n * 1 ms`).
 * @module
 */
import { ConfigurationError, DatabaseError, ValidationError } from '../../errors.ts';
import { compareCandidates, type Candidate, type ChannelSnapshot, type ClaimGuess } from '../../channels/scheduler.ts';
import type { JobAttempt, JobProgress, JobRow } from '../../job/row.ts';
import type { JobState } from '../../job/states.ts';
import type { TimeoutLogEntry, TimeoutLogEntryInput } from '../../job/timeout-log-entry.ts';
import type {
  CronDef,
  CronFireParams,
  CronFireResult,
  CronRow,
  Driver,
  FinishCommand,
  FinishResult,
  JobAdminParams,
  JobClaimParams,
  JobClaimResult,
  JobCountKey,
  JobCountRow,
  JobFilter,
  JobGraph,
  JobInsertParams,
  JobInsertResult,
  JobListParams,
  JobPage,
  JobTransactionParams,
  JobTransactionResult,
  RescuedJob,
  RunnerInfo,
  RunnerRegistration,
  TimeoutStatistics,
  WakeTopic,
  ChannelPause,
} from '../driver.ts';
import { pgChannelPauseList, pgChannelPauseSet } from './channel-pauses.ts';
import { rowToJob, type RawRow } from '../rows.ts';
import { FINISH_FENCE, doneUpdateSql } from './finish-sql.ts';
import { pgJobTransaction } from './job-transaction.ts';
import { PgContext, type Pg, type PostgresDriverOptions, type Queryable } from './context.ts';
import { JOB_COLUMNS, columnMs, paramTime } from './sql.ts';
import {
  pgCronAdvance,
  pgCronDelete,
  pgCronFire,
  pgCronGet,
  pgCronList,
  pgCronSetPaused,
  pgCronUpsert,
} from './cron.ts';
import { pgJobCancel, pgJobPrune, pgJobRequeue, pgJobSetDone } from './job-admin.ts';
import { pgJobFunctionList, pgJobFunctionSet } from './job-functions.ts';
import {
  pgGraphGet,
  pgJobAhead,
  pgJobAttempts,
  pgJobCount,
  pgJobDependencies,
  pgJobGet,
  pgJobList,
} from './job-reads.ts';
import { pgEventListeners, pgListenEvents, pgPublishEvents, pgSubscribe, pgWake } from './listen.ts';
import {
  pgJobRescue,
  pgOldestPending,
  pgRunnerHeartbeat,
  pgRunnerList,
  pgRunnerRegister,
  pgRunnerRemove,
} from './runners.ts';
import { pgDropSchema, pgMigrate, pgSchemaVersion } from './schema.ts';
import { pgTimeoutLogCleanup, pgTimeoutLogInsert, pgTimeoutLogList, pgTimeoutLogStatistics } from './timeout-log.ts';

export type { PostgresDriverOptions } from './context.ts';

/** Sizes of the speculative candidate fetch; a claim uses the smallest that covers what it wants. */
const SNAPSHOT_LIMITS = [16, 32, 64, 128, 256, 384, 512, 768, 1024, 2048, 4096];

/** What a runner needs of a job it claims (the rest of the row is read on demand). */
const CLAIM_FIELDS = `id, uuid, graph_uuid, model, method, records, args, state, priority, channel, attempt, max_retries, crash_count,
  description, context, checkpoint, time_limit_ms, ${columnMs('created_at')} AS created_at, runner_id, has_dependants`;

/**
 * The claim transaction's settings and the claim lock: a prepared statement sent right behind the BEGIN,
 * in the same write (a simple query with them was parsed and planned at every claim, ~0.1 ms).
 * synchronous_commit off: the claim commits without waiting for its WAL flush, so the lock is released
 * sooner, and nothing is lost. A claim only leases jobs; if the server crashes before the flush, the claim
 * is gone as if the runner had died, and any later synchronous commit (a job's completion) flushes it first.
 * enable_bitmapscan off: before autovacuum has analysed a freshly filled table, the planner guesses a
 * handful of pending rows and picks a bitmap scan plus a sort of the whole pending set (0.4 s at a million
 * jobs) over walking the pending index in order, which is what every claim wants.
 * plan_cache_mode force_generic_plan: the claim's statements are planned once per connection, not at every
 * execution (a custom plan of the snapshot cost ~1 ms per claim; the literal LIMIT buckets keep the
 * generic plans walking the pending index).
 */
const CLAIM_SETUP = `SELECT set_config('synchronous_commit', 'off', true), set_config('enable_bitmapscan', 'off', true),
  set_config('plan_cache_mode', 'force_generic_plan', true), pg_advisory_xact_lock($1::bigint)`;

/**
 * Settings for the prepared completion statement's transaction (see jobFinishMany): a generic plan, made
 * with sequential and bitmap scans off, so that it is the same index lookup per job on any table.
 */
const FINISH_SETUP = `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
  set_config('plan_cache_mode', 'force_generic_plan', true)`;

/** A candidate from the snapshot's JSON `[id, channel, priority, created_at, eta]`. */
function toCandidate(c: unknown[]): Candidate {
  return {
    id: Number(c[0]),
    channel: c[1] as string,
    priority: Number(c[2]),
    createdAt: Number(c[3]),
    eta: c[4] === null ? null : Number(c[4]),
  };
}

/** The PostgreSQL implementation of {@link Driver}. */
export class PostgresDriver implements Driver {
  readonly dialect = 'postgres' as const;
  readonly crossProcessWakeups = true;
  readonly location: string;
  readonly schema: string;
  #c: PgContext;

  private constructor(c: PgContext) {
    this.#c = c;
    this.location = c.location;
    this.schema = c.schema;
  }

  /** Connect (checks the server answers). Does not migrate: call {@link migrate}. */
  static async open(options: PostgresDriverOptions): Promise<PostgresDriver> {
    let pg: Pg;
    try {
      pg = ((await import('pg')) as unknown as { default: Pg }).default;
    } catch (err) {
      throw new ConfigurationError("PostgreSQL needs the 'pg' package: npm install pg", { cause: err });
    }
    let c: PgContext;
    try {
      c = new PgContext(pg, options);
    } catch (err) {
      if (err instanceof ConfigurationError) throw err;
      throw new ConfigurationError(`invalid PostgreSQL URL: ${(err as Error).message}`, { cause: err });
    }
    try {
      await c.pool.query('SELECT 1');
    } catch (err) {
      await c.pool.end().catch(() => {});
      throw new DatabaseError(`cannot connect to PostgreSQL at ${c.location}: ${(err as Error).message}`, {
        cause: err,
        details: { operation: 'open' },
      });
    }
    return new PostgresDriver(c);
  }

  // ---------------------------------------------------------------- schema

  async migrate(): Promise<number[]> {
    return pgMigrate(this.#c);
  }

  async schemaVersion(): Promise<{ current: number; latest: number }> {
    return pgSchemaVersion(this.#c);
  }

  async dropSchema(): Promise<void> {
    return pgDropSchema(this.#c);
  }

  async close(): Promise<void> {
    if (this.#c.closed) return;
    this.#c.closed = true;
    for (const l of [...this.#c.listeners]) await l.close();
    await this.#c.pool.end();
  }

  // ---------------------------------------------------------------- enqueue

  async jobInsertMany(p: JobInsertParams): Promise<JobInsertResult[]> {
    if (p.tx !== undefined) {
      const tx = p.tx as Queryable;
      if (!tx || typeof tx.query !== 'function') {
        throw new ValidationError(
          `the 'tx' option must be a pg client (something with query(text, values)), got ${typeof p.tx}`,
        );
      }
      try {
        return await this.#insert(tx, p);
      } catch (err) {
        return this.#c.wrap('jobInsertMany', err);
      }
    }
    const simple = !p.edges?.length && p.jobs.every((j) => j.identityKey === null);
    if (simple) {
      // one autocommit statement: insert + notify, no explicit transaction
      return this.#c.read('jobInsertMany', (db) => this.#insert(db, p));
    }
    return this.#c.tx('jobInsertMany', (client) => this.#insert(client, p));
  }

  async #insert(db: Queryable, p: JobInsertParams): Promise<JobInsertResult[]> {
    const edges = p.edges ?? [];
    const hasParent = new Set(edges.map((e) => e[0]));
    const isParent = new Set(edges.map((e) => e[1]));
    const twins: (JobInsertResult | null)[] = p.jobs.map(() => null);
    const keys = [...new Set(p.jobs.map((j) => j.identityKey).filter((k): k is string => k !== null))].sort();
    if (keys.length) {
      // serialise enqueues of the same identity key (held to the end of the caller's transaction)
      await db.query(
        this.#c.named(
          `SELECT pg_advisory_xact_lock(hashtextextended('conveyor:${this.schema}:identity:' || k, 0)) FROM unnest($1::text[]) AS k ORDER BY k`,
          [keys],
        ),
      );
      const r = await db.query(
        this.#c.named(
          `SELECT DISTINCT ON (identity_key) identity_key, id, uuid, state FROM ${this.#c.sqlSchema}.jobs
         WHERE identity_key = ANY($1::text[]) AND state IN ('wait_dependencies','pending','enqueued') ORDER BY identity_key, id`,
          [keys],
        ),
      );
      const found = new Map(
        r.rows.map((row: RawRow) => [
          row.identity_key as string,
          { id: Number(row.id), uuid: row.uuid as string, state: row.state as JobState, existing: true },
        ]),
      );
      p.jobs.forEach((j, i) => {
        if (j.identityKey) twins[i] = found.get(j.identityKey) ?? null;
      });
      if (edges.length) {
        const keyed = p.jobs.map((j, i) => (j.identityKey ? i : -1)).filter((i) => i >= 0);
        if (keyed.every((i) => twins[i]))
          return p.jobs.map((_, i) => twins[i] ?? { id: 0, uuid: '', state: 'cancelled' as JobState, existing: true });
        twins.fill(null);
      }
    }
    // which jobs to insert (identity twins, and repeats of a key inside the batch, are not)
    const toInsert: number[] = [];
    const firstOfKey = new Map<string, number>();
    p.jobs.forEach((j, i) => {
      if (twins[i]) return;
      if (j.identityKey && !edges.length) {
        if (firstOfKey.has(j.identityKey)) return;
        firstOfKey.set(j.identityKey, i);
      }
      toInsert.push(i);
    });
    // One JSON document for the whole batch, a row per job as an array: V8's JSON.stringify and PostgreSQL's
    // jsonb parser are much cheaper than pg's per-element escaping of 16 text arrays, and reading jsonb
    // array positions costs the server less than json_to_recordset's per-object key lookups.
    // records/args/context are JSON already.
    // The names a batch repeats (model, method, channel, description) are quoted once per batch; uuids are
    // hex and dashes, so they need quotes but no escaping.
    const quoted = new Map<string, string>();
    const str = (v: string | null): string => {
      if (v === null) return 'null';
      let q = quoted.get(v);
      if (q === undefined) quoted.set(v, (q = JSON.stringify(v)));
      return q;
    };
    const doc =
      '[' +
      toInsert
        .map((i) => {
          const j = p.jobs[i]!;
          return (
            `["${j.uuid}",${j.graphUuid === null ? 'null' : `"${j.graphUuid}"`},${str(j.model)},${str(j.method)},${j.records},${j.args},` +
            `"${hasParent.has(i) ? 'wait_dependencies' : 'pending'}",${j.priority},${j.eta ?? 'null'},${str(j.channel)},` +
            `${j.maxRetries},${str(j.description)},${j.identityKey === null ? 'null' : JSON.stringify(j.identityKey)},${j.context ?? 'null'},${j.timeLimitMs ?? 'null'},${isParent.has(i)}]`
          );
        })
        .join(',') +
      ']';
    const insertSql = `INSERT INTO ${this.#c.sqlSchema}.jobs (uuid, graph_uuid, model, method, records, args, state, priority, eta, channel,
        max_retries, description, identity_key, context, time_limit_ms, has_dependants, created_at)
      SELECT (e->>0)::uuid, (e->>1)::uuid, e->>2, e->>3, e->4, e->5, e->>6, (e->>7)::int,
        'epoch'::timestamptz + (e->>8)::bigint * interval '1 millisecond',
        e->>9, (e->>10)::int, e->>11, e->>12, nullif(e->13, 'null'), (e->>14)::bigint, (e->>15)::bool, ${paramTime(2)}
      FROM jsonb_array_elements($1::jsonb) AS e`;
    const rows = toInsert.length
      ? (
          await db.query(
            this.#c.named(
              `WITH ins AS (${insertSql} RETURNING id, uuid, state)
         SELECT ins.id, ins.uuid, ins.state FROM ins LEFT JOIN (SELECT pg_notify($3, '')) AS n ON true`,
              [doc, p.now, this.#c.notify.jobs],
            ),
          )
        ).rows
      : [];
    const byUuid = new Map(
      rows.map((r: RawRow) => [
        r.uuid as string,
        { id: Number(r.id), uuid: r.uuid as string, state: r.state as JobState, existing: false },
      ]),
    );
    const results = p.jobs.map((j, i): JobInsertResult => {
      if (twins[i]) return twins[i]!;
      const own = byUuid.get(j.uuid);
      if (own) return own;
      const first = byUuid.get(p.jobs[firstOfKey.get(j.identityKey!)!]!.uuid)!;
      return { ...first, existing: true };
    });
    if (edges.length) {
      await db.query(
        this.#c.named(
          `INSERT INTO ${this.#c.sqlSchema}.job_deps (job_id, depends_on) SELECT * FROM unnest($1::bigint[], $2::bigint[]) ON CONFLICT DO NOTHING`,
          [edges.map((e) => results[e[0]]!.id), edges.map((e) => results[e[1]]!.id)],
        ),
      );
    }
    return results;
  }

  // ---------------------------------------------------------------- claim

  /**
   * The channel snapshot in one statement. With `limit > 0` it also fetches, speculatively, the best
   * `limit` due jobs of each pending channel when there are at most 4 of them (the common case), which
   * saves the claim a round trip while it holds the lock. The limit is a literal (a few buckets), not a
   * parameter: with `LIMIT $n` the cached generic plan may sort the whole pending set instead of
   * walking the index, which is ruinous with a million pending jobs.
   */
  #snapshotSql(limit = 0): string {
    const s = this.#c.sqlSchema;
    return `WITH RECURSIVE c AS (
         (SELECT channel FROM ${s}.jobs WHERE state = 'pending' ORDER BY channel LIMIT 1)
         UNION ALL
         SELECT (SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel > c.channel ORDER BY channel LIMIT 1) FROM c WHERE c.channel IS NOT NULL
       ), pend AS (SELECT channel FROM c WHERE channel IS NOT NULL)
      SELECT
      (SELECT coalesce(json_agg(json_build_array(channel, n)), '[]') FROM
         (SELECT channel, count(*) AS n FROM ${s}.jobs WHERE state IN ('enqueued','started') GROUP BY channel) r) AS running,
      (SELECT coalesce(json_agg(channel), '[]') FROM pend) AS pending,
      (SELECT coalesce(json_agg(json_build_array(ch, blocker)), '[]') FROM
         (SELECT ch, (SELECT min(id) FROM ${s}.jobs WHERE state = 'failed' AND (channel = ch OR left(channel, length(ch) + 1) = ch || '.')) AS blocker
          FROM unnest($1::text[]) AS ch) f WHERE blocker IS NOT NULL) AS seq,
      (SELECT coalesce(json_agg(json_build_array(channel, ${columnMs('last_started_at')})), '[]') FROM ${s}.channel_state WHERE channel = ANY($2::text[])) AS throttle,
      (SELECT ${columnMs('min(eta)')} FROM ${s}.jobs WHERE state = 'pending' AND eta > ${paramTime(3)}) AS next_eta,
      ${
        limit > 0
          ? `CASE WHEN (SELECT count(*) FROM pend) <= 4 THEN
        (SELECT coalesce(json_agg(json_build_array(j.id, j.channel, j.priority, ${columnMs('j.created_at')}, ${columnMs('j.eta')})), '[]')
         FROM pend CROSS JOIN LATERAL (
           SELECT id, channel, priority, created_at, eta FROM ${s}.jobs
           WHERE state = 'pending' AND channel = pend.channel AND (eta IS NULL OR eta <= ${paramTime(3)})
           ORDER BY priority, created_at, id LIMIT ${limit}) j)
      END`
          : 'NULL'
      } AS cands`;
  }

  #toSnapshot(now: number, row: RawRow): ChannelSnapshot & { nextEta: number | null } {
    for (const k of ['running', 'pending', 'seq', 'throttle']) row[k] = JSON.parse(row[k] as string);
    return {
      now,
      running: new Map((row.running as [string, number][]).map(([c, n]) => [c, Number(n)])),
      pendingChannels: row.pending as string[],
      sequentialFailed: new Map((row.seq as [string, number][]).map(([c, id]) => [c, Number(id)])),
      lastStartedAt: new Map((row.throttle as [string, number][]).map(([c, t]) => [c, Number(t)])),
      nextEta: row.next_eta === null ? null : Number(row.next_eta),
    };
  }

  async channelSnapshot(p: {
    now: number;
    sequentialChannels: readonly string[];
    throttledChannels: readonly string[];
  }): Promise<ChannelSnapshot> {
    return this.#c.read('channelSnapshot', async (db) => {
      const r = await db.query(this.#c.named(this.#snapshotSql(), [p.sequentialChannels, p.throttledChannels, p.now]));
      return this.#toSnapshot(p.now, r.rows[0]);
    });
  }

  async jobClaim(p: JobClaimParams): Promise<JobClaimResult> {
    const guess = p.policy.guess?.(p.wanted) ?? null;
    if (!guess) return this.#claimPlanned(p);
    // the guess did not apply (another channel has pending jobs, or running jobs in an unknown channel):
    // the planned claim decides, with the snapshot in hand
    return (await this.#claimGuessed(p, guess)) ?? this.#claimPlanned(p);
  }

  /**
   * The one-round-trip claim: the BEGIN with the lock, one statement and the COMMIT leave together. The
   * statement applies the guess to the live running counts and pending channels (the same rule as
   * `guessLimit` in the scheduler; then it takes exactly what `pickJobs` would), updates the jobs it takes,
   * and reports what the runner needs next: whether the guess applied, whether due jobs were left (then
   * only capacity held them back), the running counts (for the next guess) and the next ETA.
   * Null when the guess did not apply: nothing was taken.
   *
   * The probes for pending jobs in other channels are `ORDER BY channel LIMIT 1` subqueries, not EXISTS: once
   * the table has statistics, the generic plan of an EXISTS on a channel range is a sequential scan (it
   * expects a third of the table to match and stop at the first row), which reads the whole table when
   * nothing matches, as in every drain (8 ms per claim at 50k jobs). An ordered LIMIT 1 walks the pending index.
   */
  async #claimGuessed(p: JobClaimParams, g: ClaimGuess): Promise<JobClaimResult | null> {
    const s = this.#c.sqlSchema;
    if (g.wanted >= SNAPSHOT_LIMITS.at(-1)!) return null; // beyond the largest bucket: the planned claim pages
    const wanted = g.wanted;
    const bucket = SNAPSHOT_LIMITS.find((b) => b > wanted)!; // one more than wanted: tells whether due jobs are left
    const members = g.bounds.flatMap((b, i) => b.channels.map((c) => [i + 1, c] as const));
    return this.#c.tx(
      'jobClaim',
      async (client, commitNow) => {
        const claimed = client.query(
          this.#c.named(
            `WITH running AS (SELECT channel, count(*) AS n FROM ${s}.jobs WHERE state IN ('enqueued','started') GROUP BY channel),
         lim AS (SELECT NOT ((SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel < $3 ORDER BY channel DESC LIMIT 1) IS NOT NULL
               OR (SELECT channel FROM ${s}.jobs WHERE state = 'pending' AND channel > $3 ORDER BY channel LIMIT 1) IS NOT NULL
               OR EXISTS (SELECT 1 FROM running WHERE channel <> ALL($6::text[]))) AS applies,
             greatest(0, least($4, (SELECT min(b.cap - (SELECT coalesce(sum(r.n), 0) FROM running r JOIN unnest($8::int[], $9::text[]) AS m(i, ch)
                 ON m.ch = r.channel WHERE m.i = b.i)) FROM unnest($7::int[]) WITH ORDINALITY AS b(cap, i)))) AS n),
         pick AS (SELECT id, row_number() OVER (ORDER BY priority, created_at, id) AS rn FROM (
             SELECT id, priority, created_at FROM ${s}.jobs
             WHERE (SELECT applies FROM lim) AND state = 'pending' AND channel = $3 AND (eta IS NULL OR eta <= ${paramTime(2)})
             ORDER BY priority, created_at, id LIMIT ${bucket}) x),
         upd AS (UPDATE ${s}.jobs SET runner_id = $1, enqueued_at = ${paramTime(2)}, attempt = attempt + 1,
           state = CASE WHEN id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= $5)) THEN 'started' ELSE 'enqueued' END,
           started_at = CASE WHEN id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= $5)) THEN ${paramTime(2)} END
         WHERE id = ANY(ARRAY(SELECT id FROM pick WHERE rn <= (SELECT n FROM lim))) RETURNING ${CLAIM_FIELDS}),
         meta AS MATERIALIZED (SELECT lim.applies AS m_applies,
           EXISTS (SELECT 1 FROM pick WHERE rn > lim.n) AS m_left,
           (SELECT coalesce(json_agg(json_build_array(channel, n)), '[]') FROM running) AS m_running,
           (SELECT ${columnMs('min(eta)')} FROM ${s}.jobs WHERE state = 'pending' AND eta > ${paramTime(2)}) AS m_next_eta
           FROM lim)
         SELECT upd.*, meta.* FROM meta LEFT JOIN upd ON true`,
            [
              p.runnerId,
              p.now,
              g.channel,
              wanted,
              p.startCount ?? 0,
              g.known,
              g.bounds.map((b) => b.capacity),
              members.map((m) => m[0]),
              members.map((m) => m[1]),
            ],
          ),
        );
        void commitNow();
        const rows = (await claimed).rows as RawRow[];
        const meta = rows[0]!;
        if (!meta.m_applies) return null;
        const jobs = rows
          .filter((r) => r.id !== null)
          .map(rowToJob)
          .sort(compareCandidates);
        const left = meta.m_left === true;
        const running = new Map(
          (JSON.parse(meta.m_running as string) as [string, number][]).map(([c, n]) => [c, Number(n)]),
        );
        p.policy.observe?.(
          {
            now: p.now,
            running,
            sequentialFailed: new Map(),
            lastStartedAt: new Map(),
            pendingChannels: left ? [g.channel] : [],
          },
          jobs,
        );
        // due jobs left behind while fewer than wanted were taken: capacity held them back; none left: the
        // guess applied, so no other channel has pending jobs, and this one has no due job left
        return {
          jobs,
          capacityBlocked: left && jobs.length < p.wanted,
          wakeAt: meta.m_next_eta === null ? null : Number(meta.m_next_eta),
          drained: !left,
        };
      },
      ['BEGIN', this.#c.named(CLAIM_SETUP, [this.#c.locks.claim])],
    );
  }

  /** The claim in two round trips: snapshot, then the scheduler's pick in Node, then the update. */
  async #claimPlanned(p: JobClaimParams): Promise<JobClaimResult> {
    return this.#c.tx(
      'jobClaim',
      async (client, commitNow) => {
        // BEGIN, the lock (CLAIM_SETUP, sent by #tx) and the snapshot go out back to back
        // one more than wanted: planFetch asks for one job past each channel's room (see there)
        const bucket = SNAPSHOT_LIMITS.find((b) => b > p.wanted) ?? SNAPSHOT_LIMITS.at(-1)!;
        const snapRes = await client.query(
          this.#c.named(this.#snapshotSql(bucket), [p.policy.sequentialChannels, p.policy.throttledChannels, p.now]),
        );
        const snap = this.#toSnapshot(p.now, snapRes.rows[0]);
        const plans = p.policy.planFetch(snap, p.wanted);
        const candidates: Candidate[] = [];
        const speculative =
          snapRes.rows[0].cands === null ? null : (JSON.parse(snapRes.rows[0].cands as string) as unknown[][]);
        if (speculative && plans.every((x) => !x.includeNotDue && x.limit <= bucket)) {
          // the snapshot already brought the best `bucket` due jobs of each channel: keep each plan's share
          const byChannel = new Map<string, Candidate[]>();
          for (const c of speculative) {
            const cand = toCandidate(c);
            let list = byChannel.get(cand.channel);
            if (!list) byChannel.set(cand.channel, (list = []));
            list.push(cand);
          }
          for (const plan of plans) candidates.push(...(byChannel.get(plan.channel) ?? []).slice(0, plan.limit));
        } else if (plans.length) {
          const r = await client.query(
            this.#c.named(
              `SELECT j.id, j.channel, j.priority, ${columnMs('j.created_at')} AS created_at, ${columnMs('j.eta')} AS eta
           FROM unnest($1::text[], $2::int[], $3::bool[]) AS p(ch, lim, nd)
           CROSS JOIN LATERAL (
             SELECT id, channel, priority, created_at, eta FROM ${this.#c.sqlSchema}.jobs
             WHERE state = 'pending' AND channel = p.ch AND (p.nd OR eta IS NULL OR eta <= ${paramTime(4)})
             ORDER BY priority, created_at, id LIMIT p.lim) j`,
              [plans.map((x) => x.channel), plans.map((x) => x.limit), plans.map((x) => x.includeNotDue), p.now],
            ),
          );
          for (const c of r.rows as RawRow[])
            candidates.push(toCandidate([c.id, c.channel, c.priority, c.created_at, c.eta]));
        }
        const pick = p.policy.pickJobs(snap, candidates, p.wanted);
        p.policy.observe?.(snap, pick.picked);
        let wakeAt = pick.wakeAt;
        if (snap.nextEta !== null) wakeAt = wakeAt === null ? snap.nextEta : Math.min(wakeAt, snap.nextEta);
        if (pick.lastStartedAt.size) {
          void client
            .query(
              this.#c.named(
                `INSERT INTO ${this.#c.sqlSchema}.channel_state (channel, last_started_at)
           SELECT c, 'epoch'::timestamptz + t * interval '1 millisecond' FROM unnest($1::text[], $2::bigint[]) AS u(c, t)
           ON CONFLICT (channel) DO UPDATE SET last_started_at = excluded.last_started_at`,
                [[...pick.lastStartedAt.keys()], [...pick.lastStartedAt.values()]],
              ),
            )
            .catch(() => {});
        }
        if (!pick.picked.length)
          return { jobs: [], capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
        // No state check here: everything that moves a pending job elsewhere (cancel, set done) takes the
        // claim lock too, and a state qual would lead the planner to scan the whole pending index.
        const update = client.query(
          this.#c.named(
            `UPDATE ${this.#c.sqlSchema}.jobs SET runner_id = $1, enqueued_at = ${paramTime(2)}, attempt = attempt + 1,
           state = CASE WHEN id = ANY($4::bigint[]) THEN 'started' ELSE 'enqueued' END,
           started_at = CASE WHEN id = ANY($4::bigint[]) THEN ${paramTime(2)} END
         WHERE id = ANY($3::bigint[]) RETURNING ${CLAIM_FIELDS}`,
            [p.runnerId, p.now, pick.picked.map((c) => c.id), pick.picked.slice(0, p.startCount ?? 0).map((c) => c.id)],
          ),
        );
        void commitNow(); // the lock goes with the COMMIT, without waiting for the rows to come back
        const r = await update;
        const order = new Map(pick.picked.map((c, i) => [c.id, i]));
        const jobs = (r.rows as RawRow[]).map(rowToJob).sort((a, b) => order.get(a.id)! - order.get(b.id)!);
        return { jobs, capacityBlocked: pick.capacityBlocked, wakeAt, drained: pick.drained };
      },
      ['BEGIN', this.#c.named(CLAIM_SETUP, [this.#c.locks.claim])],
    );
  }

  /** Job columns with timestamps as ms. */
  #fieldsOut(prefix = ''): string {
    return JOB_COLUMNS.split(',')
      .map((f) => f.trim())
      .map((f) => {
        const c = prefix + f;
        return ['eta', 'created_at', 'enqueued_at', 'started_at', 'done_at', 'cancelled_at'].includes(f)
          ? `${columnMs(c)} AS ${f}`
          : c;
      })
      .join(', ');
  }

  // ---------------------------------------------------------------- finish

  async jobFinishMany(runnerId: string, commands: readonly FinishCommand[]): Promise<FinishResult[]> {
    const s = this.#c.sqlSchema;
    const fence = FINISH_FENCE;
    const by = <K extends FinishCommand['kind']>(k: K) =>
      commands.filter((c): c is Extract<FinishCommand, { kind: K }> => c.kind === k);
    const starts = by('start'),
      dones = by('done'),
      retries = by('retry'),
      fails = by('failed'),
      releases = by('release');
    const ok = new Set<number>();
    let dependants = false;
    /** The completion update of the batch's `done` commands (parameters: doneValues()), fenced by `where`. */
    const doneUpdate = (where: string, returning: string) => doneUpdateSql(s, where, returning);
    const doneValues = () => [
      runnerId,
      dones.map((c) => c.id),
      dones.map((c) => c.attempt),
      dones.map((c) => c.startedAt),
      dones.map((c) => c.at),
      dones.map((c) => c.result),
    ];
    // no job of the batch can have dependants: nothing to release after the completions
    const noDependants = dones.every((c) => c.hasDependants === false);
    if (dones.length === commands.length && noDependants) {
      // The common batch (jobs that ended well, none with dependants): one prepared statement with the
      // wake-up in it, planned once per connection. Its generic plan must look each job up by primary key
      // whatever the table held when it was planned: the runner and state checks go through coalesce() so
      // that no other index can serve them, and FINISH_SETUP turns off the scans that a small table would
      // make look cheaper. The result is one index lookup per job of the batch, never a scan. BEGIN, the
      // setup, the statement and the COMMIT leave in one write: one round trip, as an autocommit statement
      // would be, without planning each batch (~0.3 ms of server time per batch).
      const rows = await this.#c.tx(
        'jobFinishMany',
        async (client, commitNow) => {
          const r = client.query(
            this.#c.named(
              `WITH d AS (${doneUpdate(
                `j.id = u.id AND j.attempt = u.attempt AND coalesce(j.runner_id, '') = $1
               AND coalesce(j.state, '') IN ('enqueued','started')`,
                'j.id',
              )})
           SELECT d.id FROM d LEFT JOIN (SELECT pg_notify($7, $1)) AS n ON true`,
              [...doneValues(), this.#c.notify.freed],
            ),
          );
          void commitNow();
          return (await r).rows as RawRow[];
        },
        ['BEGIN', this.#c.named(FINISH_SETUP)],
      );
      for (const row of rows) ok.add(Number(row.id));
      return commands.map((c) => (ok.has(c.id) ? 'ok' : 'stale'));
    }
    await this.#c.tx('jobFinishMany', async (client, commitNow) => {
      const pending: Promise<void>[] = [];
      // unnamed statements: a cached generic plan joins unnest() by a nested loop (quadratic in the batch);
      // a custom plan, made with the batch in hand, hash-joins it (planning costs ~1 ms per batch)
      const run = (sql: string, values: unknown[], each?: (r: RawRow) => void) => {
        pending.push(
          client.query({ text: sql, values }).then((r) => {
            for (const row of r.rows as RawRow[]) {
              ok.add(Number(row.id));
              each?.(row);
            }
          }),
        );
      };
      if (starts.length) {
        run(
          `UPDATE ${s}.jobs j SET state = 'started', started_at = 'epoch'::timestamptz + u.at * interval '1 millisecond'
             FROM unnest($2::bigint[], $3::int[], $4::bigint[]) AS u(id, attempt, at) WHERE ${fence} AND j.state = 'enqueued' RETURNING j.id`,
          [runnerId, starts.map((c) => c.id), starts.map((c) => c.attempt), starts.map((c) => c.at)],
        );
      }
      if (dones.length)
        run(doneUpdate(fence, 'j.id, j.has_dependants'), doneValues(), (row) => {
          if (row.has_dependants) dependants = true;
        });
      const attemptCols = (list: readonly Extract<FinishCommand, { kind: 'retry' | 'failed' }>[]) => [
        list.map((c) => c.id),
        list.map((c) => c.attempt),
        list.map((c) => c.startedAt),
        list.map((c) => c.at),
        list.map((c) => c.outcome),
        list.map((c) => c.excName),
        list.map((c) => c.excMessage),
        list.map((c) => c.excInfo),
      ];
      const unnestAttempts = (
        more = '',
        moreCols = '',
      ) => `unnest($2::bigint[], $3::int[], $4::bigint[], $5::bigint[], $6::text[], $7::text[], $8::text[], $9::text[]${more})
        AS u(id, attempt, started, at, outcome, exc_name, exc_message, exc_info${moreCols})`;
      const logAttempts = `INSERT INTO ${s}.job_attempts (job_id, attempt, runner_id, started_at, ended_at, outcome, exc_name, exc_message, exc_info)
        SELECT u.id, u.attempt, $1, CASE WHEN u.started IS NULL THEN NULL ELSE 'epoch'::timestamptz + u.started * interval '1 millisecond' END,
          'epoch'::timestamptz + u.at * interval '1 millisecond', u.outcome, u.exc_name, u.exc_message, u.exc_info FROM changed c JOIN u ON u.id = c.id`;
      if (retries.length) {
        run(
          `WITH u AS (SELECT * FROM ${unnestAttempts(', $10::bigint[], $11::bool[]', ', eta, count_try')}),
             changed AS (UPDATE ${s}.jobs j SET state = 'pending', eta = 'epoch'::timestamptz + u.eta * interval '1 millisecond',
               attempt = j.attempt - CASE WHEN u.count_try THEN 0 ELSE 1 END, runner_id = NULL, enqueued_at = NULL,
               started_at = coalesce('epoch'::timestamptz + u.started * interval '1 millisecond', j.started_at),
               exec_time_ms = coalesce(u.at - u.started, j.exec_time_ms),
               exc_name = u.exc_name, exc_message = u.exc_message, exc_info = u.exc_info, result = to_jsonb(u.exc_message)
             FROM u WHERE ${fence} RETURNING j.id),
             logged AS (${logAttempts})
             SELECT id FROM changed`,
          [runnerId, ...attemptCols(retries), retries.map((c) => c.eta), retries.map((c) => c.countTry)],
        );
      }
      if (fails.length) {
        run(
          `WITH u AS (SELECT * FROM ${unnestAttempts()}),
             changed AS (UPDATE ${s}.jobs j SET state = 'failed', done_at = NULL,
               started_at = coalesce('epoch'::timestamptz + u.started * interval '1 millisecond', j.started_at),
               exec_time_ms = coalesce(u.at - u.started, j.exec_time_ms),
               exc_name = u.exc_name, exc_message = u.exc_message, exc_info = u.exc_info
             FROM u WHERE ${fence} RETURNING j.id),
             logged AS (${logAttempts})
             SELECT id FROM changed`,
          [runnerId, ...attemptCols(fails)],
        );
      }
      if (releases.length) {
        run(
          `UPDATE ${s}.jobs j SET state = 'pending', attempt = j.attempt - 1, runner_id = NULL, enqueued_at = NULL, started_at = NULL
             FROM unnest($2::bigint[], $3::int[]) AS u(id, attempt) WHERE ${fence} RETURNING j.id`,
          [runnerId, releases.map((c) => c.id), releases.map((c) => c.attempt)],
        );
      }
      if (dones.length || retries.length || fails.length || releases.length) {
        pending.push(
          client.query(this.#c.named('SELECT pg_notify($1, $2)', [this.#c.notify.freed, runnerId])).then(() => {}),
        );
      }
      // then the COMMIT goes out with the statements (one round trip)
      if (noDependants) pending.push(commitNow().then(() => {}));
      const settled = await Promise.allSettled(pending);
      const failed = settled.find((x) => x.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
      if (dependants && !noDependants)
        await this.#releaseDependants(
          client,
          dones.filter((c) => ok.has(c.id)).map((c) => c.id),
        );
    });
    return commands.map((c) => (ok.has(c.id) ? 'ok' : 'stale'));
  }

  /** Dependants of `doneIds` whose parents are all done become pending (under the graph lock, see DESIGN §4). */
  async #releaseDependants(client: Queryable, doneIds: readonly number[]): Promise<number[]> {
    if (!doneIds.length) return [];
    await client.query(this.#c.named(`SELECT pg_advisory_xact_lock(${this.#c.locks.graph})`));
    const r = await client.query(
      this.#c.named(
        `UPDATE ${this.#c.sqlSchema}.jobs c SET state = 'pending'
       WHERE c.state = 'wait_dependencies'
         AND c.id IN (SELECT job_id FROM ${this.#c.sqlSchema}.job_deps WHERE depends_on = ANY($1::bigint[]))
         AND NOT EXISTS (SELECT 1 FROM ${this.#c.sqlSchema}.job_deps d JOIN ${this.#c.sqlSchema}.jobs p ON p.id = d.depends_on
                         WHERE d.job_id = c.id AND p.state <> 'done')
       RETURNING c.id`,
        [doneIds],
      ),
    );
    if (r.rows.length) await client.query(this.#c.named("SELECT pg_notify($1, '')", [this.#c.notify.jobs]));
    return (r.rows as RawRow[]).map((x) => Number(x.id));
  }

  async jobProgress(p: {
    id: number;
    attempt: number;
    runnerId: string;
    progress: JobProgress;
  }): Promise<FinishResult> {
    return this.#c.read('jobProgress', async (db) => {
      const r = await db.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.jobs SET progress = $1 WHERE id = $2 AND attempt = $3 AND runner_id = $4 AND state IN ('enqueued','started')`,
          [JSON.stringify(p.progress), p.id, p.attempt, p.runnerId],
        ),
      );
      return r.rowCount ? 'ok' : 'stale';
    });
  }

  async jobCheckpoint(p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  }): Promise<FinishResult> {
    return this.#c.read('jobCheckpoint', async (db) => {
      const r = await db.query(
        this.#c.named(
          `UPDATE ${this.#c.sqlSchema}.jobs SET checkpoint = $1 WHERE id = $2 AND attempt = $3 AND runner_id = $4 AND state IN ('enqueued','started')`,
          [p.checkpoint, p.id, p.attempt, p.runnerId],
        ),
      );
      return r.rowCount ? 'ok' : 'stale';
    });
  }

  async jobTransaction(p: JobTransactionParams): Promise<JobTransactionResult> {
    if (this.#c.closed)
      throw new DatabaseError('PostgreSQL driver is closed (jobTransaction)', {
        details: { operation: 'jobTransaction' },
      });
    return pgJobTransaction(
      {
        schema: this.#c.sqlSchema,
        channelFreed: this.#c.notify.freed,
        connect: () => this.#c.pool.connect(),
        q: (text, values) => this.#c.named(text, values),
        releaseDependants: (client, ids) => this.#releaseDependants(client, ids),
      },
      p,
    );
  }

  // ---------------------------------------------------------------- admin reads

  async jobGet(idOrUuid: number | string): Promise<JobRow | null> {
    return pgJobGet(this.#c, this.#fieldsOut(), idOrUuid);
  }

  async jobList(p: JobListParams): Promise<JobPage> {
    return pgJobList(this.#c, this.#fieldsOut(), p);
  }

  async jobCount(p: JobFilter & { groupBy: readonly JobCountKey[] }): Promise<JobCountRow[]> {
    return pgJobCount(this.#c, p);
  }

  async jobAttempts(id: number): Promise<JobAttempt[]> {
    return pgJobAttempts(this.#c, id);
  }

  async jobDependencies(id: number): Promise<{ dependsOn: number[]; dependants: number[] }> {
    return pgJobDependencies(this.#c, id);
  }

  async graphGet(graphUuid: string): Promise<JobGraph | null> {
    return pgGraphGet(this.#c, graphUuid);
  }

  async jobAhead(id: number, now: number): Promise<number> {
    return pgJobAhead(this.#c, id, now);
  }

  // ---------------------------------------------------------------- admin writes

  async jobRequeue(p: JobAdminParams): Promise<number[]> {
    return pgJobRequeue(this.#c, p);
  }

  async jobSetDone(p: JobAdminParams): Promise<number[]> {
    return pgJobSetDone(this.#c, p, (client, ids) => this.#releaseDependants(client, ids));
  }

  async jobCancel(p: JobAdminParams): Promise<number[]> {
    return pgJobCancel(this.#c, p);
  }

  async jobPrune(p: { before: number; states: readonly JobState[]; batchSize?: number }): Promise<number> {
    return pgJobPrune(this.#c, p);
  }

  // ---------------------------------------------------------------- runners

  async runnerRegister(r: RunnerRegistration): Promise<void> {
    return pgRunnerRegister(this.#c, r);
  }

  async runnerHeartbeat(p: {
    id: string;
    leaseMs: number;
    info: Record<string, unknown>;
    now?: number;
  }): Promise<boolean> {
    return pgRunnerHeartbeat(this.#c, p);
  }

  async runnerRemove(id: string): Promise<void> {
    return pgRunnerRemove(this.#c, id);
  }

  async oldestPending(p: { now: number }): Promise<{ channel: string; since: number }[]> {
    return pgOldestPending(this.#c, p);
  }

  async runnerList(): Promise<RunnerInfo[]> {
    return pgRunnerList(this.#c);
  }

  async jobRescue(p: { maxCrashes: number; now?: number }): Promise<RescuedJob[]> {
    return pgJobRescue(this.#c, p);
  }

  // ---------------------------------------------------------------- wake-ups

  async subscribe(onWake: (topic: WakeTopic, origin: string | null) => void): Promise<{ close(): Promise<void> }> {
    return pgSubscribe(this.#c, onWake);
  }

  // ---------------------------------------------------------------- events to other processes

  async publishEvents(payloads: readonly string[]): Promise<void> {
    return pgPublishEvents(this.#c, payloads);
  }

  async listenEvents(onPayload: (payload: string) => void, onGap?: () => void): Promise<{ close(): Promise<void> }> {
    return pgListenEvents(this.#c, onPayload, onGap);
  }

  async eventListeners(): Promise<boolean> {
    return pgEventListeners(this.#c);
  }

  async wake(topic: WakeTopic): Promise<void> {
    return pgWake(this.#c, topic);
  }

  // ---------------------------------------------------------------- channel pauses (channel-pauses.ts)

  async channelPauseList(): Promise<ChannelPause[]> {
    return pgChannelPauseList(this.#c);
  }

  async channelPauseSet(p: { channel: string; paused: boolean; now: number; by?: string | null }): Promise<boolean> {
    return pgChannelPauseSet(this.#c, p);
  }

  // ---------------------------------------------------------------- job functions

  async jobFunctionList(): Promise<{ name: string; settings: string; updatedAt: number }[]> {
    return pgJobFunctionList(this.#c);
  }

  async jobFunctionSet(p: { name: string; settings: string | null; now: number }): Promise<void> {
    return pgJobFunctionSet(this.#c, p);
  }

  // ---------------------------------------------------------------- timeout log

  async timeoutLogInsert(e: TimeoutLogEntryInput & { at: number; host: string | null }): Promise<number> {
    return pgTimeoutLogInsert(this.#c, e);
  }

  async timeoutLogList(p: {
    since?: number;
    limit: number;
    model?: string;
    method?: string;
    kind?: string;
    cursor?: number | null;
  }): Promise<TimeoutLogEntry[]> {
    return pgTimeoutLogList(this.#c, p);
  }

  async timeoutLogStatistics(p: { since: number }): Promise<TimeoutStatistics> {
    return pgTimeoutLogStatistics(this.#c, p);
  }

  async timeoutLogCleanup(p: { before: number }): Promise<number> {
    return pgTimeoutLogCleanup(this.#c, p);
  }

  // ---------------------------------------------------------------- scheduled jobs

  async cronUpsert(p: CronDef & { now: number }): Promise<CronRow> {
    return pgCronUpsert(this.#c, p);
  }

  async cronList(): Promise<CronRow[]> {
    return pgCronList(this.#c);
  }

  async cronGet(name: string): Promise<CronRow | null> {
    return pgCronGet(this.#c, name);
  }

  async cronSetPaused(p: { name: string; paused: boolean; nextRunAt?: number | null; now: number }): Promise<boolean> {
    return pgCronSetPaused(this.#c, p);
  }

  async cronFire(p: CronFireParams): Promise<CronFireResult> {
    return pgCronFire(this.#c, p, (client, q) => this.#insert(client, q));
  }

  async cronAdvance(p: { name: string; nextRunAt: number; now: number }): Promise<void> {
    return pgCronAdvance(this.#c, p);
  }

  async cronDelete(name: string): Promise<boolean> {
    return pgCronDelete(this.#c, name);
  }
}
