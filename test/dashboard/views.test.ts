/**
 * Unit tests of the dashboard's pure parts: graph layout, chart buckets, the timeout pivot, query
 * parsing, formatting and escaping.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobGraph } from '../../src/drivers/driver.ts';
import { jobFilter, parseDateParam, parseIds, parseJobsQuery } from '../../src/dashboard/query.ts';
import { fmtBytes, fmtDuration, h, relative, type ViewContext } from '../../src/dashboard/views/html.ts';
import { graphSvg, layoutGraph, neighbourhood, timeoutChartSvg } from '../../src/dashboard/views/svg.ts';
import { dailyBuckets, pivotFromStatistics } from '../../src/dashboard/views/timeouts.ts';

const ctx: ViewContext = {
  base: '',
  csrf: 't',
  readOnly: false,
  refreshSeconds: 2,
  now: Date.UTC(2026, 10, 23, 12),
  title: 'Conveyor',
  timeZone: 'UTC',
};

function graph(n: number, edges: [number, number][]): JobGraph {
  return {
    graphUuid: 'g-1',
    nodes: Array.from({ length: n }, (_, i) => ({
      id: i + 1,
      uuid: `u${i + 1}`,
      model: 'm',
      method: `step${i + 1}`,
      description: `Step <${i + 1}>`,
      state: i === 0 ? 'done' : 'pending',
      records: [],
    })),
    edges,
  };
}

describe('graph layout', () => {
  it('puts each node one column after its deepest parent and orders rows by parents', () => {
    // 1 → 2 → 4, 1 → 3 → 4, 3 → 5
    const placed = layoutGraph(
      [1, 2, 3, 4, 5],
      [
        [1, 2],
        [1, 3],
        [2, 4],
        [3, 4],
        [3, 5],
      ],
    );
    assert.deepEqual(
      [...placed.values()].map((p) => [p.id, p.layer]),
      [
        [1, 0],
        [2, 1],
        [3, 1],
        [4, 2],
        [5, 2],
      ],
    );
    assert.notEqual(placed.get(2)!.row, placed.get(3)!.row);
    assert.notEqual(placed.get(4)!.row, placed.get(5)!.row);
  });

  it('keeps the neighbourhood of the current job when a graph is too large to draw', () => {
    const edges: [number, number][] = Array.from({ length: 399 }, (_, i) => [i + 1, i + 2]);
    const { nodes, cut } = neighbourhood(graph(400, edges), 200, 21);
    assert.ok(cut);
    assert.equal(nodes.size, 21);
    for (let id = 190; id <= 210; id++) assert.ok(nodes.has(id), `node ${id}`);
    const svg = graphSvg(ctx, graph(400, edges), 200).toString();
    assert.match(svg, /400 jobs in this graph \(showing the 150 nearest to this job\)/);
  });

  it('draws escaped, linked, coloured nodes', () => {
    const svg = graphSvg(ctx, graph(2, [[1, 2]]), 2).toString();
    assert.match(svg, /<a href="\/jobs\/1" class="node" data-job="1" data-state="done">/);
    assert.match(svg, /<title>#2 Step &lt;2&gt; \(pending\)<\/title>/);
    assert.match(svg, /fill="#2e9e5b"/);
    assert.match(svg, /stroke-width="3"/, 'current job outlined');
    assert.equal((svg.match(/class="edge"/g) ?? []).length, 1);
  });
});

describe('timeout chart and pivot', () => {
  it('buckets entries per 24 hours ending now, the window of the statistics (at >= now - 7 d)', () => {
    const now = Date.UTC(2026, 10, 23, 12);
    const D = 86_400_000;
    const buckets = dailyBuckets(
      [
        { at: now, exceeded: true },
        { at: now - 1000, exceeded: false },
        { at: now - 2 * D, exceeded: true },
        { at: now - 7 * D, exceeded: true },
        { at: now - 7 * D - 1, exceeded: true },
        { at: now + D, exceeded: false },
      ],
      now,
      7,
    );
    assert.equal(buckets.length, 7);
    assert.deepEqual(
      buckets.at(-1),
      { label: '11-23', title: '2026-11-22 12:00 – 2026-11-23 12:00 UTC', within: 2, exceeded: 1 },
      'a later (skewed) entry is in the newest bar',
    );
    assert.deepEqual(
      buckets.at(-2),
      { label: '11-22', title: '2026-11-21 12:00 – 2026-11-22 12:00 UTC', within: 0, exceeded: 1 },
      'a bar starts at its boundary',
    );
    assert.deepEqual(
      buckets[0],
      { label: '11-17', title: '2026-11-16 12:00 – 2026-11-17 12:00 UTC', within: 0, exceeded: 1 },
      'the window starts at now - 7 d, included',
    );
    assert.equal(
      buckets.reduce((s, b) => s + b.within + b.exceeded, 0),
      5,
      'before the window: dropped',
    );
    const svg = timeoutChartSvg(buckets, 'cap <x>').toString();
    assert.equal((svg.match(/<g class="bar">/g) ?? []).length, 7);
    assert.match(svg, /aria-label="cap &lt;x&gt;"/);
  });

  it('splits model.method keys using the model names, dots included', () => {
    const pivot = pivotFromStatistics({
      totalCount: 4,
      exceededCount: 2,
      avgDurationMs: 10,
      byModel: {
        'res.partner': { count: 3, exceeded: 2, avgDurationMs: 10 },
        '(none)': { count: 1, exceeded: 0, avgDurationMs: 5 },
      },
      byMethod: {
        'res.partner.sendNewsletter': { count: 2, exceeded: 2, avgDurationMs: 12 },
        'res.partner.sync.all': { count: 1, exceeded: 0, avgDurationMs: 6 },
        '(none)': { count: 1, exceeded: 0, avgDurationMs: 5 },
      },
    });
    assert.deepEqual([...pivot.keys()], ['(none)', 'res.partner']);
    assert.deepEqual([...pivot.get('res.partner')!.keys()], ['sendNewsletter', 'sync.all']);
    assert.deepEqual([...pivot.get('(none)')!.keys()], ['(none)']);
  });
});

describe('query parsing', () => {
  it('keeps known values, drops unknown ones and clamps', () => {
    const q = parseJobsQuery({
      state: 'failed',
      sort: 'priority',
      dir: 'asc',
      limit: '9999',
      groupBy: 'model',
      channel: '  root.mail ',
      text: '',
    });
    assert.equal(q.state, 'failed');
    assert.equal(q.sort, 'priority');
    assert.equal(q.dir, 'asc');
    assert.equal(q.limit, 500);
    assert.equal(q.groupBy, 'model');
    assert.equal(q.channel, 'root.mail');
    assert.equal(q.text, undefined);
    const bad = parseJobsQuery({
      state: 'exploded',
      sort: 'DROP TABLE',
      dir: 'sideways',
      limit: '-3',
      groupBy: 'args',
      from: 'yesterday',
    });
    assert.deepEqual(
      [bad.state, bad.sort, bad.dir, bad.limit, bad.groupBy, bad.from],
      [undefined, 'id', 'desc', 5, undefined, undefined],
    );
  });

  it('reads dates as UTC; a day alone covers the whole day', () => {
    assert.equal(parseDateParam('2026-11-23', false), Date.UTC(2026, 10, 23));
    assert.equal(parseDateParam('2026-11-23', true), Date.UTC(2026, 10, 24));
    assert.equal(parseDateParam('2026-11-23T10:30', true), Date.UTC(2026, 10, 23, 10, 30));
    assert.equal(parseDateParam('23/11/2026', false), undefined);
    const f = jobFilter(parseJobsQuery({ from: '2026-11-01', to: '2026-11-30', state: 'done' }), false);
    assert.deepEqual([f.createdFrom, f.createdTo, f.state], [Date.UTC(2026, 10, 1), Date.UTC(2026, 11, 1), undefined]);
  });

  it('reads job ids from forms', () => {
    assert.deepEqual(parseIds(['1', '2,3', 'x', '-4', '2', '1.5', '9007199254740993']), [1, 2, 3]);
    assert.equal(parseIds(Array.from({ length: 2000 }, (_, i) => String(i + 1))).length, 1000);
  });
});

describe('formatting', () => {
  it('formats durations, sizes and relative times', () => {
    assert.equal(fmtDuration(850), '850 ms');
    assert.equal(fmtDuration(12_345), '12.3 s');
    assert.equal(fmtDuration(245_000), '4 min 5 s');
    assert.equal(fmtDuration(2 * 3_600_000 + 600_000), '2 h 10 min');
    assert.equal(fmtDuration(null), '');
    assert.equal(fmtBytes(50 * 1024 * 1024), '50.0 MB');
    assert.equal(relative(1000, 1000 + 300), 'now');
    assert.equal(relative(100_000, 40_000), '1 min ago');
    assert.equal(relative(0, 4 * 60_000), 'in 4 min');
  });

  it('escapes every interpolated value', () => {
    assert.equal(h`<p title="${'"x\''}">${'<b>&'}</p>`.toString(), '<p title="&quot;x&#39;">&lt;b&gt;&amp;</p>');
  });
});
