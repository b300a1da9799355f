/**
 * Server-rendered SVG: the dependency graph of a job and the timeout-log chart. Deterministic output
 * (no randomness, no clock), colours as presentation attributes (no `style`, which the CSP forbids),
 * hover text in `<title>`. All text is escaped by the `h` tag.
 * @module
 */
import type { JobGraph } from '../../drivers/types/job-reads.ts';
import type { JobState } from '../../job/states.ts';
import { h, href, nothing, STATE_COLOURS, truncate, type Html, type ViewContext } from './html.ts';

/** Most nodes drawn; a larger graph is cut to the neighbourhood of the current job. */
export const MAX_GRAPH_NODES = 150;

const NODE_W = 168;
const NODE_H = 46;
const COL_GAP = 64;
const ROW_GAP = 18;
const PAD = 12;

/** A positioned node. */
interface Placed {
  id: number;
  layer: number;
  row: number;
}

/**
 * Keep at most `max` nodes around `focus` (breadth-first over edges in both directions), so a huge
 * graph still draws the part that matters.
 */
export function neighbourhood(
  graph: JobGraph,
  focus: number,
  max = MAX_GRAPH_NODES,
): { nodes: Set<number>; cut: boolean } {
  if (graph.nodes.length <= max) return { nodes: new Set(graph.nodes.map((n) => n.id)), cut: false };
  const adj = new Map<number, number[]>();
  for (const [a, b] of graph.edges) {
    (adj.get(a) ?? adj.set(a, []).get(a)!).push(b);
    (adj.get(b) ?? adj.set(b, []).get(b)!).push(a);
  }
  const keep = new Set<number>([focus]);
  const queue = [focus];
  while (queue.length && keep.size < max) {
    const id = queue.shift()!;
    for (const next of adj.get(id) ?? []) {
      if (keep.size >= max) break;
      if (!keep.has(next)) {
        keep.add(next);
        queue.push(next);
      }
    }
  }
  return { nodes: keep, cut: true };
}

/** Layered layout: a node's column is its longest path from a root; rows ordered by parents' rows. */
export function layoutGraph(
  ids: readonly number[],
  edges: readonly (readonly [number, number])[],
): Map<number, Placed> {
  const idSet = new Set(ids);
  const parents = new Map<number, number[]>(ids.map((id) => [id, []]));
  const children = new Map<number, number[]>(ids.map((id) => [id, []]));
  for (const [p, c] of edges) {
    if (!idSet.has(p) || !idSet.has(c)) continue;
    parents.get(c)!.push(p);
    children.get(p)!.push(c);
  }
  // Kahn's order; nodes left over (a cycle cannot be stored, but be defensive) go last.
  const indeg = new Map(ids.map((id) => [id, parents.get(id)!.length]));
  const order: number[] = [];
  const ready = ids.filter((id) => indeg.get(id) === 0).sort((a, b) => a - b);
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const c of children.get(id)!) {
      const n = indeg.get(c)! - 1;
      indeg.set(c, n);
      if (n === 0) ready.push(c);
    }
  }
  for (const id of ids) if (!order.includes(id)) order.push(id);
  const layer = new Map<number, number>();
  for (const id of order) {
    const ps = parents.get(id)!.filter((p) => layer.has(p));
    layer.set(id, ps.length ? Math.max(...ps.map((p) => layer.get(p)!)) + 1 : 0);
  }
  const layers: number[][] = [];
  for (const id of order) (layers[layer.get(id)!] ??= []).push(id);
  const row = new Map<number, number>();
  for (const ids0 of layers) {
    if (!ids0) continue;
    const key = (id: number) => {
      const ps = parents.get(id)!.filter((p) => row.has(p));
      return ps.length ? ps.reduce((s, p) => s + row.get(p)!, 0) / ps.length : -1;
    };
    ids0.sort((a, b) => key(a) - key(b) || a - b);
    ids0.forEach((id, i) => row.set(id, i));
  }
  return new Map(ids.map((id) => [id, { id, layer: layer.get(id)!, row: row.get(id)! }]));
}

