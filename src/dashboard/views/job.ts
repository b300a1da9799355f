/**
 * The Job page: the "why is it not running" sentence first, then state and progress, the dependency
 * graph, every field, the exception with its stack, every attempt, and the JSON values. The part that
 * changes while the job runs refreshes live; the action buttons stay put.
 * @module
 */
import type { JobGraph } from '../../drivers/types/job-reads.ts';
import type { JobAttempt, JobRow } from '../../job/row.ts';
import {
  compactJson,
  csrfField,
  fmtDuration,
  h,
  href,
  live,
  nothing,
  prettyJson,
  stateBadge,
  timeCell,
  type Html,
  type ViewContext,
} from './html.ts';
import { graphSvg } from './svg.ts';

import type { RelatedActionView } from '../../job/related-action.ts';
export type { RelatedActionView };

/** Everything the Job page shows. */
export interface JobData {
  job: JobRow;
  attempts: JobAttempt[];
  dependencies: { dependsOn: number[]; dependants: number[] };
  explain: string;
  graph: JobGraph | null;
  related: RelatedActionView | null;
}

const RUNNING = new Set(['started', 'enqueued']);

function jsonBlock(title: string, value: unknown, cls = ''): Html {
  if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) {
    return h`<section class="panel json ${cls}"><h2>${title}</h2><p class="muted">none</p></section>`;
  }
  return h`<section class="panel json ${cls}"><h2>${title}</h2><pre>${prettyJson(value)}</pre></section>`;
}

function idLinks(ctx: ViewContext, ids: number[]): Html {
  if (!ids.length) return h`<span class="muted">none</span>`;
  return h`${ids.slice(0, 50).map((id, i) => h`${i ? ', ' : ''}<a href="${href(ctx, `/jobs/${id}`)}">#${id}</a>`)}${ids.length > 50 ? ` and ${ids.length - 50} more` : ''}`;
}

