/**
 * The Jobs page: filters, state tabs with counts (live), optional group-by counts, the keyset-paged
 * table and the bulk actions.
 * @module
 */
import type { JobCountKey, JobCountRow, JobPage } from '../../drivers/types/job-reads.ts';
import { JOB_STATES } from '../../job/states.ts';
import { jobsParams, type JobsQuery } from '../query.ts';
import {
  csrfField,
  fmtDuration,
  fmtInt,
  h,
  href,
  live,
  nothing,
  stateBadge,
  timeCell,
  truncate,
  type Html,
  type ViewContext,
} from './html.ts';

/** Everything the Jobs page shows. */
export interface JobsData {
  query: JobsQuery;
  page: JobPage;
  /** Counts by state under the other filters. */
  stateCounts: JobCountRow[];
  /** Counts by `query.groupBy` under all filters, when asked. */
  groupCounts: JobCountRow[] | null;
  /** Channel names for the filter. */
  channels: string[];
  /** `model → methods` for the filters. */
  models: Map<string, string[]>;
}

const SORT_LABELS: Record<string, string> = {
  id: 'Id',
  priority: 'Priority',
  createdAt: 'Created',
  doneAt: 'Done',
  execTimeMs: 'Run time',
};
const GROUP_LABELS: Record<JobCountKey, string> = {
  state: 'State',
  channel: 'Channel',
  model: 'Model',
  method: 'Method',
  excName: 'Exception',
};

/** The live counts block (state tabs and group-by table). */
export function jobCounts(ctx: ViewContext, d: Pick<JobsData, 'query' | 'stateCounts' | 'groupCounts'>): Html {
  const q = d.query;
  const byState = new Map(d.stateCounts.map((r) => [r.key.state ?? '', r.count]));
  const total = d.stateCounts.reduce((s, r) => s + r.count, 0);
  const tab = (state: string | undefined, label: string, count: number) => {
    const active = (q.state ?? '') === (state ?? '');
    return h`<a class="tab${active ? ' active' : ''}" href="${href(ctx, '/jobs', jobsParams(q, { state, cursor: undefined }))}" data-state="${state ?? 'all'}">${label} <span class="count">${fmtInt(count)}</span></a>`;
  };
  const fragmentUrl = href(ctx, '/jobs', { ...jobsParams(q, { cursor: undefined }), fragment: 'counts' });
  return h`<section id="job-counts" class="counts"${live(ctx, fragmentUrl)}>
<div class="tabs">${tab(undefined, 'All', total)}${JOB_STATES.map((s) => tab(s, s, byState.get(s) ?? 0))}</div>
${d.groupCounts ? groupTable(ctx, q, q.groupBy!, d.groupCounts) : nothing}
</section>`;
}

function groupTable(ctx: ViewContext, q: JobsQuery, key: JobCountKey, rows: JobCountRow[]): Html {
  const total = rows.reduce((s, r) => s + r.count, 0);
  return h`<table class="group-counts"><caption>Jobs by ${GROUP_LABELS[key].toLowerCase()}</caption>
<thead><tr><th>${GROUP_LABELS[key]}</th><th class="num">Jobs</th><th class="num">Share</th></tr></thead>
<tbody>${rows.map((r) => {
    const value = r.key[key] ?? null;
    const cell =
      value === null
        ? h`<span class="muted">(none)</span>`
        : h`<a href="${href(ctx, '/jobs', jobsParams(q, { [key]: value, cursor: undefined, groupBy: undefined }))}">${value}</a>`;
    return h`<tr><td>${cell}</td>
<td class="num">${fmtInt(r.count)}</td><td class="num">${total ? ((100 * r.count) / total).toFixed(1) : '0'} %</td></tr>`;
  })}</tbody></table>`;
}

function select(
  name: string,
  label: string,
  value: string | undefined,
  options: readonly string[],
  anyLabel = 'any',
): Html {
  const opts = value && !options.includes(value) ? [value, ...options] : options;
  return h`<label>${label}<select name="${name}"><option value="">${anyLabel}</option>${opts.map((o) => h`<option value="${o}"${o === value ? h` selected` : nothing}>${o}</option>`)}</select></label>`;
}

