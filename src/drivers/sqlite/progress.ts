/**
 * What a running job writes about itself on SQLite, outside its completion: its progress and its
 * checkpoint, each fenced by the runner's lease.
 * @module
 */
import type { JobProgress } from '../../job/row.ts';
import type { FenceResult } from '../driver.ts';
import type { SqliteContext } from './context.ts';
import { RUNNING_STATES_SQL } from '../shared/sql.ts';

/** `Driver.jobProgress`: store the progress the job reported, fenced (`stale` once the runner lost the job). */
export async function jobProgress(
  ctx: SqliteContext,
  p: {
    id: number;
    attempt: number;
    runnerId: string;
    progress: JobProgress;
  },
): Promise<FenceResult> {
  const n = ctx.tx('jobProgress', () =>
    ctx.run(
      `UPDATE conveyor_jobs SET progress = ? WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ${RUNNING_STATES_SQL}`,
      JSON.stringify(p.progress),
      p.id,
      p.attempt,
      p.runnerId,
    ),
  );
  return n ? 'ok' : 'stale';
}

/** `Driver.jobCheckpoint`: store the job's checkpoint (what a retry resumes from), fenced like its progress. */
export async function jobCheckpoint(
  ctx: SqliteContext,
  p: {
    id: number;
    attempt: number;
    runnerId: string;
    checkpoint: string | null;
  },
): Promise<FenceResult> {
  const n = ctx.tx('jobCheckpoint', () =>
    ctx.run(
      `UPDATE conveyor_jobs SET checkpoint = ? WHERE id = ? AND attempt = ? AND runner_id = ? AND state IN ${RUNNING_STATES_SQL}`,
      p.checkpoint,
      p.id,
      p.attempt,
      p.runnerId,
    ),
  );
  return n ? 'ok' : 'stale';
}
