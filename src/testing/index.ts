/**
 * Test helpers (`conveyor-queue/testing`): {@link trapJobs} records delayed calls instead of storing
 * them, with queue_job's assertions; {@link createFakeClock} moves ETAs and retry delays without waiting.
 * @example
 * import { trapJobs, createFakeClock, advanceAndWake } from 'conveyor-queue/testing';
 * @module
 */
export {
  trapJobs,
  JobsTrap,
  TrappedJob,
  PROPERTY_KEYS,
  type TrappedCall,
  type JobProperties,
  type ExpectedProperties,
  type ExpectedJob,
  type CountOptions,
  type MethodRef,
} from './trap.ts';
export { createFakeClock, isFakeClock, advanceAndWake, type FakeClock } from './clock.ts';
