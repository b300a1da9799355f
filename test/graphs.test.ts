/**
 * Dependency graphs (DESIGN §4, queue_job's delay.py) with a real runner, on SQLite and PostgreSQL:
 * onDone, chain, group, nesting, split, a shared graphUuid and the graph API, failed parents
 * (requeue, set done by hand), cancel cascades, independent branches, identity keys and delay() placement.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKENDS, type Backend } from './helpers/backends.ts';
import {
  chain,
  group,
  ValidationError,
  type Conveyor,
  type ConveyorOptions,
  type Job,
  type JobContext,
  type Logger,
} from '../src/index.ts';

interface LogLine {
  level: string;
  msg: string;
  fields: Record<string, unknown>;
}

/** A logger that keeps every line, for assertions on warnings. */
function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const make = (level: string) => (objOrMsg: unknown, msg?: string) => {
    if (typeof objOrMsg === 'string') lines.push({ level, msg: objOrMsg, fields: {} });
    else lines.push({ level, msg: msg ?? '', fields: (objOrMsg ?? {}) as Record<string, unknown> });
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

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

/** A Conveyor with a `graph.step` model whose jobs write `start:x` / `end:x` into `log`. */
async function setup(backend: Backend, options: ConveyorOptions = {}) {
  const { logger, lines } = captureLogger();
  const conveyor = await backend.open({ channels: 'root:4', logger, ...options });
  const log: string[] = [];
  const failing = new Set<string>();
  const arrived = new Map<string, () => void>();
  const arrivals = new Map<string, Promise<void>>();
  const arrival = (name: string) => {
    if (!arrivals.has(name)) arrivals.set(name, new Promise<void>((resolve) => arrived.set(name, resolve)));
    return arrivals.get(name)!;
  };
  const steps = conveyor.model('graph.step', {
    async run(_job: JobContext, name: string) {
      log.push(`start:${name}`);
      for (let i = 0; i < 3; i++) await tick();
      if (failing.has(name)) {
        log.push(`fail:${name}`);
        throw new Error(`${name} failed`);
      }
      log.push(`end:${name}`);
      return name;
    },
    /** Ends only once `other` has started too: proves both run at the same time. */
    async meet(_job: JobContext, name: string, other: string) {
      log.push(`start:${name}`);
      void arrival(name);
      arrived.get(name)!();
      await arrival(other);
      log.push(`end:${name}`);
      return name;
    },
    async batch(job: JobContext) {
      const name = `batch:${job.records.join(',')}`;
      log.push(`start:${name}`);
      await tick();
      log.push(`end:${name}`);
      return job.records.length;
    },
  });
  const runners: { stop(): Promise<void> }[] = [];
  return {
    conveyor,
    steps,
    log,
    failing,
    lines,
    async startRunner() {
      const r = conveyor.runner({ workers: 4 });
      await r.start();
      runners.push(r);
      return r;
    },
    async dispose() {
      await Promise.all(runners.map((r) => r.stop()));
      await backend.dispose(conveyor);
    },
  };
}

type Setup = Awaited<ReturnType<typeof setup>>;

async function withSetup(backend: Backend, fn: (s: Setup) => Promise<void>, options?: ConveyorOptions): Promise<void> {
  const s = await setup(backend, options);
  try {
    await fn(s);
  } finally {
    await s.dispose();
  }
}

/** `first` ended before `then` started. */
function ranBefore(log: readonly string[], first: string, then: string): void {
  const end = log.indexOf(`end:${first}`);
  const start = log.indexOf(`start:${then}`);
  assert.ok(end >= 0, `${first} did not end: ${log.join(' ')}`);
  assert.ok(start >= 0, `${then} did not start: ${log.join(' ')}`);
  assert.ok(end < start, `${then} started before ${first} ended: ${log.join(' ')}`);
}

async function states(conveyor: Conveyor, ids: readonly number[]): Promise<string[]> {
  return Promise.all(ids.map(async (id) => (await conveyor.jobs.get(id))!.state));
}

async function dependants(conveyor: Conveyor, job: Job): Promise<number[]> {
  return (await conveyor.jobs.dependencies(job.id)).dependants;
}

for (const backend of BACKENDS) {
  describe(`graphs on ${backend.name}`, () => {
    test('a.onDone(b): b waits in wait_dependencies, runs after a; one graphUuid; graph() shows nodes, edges, states', () =>
      withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
        const a = steps.delayable().run('a');
        const b = steps.delayable().run('b');
        const ja = await a.onDone(b).delay();
        const [bId] = await dependants(conveyor, ja);
        assert.ok(bId);
        assert.deepEqual(await states(conveyor, [ja.id, bId]), ['pending', 'wait_dependencies']);
        assert.match(await conveyor.jobs.explain(bId), new RegExp(`waiting for job ${ja.id}`));

        await startRunner();
        const rowB = await conveyor.jobs.wait(bId);
        assert.equal(rowB.state, 'done');
        assert.equal(rowB.result, 'b');
        ranBefore(log, 'a', 'b');

        const rowA = (await conveyor.jobs.get(ja.id))!;
        assert.ok(rowA.graphUuid);
        assert.equal(rowB.graphUuid, rowA.graphUuid);
        assert.equal(rowA.hasDependants, true);
        const graph = await conveyor.jobs.graph(rowA.graphUuid);
        assert.ok(graph);
        assert.deepEqual(
          graph.nodes.map((n) => [n.id, n.method, n.state]),
          [
            [ja.id, 'run', 'done'],
            [bId, 'run', 'done'],
          ],
        );
        assert.deepEqual(graph.edges, [[ja.id, bId]]);
        assert.equal(await conveyor.jobs.graph('00000000-0000-4000-8000-000000000000'), null);
      }));

    test('chain(a, b, c) runs one after the other; delay() resolves to the jobs in member order', () =>
      withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
        const jobs = await chain(
          steps.delayable().run('a'),
          steps.delayable().run('b'),
          steps.delayable().run('c'),
        ).delay();
        assert.equal(jobs.length, 3);
        assert.deepEqual(
          await states(
            conveyor,
            jobs.map((j) => j.id),
          ),
          ['pending', 'wait_dependencies', 'wait_dependencies'],
        );
        await startRunner();
        const rows = await Promise.all(jobs.map((j) => j.wait()));
        assert.deepEqual(
          rows.map((r) => [r.state, r.result]),
          [
            ['done', 'a'],
            ['done', 'b'],
            ['done', 'c'],
          ],
        );
        ranBefore(log, 'a', 'b');
        ranBefore(log, 'b', 'c');
        assert.equal(new Set(rows.map((r) => r.graphUuid)).size, 1);
        const graph = (await conveyor.jobs.graph(rows[0]!.graphUuid!))!;
        assert.deepEqual(graph.edges, [
          [jobs[0]!.id, jobs[1]!.id],
          [jobs[1]!.id, jobs[2]!.id],
        ]);
      }));

    test('group(a, b, c) without dependants is a bulk enqueue: all pending at once, no graph', () =>
      withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
        const jobs = await group(
          steps.delayable().run('a'),
          steps.delayable().run('b'),
          steps.delayable().run('c'),
        ).delay();
        const rows = await Promise.all(jobs.map((j) => j.refresh()));
        assert.deepEqual(
          rows.map((r) => [r.state, r.graphUuid]),
          [
            ['pending', null],
            ['pending', null],
            ['pending', null],
          ],
        );
        await startRunner();
        assert.deepEqual(
          (await Promise.all(jobs.map((j) => j.wait()))).map((r) => r.state),
          ['done', 'done', 'done'],
        );
        assert.deepEqual(log.filter((l) => l.startsWith('end:')).sort(), ['end:a', 'end:b', 'end:c']);
      }));

    test('group(a, b).onDone(c): fan-in, c runs after both', () =>
      withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
        const c = steps.delayable().run('c');
        const [ja, jb] = await group(steps.delayable().run('a'), steps.delayable().run('b')).onDone(c).delay();
        const [cId] = await dependants(conveyor, ja!);
        assert.deepEqual(await dependants(conveyor, jb!), [cId]);
        assert.deepEqual(
          (await conveyor.jobs.dependencies(cId!)).dependsOn,
          [ja!.id, jb!.id].sort((x, y) => x - y),
        );
        await startRunner();
        assert.equal((await conveyor.jobs.wait(cId!)).state, 'done');
        ranBefore(log, 'a', 'c');
        ranBefore(log, 'b', 'c');
      }));

    test(
      'chain(group(a, b), group(c, d)): a and b run together, c and d together, only after a and b',
      { timeout: 60_000 },
      () =>
        withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
          const jobs = await chain(
            group(steps.delayable().meet('a', 'b'), steps.delayable().meet('b', 'a')),
            group(steps.delayable().meet('c', 'd'), steps.delayable().meet('d', 'c')),
          ).delay();
          assert.equal(jobs.length, 4);
          const [a, b, c, d] = jobs.map((j) => j.id) as [number, number, number, number];
          const uuid = (await jobs[0]!.refresh()).graphUuid!;
          const graph = (await conveyor.jobs.graph(uuid))!;
          const sorted = (e: [number, number][]) => [...e].sort((x, y) => x[0] - y[0] || x[1] - y[1]);
          assert.deepEqual(
            sorted(graph.edges),
            sorted([
              [a, c],
              [a, d],
              [b, c],
              [b, d],
            ]),
          );
          assert.deepEqual(
            graph.nodes.map((n) => n.state),
            ['pending', 'pending', 'wait_dependencies', 'wait_dependencies'],
          );
          await startRunner();
          assert.deepEqual(
            (await Promise.all(jobs.map((j) => j.wait()))).map((r) => r.state),
            ['done', 'done', 'done', 'done'],
          );
          for (const first of ['a', 'b']) for (const then of ['c', 'd']) ranBefore(log, first, then);
          assert.deepEqual(
            (await conveyor.jobs.graph(uuid))!.nodes.map((n) => n.state),
            ['done', 'done', 'done', 'done'],
          );
        }),
    );

    test('split(size): one job per chunk of records, described "(i/n)", in a group (no graph)', () =>
      withSetup(backend, async ({ steps, log, startRunner }) => {
        const jobs = await steps
          .browse([1, 2, 3, 4, 5])
          .delayable({ description: 'Mail', priority: 5 })
          .batch()
          .split(2)
          .delay();
        const rows = await Promise.all(jobs.map((j) => j.refresh()));
        assert.deepEqual(
          rows.map((r) => [r.description, r.records, r.priority, r.state, r.graphUuid]),
          [
            ['Mail (1/3)', [1, 2], 5, 'pending', null],
            ['Mail (2/3)', [3, 4], 5, 'pending', null],
            ['Mail (3/3)', [5], 5, 'pending', null],
          ],
        );
        await startRunner();
        assert.deepEqual(await Promise.all(jobs.map((j) => j.result())), [2, 2, 1]);
        assert.equal(log.filter((l) => l.startsWith('end:batch')).length, 3);
      }));

    test('split(size, { chain: true }): the chunks run in order, in one graph; default description model.method (i/n)', () =>
      withSetup(backend, async ({ conveyor, steps, log, startRunner }) => {
        const jobs = await steps.browse([1, 2, 3, 4, 5]).delayable().batch().split(2, { chain: true }).delay();
        const rows = await Promise.all(jobs.map((j) => j.refresh()));
        assert.deepEqual(
          rows.map((r) => r.description),
          ['graph.step.batch (1/3)', 'graph.step.batch (2/3)', 'graph.step.batch (3/3)'],
        );
        assert.deepEqual(
          rows.map((r) => r.state),
          ['pending', 'wait_dependencies', 'wait_dependencies'],
        );
        assert.ok(rows[0]!.graphUuid);
        assert.equal(new Set(rows.map((r) => r.graphUuid)).size, 1);
        await startRunner();
        await Promise.all(jobs.map((j) => j.wait()));
        ranBefore(log, 'batch:1,2', 'batch:3,4');
        ranBefore(log, 'batch:3,4', 'batch:5');
        const graph = (await conveyor.jobs.graph(rows[0]!.graphUuid!))!;
        assert.deepEqual(
          graph.nodes.map((n) => n.records),
          [[1, 2], [3, 4], [5]],
        );
      }));

    test('a failed parent keeps its dependant waiting until it is requeued and succeeds', () =>
      withSetup(backend, async ({ conveyor, steps, log, failing, startRunner }) => {
        failing.add('a');
        const a = steps.delayable().run('a');
        const ja = await a.onDone(steps.delayable().run('b')).delay();
        const [bId] = await dependants(conveyor, ja);
        await startRunner();
        assert.equal((await ja.wait()).state, 'failed');
        assert.equal((await conveyor.jobs.get(bId!))!.state, 'wait_dependencies');
        assert.match(await conveyor.jobs.explain(bId!), new RegExp(`waiting for job ${ja.id}`));

        // requeued but failing again: still waiting
        assert.equal(await ja.requeue(), true);
        assert.equal((await ja.wait()).state, 'failed');
        assert.equal((await conveyor.jobs.get(bId!))!.state, 'wait_dependencies');
        assert.equal(log.filter((l) => l === 'fail:a').length, 2);

        failing.delete('a');
        assert.equal(await ja.requeue(), true);
        const rowB = await conveyor.jobs.wait(bId!);
        assert.equal(rowB.state, 'done');
        assert.equal((await ja.refresh()).state, 'done');
        ranBefore(log, 'a', 'b');
      }));

    test('a failed parent set done by hand releases its dependant', () =>
      withSetup(backend, async ({ conveyor, steps, log, failing, startRunner }) => {
        failing.add('a');
        const ja = await steps.delayable().run('a').onDone(steps.delayable().run('b')).delay();
        const [bId] = await dependants(conveyor, ja);
        await startRunner();
        assert.equal((await ja.wait()).state, 'failed');
        assert.equal((await conveyor.jobs.get(bId!))!.state, 'wait_dependencies');
        assert.equal(await ja.setDone(), true);
        assert.equal((await conveyor.jobs.wait(bId!)).state, 'done');
        const rowA = await ja.refresh();
        assert.equal(rowA.state, 'done');
        assert.equal(rowA.result, 'Manually set to done');
        assert.ok(!log.includes('end:a'));
        assert.ok(log.includes('end:b'));
      }));

    test('cancel with cascade cancels the dependants of a failed job recursively; the rest goes on', () =>
      withSetup(backend, async ({ conveyor, steps, log, failing, startRunner }) => {
        failing.add('a');
        const a = steps.delayable().run('a');
        const b = steps.delayable().run('b');
        const d = steps.delayable().run('d');
        b.onDone(steps.delayable().run('c'));
        const ja = await a.onDone(b, d).delay();
        const graph0 = (await conveyor.jobs.graph((await ja.refresh()).graphUuid!))!;
        const ids = graph0.nodes.map((n) => n.id);
        assert.equal(ids.length, 4);

        await startRunner();
        assert.equal((await ja.wait()).state, 'failed');
        const cancelled = await conveyor.jobs.cancel([ja.id], { cascade: true });
        assert.deepEqual(
          [...cancelled].sort((p, q) => p - q),
          [...ids].sort((p, q) => p - q),
        );
        assert.deepEqual(
          (await conveyor.jobs.graph(graph0.graphUuid))!.nodes.map((n) => n.state),
          ['cancelled', 'cancelled', 'cancelled', 'cancelled'],
        );

        // the runner goes on with other work; nothing of the cancelled graph ran
        const other = await steps.withDelay().run('other');
        assert.equal((await other.wait()).state, 'done');
        assert.ok(!log.some((l) => /^start:[bcd]$/.test(l)), log.join(' '));
        assert.deepEqual(await states(conveyor, ids), ['cancelled', 'cancelled', 'cancelled', 'cancelled']);
      }));

    test('cancel without cascade leaves the dependants in wait_dependencies', () =>
      withSetup(backend, async ({ conveyor, steps }) => {
        const jp = await steps
          .delayable()
          .run('p')
          .onDone(steps.delayable().run('q').onDone(steps.delayable().run('r')))
          .delay();
        const [qId] = await dependants(conveyor, jp);
        assert.equal(await jp.cancel(), true);
        assert.equal((await jp.refresh()).state, 'cancelled');
        assert.equal((await conveyor.jobs.get(qId!))!.state, 'wait_dependencies');
        // cascading from the middle cancels only what depends on it
        const [rId] = (await conveyor.jobs.dependencies(qId!)).dependants;
        assert.deepEqual(
          (await conveyor.jobs.cancel([qId!], { cascade: true })).sort((m, n) => m - n),
          [qId, rId],
        );
      }));

    test('independent branches go on when one branch fails', () =>
      withSetup(backend, async ({ conveyor, steps, log, failing, startRunner }) => {
        failing.add('x');
        const root = steps.delayable().run('root');
        const x = steps.delayable().run('x');
        const y = steps.delayable().run('y');
        const x2 = steps.delayable().run('x2');
        const y2 = steps.delayable().run('y2');
        const jobs = await chain(root, group(x.onDone(x2), y.onDone(y2))).delay();
        assert.equal(jobs.length, 3); // root, x, y (members); x2, y2 hang below
        await startRunner();
        const [jRoot, jx, jy] = jobs as [Job, Job, Job];
        const [y2Id] = await dependants(conveyor, jy);
        const [x2Id] = await dependants(conveyor, jx);
        assert.equal((await conveyor.jobs.wait(y2Id!)).state, 'done');
        assert.equal((await jx.wait()).state, 'failed');
        assert.equal((await jRoot.refresh()).state, 'done');
        assert.equal((await conveyor.jobs.get(x2Id!))!.state, 'wait_dependencies');
        ranBefore(log, 'root', 'y');
        ranBefore(log, 'y', 'y2');
        assert.ok(!log.includes('start:x2'));
      }));

    test('identity keys in a graph are all-or-nothing', () =>
      withSetup(backend, async ({ conveyor, steps }) => {
        const lone = await steps.withDelay({ identityKey: 'k1' }).run('lone');
        assert.equal(lone.existing, false);
        const total = async () => (await conveyor.jobs.count())[0]!.count;

        // every keyed job of the graph has an open twin: nothing is stored
        const skipped = await chain(
          steps.delayable({ identityKey: 'k1' }).run('a'),
          steps.delayable().run('b'),
        ).delay();
        assert.deepEqual(
          skipped.map((j) => j.existing),
          [true, true],
        );
        assert.equal(skipped[0]!.id, lone.id);
        assert.equal(await total(), 1);

        // one keyed job has no twin: the whole graph is stored, duplicate key included (queue_job)
        const stored = await chain(
          steps.delayable({ identityKey: 'k1' }).run('a'),
          steps.delayable({ identityKey: 'k2' }).run('b'),
        ).delay();
        assert.deepEqual(
          stored.map((j) => j.existing),
          [false, false],
        );
        assert.notEqual(stored[0]!.id, lone.id);
        assert.equal(await total(), 3);
        assert.equal((await conveyor.jobs.count({ identityKey: 'k1' }))[0]!.count, 2);

        // a lone call with an open twin returns the twin
        const again = await steps.withDelay({ identityKey: 'k2' }).run('again');
        assert.equal(again.existing, true);
        assert.equal(again.id, stored[1]!.id);
        assert.equal(await total(), 3);
      }));

    test('delay() below the top of the graph warns and stores the whole graph; on the top it does not warn', () =>
      withSetup(backend, async ({ conveyor, steps, lines }) => {
        const warned = () =>
          lines.filter((l) => l.level === 'warn' && /call delay\(\) on the top of the graph/.test(l.msg));
        const a = steps.delayable().run('a');
        const b = steps.delayable().run('b');
        a.onDone(b);
        const jb = await b.delay();
        assert.equal(warned().length, 1);
        assert.match(warned()[0]!.msg, /graph\.step\.run/);
        assert.equal((await jb.refresh()).state, 'wait_dependencies');
        assert.equal((await conveyor.jobs.count())[0]!.count, 2);

        // a chain that hangs below another job
        const top = steps.delayable().run('top');
        const tail = chain(steps.delayable().run('t1'), steps.delayable().run('t2'));
        top.onDone(tail);
        await tail.delay();
        assert.equal(warned().length, 2);
        assert.equal((await conveyor.jobs.count())[0]!.count, 5);

        // on the top: no warning
        await chain(steps.delayable().run('c'), steps.delayable().run('d')).delay();
        await steps.delayable().run('e').onDone(steps.delayable().run('f')).delay();
        assert.equal(warned().length, 2);
      }));

    test('a graph runs without runner errors', () =>
      withSetup(backend, async ({ conveyor, steps, startRunner }) => {
        const errors: string[] = [];
        conveyor.on('runner_error', (e) => errors.push(`${e.operation}: ${e.error.message}`));
        await startRunner();
        const jobs = await chain(
          steps.delayable().run('a'),
          steps.delayable().run('b'),
          steps.delayable().run('c'),
        ).delay();
        await jobs[2]!.wait();
        assert.deepEqual(errors, []);
      }));

    test('a graph is stored all at once or not at all (a bad argument stores nothing)', () =>
      withSetup(backend, async ({ conveyor, steps }) => {
        const bad = steps.delayable().run((() => 'not JSON') as unknown as string);
        await assert.rejects(chain(steps.delayable().run('ok'), bad).delay(), ValidationError);
        assert.equal((await conveyor.jobs.count())[0]!.count, 0);
      }));
  });
}
