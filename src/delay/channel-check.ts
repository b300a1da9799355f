/**
 * The channel a job is enqueued into when the caller names one (`withDelay({ channel })`): a channel
 * that is neither configured nor any job function's channel is most likely a typo (`root.mial`), so it
 * is warned about once, refused, or allowed, as the option `unknownChannels` says.
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import { UnknownChannelError } from '../errors.ts';
import type { Logger } from '../internal/logger.ts';
import { didYouMean } from '../internal/options.ts';
import type { ModelDefinition } from '../model/definition.ts';

/** What to do with a job enqueued into an unknown channel (the `unknownChannels` option). */
export type UnknownChannelMode = 'warn' | 'error' | 'allow';

/** What the checker needs from its Conveyor. */
export interface ChannelCheckHost {
  readonly channels: ChannelTree;
  readonly models: ReadonlyMap<string, ModelDefinition>;
  readonly logger: Logger;
}

/** Judges the channels given at enqueue, remembering the ones already judged (each is warned about once). */
export class ChannelChecker {
  readonly #host: ChannelCheckHost;
  readonly #mode: UnknownChannelMode;
  /** Channels given at enqueue already judged: a job function's channel, or unknown and warned about. */
  readonly #checked = new Set<string>();

  /** A checker for the channels of `host`, applying `mode` to unknown ones. */
  constructor(host: ChannelCheckHost, mode: UnknownChannelMode = 'warn') {
    this.#host = host;
    this.#mode = mode;
  }

  /**
   * The normalised name of `channel`, given at enqueue for job function `job`; one not in the
   * configuration nor any job function's channel is warned about once (or refused, or allowed).
   * @throws UnknownChannelError in mode `'error'` for an unknown channel
   */
  check(channel: string, job: string): string {
    const { channels, models, logger } = this.#host;
    const node = channels.path(channel).at(-1)!;
    if (node.configured || this.#mode === 'allow' || this.#checked.has(node.name) || channels.node(node.name))
      return node.name;
    const declared = new Set(
      [...models.values()].flatMap((def) =>
        [...def.settings.values()].map((fn) => channels.path(fn.channel).at(-1)!.name),
      ),
    );
    if (declared.has(node.name)) {
      this.#checked.add(node.name);
      return node.name;
    }
    const known = [...new Set([...channels.nodes().map((n) => n.name), ...declared])];
    const best = didYouMean(node.name, known);
    const message = `unknown channel '${node.name}' for ${job}${best ? ` (did you mean '${best}'?)` : ''}: the configured channels are ${known.join(', ')}`;
    if (this.#mode === 'error') throw new UnknownChannelError(message, { details: { channel: node.name, known } });
    this.#checked.add(node.name);
    const limiter = [...channels.path(node.name)].reverse().find((n) => n.capacity !== null)?.name ?? 'root';
    logger.warn(
      { channel: node.name, known },
      `${message}; created on the fly, its jobs run under ${limiter}'s capacity (set unknownChannels: 'error' to refuse such jobs)`,
    );
    return node.name;
  }
}
