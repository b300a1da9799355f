/**
 * In-process wake-ups for SQLite: every driver opened on the same file in this process shares one
 * emitter, so an enqueue wakes the runners of this process at once. Other processes poll.
 * @module
 */
import { EventEmitter } from 'node:events';
import type { WakeTopic } from '../driver.ts';

const emitters = new Map<string, { emitter: EventEmitter; refs: number }>();

/** Take a reference to the emitter of `key` (a file path, or a unique key for `:memory:`). */
export function acquireWakeEmitter(key: string): EventEmitter {
  let entry = emitters.get(key);
  if (!entry) {
    entry = { emitter: new EventEmitter(), refs: 0 };
    entry.emitter.setMaxListeners(0);
    emitters.set(key, entry);
  }
  entry.refs++;
  return entry.emitter;
}

/** Drop a reference taken by {@link acquireWakeEmitter}. */
export function releaseWakeEmitter(key: string): void {
  const entry = emitters.get(key);
  if (!entry) return;
  if (--entry.refs <= 0) emitters.delete(key);
}

/**
 * Emit a wake-up topic (with the runner whose writes sent it, if any), after the current synchronous
 * work: a listener that claims at once must not start a transaction while the caller's is still open.
 */
export function emitWake(emitter: EventEmitter, topic: WakeTopic, origin: string | null = null): void {
  queueMicrotask(() => emitter.emit('wake', topic, origin));
}
