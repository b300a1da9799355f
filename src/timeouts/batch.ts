/**
 * Batch helpers (Odoo's `batch_process` and `BatchProcessor`): cut work into batches, commit after
 * each one, and checkpoint into the running job so a retried job resumes after the last committed batch.
 * @module
 */
import { ConfigurationError, ValidationError, describeValue } from '../errors.ts';
import { currentJob } from '../job/current.ts';
import type { Logger } from '../internal/logger.ts';
import type { ProgressTracker } from './progress.ts';
import { errorFields, isPlainObject, loggerOf, parentSignals, safeLog, throwIfAnyAborted } from './shared.ts';

/** Where a batch loop keeps its position: the running job's checkpoint by default. */
export interface CheckpointStore {
  /** The whole checkpoint value (an object whose keys belong to different loops), or `undefined`. */
  get(): unknown;
  /** Replace the whole checkpoint value (persisted before the promise resolves). */
  set(value: unknown): Promise<void> | void;
}

/** What a batch loop stores under its checkpoint key. */
export interface BatchPosition {
  /** Index of the first item not yet committed. */
  nextIndex: number;
}

/** Options of {@link batchProcess}. */
export interface BatchProcessOptions<T> {
  /** Items per batch (an integer >= 1). @default 100 */
  batchSize?: number;
  /**
   * Called after the consumer has finished a batch, before the next one is handed out: commit your
   * transaction here. `index` counts batches from the start of `items`, resumed ones included.
   * When it throws, the loop stops with that error and the batch is not checkpointed.
   */
  commit?: (batch: T[], index: number) => void | Promise<void>;
  /**
   * Key of this loop's position in the checkpoint object, or `false` for no checkpoint. Give each
   * loop of a job its own key: a key can be used once per run of a job.
   * @default 'batchProcess'
   */
  checkpointKey?: string | false;
  /** Where to keep the position. @default the running job's checkpoint (none outside a job) */
  checkpoint?: CheckpointStore;
  /** Stop between batches when this aborts (the running job's signal and an enclosing `withTimeout` are followed anyway). */
  signal?: AbortSignal;
  /** Where the resume notice is written. @default createLogger() */
  logger?: Logger;
  /**
   * Count committed items on this tracker (do not increment it yourself): on a resume it starts at the
   * items committed by earlier runs ({@link ProgressTracker.resumeAt}), so a retried job's progress
   * covers the whole list, not only this run's part.
   */
  progress?: ProgressTracker;
}

/** What a {@link batchProcess} generator returns when it has gone through all items. */
export interface BatchProcessSummary {
  /** Batches committed by this run. */
  batches: number;
  /** Items committed by this run. */
  items: number;
  /** Index of the first item of this run (more than 0 when resumed from a checkpoint). */
  startIndex: number;
}

/** A batch with its place in the whole list (internal form used by {@link BatchProcessor}). */
interface PlacedBatch<T> {
  items: T[];
  /** Index of the batch's first item. */
  offset: number;
  /** Index of the batch. */
  index: number;
}

/** Keys used per job run (or per custom store), so two loops never share a position by mistake. */
const usedKeys = new WeakMap<object, Set<string>>();

/** Validate a batch size option. */
function parseBatchSize(value: unknown, who: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ConfigurationError(`${who}: expected 'batchSize' to be an integer >= 1, got ${describeValue(value)}`);
  }
  return value;
}

function readCheckpoint(store: CheckpointStore, key: string): Record<string, unknown> {
  const value = store.get();
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new ValidationError(
      `batchProcess: the job's checkpoint is ${describeValue(value)}, but batch loops keep their position under a key of an object checkpoint ('${key}'); ` +
        `store your own checkpoint data in an object too, or pass checkpointKey: false`,
      { details: { path: 'checkpoint', key } },
    );
  }
  return value;
}

function readPosition(store: CheckpointStore, key: string): number {
  const position = readCheckpoint(store, key)[key];
  if (position === undefined || position === null) return 0;
  const nextIndex = isPlainObject(position) ? position.nextIndex : undefined;
  if (typeof nextIndex !== 'number' || !Number.isInteger(nextIndex) || nextIndex < 0) {
    throw new ValidationError(
      `batchProcess: expected checkpoint key '${key}' to hold { nextIndex: <integer >= 0> }, got ${describeValue(position)}`,
      { details: { path: `checkpoint.${key}`, key } },
    );
  }
  return nextIndex;
}

