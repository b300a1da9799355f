/**
 * The Runners page: every runner registered in the database (all processes, all hosts), with its
 * heartbeat, slots in use and memory.
 * @module
 */
import type { RunnerInfo } from '../../drivers/types/runners.ts';
import {
  fmtBytes,
  fmtDuration,
  h,
  href,
  live,
  nothing,
  relative,
  timeCell,
  type Html,
  type ViewContext,
} from './html.ts';

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** The live runners table. */
export function runnersTable(ctx: ViewContext, runners: readonly RunnerInfo[]): Html {
  const alive = runners.filter((r) => r.leaseUntil >= ctx.now).length;
  return h`<section id="runners-live"${live(ctx, href(ctx, '/runners', { fragment: 'live' }))}>
<p><strong>${alive}</strong> runner${alive === 1 ? '' : 's'} alive${runners.length > alive ? h`, <strong>${runners.length - alive}</strong> with an expired lease (their jobs are rescued by the next heartbeat of a live runner)` : nothing}.</p>
${
  runners.length
    ? h`<table class="runners"><thead><tr><th>Runner</th><th>Host</th><th class="num">Pid</th><th>Slots (running / workers)</th><th class="num">Buffered</th><th class="num">RSS</th><th class="num">Heap</th><th>Isolation</th><th>Started</th><th>Last heartbeat</th><th>Lease</th></tr></thead>
<tbody>${runners.map((r) => {
        const ok = r.leaseUntil >= ctx.now;
        const running = num(r.info.running);
        return h`<tr data-runner="${r.id}" class="${ok ? 'alive' : 'expired'}">
<td><code>${r.id}</code></td><td>${r.host}</td><td class="num">${r.pid}</td>
<td>${running !== null ? h`<meter min="0" max="${r.workers}" value="${Math.min(running, r.workers)}"></meter> ${running} / ${r.workers}` : h`? / ${r.workers}`}</td>
<td class="num">${num(r.info.buffered) ?? ''}</td>
<td class="num">${fmtBytes(r.info.rss)}</td><td class="num">${fmtBytes(r.info.heapUsed)}</td>
<td>${typeof r.info.isolation === 'string' ? r.info.isolation : ''}</td>
<td>${timeCell(ctx, r.startedAt)} <span class="muted">(up ${fmtDuration(ctx.now - r.startedAt)})</span></td>
<td>${relative(ctx.now, r.heartbeatAt)}</td>
<td>${ok ? h`<span class="badge state-done">alive</span>` : h`<span class="badge state-failed">expired</span>`} <span class="muted">until ${timeCell(ctx, r.leaseUntil)}</span></td></tr>`;
      })}</tbody></table>`
    : h`<p class="empty">No runner is registered. Start one with <code>conveyor.runner({ workers: 4 }).start()</code> or <code>conveyor run</code>.</p>`
}
</section>`;
}

/** The Runners page body. */
export function runnersBody(ctx: ViewContext, runners: readonly RunnerInfo[]): Html {
  return h`<h1>Runners</h1>${runnersTable(ctx, runners)}`;
}
