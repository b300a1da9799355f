import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigurationError, ValidationError } from '../errors.ts';
import { runAsJob } from '../job/current.ts';
import { captureLogger, fakeJob } from './fixtures.test.ts';
import type { CheckpointCell } from './fixtures.test.ts';
import { BatchProcessor, batchProcess } from './batch.ts';
import { ProgressTracker } from './progress.ts';
import type { CheckpointStore } from './batch.ts';

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

test('batchProcess yields batches and commits each one after the consumer has finished it', async () => {
  const events: string[] = [];
  for await (const batch of batchProcess(range(7), {
    batchSize: 3,
    commit: (b, i) => {
      events.push(`commit ${i} [${b.join(',')}]`);
    },
  })) {
    events.push(`body [${batch.join(',')}]`);
  }
  assert.deepEqual(events, [
    'body [0,1,2]',
    'commit 0 [0,1,2]',
    'body [3,4,5]',
    'commit 1 [3,4,5]',
    'body [6]',
    'commit 2 [6]',
  ]);
});

test('batchProcess defaults to batches of 100 and accepts sync and async iterables', async () => {
  const sizes: number[] = [];
  for await (const batch of batchProcess(new Set(range(250)))) sizes.push(batch.length);
  assert.deepEqual(sizes, [100, 100, 50]);
  async function* source() {
    for (let i = 0; i < 5; i++) yield `item${i}`;
  }
  const seen: string[][] = [];
  for await (const batch of batchProcess(source(), { batchSize: 2 })) seen.push(batch);
  assert.deepEqual(seen, [['item0', 'item1'], ['item2', 'item3'], ['item4']]);
});

test('a batch the consumer breaks out of or throws in is not committed', async () => {
  const committed: number[] = [];
  for await (const batch of batchProcess(range(10), {
    batchSize: 2,
    commit: (_, i) => {
      committed.push(i);
    },
  })) {
    if (batch[0] === 4) break;
  }
  assert.deepEqual(committed, [0, 1]);
  committed.length = 0;
  await assert.rejects(async () => {
    for await (const batch of batchProcess(range(10), {
      batchSize: 2,
      commit: (_, i) => {
        committed.push(i);
      },
    })) {
      if (batch[0] === 2) throw new Error('bad record');
    }
  }, /bad record/);
  assert.deepEqual(committed, [0]);
});