/** Iterate `items` from `start` on, sync or async, without copying arrays. */
async function* itemsFrom<T>(items: Iterable<T> | AsyncIterable<T>, start: number): AsyncGenerator<T, void, void> {
  if (Array.isArray(items)) {
    for (let i = start; i < items.length; i++) yield items[i] as T;
    return;
  }
  let i = 0;
  const isObject = items !== null && (typeof items === 'object' || typeof items === 'function');
  if (isObject && typeof (items as AsyncIterable<T>)[Symbol.asyncIterator] === 'function') {
    for await (const item of items as AsyncIterable<T>) if (i++ >= start) yield item;
  } else if (isObject && typeof (items as Iterable<T>)[Symbol.iterator] === 'function') {
    for (const item of items as Iterable<T>) if (i++ >= start) yield item;
  } else {
    throw new ValidationError(
      `batchProcess: expected items to be an array or an (async) iterable, got ${describeValue(items)}`,
    );
  }
}

/** The engine of {@link batchProcess} and {@link BatchProcessor}. */
async function* placedBatches<T>(
  items: Iterable<T> | AsyncIterable<T>,
  options: BatchProcessOptions<T>,
  who: string,
  defaultKey: string | false,
): AsyncGenerator<PlacedBatch<T>, BatchProcessSummary, void> {
  const batchSize = parseBatchSize(options.batchSize ?? 100, who);
  const job = currentJob();
  const key = options.checkpointKey === undefined ? defaultKey : options.checkpointKey;
  if (key !== false && (typeof key !== 'string' || key === '')) {
    throw new ConfigurationError(
      `${who}: expected 'checkpointKey' to be a non-empty string or false, got ${describeValue(key)}`,
    );
  }
  const store = key === false ? undefined : (options.checkpoint ?? job?.checkpoint);
  const signals = parentSignals(options.signal);
  let startIndex = 0;
  if (store && key !== false) {
    const owner: object = options.checkpoint ?? job ?? store;
    const keys = usedKeys.get(owner) ?? new Set<string>();
    if (keys.has(key)) {
      throw new ConfigurationError(
        `${who}: checkpoint key '${key}' was already used by another batch loop in this job run; ` +
          `give each loop its own checkpointKey (or checkpointKey: false)`,
        { details: { key } },
      );
    }
    keys.add(key);
    usedKeys.set(owner, keys);
    startIndex = readPosition(store, key);
    if (startIndex > 0) {
      options.progress?.resumeAt(startIndex);
      safeLog(
        loggerOf(options),
        'info',
        { key, nextIndex: startIndex },
        `${who}: resuming after ${startIndex} item${startIndex === 1 ? '' : 's'} committed by an earlier run`,
      );
    }
  }

  let batchIndex = Math.floor(startIndex / batchSize);
  let committed = 0;
  let batches = 0;
  let pending: T[] = [];

  async function* emit(batch: T[]): AsyncGenerator<PlacedBatch<T>, void, void> {
    throwIfAnyAborted(signals);
    yield { items: batch, offset: startIndex + committed, index: batchIndex };
    // The consumer has finished the batch (it asked for the next one): commit, then checkpoint.
    await options.commit?.(batch, batchIndex);
    committed += batch.length;
    batches++;
    batchIndex++;
    if (store && key !== false) {
      await store.set({
        ...readCheckpoint(store, key),
        [key]: { nextIndex: startIndex + committed } satisfies BatchPosition,
      });
    }
    options.progress?.update(startIndex + committed);
  }

  for await (const item of itemsFrom(items, startIndex)) {
    pending.push(item);
    if (pending.length === batchSize) {
      const batch = pending;
      pending = [];
      yield* emit(batch);
    }
  }
  if (pending.length > 0) yield* emit(pending);
  return { batches, items: committed, startIndex };
}

/**
 * Cut `items` (an array or a sync/async iterable) into batches of `batchSize` (default 100).
 *
 * After the consumer has finished a batch (when the loop asks for the next one, or ends) the helper
 * awaits `commit(batch, index)`, then, inside a job, saves `{ [checkpointKey]: { nextIndex } }` into the
 * job's checkpoint (merged with the other keys of the checkpoint object). A job retried after a failure
 * therefore **skips the items already committed** and resumes after the last committed batch. A batch
 * whose loop body throws, or that the consumer `break`s out of, is not committed.
 *
 * Between batches the loop stops, throwing the abort reason, when `signal`, an enclosing `withTimeout`
 * or the running job's signal has aborted.
 *
 * @throws ConfigurationError on a bad `batchSize` or a checkpoint key used twice in one job run;
 * ValidationError when the stored checkpoint has an unexpected shape (both on the first iteration).
 * @example
 * for await (const batch of batchProcess(partnerIds, { batchSize: 100, commit: () => db.commit() })) {
 *   await Promise.all(batch.map(syncPartner));
 * }
 */