function filters(ctx: ViewContext, d: JobsData): Html {
  const q = d.query;
  const methods = q.model ? (d.models.get(q.model) ?? []) : [...new Set([...d.models.values()].flat())].sort();
  return h`<form class="filters" method="get" action="${href(ctx, '/jobs')}" role="search">
${select('state', 'State', q.state, JOB_STATES)}
${select('channel', 'Channel', q.channel, d.channels)}
${select('model', 'Model', q.model, [...d.models.keys()].sort())}
${select('method', 'Method', q.method, methods)}
<label>Created from<input type="date" name="from" value="${q.from ?? ''}"></label>
<label>to<input type="date" name="to" value="${q.to ?? ''}"></label>
<label class="grow">Text<input type="search" name="text" value="${q.text ?? ''}" placeholder="description, args, error, uuid…"></label>
<label>Sort<select name="sort">${Object.entries(SORT_LABELS).map(([k, l]) => h`<option value="${k}"${k === q.sort ? h` selected` : nothing}>${l}</option>`)}</select></label>
<label>Order<select name="dir"><option value="desc"${q.dir === 'desc' ? h` selected` : nothing}>newest first</option><option value="asc"${q.dir === 'asc' ? h` selected` : nothing}>oldest first</option></select></label>
<label>Group by<select name="groupBy"><option value="">—</option>${(Object.keys(GROUP_LABELS) as JobCountKey[]).map((k) => h`<option value="${k}"${k === q.groupBy ? h` selected` : nothing}>${GROUP_LABELS[k]}</option>`)}</select></label>
${q.graph ? h`<input type="hidden" name="graph" value="${q.graph}">` : nothing}
<button type="submit">Filter</button>
<a class="button secondary" href="${href(ctx, '/jobs')}">Reset</a>
</form>`;
}

function row(ctx: ViewContext, j: JobPage['jobs'][number]): Html {
  const when =
    j.state === 'done'
      ? j.doneAt
      : j.state === 'cancelled'
        ? j.cancelledAt
        : j.state === 'started'
          ? j.startedAt
          : (j.eta ?? j.createdAt);
  return h`<tr data-job="${j.id}" data-state="${j.state}">
${ctx.readOnly ? nothing : h`<td class="check"><input type="checkbox" name="id" value="${j.id}" aria-label="Select job ${j.id}"></td>`}
<td class="num"><a href="${href(ctx, `/jobs/${j.id}`)}">${j.id}</a></td>
<td>${stateBadge(j.state)}</td>
<td><a href="${href(ctx, `/jobs/${j.id}`)}">${truncate(j.description, 80)}</a><div class="sub">${[j.description === `${j.model}.${j.method}` ? null : `${j.model}.${j.method}`, j.records.length ? `${j.records.length} record${j.records.length === 1 ? '' : 's'}` : null].filter(Boolean).join(' · ')}</div>
${j.excName && (j.state === 'failed' || j.state === 'pending') ? h`<div class="exc">${j.excName}: ${truncate(j.excMessage, 140)}</div>` : nothing}</td>
<td>${j.channel}</td>
<td class="num">${j.priority}</td>
<td class="num">${j.attempt}/${j.maxRetries || '∞'}</td>
<td>${timeCell(ctx, j.createdAt)}</td>
<td>${timeCell(ctx, when)}</td>
<td class="num">${fmtDuration(j.execTimeMs)}</td>
</tr>`;
}

/** The Jobs page body. */
export function jobsBody(ctx: ViewContext, d: JobsData): Html {
  const q = d.query;
  const back = href(ctx, '/jobs', jobsParams(q));
  const table = h`<table class="jobs">
<thead><tr>${ctx.readOnly ? nothing : h`<th class="check"><input type="checkbox" class="select-all" aria-label="Select all on this page"></th>`}
<th class="num">Id</th><th>State</th><th>Job</th><th>Channel</th><th class="num">Prio</th><th class="num">Try</th><th>Created</th><th>Done / due / started</th><th class="num">Run time</th></tr></thead>
<tbody>${d.page.jobs.length ? d.page.jobs.map((j) => row(ctx, j)) : h`<tr><td colspan="10" class="empty">No job matches these filters.</td></tr>`}</tbody>
</table>`;
  const pager = h`<nav class="pager">
${q.cursor ? h`<a class="button secondary" href="${href(ctx, '/jobs', jobsParams(q, { cursor: undefined }))}">« First page</a>` : nothing}
${d.page.nextCursor ? h`<a class="button secondary" rel="next" href="${href(ctx, '/jobs', jobsParams(q, { cursor: d.page.nextCursor }))}">Next page »</a>` : nothing}
<span class="muted">${d.page.jobs.length} job${d.page.jobs.length === 1 ? '' : 's'} on this page</span>
</nav>`;
  return h`<h1>Jobs${q.graph ? h` <small>of graph ${q.graph}</small>` : nothing}</h1>
${filters(ctx, d)}
${jobCounts(ctx, d)}
${
  ctx.readOnly
    ? h`${table}${pager}`
    : h`<form method="post" action="${href(ctx, '/jobs/bulk')}" class="bulk">
${csrfField(ctx)}<input type="hidden" name="back" value="${back}">
<div class="actions"><span class="muted">With the selected jobs:</span>
<button type="submit" name="action" value="requeue">Requeue</button>
<button type="submit" name="action" value="done">Set done</button>
<button type="submit" name="action" value="cancel" class="danger">Cancel</button>
<label class="inline"><input type="checkbox" name="cascade" value="1"> cancel dependants too</label></div>
${table}
</form>${pager}`
}`;
}