/** The dependency graph of `focus` as inline SVG: nodes coloured by state, linked to their job pages. */
export function graphSvg(ctx: ViewContext, graph: JobGraph, focus: number): Html {
  const { nodes: keep, cut } = neighbourhood(graph, focus);
  const nodes = graph.nodes.filter((n) => keep.has(n.id));
  const edges = graph.edges.filter(([p, c]) => keep.has(p) && keep.has(c));
  const placed = layoutGraph(
    nodes.map((n) => n.id),
    edges,
  );
  const layers = Math.max(0, ...[...placed.values()].map((p) => p.layer)) + 1;
  const rows = Math.max(0, ...[...placed.values()].map((p) => p.row)) + 1;
  const width = PAD * 2 + layers * NODE_W + (layers - 1) * COL_GAP;
  const height = PAD * 2 + rows * NODE_H + (rows - 1) * ROW_GAP;
  const x = (p: Placed) => PAD + p.layer * (NODE_W + COL_GAP);
  const y = (p: Placed) => PAD + p.row * (NODE_H + ROW_GAP);
  const edgeEls = edges.map(([pid, cid]) => {
    const p = placed.get(pid)!;
    const c = placed.get(cid)!;
    const x1 = x(p) + NODE_W;
    const y1 = y(p) + NODE_H / 2;
    const x2 = x(c) - 4;
    const y2 = y(c) + NODE_H / 2;
    const mid = (x1 + x2) / 2;
    return h`<path class="edge" d="M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}" fill="none" stroke="#8a94a6" stroke-width="1.5" marker-end="url(#arrow)"/>`;
  });
  const nodeEls = nodes.map((n) => {
    const p = placed.get(n.id)!;
    const colour = STATE_COLOURS[n.state as JobState] ?? STATE_COLOURS.pending;
    const isFocus = n.id === focus;
    return h`<a href="${href(ctx, `/jobs/${n.id}`)}" class="node" data-job="${n.id}" data-state="${n.state}">
<title>#${n.id} ${n.description} (${n.state})</title>
<rect x="${x(p)}" y="${y(p)}" width="${NODE_W}" height="${NODE_H}" rx="6" fill="${colour}" stroke="${isFocus ? '#1d2433' : colour}" stroke-width="${isFocus ? 3 : 1}"/>
<text x="${x(p) + 10}" y="${y(p) + 19}" fill="#fff" font-size="13" font-weight="600">#${n.id} ${truncate(n.method, 16)}</text>
<text x="${x(p) + 10}" y="${y(p) + 36}" fill="#fff" font-size="11">${n.state}${n.records.length ? ` · ${n.records.length} rec` : ''}</text>
</a>`;
  });
  return h`<figure class="graph">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="Dependency graph, ${nodes.length} jobs" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif">
<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#8a94a6"/></marker></defs>
${edgeEls}
${nodeEls}
</svg>
<figcaption>${graph.nodes.length} job${graph.nodes.length === 1 ? '' : 's'} in this graph${cut ? h` (showing the ${nodes.length} nearest to this job)` : nothing} ·
<a href="${href(ctx, '/jobs', { graph: graph.graphUuid })}">list them</a>
<span class="legend">${(['done', 'started', 'failed', 'pending'] as const).map((s) => h`<span class="swatch state-${s}"></span>${s === 'pending' ? 'other' : s} `)}</span></figcaption>
</figure>`;
}

/** One bar of the timeout chart. */
export interface ChartBucket {
  /** Label under the bar (`11-23`). */
  label: string;
  /** Hover text prefix (`2026-11-22 14:05 – 2026-11-23 14:05 UTC`). */
  title: string;
  /** Entries that stayed within their threshold. */
  within: number;
  /** Entries that exceeded it. */
  exceeded: number;
}

/** A stacked bar chart (within threshold / exceeded) over time buckets. */
export function timeoutChartSvg(buckets: readonly ChartBucket[], caption: string): Html {
  const W = 900;
  const H = 220;
  const left = 44;
  const bottom = 26;
  const top = 12;
  const plotH = H - bottom - top;
  const plotW = W - left - 12;
  const max = Math.max(1, ...buckets.map((b) => b.within + b.exceeded));
  const niceMax = niceCeil(max);
  const slot = buckets.length ? plotW / buckets.length : plotW;
  const barW = Math.max(2, Math.min(40, slot * 0.7));
  const scale = (v: number) => (v / niceMax) * plotH;
  const every = Math.max(1, Math.ceil(buckets.length / 12));
  const ticks = Number.isInteger(niceMax / 2) ? [0, niceMax / 2, niceMax] : [0, niceMax];
  const bars = buckets.map((b, i) => {
    const x = left + i * slot + (slot - barW) / 2;
    const hw = scale(b.within);
    const he = scale(b.exceeded);
    const base = top + plotH;
    return h`<g class="bar"><title>${b.title}: ${b.within + b.exceeded} entries, ${b.exceeded} exceeded</title>
<rect x="${x.toFixed(1)}" y="${(base - hw).toFixed(1)}" width="${barW.toFixed(1)}" height="${hw.toFixed(1)}" fill="#3f7fd9"/>
<rect class="exceeded" x="${x.toFixed(1)}" y="${(base - hw - he).toFixed(1)}" width="${barW.toFixed(1)}" height="${he.toFixed(1)}" fill="#d64545"/>
${i % every === 0 ? h`<text x="${(x + barW / 2).toFixed(1)}" y="${H - 8}" font-size="11" text-anchor="middle" fill="#5b6577">${b.label}</text>` : nothing}</g>`;
  });
  return h`<figure class="chart">
<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="${caption}" viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" font-family="system-ui, sans-serif" class="timeout-chart">
${ticks.map(
  (
    t,
  ) => h`<line x1="${left}" x2="${W - 12}" y1="${(top + plotH - scale(t)).toFixed(1)}" y2="${(top + plotH - scale(t)).toFixed(1)}" stroke="#e3e7ee"/>
<text x="${left - 6}" y="${(top + plotH - scale(t) + 4).toFixed(1)}" font-size="11" text-anchor="end" fill="#5b6577">${t}</text>`,
)}
${bars}
</svg>
<figcaption>${caption} <span class="legend"><span class="swatch within"></span>within threshold <span class="swatch exceeded"></span>exceeded</span></figcaption>
</figure>`;
}

function niceCeil(v: number): number {
  const exp = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * exp >= v) return m * exp;
  return 10 * exp;
}
