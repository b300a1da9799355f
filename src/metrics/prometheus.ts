/**
 * The Prometheus text exposition format (version 0.0.4): label escaping and rendering of families.
 * @module
 */
import type { Labels, MetricFamily } from './families.ts';

function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

/** The `{k="v",…}` part of a sample line (empty without labels); also a stable key for a label set. */
export function formatLabels(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** The Prometheus text (version 0.0.4) of some families. */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`# HELP ${f.name} ${f.help}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples)
      lines.push(`${s.name ?? f.name}${formatLabels(s.labels)} ${Number.isFinite(s.value) ? s.value : 0}`);
  }
  return lines.join('\n') + '\n';
}
