// Statistics helpers.

/** Percentile by linear interpolation between closest ranks (p in [0,100]) of a sorted array. */
export function percentile(sorted, p) {
  if (!sorted.length) return null;
  if (sorted.length === 1) return sorted[0];
  const idx = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(idx);
  const hi = Math.ceil(idx);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (idx - lo);
}

/** Summary of a sample of latencies (ms); non-finite values are ignored. */
export function latencySummary(values) {
  const v = Array.from(values)
    .filter((x) => Number.isFinite(x))
    .sort((a, b) => a - b);
  if (!v.length) return { n: 0 };
  const sum = v.reduce((a, b) => a + b, 0);
  return {
    n: v.length,
    mean: round(sum / v.length),
    min: round(v[0]),
    p50: round(percentile(v, 50)),
    p95: round(percentile(v, 95)),
    p99: round(percentile(v, 99)),
    max: round(v[v.length - 1]),
  };
}

/** Median and spread of repeated measurements: spreadPct = (max - min) / median in %. */
export function repeatSummary(values) {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return { n: 0, median: null, min: null, max: null, spreadPct: null };
  const median = percentile(v, 50);
  return {
    n: v.length,
    median: round(median),
    min: round(v[0]),
    max: round(v[v.length - 1]),
    spreadPct: median ? round(((v[v.length - 1] - v[0]) / median) * 100, 1) : null,
  };
}

export function round(x, digits = 2) {
  if (x === null || x === undefined || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
