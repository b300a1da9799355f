/**
 * An enqueuing process for the SQLite writer-kill scenario: enqueues `chaos.work` jobs in a loop (alternating
 * one job and a bulk of 20, every 150 ms) and prints `ACK <id> …` once each enqueue has resolved (the job is acknowledged).
 * Run: `node test/chaos/enqueuer.ts <database>`; it stops after $CHAOS_ENQUEUE_MAX jobs (default 400).
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Conveyor, type JobContext } from '../../src/index.ts';

const database = process.argv[2];
if (!database) throw new Error('usage: enqueuer.ts <database>');
const max = Number(process.env.CHAOS_ENQUEUE_MAX ?? 400);
const conveyor = await Conveyor.open({ database, logger: 'silent', maintenance: false });
const m = conveyor.model('chaos', {
  async work(_job: JobContext, _ms: number) {
    return null;
  },
});
let n = 0;
for (let round = 0; n < max; round++) {
  await sleep(150); // about 70 jobs/s: the runners keep up, so the queue settles soon after the kills
  if (round % 2 === 0) {
    const job = await m.withDelay().work(20 + (round % 5) * 10);
    process.stdout.write(`ACK ${job.id}\n`);
    n += 1;
  } else {
    const jobs = await conveyor.delayMany(Array.from({ length: 20 }, (_, i) => m.delayable().work(10 + (i % 4) * 10)));
    process.stdout.write(`ACK ${jobs.map((j) => j.id).join(' ')}\n`);
    n += jobs.length;
  }
}
await conveyor.close();
process.stdout.write('ENQUEUED ALL\n');
