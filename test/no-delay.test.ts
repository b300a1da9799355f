/**
 * No-delay mode (queue_job's QUEUE_JOB__NO_DELAY / queue_job__no_delay): `Conveyor.open({ noDelay: true })`,
 * `CONVEYOR_NO_DELAY=1` and `context.run({ noDelay: true })` run delayed calls at once, inline, graphs in
 * dependency order, store nothing, and log a warning. SQLite and PostgreSQL.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, type Backend } from './helpers/backends.ts';
import {
  chain,
  group,
  type Conveyor,
  type ConveyorOptions,
  type JobContext,
  type Logger,
  type Model,
} from '../src/index.ts';

interface LogLine {
  level: string;
  msg: string;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (level: string) => (objOrMsg: unknown, msg?: string) => {
    lines.push({ level, msg: typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '') });
  };
  const logger: Logger = {
    debug: make('debug'),
    info: make('info'),
    warn: make('warn'),
    error: make('error'),
    child: () => logger,
  };
  return { logger, lines };
}

async function setup(backend: Backend, options: ConveyorOptions = {}) {
  const { logger, lines } = captureLogger();
  const conveyor = await backend.open({ logger, ...options });
  const log: string[] = [];
  const methods = {
    async step(_job: JobContext, name: string) {
      log.push(name);
      if (name.startsWith('fail')) throw new Error(`${name} failed`);
      return name.toUpperCase();
    },
    /** Delays another job from inside the job. */
    async outer(job: JobContext): Promise<number> {
      log.push(`outer(id=${job.id})`);
      const inner = await steps.withDelay().step('inner');
      return inner.id;
    },
  };
  const steps: Model<typeof methods> = conveyor.model('nodelay.step', methods);
  return { conveyor, steps, log, lines };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function withSetup(backend: Backend, fn: (s: Setup) => Promise<void>, options?: ConveyorOptions): Promise<void> {
  const s = await setup(backend, options);
  try {
    await fn(s);
  } finally {
    await backend.dispose(s.conveyor);
  }
}

const stored = async (conveyor: Conveyor) => (await conveyor.jobs.count())[0]!.count;
const noDelayWarnings = (lines: LogLine[]) => lines.filter((l) => l.level === 'warn' && /no-delay mode/.test(l.msg));

/** The order checks of `chain(group(a, b), group(c, d))` then `e`. */
function assertGraphOrder(log: readonly string[]): void {
  assert.equal(log.length, 5, log.join(' '));
  for (const first of ['a', 'b'])
    for (const then of ['c', 'd']) assert.ok(log.indexOf(first) < log.indexOf(then), log.join(' '));
  assert.equal(log.at(-1), 'e');
}

