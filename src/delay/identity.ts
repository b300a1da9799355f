/**
 * Identity keys: `identityExact` gives the same key for the same call (queue_job's `identity_exact`).
 * @module
 */
import { createHash } from 'node:crypto';
import { encodeJson } from '../internal/json.ts';
import type { IdentitySource } from './options.ts';

/**
 * A key equal for calls of the same method on the same records with the same arguments.
 * @example partners.withDelay({ identityKey: identityExact }).sync()
 */
export function identityExact(job: IdentitySource): string {
  const records = [...job.records].map((r) => encodeJson(r, 'records')).sort();
  return createHash('sha1')
    .update(job.model)
    .update('\0')
    .update(job.method)
    .update('\0')
    .update(records.join(','))
    .update('\0')
    .update(encodeJson(job.args, 'args'))
    .digest('hex');
}
