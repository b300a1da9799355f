/**
 * Related actions (queue_job's "Related" button): where an operator goes from a job. By default, the
 * job's records; a job function may give a URL template or a function of the job.
 * @module
 */
import type { JobRow } from './row.ts';
import type { ResolvedJobFunction } from './settings.ts';

/** A resolved related action. */
export interface RelatedActionView {
  /** What to show. */
  label: string;
  /** A safe link (http, https or a /path), or null when there is none. */
  url: string | null;
  /** Extra data from the job function's `relatedAction.kwargs`. */
  kwargs?: Record<string, unknown>;
}

/** Keep only http(s) URLs and same-site paths (a URL shown to operators must never be `javascript:`). */
export function safeUrl(url: string | null | undefined): string | null {
  if (!url || typeof url !== 'string') return null;
  const u = url.trim();
  if (u.startsWith('/') && !u.startsWith('//') && !u.startsWith('/\\')) return u;
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/**
 * The related action of `job` under its job function's settings; null when disabled.
 * URL templates may use `{model}`, `{method}`, `{id}` and `{records}` (comma-separated).
 */
export function resolveRelatedAction(settings: ResolvedJobFunction | undefined, job: JobRow): RelatedActionView | null {
  const ra = settings?.relatedAction ?? { enable: true };
  if (ra.enable === false) return null;
  const kwargs = ra.kwargs;
  const records = job.records.map((r) => String(r));
  if (ra.url !== undefined) {
    let url: string | null;
    try {
      url =
        typeof ra.url === 'function'
          ? ra.url(job)
          : ra.url
              .replaceAll('{model}', encodeURIComponent(job.model))
              .replaceAll('{method}', encodeURIComponent(job.method))
              .replaceAll('{id}', String(job.id))
              .replaceAll('{records}', records.map(encodeURIComponent).join(','));
    } catch (err) {
      return { label: `related action failed: ${(err as Error).message}`, url: null, kwargs };
    }
    const safe = safeUrl(url);
    if (safe)
      return {
        label: records.length
          ? `Open ${job.model} ${records.slice(0, 10).join(', ')}${records.length > 10 ? '…' : ''}`
          : 'Open related page',
        url: safe,
        kwargs,
      };
    if (url)
      return {
        label: 'related action gave an unsupported URL (only http, https and /paths are linked)',
        url: null,
        kwargs,
      };
  }
  if (!records.length) return { label: `${job.model} (model-level job, no records)`, url: null, kwargs };
  return {
    label: `${job.model} records ${records.slice(0, 20).join(', ')}${records.length > 20 ? ` and ${records.length - 20} more` : ''}`,
    url: null,
    kwargs,
  };
}
