/**
 * The Job functions page (settings per model.method, editable when the source allows it) and the
 * Scheduled jobs page (next/last run, pause/resume, run now when the source allows it).
 * @module
 */
import type { JobFunctionView, ScheduledJobInfo } from '../../admin/sources.ts';
import { csrfField, fmtDuration, h, href, nothing, timeCell, type Html, type ViewContext } from './html.ts';

function pattern(p: JobFunctionView['retryPattern']): string {
  if (!p) return '';
  return JSON.stringify(p);
}

/** The Job functions page body. */
export function functionsBody(ctx: ViewContext, fns: readonly JobFunctionView[], editable: boolean): Html {
  const canEdit = editable && !ctx.readOnly;
  return h`<h1>Job functions</h1>
<p class="muted">Settings of every job method defined on this Conveyor (queue_job's job functions).${canEdit ? '' : ' Read-only: they come from the model definitions in code.'}</p>
${
  fns.length
    ? h`<table class="functions">
<thead><tr><th>Function</th><th>Channel</th><th class="num">Max tries</th><th>Retry pattern (try: seconds)</th><th>Time limit</th><th>Retry on timeout</th><th class="num">Priority</th><th>Related action</th>${canEdit ? h`<th></th>` : nothing}</tr></thead>
<tbody>${fns.map((f) =>
        canEdit
          ? editRow(ctx, f)
          : h`<tr data-function="${f.model}.${f.method}">
<td><a href="${href(ctx, '/jobs', { model: f.model, method: f.method })}">${f.model}.${f.method}</a>${f.description ? h`<div class="sub">${f.description}</div>` : nothing}</td>
<td><a href="${href(ctx, '/jobs', { channel: f.channel })}">${f.channel}</a></td>
<td class="num">${f.maxRetries || '∞'}</td>
<td><code>${pattern(f.retryPattern) || 'default (600 s)'}</code></td>
<td>${f.timeLimitMs ? fmtDuration(f.timeLimitMs) : h`<span class="muted">runner's limit</span>`}</td>
<td>${f.retryOnTimeout ? 'yes' : 'no'}</td>
<td class="num">${f.priority}</td>
<td>${related(f)}</td></tr>`,
      )}</tbody></table>`
    : h`<p class="empty">No model is defined on this Conveyor.</p>`
}`;
}

function related(f: JobFunctionView): Html {
  if (!f.relatedAction.enable) return h`<span class="muted">disabled</span>`;
  if (f.relatedAction.url) return h`<code>${f.relatedAction.url}</code>`;
  if (f.relatedAction.custom) return h`custom (function)`;
  return h`<span class="muted">the job's records</span>`;
}

function editRow(ctx: ViewContext, f: JobFunctionView): Html {
  const id = `fn-${f.model}-${f.method}`.replace(/[^\w-]/g, '_');
  return h`<tr data-function="${f.model}.${f.method}">
<td><a href="${href(ctx, '/jobs', { model: f.model, method: f.method })}">${f.model}.${f.method}</a></td>
<td><input form="${id}" name="channel" value="${f.channel}" size="12" aria-label="Channel"></td>
<td class="num"><input form="${id}" name="maxRetries" type="number" min="0" value="${f.maxRetries}" aria-label="Max tries"></td>
<td><input form="${id}" name="retryPattern" value="${pattern(f.retryPattern)}" placeholder='{"1": 10, "5": 60}' aria-label="Retry pattern"></td>
<td><input form="${id}" name="timeLimitMs" type="number" min="0" value="${f.timeLimitMs ?? ''}" placeholder="ms" aria-label="Time limit (ms)"></td>
<td>${f.retryOnTimeout ? 'yes' : 'no'}</td>
<td class="num"><input form="${id}" name="priority" type="number" value="${f.priority}" aria-label="Priority"></td>
<td>${related(f)}</td>
<td><form id="${id}" method="post" action="${href(ctx, `/functions/${encodeURIComponent(f.model)}/${encodeURIComponent(f.method)}`)}">${csrfField(ctx)}<button type="submit">Save</button></form></td></tr>`;
}

/** The Scheduled jobs page body. */
export function scheduledBody(
  ctx: ViewContext,
  entries: readonly ScheduledJobInfo[] | null,
  can: { pause: boolean; resume: boolean; runNow: boolean },
): Html {
  if (entries === null) {
    return h`<h1>Scheduled jobs</h1>
<section class="panel empty"><p><strong>No scheduled jobs.</strong> No scheduled-jobs source is connected to this dashboard.</p>
<p class="muted">Scheduled jobs (<code>conveyor.cron(name, { every: '1w' } | '0 3 * * 0', target, args)</code>) appear here with their next and last run once they are defined.</p></section>`;
  }
  const button = (action: string, name: string, label: string, cls = '') =>
    h`<form method="post" class="inline" action="${href(ctx, `/scheduled/${encodeURIComponent(name)}/${action}`)}">${csrfField(ctx)}<button type="submit" class="${cls}">${label}</button></form>`;
  return h`<h1>Scheduled jobs</h1>
${
  entries.length
    ? h`<table class="scheduled"><thead><tr><th>Name</th><th>Schedule</th><th>Runs</th><th>Next run</th><th>Last run</th><th>State</th>${ctx.readOnly ? nothing : h`<th></th>`}</tr></thead>
<tbody>${entries.map(
        (e) => h`<tr data-cron="${e.name}"><td>${e.name}</td><td><code>${e.schedule}</code></td><td>${e.target}</td>
<td>${e.paused ? h`<span class="muted">paused</span>` : timeCell(ctx, e.nextRunAt)}</td>
<td>${timeCell(ctx, e.lastRunAt)}${e.lastJobId ? h` <a href="${href(ctx, `/jobs/${e.lastJobId}`)}">#${e.lastJobId}</a>` : nothing}</td>
<td>${e.paused ? h`<span class="badge warn">paused</span>` : h`<span class="badge state-done">active</span>`}</td>
${
  ctx.readOnly
    ? nothing
    : h`<td class="actions">${e.paused ? (can.resume ? button('resume', e.name, 'Resume') : nothing) : can.pause ? button('pause', e.name, 'Pause', 'secondary') : nothing}
${can.runNow ? button('run', e.name, 'Run now') : nothing}</td>`
}</tr>`,
      )}</tbody></table>`
    : h`<p class="empty">No scheduled jobs are defined.</p>`
}`;
}