/** The live part of the Job page. */
export function jobLive(ctx: ViewContext, d: JobData): Html {
  const j = d.job;
  const p = j.progress;
  // a done job is complete whatever its last report said (e.g. a tracker that only counted the part
  // after a resume): the bar is full and the last report is kept as a note
  const complete = j.state === 'done' && p !== null && p.total !== null && p.done < p.total;
  const pct = complete ? 100 : p && p.total ? Math.min(100, Math.round((100 * p.done) / p.total)) : null;
  const url = href(ctx, `/jobs/${j.id}`, { fragment: 'live' });
  return h`<div id="job-live"${live(ctx, url)}>
${actions(ctx, j)}
<p class="why state-${j.state}" id="why"><span class="label">${RUNNING.has(j.state) ? 'Now' : j.state === 'pending' || j.state === 'wait_dependencies' ? 'Why is it not running?' : 'Status'}</span> <span class="sentence">${d.explain}</span></p>
<div class="summary">
  <div>${stateBadge(j.state)}</div>
  <div><span class="label">Try</span> ${j.attempt} of ${j.maxRetries || '∞'}${j.crashCount ? h` <span class="muted">(${j.crashCount} crash${j.crashCount === 1 ? '' : 'es'})</span>` : nothing}</div>
  <div><span class="label">Channel</span> <a href="${href(ctx, '/channels')}">${j.channel}</a></div>
  <div><span class="label">Priority</span> ${j.priority}</div>
  ${j.execTimeMs !== null ? h`<div><span class="label">Run time</span> ${fmtDuration(j.execTimeMs)}</div>` : nothing}
</div>
${
  p
    ? h`<div class="progress"><span class="label">Progress</span>
<progress max="${p.total ?? ''}" value="${complete ? p.total : p.done}">${pct ?? ''}</progress>
<span>${complete ? `done (100 %) · last reported ${p.done} / ${p.total}` : h`${p.done}${p.total !== null ? ` / ${p.total}` : ''}${pct !== null ? ` (${pct} %)` : ''}`}${p.message ? ` · ${p.message}` : ''}</span>
<span class="muted">updated ${timeCell(ctx, p.at)}</span></div>`
    : nothing
}
${d.graph ? h`<section class="panel"><h2>Dependency graph</h2>${graphSvg(ctx, d.graph, j.id)}</section>` : nothing}
<div class="columns">
<section class="panel"><h2>Details</h2><table class="fields">
<tr><th>Uuid</th><td><code>${j.uuid}</code></td></tr>
<tr><th>Function</th><td><a href="${href(ctx, '/jobs', { model: j.model, method: j.method })}">${j.model}.${j.method}</a></td></tr>
<tr><th>Records</th><td>${j.records.length ? h`<code>${compactJson(j.records.slice(0, 20))}</code>${j.records.length > 20 ? ` and ${j.records.length - 20} more` : ''}` : h`<span class="muted">none (model-level job)</span>`}</td></tr>
<tr><th>Related action</th><td>${d.related ? (d.related.url ? h`<a class="related" href="${d.related.url}" rel="noopener noreferrer">${d.related.label}</a>` : d.related.label) : h`<span class="muted">none</span>`}</td></tr>
<tr><th>Created</th><td>${timeCell(ctx, j.createdAt)}</td></tr>
<tr><th>ETA</th><td>${timeCell(ctx, j.eta)}</td></tr>
<tr><th>Enqueued</th><td>${timeCell(ctx, j.enqueuedAt)}</td></tr>
<tr><th>Started</th><td>${timeCell(ctx, j.startedAt)}</td></tr>
<tr><th>Done</th><td>${timeCell(ctx, j.doneAt)}</td></tr>
${j.cancelledAt ? h`<tr><th>Cancelled</th><td>${timeCell(ctx, j.cancelledAt)}</td></tr>` : nothing}
<tr><th>Time limit</th><td>${j.timeLimitMs ? fmtDuration(j.timeLimitMs) : h`<span class="muted">function's or runner's</span>`}</td></tr>
<tr><th>Runner</th><td>${j.runnerId ?? h`<span class="muted">–</span>`}</td></tr>
<tr><th>Identity key</th><td>${j.identityKey ?? h`<span class="muted">–</span>`}</td></tr>
<tr><th>Graph</th><td>${j.graphUuid ? h`<a href="${href(ctx, '/jobs', { graph: j.graphUuid })}"><code>${j.graphUuid}</code></a>` : h`<span class="muted">none</span>`}</td></tr>
<tr><th>Depends on</th><td>${idLinks(ctx, d.dependencies.dependsOn)}</td></tr>
<tr><th>Dependants</th><td>${idLinks(ctx, d.dependencies.dependants)}</td></tr>
</table></section>
<div class="stack">
${jsonBlock('Arguments', j.args, 'args')}
${jsonBlock('Result', j.result, 'result')}
</div>
</div>
${
  j.excName || j.excMessage || j.excInfo
    ? h`<section class="panel exception"><h2>Exception</h2>
<p class="exc-message"><strong>${j.excName ?? 'Error'}</strong>: ${j.excMessage ?? ''}</p>
${j.excInfo ? h`<details open><summary>Stack trace</summary><pre class="stack-trace">${j.excInfo}</pre></details>` : nothing}</section>`
    : nothing
}
<section class="panel"><h2>Attempts</h2>
${
  d.attempts.length
    ? h`<table class="attempts"><thead><tr><th class="num">Try</th><th>Outcome</th><th>Started</th><th>Ended</th><th class="num">Took</th><th>Runner</th><th>Error</th></tr></thead><tbody>
${d.attempts.map(
  (
    a,
  ) => h`<tr><td class="num">${a.attempt}</td><td><span class="badge outcome-${a.outcome}">${a.outcome}</span></td><td>${timeCell(ctx, a.startedAt)}</td><td>${timeCell(ctx, a.endedAt)}</td>
<td class="num">${a.startedAt !== null ? fmtDuration(a.endedAt - a.startedAt) : ''}</td><td>${a.runnerId ?? ''}</td>
<td>${a.excName ? h`<details><summary>${a.excName}: ${a.excMessage ?? ''}</summary>${a.excInfo ? h`<pre class="stack-trace">${a.excInfo}</pre>` : nothing}</details>` : nothing}</td></tr>`,
)}
</tbody></table>`
    : h`<p class="muted">No failed, retried or interrupted run${j.state === 'done' ? ': it succeeded on its first try' : ''}.</p>`
}
</section>
<div class="columns">
${jsonBlock('Checkpoint', j.checkpoint, 'checkpoint')}
${jsonBlock('Context', j.context, 'context')}
</div>
</div>`;
}

/** Buttons for the job's state (none in read-only mode). */
function actions(ctx: ViewContext, j: JobRow): Html {
  if (ctx.readOnly) return nothing;
  const form = (
    action: string,
    label: string,
    cls = '',
    extra: Html = nothing,
  ) => h`<form method="post" action="${href(ctx, `/jobs/${j.id}/${action}`)}" class="inline">
${csrfField(ctx)}${extra}<button type="submit" class="${cls}" data-action="${action}">${label}</button></form>`;
  const buttons: Html[] = [];
  if (j.state === 'failed' || j.state === 'done' || j.state === 'cancelled') buttons.push(form('requeue', 'Requeue'));
  if (j.state === 'pending') buttons.push(form('requeue', 'Requeue (due now, tries reset)', 'secondary'));
  if (j.state === 'wait_dependencies' || j.state === 'pending' || j.state === 'enqueued' || j.state === 'failed')
    buttons.push(form('done', 'Set done', 'secondary'));
  if (j.state !== 'done' && j.state !== 'cancelled') {
    buttons.push(form('cancel', 'Cancel', 'danger'));
    if (j.hasDependants)
      buttons.push(
        form('cancel', 'Cancel with dependants', 'danger', h`<input type="hidden" name="cascade" value="1">`),
      );
  }
  return h`<div class="actions job-actions">${buttons}</div>`;
}

/** The Job page body. */
export function jobBody(ctx: ViewContext, d: JobData): Html {
  const j = d.job;
  return h`<p class="crumbs"><a href="${href(ctx, '/jobs')}">Jobs</a> › <a href="${href(ctx, '/jobs', { state: j.state })}">${j.state}</a></p>
<h1>Job #${j.id} <small>${j.description}</small></h1>
${jobLive(ctx, d)}`;
}
