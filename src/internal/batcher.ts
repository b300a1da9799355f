/**
 * Group commit: items submitted while a flush is in flight are sent together in the next one.
 * This turns many concurrent single calls (16 callers each enqueueing one job) into one multi-row
 * statement per round trip, without delaying a lone call: the first item is sent at once.
 * Written here rather than taken from a package because it is 40 lines and sits on the hot path.
 * @module
 */

interface Pending<I, O> {
  item: I;
  resolve(value: O): void;
  reject(err: unknown): void;
}

/** Batches items into calls of `flush(items)`, which must return one output per item. */
export class Batcher<I, O> {
  readonly #flush: (items: I[]) => Promise<O[]>;
  readonly #max: number;
  #queue: Pending<I, O>[] = [];
  #inFlight = 0;
  readonly #concurrency: number;

  constructor(flush: (items: I[]) => Promise<O[]>, options: { maxBatch?: number; concurrency?: number } = {}) {
    this.#flush = flush;
    this.#max = options.maxBatch ?? 1000;
    this.#concurrency = options.concurrency ?? 1;
  }

  /** Submit one item; resolves with its output when its batch is stored. */
  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
      if (this.#inFlight < this.#concurrency) this.#next();
    });
  }

  #next(): void {
    if (!this.#queue.length) return;
    const batch = this.#queue.splice(0, this.#max);
    this.#inFlight++;
    this.#flush(batch.map((p) => p.item))
      .then(
        (out) => batch.forEach((p, i) => p.resolve(out[i]!)),
        (err: unknown) => batch.forEach((p) => p.reject(err)),
      )
      .finally(() => {
        this.#inFlight--;
        this.#next();
      });
  }
}
