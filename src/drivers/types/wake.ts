/**
 * Types of wake-ups and runtime channel pauses.
 * Re-exported by `drivers/driver.ts`.
 * @module
 */

/** Wake-up topics. `jobs`: new runnable work; `freed`: capacity was freed; `channels`: a channel was paused or resumed. */
export type WakeTopic = 'jobs' | 'freed' | 'channels';

/** A channel paused at runtime (stored; see `Driver.channelPauseSet`). */
export interface ChannelPause {
  /** Full channel name (`root.mail`). */
  channel: string;
  /** When it was paused (ms since the epoch). */
  pausedAt: number;
  /** Who paused it (free text: a user, `cli`, `dashboard`), if known. */
  pausedBy: string | null;
}

/** A subscription to wake-ups or events, open until closed. */
export interface Listening {
  close(): Promise<void>;
}
