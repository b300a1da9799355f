/**
 * The Timeout log page: statistics for 7 and 30 days, a chart over time, the pivot model × method,
 * group-by counts, and the entries with filters and paging.
 * @module
 */
import type { TimeoutStatistics } from '../../drivers/types/timeout-log.ts';
import type { TimeoutLogEntry } from '../../job/timeout-log-entry.ts';
import { fmtDuration, fmtInt, h, href, nothing, timeCell, truncate, type Html, type ViewContext } from './html.ts';
import { timeoutChartSvg, type ChartBucket } from './svg.ts';

/** The page's parameters. */
export interface TimeoutsQuery {
  days: 7 | 30;
  groupBy: 'model' | 'method' | undefined;
  model?: string;
  method?: string;
  kind?: string;
  cursor?: number;
}

/** One cell of the pivot. */
export interface PivotCell {
  count: number;
  exceeded: number;
  avgDurationMs: number;
}

/** Everything the Timeout log page shows. */
export interface TimeoutsData {
  query: TimeoutsQuery;
  stats7: TimeoutStatistics;
  stats30: TimeoutStatistics;
  buckets: ChartBucket[];
  /** True when the chart was drawn from the newest rows only. */
  chartTruncated: boolean;
  entries: TimeoutLogEntry[];
  nextCursor: number | null;
}

/** Kinds of timeout-log entries (the filter's choices). */
export const KINDS = ['monitor', 'timeout', 'hard_kill', 'cpu_limit', 'memory_limit'] as const;

/**
 * Split `statistics().byMethod` keys (`model.method`, where a model may contain dots) into a pivot,
 * using the model names of `byModel`.
 */
export function pivotFromStatistics(stats: TimeoutStatistics): Map<string, Map<string, PivotCell>> {
  const models = Object.keys(stats.byModel).sort((a, b) => b.length - a.length);
  const pivot = new Map<string, Map<string, PivotCell>>();
  for (const [key, cell] of Object.entries(stats.byMethod)) {
    const model = models.find((m) => key.startsWith(`${m}.`)) ?? (key in stats.byModel ? key : key);
    const method = key === model ? '(none)' : key.slice(model.length + 1);
    let row = pivot.get(model);
    if (!row) {
      row = new Map();
      pivot.set(model, row);
    }
    row.set(method, { count: cell.count, exceeded: cell.exceeded, avgDurationMs: cell.avgDurationMs });
  }
  return new Map([...pivot.entries()].sort(([a], [b]) => a.localeCompare(b)));
}

/**
 * `days` bars of 24 hours each, the newest ending at `now`: the same rolling window as
 * `timeoutLog.statistics({ days })` and `timeoutLog.list({ days })` (`at >= now - days × 24 h`), so the
 * bars add up to the "Last N days" figures at any time of day (calendar days did not: an entry of the
 * last hours of the window's first day was counted in one and not the other). An entry stamped after
 * `now` (another host's clock) is in the newest bar, as the statistics count it. A bar is labelled with
 * the UTC date its period ends on; its title gives the exact period.
 */
export function dailyBuckets(
  entries: readonly Pick<TimeoutLogEntry, 'at' | 'exceeded'>[],
  now: number,
  days: number,
): ChartBucket[] {
  const DAY = 86_400_000;
  const start = now - days * DAY;
  const minute = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  const buckets: ChartBucket[] = [];
  for (let i = 0; i < days; i++) {
    const end = start + (i + 1) * DAY;
    buckets.push({
      label: new Date(end).toISOString().slice(5, 10),
      title: `${minute(end - DAY)} – ${minute(end)} UTC`,
      within: 0,
      exceeded: 0,
    });
  }
  for (const e of entries) {
    if (e.at < start) continue;
    const bucket = buckets[Math.min(days - 1, Math.floor((e.at - start) / DAY))]!;
    if (e.exceeded) bucket.exceeded++;
    else bucket.within++;
  }
  return buckets;
}

function statCard(label: string, s: TimeoutStatistics): Html {
  const pct = s.totalCount ? Math.round((100 * s.exceededCount) / s.totalCount) : 0;
  return h`<div class="stat" data-stat="${label}"><h3>${label}</h3>
<div class="big">${fmtInt(s.totalCount)}</div><div>entries</div>
<div><strong class="exceeded-count">${fmtInt(s.exceededCount)}</strong> exceeded (${pct} %)</div>
<div>average ${fmtDuration(s.avgDurationMs) || '0 ms'}</div></div>`;
}

function pivotTable(ctx: ViewContext, q: TimeoutsQuery, pivot: Map<string, Map<string, PivotCell>>): Html {
  if (!pivot.size) return h`<p class="empty">No entries in the last ${q.days} days.</p>`;
  const methods = [...new Set([...pivot.values()].flatMap((r) => [...r.keys()]))].sort();
  return h`<div class="scroll"><table class="pivot"><caption>Model × method, last ${q.days} days: count / exceeded / average duration</caption>
<thead><tr><th>Model \\ method</th>${methods.map((m) => h`<th>${m}</th>`)}<th>Total</th></tr></thead>
<tbody>${[...pivot.entries()].map(([model, row]) => {
    let count = 0;
    let exceeded = 0;
    let ms = 0;
    for (const c of row.values()) {
      count += c.count;
      exceeded += c.exceeded;
      ms += c.avgDurationMs * c.count;
    }
    return h`<tr><th><a href="${href(ctx, '/timeouts', { days: q.days, model: model === '(none)' ? undefined : model })}">${model}</a></th>
${methods.map((m) => {
  const c = row.get(m);
  return c
    ? h`<td class="cell${c.exceeded ? ' hot' : ''}"><a href="${href(ctx, '/timeouts', { days: q.days, model, method: m })}">${fmtInt(c.count)}</a> / <span class="exc">${fmtInt(c.exceeded)}</span> / ${fmtDuration(c.avgDurationMs)}</td>`
    : h`<td class="muted">·</td>`;
})}
<td class="cell"><strong>${fmtInt(count)}</strong> / ${fmtInt(exceeded)} / ${fmtDuration(count ? ms / count : 0)}</td></tr>`;
  })}</tbody></table></div>`;
}

