/**
 * Pause and resume channels at runtime (`conveyor.channelPauses`): durable (stored in the database),
 * seen by every runner at once through a `channels` wake-up (PostgreSQL: every process; SQLite: this
 * process) and at the latest at its next heartbeat. A paused channel starts no new job, nor do its
 * sub-channels; running jobs finish, and jobs a runner holds in its buffer are given back.
 * @module
 */
import type { ChannelPause, Driver } from '../drivers/driver.ts';
import { ValidationError, describeValue } from '../errors.ts';
import type { Clock } from '../internal/clock.ts';
import { normalizeChannelName } from './parse.ts';
import type { ChannelTree } from './tree.ts';

/** A runtime pause as the API shows it. */
export type { ChannelPause };

/** What the channel pauses API needs from its Conveyor. */
export interface ChannelPausesHost {
  readonly driver: Driver;
  readonly clock: Clock;
  readonly channels: ChannelTree;
}

/** The admin API of runtime channel pauses. */
export interface ChannelPausesApi {
  /** The channels paused at runtime, by name (a configured `:paused` is not listed: see the tree). */
  list(): Promise<ChannelPause[]>;
  /**
   * Pause a channel (`mail` or `root.mail`) and its sub-channels; returns the stored pause (the first one
   * when it was paused already). @throws ChannelConfigError on an invalid name, ValidationError on bad input
   */
  pause(channel: string, options?: { by?: string }): Promise<ChannelPause>;
  /**
   * Resume a channel paused at runtime; false when it was not (a channel paused by the configuration
   * stays paused until the configuration changes).
   */
  resume(channel: string): Promise<boolean>;
  /** The configured channel tree with the stored pauses applied (what the runners schedule with). */
  tree(): Promise<ChannelTree>;
}

function channelName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '') {
    throw new ValidationError(
      `${what}: channel must be a non-empty channel name like 'root.mail', got ${describeValue(value)}`,
    );
  }
  return normalizeChannelName(value);
}

/** Build the API on a Conveyor. */
export function channelPausesApi(host: ChannelPausesHost): ChannelPausesApi {
  return {
    list: () => host.driver.channelPauseList(),
    pause: async (channel, options = {}) => {
      const name = channelName(channel, 'channelPauses.pause()');
      if (options.by !== undefined && typeof options.by !== 'string') {
        throw new ValidationError(`channelPauses.pause(): by must be a string, got ${describeValue(options.by)}`);
      }
      await host.driver.channelPauseSet({ channel: name, paused: true, now: host.clock.now(), by: options.by ?? null });
      const stored = (await host.driver.channelPauseList()).find((p) => p.channel === name);
      // resumed by someone else in between: report what this call stored
      return stored ?? { channel: name, pausedAt: host.clock.now(), pausedBy: options.by ?? null };
    },
    resume: (channel) =>
      host.driver.channelPauseSet({
        channel: channelName(channel, 'channelPauses.resume()'),
        paused: false,
        now: host.clock.now(),
      }),
    tree: async () => host.channels.withPauses(await host.driver.channelPauseList()),
  };
}
