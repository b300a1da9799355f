/**
 * What a delayed call stands for once its job function's defaults and its options are applied, and
 * the job row it becomes. Shared by the store and by `trapJobs` (testing), so both read a call alike.
 * @module
 */
import type { ChannelTree } from '../channels/tree.ts';
import type { NewJob } from '../drivers/driver.ts';
import { ValidationError, describeValue } from '../errors.ts';
import { encodeJson } from '../internal/json.ts';
import { uuidv7 } from '../internal/uuid.ts';
import type { ModelDefinition } from '../model/definition.ts';
import { jobMethodSettings } from '../model/method-ref.ts';
import type { Delayable } from './delayable.ts';
import { resolveEta } from './options.ts';

/** A delayed call with its job function's defaults and its options applied. */
export interface ResolvedCall {
  /** Model name. */
  model: string;
  /** Method name. */
  method: string;
  /** The records the method runs on. */
  records: readonly unknown[];
  /** The method's arguments. */
  args: readonly unknown[];
  /** Priority (lower runs first). */
  priority: number;
  /** Earliest start (ms epoch), or null for now. */
  eta: number | null;
  /** The normalised channel name. */
  channel: string;
  /** Most runs. */
  maxRetries: number;
  /** Description of the job. */
  description: string;
  /** Identity key (duplicates of an open job are not stored), or null. */
  identityKey: string | null;
}

/** What resolving a call needs from its Conveyor. */
export interface ResolveCallHost {
  readonly models: ReadonlyMap<string, ModelDefinition>;
  readonly channels: ChannelTree;
  /** Normalise and judge a channel given at enqueue (delay/channel-check.ts). */
  checkChannel(channel: string, job: string): string;
}

/**
 * Apply the job function's defaults and the call's options to `d`.
 * @throws UnknownModelError, UnknownMethodError, ConfigurationError, ValidationError
 */
export function resolveCall(host: ResolveCallHost, d: Delayable, now: number): ResolvedCall {
  const fn = jobMethodSettings(host.models, d.model, d.method);
  const o = d.options;
  const identity =
    typeof o.identityKey === 'function'
      ? o.identityKey({ model: d.model, method: d.method, records: d.records, args: d.args })
      : (o.identityKey ?? null);
  if (identity !== null && typeof identity !== 'string')
    throw new ValidationError(`identityKey function must return a string, got ${describeValue(identity)}`);
  return {
    model: d.model,
    method: d.method,
    records: d.records,
    args: d.args,
    priority: o.priority ?? fn.priority,
    eta: resolveEta(o.eta, now, `${d.model}.${d.method}`),
    channel:
      o.channel === undefined
        ? host.channels.path(fn.channel).at(-1)!.name
        : host.checkChannel(o.channel, `${d.model}.${d.method}`),
    maxRetries: o.maxRetries ?? fn.maxRetries,
    description: o.description ?? fn.description ?? `${d.model}.${d.method}`,
    identityKey: identity,
  };
}

/** The row to insert for a resolved call. */
export function newJobRow(r: ResolvedCall, now: number, graphUuid: string | null, context: string | null): NewJob {
  return {
    uuid: uuidv7(now),
    graphUuid,
    model: r.model,
    method: r.method,
    records: encodeJson(r.records, 'records'),
    args: encodeJson(r.args, 'args'),
    priority: r.priority,
    eta: r.eta,
    channel: r.channel,
    maxRetries: r.maxRetries,
    description: r.description,
    identityKey: r.identityKey,
    context,
    timeLimitMs: null,
  };
}
