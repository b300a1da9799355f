/**
 * What happens to a job whose runner stopped heartbeating: the rule, the stored exception and its
 * message. SQLite applies {@link rescueDecision} row by row; PostgreSQL does the same in one statement
 * (its CASEs mirror it) and builds the message with {@link rescueMessageSql}.
 * @module
 */

/** The exception name stored on a job found dead. */
export const RESCUE_EXC_NAME = 'JobFoundDead';

/** The outcome of the attempt logged for a job found dead while started. */
export const RESCUE_OUTCOME = 'crashed';

/** The fixed text around the message's three values (runner id, crash count, crash limit). */
const MESSAGE = ['runner ', ' stopped heartbeating while running the job (crash ', ' of at most ', ')'] as const;

/** The message stored on a job found dead: who held it, and its crash count against the limit. */
export function rescueMessage(runnerId: string | null, crashes: number, maxCrashes: number): string {
  return `${MESSAGE[0]}${runnerId ?? '?'}${MESSAGE[1]}${crashes}${MESSAGE[2]}${maxCrashes}${MESSAGE[3]}`;
}

/** {@link rescueMessage} as an SQL expression over the SQL expressions of its three values. */
export function rescueMessageSql(runnerId: string, crashes: string, maxCrashes: string): string {
  const q = (text: string) => `'${text.replaceAll("'", "''")}'`;
  return `${q(MESSAGE[0])} || coalesce(${runnerId}, '?') || ${q(MESSAGE[1])} || ${crashes} || ${q(MESSAGE[2])} || ${maxCrashes} || ${q(MESSAGE[3])}`;
}

/** What becomes of one job held by a dead runner. */
export interface RescueDecision {
  /** `pending` again, or `failed` once it has crashed `maxCrashes` times. */
  state: 'pending' | 'failed';
  /** The job's crash count after this rescue. */
  crashes: number;
  /** Whether it had started: then it counts as a crash and its attempt is logged; else its try is given back. */
  wasStarted: boolean;
}

/**
 * A job still `enqueued` never ran: it goes back to `pending` with its try given back and no crash
 * counted. A `started` job crashed with its runner: one more crash, and `failed` at `maxCrashes`.
 */
export function rescueDecision(
  job: { state: 'enqueued' | 'started'; crashCount: number },
  maxCrashes: number,
): RescueDecision {
  if (job.state === 'enqueued') return { state: 'pending', crashes: job.crashCount, wasStarted: false };
  const crashes = job.crashCount + 1;
  return { state: crashes >= maxCrashes ? 'failed' : 'pending', crashes, wasStarted: true };
}
