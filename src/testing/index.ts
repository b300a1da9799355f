/**
 * Test helpers (`conveyor-queue/testing`): {@link trapJobs} records delayed calls instead of storing
 * them, with queue_job's assertions; {@link createFakeClock} moves ETAs and retry delays without waiting.
 * @example
 * import { trapJobs, createFakeClock, advanceAndWake } from 'conveyor-queue/testing';
 * @module
 */
export { trapJobs, JobsTrap } from './trap.ts';
export { TrappedJob, type TrappedCall } from './trapped-job.ts';
export { PROPERTY_KEYS, type JobProperties, type ExpectedProperties } from './properties.ts';
export type { ExpectedJob, CountOptions } from './assertions.ts';
export type { MethodRef } from '../model/method-ref.ts';
export { createFakeClock, isFakeClock, advanceAndWake, type FakeClock } from './clock.ts';
