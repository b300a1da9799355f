/**
 * What a running job writes about itself on PostgreSQL, outside its completion: its progress and its
 * checkpoint. Both are fenced by the runner's lease, and autocommit (one statement, no transaction).
 * @module
 */
import type { JobProgress } from '../../job/row.ts';
import type { FenceResult } from '../driver.ts';
import type { PgContext } from './context.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** `Driver.jobProgress`: store the progress the job reported, fenced (`stale` once the runner lost the job). */
export async function jobProgress(
  ctx: PgContext,
  p: {
    id: number;
    attempt: number;
    runnerId: string;
    progress: JobProgress;
  },
): Promise<FenceResult> {
  return ctx.read('jobProgress', async (db) => {
    const r = await db.query(
      ctx.named(
        `UPDATE ${ctx.sqlSchema}.jobs SET progress = $1 WHERE id = $2 AND attempt = $3 AND runner_id = $4 AND state IN ${RUNNING_STATES_SQL}`,
        [JSON.stringify(p.progress), p.id, p.attempt, p.runnerId],
      ),
    );
    return r.rowCount ? 'ok' : 'stale';
  });
}

/** `Driver.jobCheckpoint`: store the job's checkpoint (what a retry resumes from), fenced like its progress. */
export async function jobCheckpoint(
  ctx: PgContext,
  p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  },
): Promise<FenceResult> {
  return ctx.read('jobCheckpoint', async (db) => {
    const r = await db.query(
      ctx.named(
        `UPDATE ${ctx.sqlSchema}.jobs SET checkpoint = $1 WHERE id = $2 AND attempt = $3 AND runner_id = $4 AND state IN ${RUNNING_STATES_SQL}`,
        [p.checkpoint, p.id, p.attempt, p.runnerId],
      ),
    );
    return r.rowCount ? 'ok' : 'stale';
  });
}
