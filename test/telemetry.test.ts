/**
 * OpenTelemetry spans with the SDK's in-memory exporter, on SQLite and PostgreSQL: an enqueue inside an
 * active span stores its trace context with the job, and the run's span continues that trace (child of
 * the enqueue span, with a link to it) with the job's model, method, channel, attempt and outcome.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { BACKENDS } from './helpers/backends.ts';
import type { JobContext } from '../src/index.ts';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();

before(() => {
  context.setGlobalContextManager(contextManager.enable());
  trace.setGlobalTracerProvider(provider);
});
after(async () => {
  await provider.shutdown();
  contextManager.disable();
});

const tracer = trace.getTracer('test');
const spanNamed = (name: string): ReadableSpan => {
  const s = exporter.getFinishedSpans().find((x) => x.name === name);
  assert.ok(
    s,
    `a span named '${name}' among ${exporter
      .getFinishedSpans()
      .map((x) => x.name)
      .join(', ')}`,
  );
  return s;
};

for (const backend of BACKENDS) {
  describe(`OpenTelemetry on ${backend.name}`, () => {
    it('a job run continues the trace of the request that enqueued it', async () => {
      exporter.reset();
      const conveyor = await backend.open({ channels: 'root:2,root.mail:1', contextKeys: ['tz'] });
      try {
        const seen: { context: Record<string, unknown>; active: string | undefined }[] = [];
        const mail = conveyor.model(
          'otel.mail',
          {
            async send(job: JobContext, to: string) {
              seen.push({ context: { ...job.context }, active: trace.getActiveSpan()?.spanContext().spanId });
              tracer.startSpan('inside the job').end();
              return to;
            },
            async bounce() {
              throw new Error('mailbox full');
            },
          },
          { send: { channel: 'root.mail' }, bounce: { maxRetries: 1 } },
        );
        const { job, requestSpan } = await tracer.startActiveSpan('POST /signup', async (span) => {
          const j = await conveyor.context.run({ tz: 'Europe/Paris' }, () => mail.withDelay().send('a@example.com'));
          span.end();
          return { job: j, requestSpan: span };
        });
        const stored = (await job.refresh()).context!;
        assert.equal(stored.tz, 'Europe/Paris');
        assert.match(String(stored.traceparent), /^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);

        const failing = await mail.withDelay().bounce();
        const runner = conveyor.runner({ workers: 1 });
        await runner.start();
        try {
          assert.equal(await job.result(), 'a@example.com');
          assert.equal((await failing.wait()).state, 'failed');
        } finally {
          await runner.stop();
        }

        const traceId = requestSpan.spanContext().traceId;
        const enqueue = spanNamed('send otel.mail.send');
        assert.equal(enqueue.kind, SpanKind.PRODUCER);
        assert.equal(enqueue.spanContext().traceId, traceId);
        assert.equal(enqueue.parentSpanContext?.spanId, requestSpan.spanContext().spanId);
        assert.equal(stored.traceparent, `00-${traceId}-${enqueue.spanContext().spanId}-01`);
        assert.equal(enqueue.attributes['conveyor.job.model'], 'otel.mail');
        assert.equal(enqueue.attributes['messaging.destination.name'], 'root.mail');
        assert.equal(enqueue.attributes['messaging.message.id'], job.uuid);

        const run = spanNamed('process otel.mail.send');
        assert.equal(run.kind, SpanKind.CONSUMER);
        assert.equal(run.spanContext().traceId, traceId, 'same trace as the request');
        assert.equal(run.parentSpanContext?.spanId, enqueue.spanContext().spanId, 'child of the enqueue span');
        assert.deepEqual(
          run.links.map((l) => l.context.spanId),
          [enqueue.spanContext().spanId],
        );
        assert.deepEqual(
          {
            model: run.attributes['conveyor.job.model'],
            method: run.attributes['conveyor.job.method'],
            channel: run.attributes['conveyor.job.channel'],
            attempt: run.attributes['conveyor.job.attempt'],
            outcome: run.attributes['conveyor.job.outcome'],
            id: run.attributes['conveyor.job.id'],
          },
          { model: 'otel.mail', method: 'send', channel: 'root.mail', attempt: 1, outcome: 'done', id: job.id },
        );
        assert.notEqual(run.status.code, SpanStatusCode.ERROR);

        // the job's code runs inside the run span, and sees its own context without the trace keys
        assert.deepEqual(seen, [{ context: { tz: 'Europe/Paris' }, active: run.spanContext().spanId }]);
        assert.equal(spanNamed('inside the job').parentSpanContext?.spanId, run.spanContext().spanId);

        // a job enqueued outside any span starts its own trace; its failure is the run span's status
        const failedRun = spanNamed('process otel.mail.bounce');
        const failedEnqueue = spanNamed('send otel.mail.bounce');
        assert.notEqual(failedRun.spanContext().traceId, traceId);
        assert.equal(failedRun.spanContext().traceId, failedEnqueue.spanContext().traceId);
        assert.equal(failedRun.attributes['conveyor.job.outcome'], 'failed');
        assert.equal(failedRun.status.code, SpanStatusCode.ERROR);
        assert.equal(
          failedRun.events.find((e) => e.name === 'exception')?.attributes?.['exception.message'],
          'mailbox full',
        );
      } finally {
        await backend.dispose(conveyor);
      }
    });

    it('a bulk enqueue is one span whose context every job carries; retries keep the trace', async () => {
      exporter.reset();
      const conveyor = await backend.open();
      try {
        let calls = 0;
        const m = conveyor.model('otel.bulk', {
          async step(_job: JobContext, n: number) {
            if (n === 0 && calls++ === 0)
              throw new (await import('../src/index.ts')).RetryableJobError('again', { seconds: 0 });
            return n;
          },
        });
        const jobs = await tracer.startActiveSpan('batch', async (span) => {
          try {
            return await conveyor.delayMany([0, 1, 2].map((n) => m.delayable().step(n)));
          } finally {
            span.end();
          }
        });
        const runner = conveyor.runner({ workers: 2 });
        await runner.start();
        try {
          assert.deepEqual(await Promise.all(jobs.map((j) => j.result())), [0, 1, 2]);
        } finally {
          await runner.stop();
        }
        const enqueue = spanNamed('send 3 jobs');
        assert.equal(enqueue.attributes['messaging.batch.message_count'], 3);
        const runs = exporter.getFinishedSpans().filter((s) => s.name === 'process otel.bulk.step');
        assert.equal(runs.length, 4);
        for (const r of runs) assert.equal(r.parentSpanContext?.spanId, enqueue.spanContext().spanId);
        assert.deepEqual(runs.map((r) => r.attributes['conveyor.job.outcome']).sort(), [
          'done',
          'done',
          'done',
          'retried',
        ]);
      } finally {
        await backend.dispose(conveyor);
      }
    });
  });
}

describe('OpenTelemetry absent', () => {
  it('without @opentelemetry/api, jobs are enqueued and run with no span and no trace context stored', async () => {
    const fixture = fileURLToPath(new URL('./fixtures/no-otel.ts', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [fixture], { timeout: 60_000 });
    assert.deepEqual(JSON.parse(stdout), {
      telemetry: null,
      result: { tz: 'UTC' },
      stored: { tz: 'UTC' },
      apiLoadable: false,
    });
  });
});