for (const backend of BACKENDS) {
  describe(`no-delay mode on ${backend.name}`, () => {
    test('Conveyor.open({ noDelay: true }): withDelay() runs at once, inline, stores nothing, warns', () =>
      withSetup(
        backend,
        async ({ conveyor, steps, log, lines }) => {
          assert.equal(conveyor.noDelay, true);
          assert.ok(noDelayWarnings(lines).length >= 1, 'a warning is logged on open');
          const job = await steps.withDelay({ priority: 1, eta: '1h' }).step('a');
          assert.deepEqual(log, ['a']);
          assert.equal(job.id, 0);
          assert.equal(job.state, 'done');
          assert.equal(job.row?.result, 'A');
          assert.equal(await stored(conveyor), 0);
          assert.ok(noDelayWarnings(lines).length >= 2, 'and on each inline run');
        },
        { noDelay: true },
      ));

    test('a graph runs inline in dependency order', () =>
      withSetup(
        backend,
        async ({ conveyor, steps, log }) => {
          const e = steps.delayable().step('e');
          const jobs = await chain(
            group(steps.delayable().step('a'), steps.delayable().step('b')),
            group(steps.delayable().step('c'), steps.delayable().step('d')),
          )
            .onDone(e)
            .delay();
          assertGraphOrder(log);
          assert.deepEqual(
            jobs.map((j) => j.row?.result),
            ['A', 'B', 'C', 'D'],
          );
          assert.equal(await stored(conveyor), 0);
        },
        { noDelay: true },
      ));

    test('a failing job rejects the delay() call and its dependants do not run', () =>
      withSetup(
        backend,
        async ({ conveyor, steps, log }) => {
          await assert.rejects(steps.withDelay().step('fail-1'), /fail-1 failed/);
          await assert.rejects(
            chain(steps.delayable().step('fail-2'), steps.delayable().step('after')).delay(),
            /fail-2 failed/,
          );
          assert.deepEqual(log, ['fail-1', 'fail-2']);
          assert.equal(await stored(conveyor), 0);
        },
        { noDelay: true },
      ));

    test('jobs delayed from inside an inline job run inline too', () =>
      withSetup(
        backend,
        async ({ conveyor, steps, log }) => {
          const job = await steps.withDelay().outer();
          assert.deepEqual(log, ['outer(id=0)', 'inner']);
          assert.equal(job.row?.result, 0);
          assert.equal(await stored(conveyor), 0);
        },
        { noDelay: true },
      ));

    test('CONVEYOR_NO_DELAY=1 turns it on', async () => {
      const before = process.env.CONVEYOR_NO_DELAY;
      process.env.CONVEYOR_NO_DELAY = '1';
      let s: Setup;
      try {
        s = await setup(backend);
      } finally {
        if (before === undefined) delete process.env.CONVEYOR_NO_DELAY;
        else process.env.CONVEYOR_NO_DELAY = before;
      }
      try {
        assert.equal(s.conveyor.noDelay, true);
        await s.steps.withDelay().step('a');
        assert.deepEqual(s.log, ['a']);
        assert.equal(await stored(s.conveyor), 0);
        assert.ok(noDelayWarnings(s.lines).length >= 1);
      } finally {
        await backend.dispose(s.conveyor);
      }
    });

    test('CONVEYOR_NO_DELAY=0 or unset leaves it off', async () => {
      const before = process.env.CONVEYOR_NO_DELAY;
      process.env.CONVEYOR_NO_DELAY = '0';
      let s: Setup;
      try {
        s = await setup(backend);
      } finally {
        if (before === undefined) delete process.env.CONVEYOR_NO_DELAY;
        else process.env.CONVEYOR_NO_DELAY = before;
      }
      try {
        assert.equal(s.conveyor.noDelay, false);
        const job = await s.steps.withDelay().step('a');
        assert.ok(job.id > 0);
        assert.deepEqual(s.log, []);
        assert.equal(await stored(s.conveyor), 1);
        assert.equal(noDelayWarnings(s.lines).length, 0);
      } finally {
        await backend.dispose(s.conveyor);
      }
    });

    test('context.run({ noDelay: true }) runs inline only inside; one flagged call runs its whole graph', () =>
      withSetup(backend, async ({ conveyor, steps, log, lines }) => {
        assert.equal(conveyor.noDelay, false);
        const e = steps.delayable().step('e');
        const graph = chain(
          group(steps.delayable().step('a'), steps.delayable().step('b')),
          group(steps.delayable().step('c'), steps.delayable().step('d')),
        ).onDone(e);
        await conveyor.context.run({ noDelay: true }, async () => {
          assert.equal(conveyor.noDelay, true);
          await graph.delay();
        });
        assertGraphOrder(log);
        assert.equal(await stored(conveyor), 0);
        assert.equal(noDelayWarnings(lines).length, 1);

        // nested delays inherit the flag through the context
        await conveyor.context.run({ noDelay: true }, () => steps.withDelay().outer());
        assert.deepEqual(log.slice(5), ['outer(id=0)', 'inner']);
        assert.equal(await stored(conveyor), 0);

        // outside the context: stored as usual
        const later = await steps.withDelay().step('later');
        assert.ok(later.id > 0);
        assert.equal(log.includes('later'), false);
        assert.equal(await stored(conveyor), 1);
      }));

    test('the handle of an inline run resolves wait() and result() without the database', () =>
      withSetup(
        backend,
        async ({ steps }) => {
          const job = await steps.withDelay().step('a');
          assert.equal(await job.result(), 'A');
        },
        { noDelay: true },
      ));
  });
}
