/**
 * A job in a worker process asking its runner to do something while it runs (store progress or a
 * checkpoint, write a timeout-log row, note that its transaction committed): the pool calls the run's
 * callback and answers the worker.
 * @module
 */
import type { Worker } from './pool-records.ts';
import { toWireError, type FromWorker, type ToWorker } from './wire.ts';

/** A call message from a worker. */
export type CallMessage = Extract<FromWorker, { t: 'call' }>;

/** Run the call on the worker's current run's callback and reply (an error if the run has ended). */
export function answerCall(w: Worker, msg: CallMessage): void {
  const run = w.run;
  const reply = (error?: unknown) => {
    if (!w.alive || !w.child.connected) return;
    const m: ToWorker =
      error === undefined ? { t: 'reply', id: msg.id } : { t: 'reply', id: msg.id, error: toWireError(error) };
    w.child.send(m, () => {
      /* a worker that went away needs no reply */
    });
  };
  if (!run || run.decided) {
    reply(new Error('the run has already ended'));
    return;
  }
  const fn =
    msg.op === 'progress'
      ? run.opts.onProgress
      : msg.op === 'checkpoint'
        ? run.opts.onCheckpoint
        : msg.op === 'committed'
          ? run.opts.onCommitted
          : run.opts.onTimeoutLog;
  Promise.resolve()
    .then(() => fn?.call(run.opts, msg.value as never))
    .then(
      () => reply(),
      (err: unknown) => reply(err ?? new Error('failed')),
    );
}