function groupTable(ctx: ViewContext, q: TimeoutsQuery, stats: TimeoutStatistics): Html {
  if (!q.groupBy) return nothing;
  const bucket = q.groupBy === 'model' ? stats.byModel : stats.byMethod;
  const rows = Object.entries(bucket).sort((a, b) => b[1].count - a[1].count);
  return h`<table class="group-counts"><caption>Grouped by ${q.groupBy}, last ${q.days} days</caption>
<thead><tr><th>${q.groupBy === 'model' ? 'Model' : 'Model.method'}</th><th class="num">Entries</th><th class="num">Exceeded</th><th class="num">Average</th></tr></thead>
<tbody>${rows.map(([k, c]) => h`<tr><td>${k}</td><td class="num">${fmtInt(c.count)}</td><td class="num">${fmtInt(c.exceeded)}</td><td class="num">${fmtDuration(c.avgDurationMs)}</td></tr>`)}</tbody></table>`;
}

/** The Timeout log page body. */
export function timeoutsBody(ctx: ViewContext, d: TimeoutsData): Html {
  const q = d.query;
  const keep = { days: q.days, groupBy: q.groupBy, model: q.model, method: q.method, kind: q.kind };
  const stats = q.days === 30 ? d.stats30 : d.stats7;
  return h`<h1>Timeout log</h1>
<div class="stats">${statCard('Last 7 days', d.stats7)}${statCard('Last 30 days', d.stats30)}</div>
<nav class="tabs">${([7, 30] as const).map((n) => h`<a class="tab${q.days === n ? ' active' : ''}" href="${href(ctx, '/timeouts', { ...keep, days: n })}">${n} days</a>`)}</nav>
<section class="panel"><h2>Over time</h2>
${timeoutChartSvg(d.buckets, `Timeout-log entries per 24 hours, last ${q.days} days up to now${d.chartTruncated ? ', newest entries only' : ''}`)}
</section>
<section class="panel"><h2>Pivot</h2>${pivotTable(ctx, q, pivotFromStatistics(stats))}</section>
<form class="filters" method="get" action="${href(ctx, '/timeouts')}">
<input type="hidden" name="days" value="${q.days}">
<label>Model<input name="model" value="${q.model ?? ''}"></label>
<label>Method<input name="method" value="${q.method ?? ''}"></label>
<label>Kind<select name="kind"><option value="">any</option>${KINDS.map((k) => h`<option value="${k}"${k === q.kind ? h` selected` : nothing}>${k}</option>`)}</select></label>
<label>Group by<select name="groupBy"><option value="">—</option><option value="model"${q.groupBy === 'model' ? h` selected` : nothing}>model</option><option value="method"${q.groupBy === 'method' ? h` selected` : nothing}>method</option></select></label>
<button type="submit">Filter</button> <a class="button secondary" href="${href(ctx, '/timeouts', { days: q.days })}">Reset</a>
</form>
${groupTable(ctx, q, stats)}
<section class="panel"><h2>Entries</h2>
${
  d.entries.length
    ? h`<table class="timeouts"><thead><tr><th>When</th><th>Operation</th><th>Kind</th><th>Model.method</th><th>Job</th><th class="num">Duration</th><th class="num">Threshold</th><th>Exceeded</th><th>Error</th><th>Host</th></tr></thead>
<tbody>${d.entries.map(
        (
          e,
        ) => h`<tr data-entry="${e.id}"${e.exceeded ? h` class="exceeded"` : nothing}><td>${timeCell(ctx, e.at)}</td><td>${e.operation}</td><td><span class="badge">${e.kind}</span></td>
<td>${e.model ?? ''}${e.method ? `.${e.method}` : ''}</td><td>${e.jobId ? h`<a href="${href(ctx, `/jobs/${e.jobId}`)}">#${e.jobId}</a>` : ''}</td>
<td class="num">${fmtDuration(e.durationMs)}</td><td class="num">${fmtDuration(e.thresholdMs)}</td><td>${e.exceeded ? h`<span class="badge state-failed">yes</span>` : 'no'}</td>
<td>${truncate(e.error, 120)}</td><td class="muted">${e.host ?? ''}</td></tr>`,
      )}</tbody></table>
${d.nextCursor ? h`<nav class="pager"><a class="button secondary" rel="next" href="${href(ctx, '/timeouts', { ...keep, cursor: d.nextCursor })}">Older entries »</a></nav>` : nothing}`
    : h`<p class="empty">No entries match.</p>`
}
</section>`;
}
