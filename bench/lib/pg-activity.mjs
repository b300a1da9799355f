// Server-side view of the runner processes during a drain (S7): samples pg_stat_activity and
// pg_locks every ~20 ms on one connection of its own and adds up, per sample and per runner
// process (told apart by application_name, which the worker processes set in their connection
// string), how many backends it holds, how many are busy, how many wait on a heavyweight lock
// (wait_event_type 'Lock'), and, when the system names its claim lock (Conveyor's
// transaction-scoped advisory lock), how many wait for it and whether one holds it.
//
// Derived figures (summary()):
//   claimWaitPct      % of (sample × process) pairs in which the process had a backend waiting for
//                     the claim lock: the share of a runner process's time spent waiting to claim
//   claimHeldPct      % of samples in which some runner backend held the claim lock: how busy the
//                     lock is (near 100 %, the lock is the ceiling)
//   claimQueueAvg     mean number of runner backends waiting for the claim lock per sample
//   lockWaitPct       like claimWaitPct for any heavyweight lock (all systems)
//   connsPerProc      max backends per process over the drain: max over the processes, and mean
// A sample is a snapshot, not a trace: short waits between two samples are seen in proportion to
// their length, which is what a share of time needs, but a sample count of a few hundred leaves a
// few points of sampling noise.
import pg from 'pg';
import { PG_URL, now, sleep } from './util.mjs';
import { round } from './stats.mjs';

const SAMPLE_SQL = `
  WITH l AS MATERIALIZED (
    SELECT pid, bool_or(NOT granted) AS waiting, bool_or(granted) AS holding
      FROM pg_locks
     WHERE $2::bigint IS NOT NULL AND locktype = 'advisory'
       AND classid = $2::bigint::oid AND objid = $3::bigint::oid AND objsubid = 1
     GROUP BY pid)
  SELECT a.application_name AS app,
         count(*)::int AS backends,
         count(*) FILTER (WHERE a.state IS DISTINCT FROM 'idle')::int AS busy,
         count(*) FILTER (WHERE a.wait_event_type = 'Lock')::int AS lock_waits,
         count(*) FILTER (WHERE l.waiting)::int AS claim_waits,
         count(*) FILTER (WHERE l.holding)::int AS claim_holds
    FROM pg_stat_activity a LEFT JOIN l ON l.pid = a.pid
   WHERE a.datname = current_database() AND a.application_name LIKE $1
   GROUP BY a.application_name`;

/**
 * pg_locks' columns for a 64-bit advisory lock key (pg_advisory_xact_lock(bigint)): the high 32 bits
 * in classid, the low 32 in objid, objsubid 1.
 */
export function advisoryLockColumns(key) {
  const k = BigInt.asUintN(64, BigInt(key));
  return { classid: Number(k >> 32n), objid: Number(k & 0xffffffffn) };
}

export class PgActivitySampler {
  /**
   * @param {{ appPrefix: string, procs: number, claimLock?: {classid:number, objid:number}|null, intervalMs?: number, url?: string }} o
   */
  constructor({ appPrefix, procs, claimLock = null, intervalMs = 20, url = PG_URL }) {
    this.appPrefix = appPrefix;
    this.procs = procs;
    this.claimLock = claimLock;
    this.intervalMs = intervalMs;
    this.url = url;
    this.samples = 0;
    this.procSamples = 0; // Σ over samples of the processes seen (≤ procs)
    this.claimWaitProc = 0; // (sample, process) pairs with a backend waiting for the claim lock
    this.lockWaitProc = 0; // the same for any heavyweight lock
    this.claimWaitBackends = 0;
    this.lockWaitBackends = 0;
    this.backendSamples = 0;
    this.claimHeld = 0;
    this.maxBackends = new Map(); // app -> max backends
    this.maxBusy = new Map();
    this.queryMs = 0;
    this.errors = 0;
  }

  async start() {
    this.client = new pg.Client({ connectionString: this.url, application_name: 'bench-sampler' });
    await this.client.connect();
    this.running = true;
    this.t0 = now();
    this.loop = this.#loop();
  }

  async #loop() {
    const pattern = `${this.appPrefix}%`;
    const { classid = null, objid = null } = this.claimLock ?? {};
    while (this.running) {
      const t = now();
      try {
        const r = await this.client.query(SAMPLE_SQL, [pattern, classid, objid]);
        this.#add(r.rows);
      } catch {
        this.errors++;
      }
      const dt = now() - t;
      this.queryMs += dt;
      if (this.running && dt < this.intervalMs) await sleep(this.intervalMs - dt);
    }
  }

  #add(rows) {
    this.samples++;
    let held = false;
    for (const r of rows) {
      this.procSamples++;
      this.backendSamples += r.backends;
      this.claimWaitBackends += r.claim_waits;
      this.lockWaitBackends += r.lock_waits;
      if (r.claim_waits > 0) this.claimWaitProc++;
      if (r.lock_waits > 0) this.lockWaitProc++;
      if (r.claim_holds > 0) held = true;
      if (r.backends > (this.maxBackends.get(r.app) ?? 0)) this.maxBackends.set(r.app, r.backends);
      if (r.busy > (this.maxBusy.get(r.app) ?? 0)) this.maxBusy.set(r.app, r.busy);
    }
    if (held) this.claimHeld++;
  }

  async stop() {
    this.running = false;
    await this.loop;
    this.t1 = now();
    await this.client.end().catch(() => {});
    return this.summary();
  }

  summary() {
    const pct = (a, b) => (b > 0 ? round((100 * a) / b, 1) : null);
    const conns = [...this.maxBackends.values()];
    const busy = [...this.maxBusy.values()];
    const claim = this.claimLock !== null;
    return {
      samples: this.samples,
      spanMs: round((this.t1 ?? now()) - this.t0),
      meanIntervalMs: this.samples ? round(((this.t1 ?? now()) - this.t0) / this.samples, 1) : null,
      meanQueryMs: this.samples ? round(this.queryMs / this.samples, 1) : null,
      sampleErrors: this.errors,
      processesSeen: this.maxBackends.size,
      claimLock: this.claimLock,
      claimWaitPct: claim ? pct(this.claimWaitProc, this.samples * this.procs) : null,
      claimWaitBackendPct: claim ? pct(this.claimWaitBackends, this.backendSamples) : null,
      claimHeldPct: claim ? pct(this.claimHeld, this.samples) : null,
      claimQueueAvg: claim && this.samples ? round(this.claimWaitBackends / this.samples, 2) : null,
      lockWaitPct: pct(this.lockWaitProc, this.samples * this.procs),
      lockWaitBackendPct: pct(this.lockWaitBackends, this.backendSamples),
      connsPerProc: conns.length
        ? {
            max: Math.max(...conns),
            mean: round(conns.reduce((a, b) => a + b, 0) / conns.length, 1),
            perProcess: conns,
          }
        : null,
      busyPerProc: busy.length
        ? { max: Math.max(...busy), mean: round(busy.reduce((a, b) => a + b, 0) / busy.length, 1) }
        : null,
    };
  }
}