export async function* batchProcess<T>(
  items: Iterable<T> | AsyncIterable<T>,
  options: BatchProcessOptions<T> = {},
): AsyncGenerator<T[], BatchProcessSummary, void> {
  const batches = placedBatches(items, options, 'batchProcess', 'batchProcess');
  let finished = false;
  try {
    for (;;) {
      const step = await batches.next();
      if (step.done) {
        finished = true;
        return step.value;
      }
      yield step.value.items;
    }
  } finally {
    // The consumer broke out or threw: close the inner loop (and the source) without committing.
    if (!finished) await batches.return({ batches: 0, items: 0, startIndex: 0 });
  }
}

/** Options of {@link BatchProcessor}. */
export interface BatchProcessorOptions<T> {
  /** Records per batch (an integer >= 1). @default 50 */
  batchSize?: number;
  /**
   * Called with each failing record, what `fn` threw, and the record's index (the order of Odoo's
   * `error_handler(record, error)`); the other records go on. Throw from it to abort the whole
   * `process()` call (the current batch is then not committed). Default: log a warning.
   */
  onError?: (record: T, error: unknown, index: number) => void | Promise<void>;
  /** Called after each batch (commit your transaction here), as in {@link batchProcess}. */
  commit?: (batch: T[], index: number) => void | Promise<void>;
  /**
   * Checkpoint the position into the running job under this key, so a retried job resumes after the
   * last committed batch (see {@link batchProcess}). Off by default: the same processor may run
   * several lists in one job.
   */
  checkpointKey?: string;
  /** Where to keep the position when `checkpointKey` is set. @default the running job's checkpoint */
  checkpoint?: CheckpointStore;
  /** Stop (throwing the abort reason) before the next record when this aborts; the job's signal is followed anyway. */
  signal?: AbortSignal;
  /** Where per-record failures are logged when there is no `onError`. @default createLogger() */
  logger?: Logger;
  /** Count committed records on this tracker, from the checkpoint on a resume (see {@link batchProcess}). */
  progress?: ProgressTracker;
}

/** One failed record of a {@link BatchProcessor.process} call. */
export interface BatchRecordError<T> {
  /** Index of the record in the list. */
  index: number;
  /** The record. */
  record: T;
  /** What `fn` threw. */
  error: unknown;
}

/** The outcome of {@link BatchProcessor.process}. */
export interface BatchProcessResult<T, R> {
  /** Records `fn` handled without error. */
  processed: number;
  /** Records `fn` threw for. */
  failed: number;
  /** The failures, in order. */
  errors: BatchRecordError<T>[];
  /** The values `fn` returned for the successful records, in order. */
  results: R[];
}

/**
 * Process records one by one in batches, keeping going when a record fails (Odoo's `BatchProcessor`).
 * @example
 * const processor = new BatchProcessor<Partner>({ batchSize: 50, onError: (p, err) => log.warn({ id: p.id }, String(err)) });
 * const { processed, failed, errors } = await processor.process(partners, (p) => syncPartner(p));
 */
export class BatchProcessor<T, R = unknown> {
  /** The options given to the constructor. */
  readonly options: Readonly<BatchProcessorOptions<T>>;

  /** @throws ConfigurationError on a bad `batchSize`. */
  constructor(options: BatchProcessorOptions<T> = {}) {
    parseBatchSize(options.batchSize ?? 50, 'BatchProcessor');
    this.options = { ...options };
  }

  /**
   * Run `fn(record, index)` for every record, sequentially, in batches of `batchSize`. A record that
   * throws is counted in `failed`, kept in `errors` and handed to `onError(record, error, index)`; the
   * others go on. After each batch, `commit(batch, index)` runs (and the checkpoint is saved when `checkpointKey` is set).
   * @returns counts, errors and the results of the successful records.
   */
  async process(
    records: Iterable<T> | AsyncIterable<T>,
    fn: (record: T, index: number) => R | Promise<R>,
  ): Promise<BatchProcessResult<T, R>> {
    const options = this.options;
    const result: BatchProcessResult<T, R> = { processed: 0, failed: 0, errors: [], results: [] };
    const signals = parentSignals(options.signal);
    const batches = placedBatches(
      records,
      {
        batchSize: options.batchSize ?? 50,
        commit: options.commit,
        checkpointKey: options.checkpointKey,
        checkpoint: options.checkpoint,
        signal: options.signal,
        logger: options.logger,
        progress: options.progress,
      },
      'BatchProcessor',
      false,
    );
    for await (const batch of batches) {
      for (let i = 0; i < batch.items.length; i++) {
        throwIfAnyAborted(signals);
        const record = batch.items[i] as T;
        const index = batch.offset + i;
        try {
          result.results.push(await fn(record, index));
          result.processed++;
        } catch (error) {
          result.failed++;
          result.errors.push({ index, record, error });
          if (options.onError) await options.onError(record, error, index);
          else
            safeLog(
              loggerOf(options),
              'warn',
              { index, err: errorFields(error) },
              `BatchProcessor: record ${index} failed`,
            );
        }
      }
    }
    return result;
  }
}
