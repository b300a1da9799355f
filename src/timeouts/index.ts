/**
 * `conveyor-queue/timeouts`: the timeout toolkit (DESIGN §5). Works inside jobs and in any Node code.
 *
 * Rows of the timeout log go to `{ conveyor }` when given, else to the running job's Conveyor, else
 * nowhere (the event is only logged). Durations are milliseconds or strings such as `'5m'`.
 *
 * | Odoo | Conveyor |
 * |---|---|
 * | `@with_timeout(300)` | {@link withTimeout}, {@link timeout} / `@withTimeout('5m')` |
 * | `timeout_context(600, "Export")` | {@link timeoutContext}, {@link timeoutScope} |
 * | `batch_process(records, 100)` | {@link batchProcess} |
 * | `BatchProcessor(env, 50).process(...)` | {@link BatchProcessor} |
 * | `async_operation(...)` | {@link asyncOperation} |
 * | `ProgressTracker(...)` | {@link ProgressTracker} |
 * | `@retry_on_timeout(3, 2, 2)` | {@link retryOnTimeout}, {@link retryOnTimeoutDecorator} |
 * | `timeout_monitored(60)` | {@link monitored}, {@link monitoredDecorator} |
 * @module
 */
export { withTimeout, timeout, withTimeoutDecorator, timeoutContext } from './with-timeout.ts';
export type { WithTimeoutOptions, AsyncMethodDecorator } from './with-timeout.ts';
export { timeoutScope } from './scope.ts';
export type { TimeoutScope, TimeoutScopeOptions } from './scope.ts';
export { retryOnTimeout, retryOnTimeoutDecorator, backoffDelay, MAX_DELAY_MS } from './retry.ts';
export type { RetryOnTimeoutOptions, RetryInfo, BackoffSettings } from './retry.ts';
export { monitored, monitoredDecorator } from './monitored.ts';
export type { MonitoredOptions, MethodDecorator } from './monitored.ts';
export { batchProcess, BatchProcessor } from './batch.ts';
export type {
  BatchProcessOptions,
  BatchProcessSummary,
  BatchPosition,
  CheckpointStore,
  BatchProcessorOptions,
  BatchProcessResult,
  BatchRecordError,
} from './batch.ts';
export { asyncOperation } from './async-operation.ts';
export type { AsyncOperation, AsyncOperationOptions, OperationOutcome } from './async-operation.ts';
export { ProgressTracker } from './progress.ts';
export type { ProgressTrackerOptions, ProgressStream } from './progress.ts';
export { bindTimeouts } from './bind.ts';
export type { BoundTimeouts } from './bind.ts';
export { currentTimeoutSignal } from './shared.ts';
export type { TimeoutSink, TimeoutLogOwner, ToolkitOptions, OperationErrorInfo } from './shared.ts';
export { TimeoutError } from '../errors.ts';
export type { TimeoutLogEntryInput, TimeoutKind } from '../job/timeout-log-entry.ts';
export type { Duration } from '../internal/duration.ts';
