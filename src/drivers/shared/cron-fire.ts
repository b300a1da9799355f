/**
 * Firing one slot of a scheduled job exactly once across all runners: the steps both drivers run in
 * one transaction (see `Driver.cronFire`).
 * @module
 */
import type { CronFireParams, CronFireResult } from '../types/cron.ts';
import type { NewJob } from '../types/insert.ts';
import { type StepSequence, step } from './steps.ts';

/** Fired slots older than this (before the slot being fired) are deleted: dedup needs only recent ones. */
export const CRON_SLOT_RETENTION_MS = 7 * 86_400_000;

/** The steps of {@link cronFireSequence}, each inside the firing transaction. */
export type CronFireSteps = {
  /** Lock the entry's row; answers whether it is paused, or null when there is no such entry. */
  lock: { input: string; output: { paused: boolean } | null };
  /** Record the slot (insert or ignore); true when this call recorded it. */
  claimSlot: { input: number; output: boolean };
  /** Enqueue the job; answers its id. */
  insertJob: { input: NewJob; output: number };
  /** Note which job the recorded slot enqueued. */
  linkSlot: { input: { slotAt: number; jobId: number }; output: unknown };
  /** Delete the entry's fired slots older than `input`. */
  forgetSlots: { input: number; output: unknown };
  /** Store the last run and move `next_run_at` forward to `nextRunAt` (never back; null leaves it). */
  advance: { input: { lastRunAt: number; jobId: number; nextRunAt: number | null }; output: unknown };
};

const NOT_FIRED: CronFireResult = { fired: false, jobId: null };

/**
 * A slot fires when the entry exists, is not paused, and this call records the slot first; a run-now
 * (`slotAt` null) skips the pause check and the slot, so it always fires while the entry exists.
 */
export function* cronFireSequence(p: CronFireParams): StepSequence<CronFireSteps, CronFireResult> {
  const entry = yield* step<CronFireSteps, 'lock'>('lock', p.name);
  if (!entry || (p.slotAt !== null && entry.paused)) return { ...NOT_FIRED };
  if (p.slotAt !== null && !(yield* step<CronFireSteps, 'claimSlot'>('claimSlot', p.slotAt))) return { ...NOT_FIRED };
  const jobId = yield* step<CronFireSteps, 'insertJob'>('insertJob', p.job);
  if (p.slotAt !== null) {
    yield* step<CronFireSteps, 'linkSlot'>('linkSlot', { slotAt: p.slotAt, jobId });
    yield* step<CronFireSteps, 'forgetSlots'>('forgetSlots', p.slotAt - CRON_SLOT_RETENTION_MS);
  }
  yield* step<CronFireSteps, 'advance'>('advance', { lastRunAt: p.slotAt ?? p.now, jobId, nextRunAt: p.nextRunAt });
  return { fired: true, jobId };
}
