/**
 * SQLite wake-ups and events: an in-process emitter shared by the drivers of one file (another process
 * on the file sees changes by polling).
 * @module
 */
import type { Listening, WakeTopic } from '../types/wake.ts';
import type { SqliteContext } from './context.ts';

/** Wake-ups from the Conveyors of this process on the same file. */
export async function sqliteSubscribe(
  c: SqliteContext,
  onWake: (topic: WakeTopic, origin: string | null) => void,
): Promise<Listening> {
  // a listener of its own per subscription, so that closing one removes only it
  const listener = (topic: WakeTopic, origin: string | null) => onWake(topic, origin);
  c.wakes.on('wake', listener);
  return {
    close: async () => {
      c.wakes.off('wake', listener);
    },
  };
}

/** Send a wake-up to this process's runners on the same file. */
export async function sqliteWake(c: SqliteContext, topic: WakeTopic): Promise<void> {
  c.wake(topic);
}

/** Publish job lifecycle events to this process's listeners, each in its own microtask. */
export async function sqlitePublishEvents(c: SqliteContext, payloads: readonly string[]): Promise<void> {
  for (const p of payloads) queueMicrotask(() => c.wakes.emit('events', p));
}

/** Receive events published in this process on the same file. */
export async function sqliteListenEvents(c: SqliteContext, onPayload: (payload: string) => void): Promise<Listening> {
  const listener = (payload: string) => onPayload(payload);
  c.wakes.on('events', listener);
  return {
    close: async () => {
      c.wakes.off('events', listener);
    },
  };
}

/** Whether anything in this process listens to events now. */
export async function sqliteEventListeners(c: SqliteContext): Promise<boolean> {
  return c.wakes.listenerCount('events') > 0;
}