test('a retried job resumes after the last committed batch (commit fails at batch 3 on the first run)', async () => {
  const cell: CheckpointCell = { value: { mine: 'kept' }, writes: [] };
  const items = range(1000);
  const processed: number[] = [];
  const commits: number[] = [];

  const firstRun = fakeJob({ cell });
  await assert.rejects(
    runAsJob(firstRun, async () => {
      for await (const batch of batchProcess(items, {
        commit: (_, index) => {
          if (index === 3) throw new Error('commit failed');
          commits.push(index);
        },
      })) {
        processed.push(batch[0]!);
      }
    }),
    /commit failed/,
  );
  assert.deepEqual(commits, [0, 1, 2]);
  assert.deepEqual(processed, [0, 100, 200, 300]);
  assert.deepEqual(cell.value, { mine: 'kept', batchProcess: { nextIndex: 300 } });

  processed.length = 0;
  const secondRun = fakeJob({ cell });
  const logger = captureLogger();
  await runAsJob(secondRun, async () => {
    for await (const batch of batchProcess(items, {
      commit: (_, index) => {
        commits.push(index);
      },
      logger,
    })) {
      processed.push(batch[0]!);
    }
  });
  assert.deepEqual(processed, [300, 400, 500, 600, 700, 800, 900]);
  assert.deepEqual(commits, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(cell.value, { mine: 'kept', batchProcess: { nextIndex: 1000 } });
  assert.deepEqual(logger.messages('info'), ['batchProcess: resuming after 300 items committed by an earlier run']);
});

test('resuming skips items of a generic iterable too, and each loop keeps its own key', async () => {
  const cell: CheckpointCell = { value: { a: { nextIndex: 4 } }, writes: [] };
  const seen: number[][] = [];
  await runAsJob(fakeJob({ cell }), async () => {
    async function* source() {
      for (const i of range(6)) yield i;
    }
    for await (const batch of batchProcess(source(), { batchSize: 2, checkpointKey: 'a', logger: captureLogger() }))
      seen.push(batch);
    for await (const batch of batchProcess(range(3), { batchSize: 2, checkpointKey: 'b' })) seen.push(batch);
  });
  assert.deepEqual(seen, [[4, 5], [0, 1], [2]]);
  assert.deepEqual(cell.value, { a: { nextIndex: 6 }, b: { nextIndex: 3 } });
});

test('a checkpoint key used twice in one job run is a configuration error', async () => {
  await runAsJob(fakeJob(), async () => {
    for await (const _ of batchProcess(range(2))) {
      /* consume */
    }
    await assert.rejects(async () => {
      for await (const _ of batchProcess(range(2))) {
        /* consume */
      }
    }, ConfigurationError);
    for await (const _ of batchProcess(range(2), { checkpointKey: false })) {
      /* no checkpoint: allowed */
    }
  });
});

test('a checkpoint of the wrong shape is a validation error, raised before any work', async () => {
  const run = (value: unknown) =>
    runAsJob(fakeJob({ cell: { value, writes: [] } }), async () => {
      for await (const _ of batchProcess(range(3))) assert.fail('no batch expected');
    });
  await assert.rejects(run(17), ValidationError);
  await assert.rejects(run({ batchProcess: { nextIndex: 'x' } }), ValidationError);
  await assert.rejects(run({ batchProcess: 5 }), ValidationError);
});

test('outside a job nothing is checkpointed unless a store is given', async () => {
  let stored: unknown = { other: 1 };
  const store: CheckpointStore = {
    get: () => stored,
    set: (v) => {
      stored = v;
    },
  };
  const seen: number[][] = [];
  for await (const b of batchProcess(range(5), { batchSize: 2, checkpoint: store, checkpointKey: 'import' }))
    seen.push(b);
  assert.deepEqual(stored, { other: 1, import: { nextIndex: 5 } });
  for await (const b of batchProcess(range(5), { batchSize: 2 })) seen.push(b);
  assert.equal(seen.length, 6);
});

test('batchProcess stops between batches when the signal aborts, after committing the finished batch', async () => {
  const controller = new AbortController();
  const committed: number[] = [];
  await assert.rejects(async () => {
    for await (const batch of batchProcess(range(10), {
      batchSize: 2,
      signal: controller.signal,
      commit: (_, i) => {
        committed.push(i);
      },
    })) {
      if (batch[0] === 2) controller.abort(new Error('shutting down'));
    }
  }, /shutting down/);
  assert.deepEqual(committed, [0, 1]);
  const job = fakeJob();
  job.controller.abort(new Error('job cancelled'));
  await assert.rejects(
    runAsJob(job, async () => {
      for await (const _ of batchProcess(range(3))) assert.fail('no batch expected');
    }),
    /job cancelled/,
  );
});

test('invalid batch sizes are configuration errors', async () => {
  await assert.rejects(async () => {
    for await (const _ of batchProcess(range(3), { batchSize: 0 })) {
      /* */
    }
  }, ConfigurationError);
  assert.throws(() => new BatchProcessor({ batchSize: 2.5 }), ConfigurationError);
  await assert.rejects(async () => {
    for await (const _ of batchProcess(42 as never)) {
      /* */
    }
  }, ValidationError);
});

test('BatchProcessor keeps going past failing records and reports them', async () => {
  const onError: Array<[number, string, number]> = [];
  const commits: Array<[number, number[]]> = [];
  const processor = new BatchProcessor<number, number>({
    batchSize: 3,
    // (record, error, index): the order of Odoo's handle_error(record, error) (issue 13, defect 7)
    onError: (record, err, index) => {
      onError.push([record, (err as Error).message, index]);
    },
    commit: (batch, index) => {
      commits.push([index, batch]);
    },
  });
  const result = await processor.process(range(7), async (n) => {
    if (n % 3 === 1) throw new Error(`bad ${n}`);
    return n * 10;
  });
  assert.equal(result.processed, 5);
  assert.equal(result.failed, 2);
  assert.deepEqual(result.results, [0, 20, 30, 50, 60]);
  assert.deepEqual(
    result.errors.map((e) => [e.index, e.record, (e.error as Error).message]),
    [
      [1, 1, 'bad 1'],
      [4, 4, 'bad 4'],
    ],
  );
  assert.deepEqual(onError, [
    [1, 'bad 1', 1],
    [4, 'bad 4', 4],
  ]);
  assert.deepEqual(commits, [
    [0, [0, 1, 2]],
    [1, [3, 4, 5]],
    [2, [6]],
  ]);
});

test('BatchProcessor: without onError failures are logged; an onError that throws aborts everything', async () => {
  const logger = captureLogger();
  const result = await new BatchProcessor<string>({ logger }).process(['a', 'b'], (r) => {
    if (r === 'b') throw new Error('no b');
    return r;
  });
  assert.deepEqual([result.processed, result.failed], [1, 1]);
  assert.deepEqual(logger.messages('warn'), ['BatchProcessor: record 1 failed']);

  const commits: number[] = [];
  const seen: number[] = [];
  const strict = new BatchProcessor<number>({
    batchSize: 2,
    onError: (_record, err) => {
      throw err;
    },
    commit: (_, i) => {
      commits.push(i);
    },
  });
  await assert.rejects(
    strict.process(range(6), (n) => {
      seen.push(n);
      if (n === 3) throw new Error('fatal');
    }),
    /fatal/,
  );
  assert.deepEqual(seen, [0, 1, 2, 3]);
  assert.deepEqual(commits, [0]);
});

test('BatchProcessor with a checkpointKey resumes with absolute indexes; it stops when the signal aborts', async () => {
  const cell: CheckpointCell = { value: { partners: { nextIndex: 4 } }, writes: [] };
  const indexes: number[] = [];
  const result = await runAsJob(fakeJob({ cell }), () =>
    new BatchProcessor<string>({ batchSize: 2, checkpointKey: 'partners', logger: captureLogger() }).process(
      ['a', 'b', 'c', 'd', 'e', 'f'],
      (r, i) => {
        indexes.push(i);
        return r;
      },
    ),
  );
  assert.deepEqual(indexes, [4, 5]);
  assert.deepEqual(result.results, ['e', 'f']);
  assert.deepEqual(cell.value, { partners: { nextIndex: 6 } });

  const noKey = fakeJob();
  await runAsJob(noKey, () => new BatchProcessor<number>().process(range(3), (n) => n));
  assert.equal(noKey.cell.value, undefined);

  const controller = new AbortController();
  const handled: number[] = [];
  await assert.rejects(
    new BatchProcessor<number>({ signal: controller.signal }).process(range(5), (n) => {
      handled.push(n);
      if (n === 1) controller.abort(new Error('stop'));
    }),
    /stop/,
  );
  assert.deepEqual(handled, [0, 1]);
});

test('BatchProcessor({ progress }) counts committed records from the checkpoint on a resume', async () => {
  const cell: CheckpointCell = { value: { records: { nextIndex: 4 } }, writes: [] };
  const job = fakeJob({ cell });
  const tracker = new ProgressTracker({ total: 10, logInterval: 0, bar: false, logger: captureLogger(), job: null });
  const seen: number[] = [];
  await runAsJob(job, () =>
    new BatchProcessor<number, void>({
      batchSize: 3,
      checkpointKey: 'records',
      progress: tracker,
      logger: captureLogger(),
    }).process(range(10), (record) => {
      seen.push(record);
    }),
  );
  assert.deepEqual(seen, [4, 5, 6, 7, 8, 9]);
  assert.equal(tracker.resumed, 4);
  assert.equal(tracker.done, 10);
});
