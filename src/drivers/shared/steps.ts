/**
 * Step sequences: a rule both drivers follow (cascade cancel, firing a cron slot, the migration loop,
 * pruning in batches) written once, as a generator that asks for database steps by name and gets their
 * answers back. The SQLite driver answers synchronously inside its transaction (`node:sqlite` cannot
 * await), the PostgreSQL driver asynchronously; the rule itself never touches a database, so tests drive
 * it with in-memory answers.
 * @module
 */

/** The steps of a sequence: for each step name, what it is given and what it answers. */
export type StepTable = Record<string, { input: unknown; output: unknown }>;

/** A request for one step, as a sequence yields it. */
export type StepRequest<T extends StepTable> = { [K in keyof T]: { op: K; input: T[K]['input'] } }[keyof T];

/** A sequence following a rule: yields step requests, receives their answers, returns `R`. */
export type StepSequence<T extends StepTable, R> = Generator<StepRequest<T>, R, unknown>;

/** Synchronous answers, one function per step. */
export type SyncSteps<T extends StepTable> = { [K in keyof T]: (input: T[K]['input']) => T[K]['output'] };

/** Asynchronous answers, one function per step. */
export type AsyncSteps<T extends StepTable> = {
  [K in keyof T]: (input: T[K]['input']) => T[K]['output'] | Promise<T[K]['output']>;
};

/** Ask for one step inside a sequence: `const n = yield* step<MySteps, 'count'>('count', input)`. */
export function* step<T extends StepTable, K extends keyof T & string>(
  op: K,
  input: T[K]['input'],
): Generator<StepRequest<T>, T[K]['output'], unknown> {
  return (yield { op, input } as StepRequest<T>) as T[K]['output'];
}

/** Run a sequence with synchronous answers; a step that throws is thrown into the sequence (its catch may rewrap). */
export function runSteps<T extends StepTable, R>(seq: StepSequence<T, R>, steps: SyncSteps<T>): R {
  let next = seq.next();
  while (!next.done) {
    const request = next.value;
    let answer: unknown;
    try {
      answer = (steps[request.op] as (input: unknown) => unknown)(request.input);
    } catch (err) {
      next = seq.throw(err);
      continue;
    }
    next = seq.next(answer);
  }
  return next.value;
}

/** Run a sequence with asynchronous answers, one step at a time, in order. */
export async function runStepsAsync<T extends StepTable, R>(seq: StepSequence<T, R>, steps: AsyncSteps<T>): Promise<R> {
  let next = seq.next();
  while (!next.done) {
    const request = next.value;
    let answer: unknown;
    try {
      answer = await (steps[request.op] as (input: unknown) => unknown)(request.input);
    } catch (err) {
      next = seq.throw(err);
      continue;
    }
    next = seq.next(answer);
  }
  return next.value;
}
