/**
 * The Channels page: the channel tree with capacity, live load (running = enqueued + started, counted
 * over the sub-tree as the scheduler counts it), pending and failed jobs, sequential and throttle state.
 * @module
 */
import type { ChannelLoad, ChannelLoadRow } from '../../admin/channel-load.ts';
import type { ChannelNode } from '../../channels/tree.ts';
import { formatInterval } from '../../channels/explain.ts';
import { csrfField, fmtInt, h, href, live, nothing, timeCell, type Html, type ViewContext } from './html.ts';

/** Everything the Channels page shows: the load of every channel (`conveyor.channelLoad()`). */
export type ChannelsData = ChannelLoad;

/** One row of the tree, with its counts over the sub-tree and its own. */
export type ChannelRow = ChannelLoadRow;

function state(ctx: ViewContext, d: ChannelsData, r: ChannelRow): Html {
  const n = r.node;
  const parts: Html[] = [];
  if (n.paused) {
    parts.push(
      n.pausedSince === undefined
        ? h`<span class="badge warn">paused</span>`
        : h`<span class="badge warn">paused</span> <span class="muted">since ${timeCell(ctx, n.pausedSince)}</span>`,
    );
  }
  if (n.capacity === 0) parts.push(h`<span class="badge warn">capacity 0</span>`);
  if (n.sequential) {
    const failed = d.snapshot.sequentialFailed.get(n.name);
    parts.push(
      failed !== undefined
        ? h`<span class="badge state-failed">sequential, blocked by <a href="${href(ctx, `/jobs/${failed}`)}">job ${failed}</a></span>`
        : h`<span class="badge">sequential</span>`,
    );
  }
  if (n.throttleMs > 0) {
    const last = d.snapshot.lastStartedAt.get(n.name);
    const until = last !== undefined ? last + n.throttleMs : null;
    parts.push(h`<span class="badge">1 job per ${formatInterval(n.throttleMs)}</span>`);
    if (until !== null && until > ctx.now)
      parts.push(h` <span class="muted">throttled until ${timeCell(ctx, until)}</span>`);
  }
  if (r.node.capacity !== null && r.running >= r.node.capacity && r.node.capacity > 0)
    parts.push(h`<span class="badge state-started">full</span>`);
  if (!n.configured && n.name !== 'root')
    parts.push(h`<span class="muted">${d.tree.node(n.name) ? 'implied' : 'auto-created'}</span>`);
  return h`${parts}`;
}

/**
 * Pause (or, when paused at runtime, resume) a channel: a POST form with the CSRF field. A channel paused
 * by the configuration (`:paused`) has no button: only a configuration change resumes it.
 */
function pauseButton(ctx: ViewContext, n: ChannelNode): Html {
  const runtime = n.pausedSince !== undefined;
  if (n.paused && !runtime) return h`<span class="muted">paused by the configuration</span>`;
  const action = runtime ? 'resume' : 'pause';
  return h`<form method="post" class="inline" action="${href(ctx, `/channels/${encodeURIComponent(n.name)}/${action}`)}">${csrfField(ctx)}<button type="submit" class="${runtime ? '' : 'secondary'}" title="${runtime ? `start jobs in ${n.name} again` : `start no new job in ${n.name} and below; running jobs finish`}">${runtime ? 'Resume' : 'Pause'}</button></form>`;
}

/** The live channel table. */
export function channelsTable(ctx: ViewContext, d: ChannelsData): Html {
  const rows = d.rows;
  return h`<section id="channels-live"${live(ctx, href(ctx, '/channels', { fragment: 'live' }))}>
<table class="channels">
<thead><tr><th>Channel</th><th class="num">Capacity</th><th>Load (running / capacity)</th><th class="num">Pending</th><th class="num">Failed</th><th>State</th>${ctx.readOnly ? nothing : h`<th></th>`}</tr></thead>
<tbody>${rows.map((r) => {
    const cap = r.node.capacity;
    return h`<tr data-channel="${r.node.name}">
<td class="tree depth-${Math.min(r.depth, 8)}"><a href="${href(ctx, '/jobs', { channel: r.node.name })}">${r.node.name}</a></td>
<td class="num">${cap === null ? '∞' : cap}</td>
<td class="load">${cap ? h`<meter min="0" max="${cap}" high="${cap}" value="${Math.min(r.running, cap)}"></meter>` : nothing} <span>${r.running}${cap !== null ? ` / ${cap}` : ''}</span></td>
<td class="num">${r.pending ? h`<a href="${href(ctx, '/jobs', { channel: r.node.name, state: 'pending' })}">${fmtInt(r.pending)}</a>` : '0'}${r.ownPending !== r.pending ? h` <span class="muted">(${fmtInt(r.ownPending)} here)</span>` : nothing}</td>
<td class="num">${r.failed ? h`<a href="${href(ctx, '/jobs', { channel: r.node.name, state: 'failed' })}">${fmtInt(r.failed)}</a>` : '0'}</td>
<td>${state(ctx, d, r)}</td>${ctx.readOnly ? nothing : h`<td class="actions">${pauseButton(ctx, r.node)}</td>`}</tr>`;
  })}</tbody></table>
<p class="muted">Capacities bound the jobs enqueued and started in a channel and all channels below it, across every runner. Pending and failed counts include sub-channels. Configuration: <code>${d.tree.toString() || "root (unlimited: the runners' slots bound it)"}</code></p>
</section>`;
}

/** The Channels page body. */
export function channelsBody(ctx: ViewContext, d: ChannelsData): Html {
  return h`<h1>Channels</h1>${channelsTable(ctx, d)}`;
}
