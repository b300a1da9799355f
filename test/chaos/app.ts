/**
 * The application the fault suite's runner processes load (`conveyor run test/chaos/app.ts`).
 * Its job handler keeps an append-only effect log, one file per process in $CHAOS_DIR:
 *   `S <jobId> <attempt> <pid> <ms>` when a run starts, `E <jobId> <attempt> <pid> <startMs> <endMs>` when its
 * effect is done (just before the handler returns). A job that ran twice has two E lines. The handler
 * returns `{ pid, attempt, start }`, so the job's stored result says which run's completion was kept (a
 * runner can run one attempt of a job twice when a server crash forgot its claim).
 * Stale writes, rescues and runner errors are printed on stdout (`RACE`, `RESCUED`, `ERROR`).
 * @module
 */
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Conveyor, type JobContext } from '../../src/index.ts';

const conveyor = await Conveyor.open({
  database: process.env.CONVEYOR_DATABASE,
  schema: process.env.CONVEYOR_SCHEMA || undefined,
  logger: 'warn',
});
const dir = process.env.CHAOS_DIR;
if (!dir) throw new Error('CHAOS_DIR is not set');
const log = fs.openSync(path.join(dir, `${process.pid}.log`), 'a');
const line = (text: string) => fs.writeSync(log, text + '\n');

conveyor.model('chaos', {
  /** Works for `ms` milliseconds; the effect is the E line, written before the completion. */
  async work(job: JobContext, ms: number) {
    const start = Date.now();
    line(`S ${job.id} ${job.attempt} ${process.pid} ${start}`);
    await sleep(ms);
    line(`E ${job.id} ${job.attempt} ${process.pid} ${start} ${Date.now()}`);
    return { pid: process.pid, attempt: job.attempt, start };
  },
});

const out = (text: string) => process.stdout.write(text + '\n');
conveyor.on('job_race', (e) => out(`RACE ${e.id} ${e.attempt} ${e.command} ${Date.now()}`));
conveyor.on('job_rescued', (e) => out(`RESCUED ${e.id} ${e.runnerId ?? '-'} ${e.state} ${e.wasStarted} ${Date.now()}`));
conveyor.on('runner_error', (e) =>
  out(`ERROR ${e.operation} ${Date.now()} ${e.error.message.replace(/\s+/g, ' ').slice(0, 200)}`),
);

export default conveyor;
