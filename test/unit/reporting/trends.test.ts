import { describe, expect, it } from '@jest/globals';
import type { HistoryEntry } from '../../../src/reporting/history.js';
import { leastSquares, trendsOf, type Point } from '../../../src/reporting/trends.js';

const HOUR = 3_600_000;
const T0 = Date.parse('2026-11-23T00:00:00Z');
/** Points at these hours after T0 with these values. */
const series = (hours: number[], values: number[]): Point[] => hours.map((h, i) => ({ atMs: T0 + h * HOUR, value: values[i] ?? NaN }));

/** History entries with the cpu total, one cluster `a` and one quota `team-a/compute` following `values` against `limit`. */
function entries(hours: number[], values: number[], limit = 100): HistoryEntry[] {
  return series(hours, values).map(({ atMs, value }) => ({
    atMs,
    totals: { cpu: { allocated: value, limit } },
    clusters: [{ key: 'a', levels: { cpu: { value, limit } } }],
    quotas: [{ key: 'team-a/compute', levels: { cpu: { value, limit } } }],
  }));
}

/** Every number to 3 decimals: float sums are exact to far better than that. */
const rounded = (value: unknown): unknown => JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v)));

describe('leastSquares, by hand', () => {
  it.each([
    // y = 10 + 2t: slope 2/h; the line at the newest point (t = 3) is 16; a perfect fit.
    { name: 'straight line', hours: [0, 1, 2, 3], values: [10, 12, 14, 16], slope: 2, valueNow: 16, r2: 1 },
    // x from now: -3..0, mean -1.5; y mean 13. Sxx = 5, Sxy = 9, Syy = 18: slope 1.8, R² = 81 / 90 = 0.9,
    // line now = 13 + 1.8 x 1.5 = 15.7.
    { name: 'noise', hours: [0, 1, 2, 3], values: [10, 13, 13, 16], slope: 1.8, valueNow: 15.7, r2: 0.9 },
    { name: 'flat: no variance, no R²', hours: [0, 1, 2], values: [50, 50, 50], slope: 0, valueNow: 50, r2: null },
    { name: 'falling', hours: [0, 1, 2], values: [30, 20, 10], slope: -10, valueNow: 10, r2: 1 },
    // y = 1 + 3t sampled with gaps of 30 min, 4.5 h and 1 h: the real timestamps keep the slope exact.
    { name: 'clock gaps', hours: [0, 0.5, 5, 6], values: [1, 2.5, 16, 19], slope: 3, valueNow: 19, r2: 1 },
  ])('$name', ({ hours, values, slope, valueNow, r2 }) => {
    const points = series(hours, values);
    const fit = leastSquares(points, points.at(-1)?.atMs ?? 0);
    expect(fit?.slopePerHour).toBeCloseTo(slope, 10);
    expect(fit?.valueNow).toBeCloseTo(valueNow, 10);
    if (r2 === null) expect(fit?.r2).toBeNull();
    else expect(fit?.r2).toBeCloseTo(r2, 10);
  });

  it.each([
    { name: 'one point', points: series([0], [5]) },
    { name: 'two points at the same time', points: series([1, 1], [5, 6]) },
  ])('no line through $name', ({ points }) => {
    expect(leastSquares(points, T0)).toBeUndefined();
  });
});

describe('trendsOf', () => {
  it.each([
    {
      name: 'straight line up: 42 h until 100 (84 to go at 2 an hour)',
      hours: [0, 1, 2, 3],
      values: [10, 12, 14, 16],
      trend: { trusted: true, points: 4, latest: 16, direction: 'up', changePerHour: 2, forecast: 64 },
      untilFull: { state: 'filling', hours: 42, atMs: T0 + 45 * HOUR },
    },
    {
      name: 'noise: from the line, not the last point: (100 - 15.7) / 1.8 h',
      hours: [0, 1, 2, 3],
      values: [10, 13, 13, 16],
      trend: { trusted: true, points: 4, latest: 16, direction: 'up', changePerHour: 1.8, forecast: 15.7 + 1.8 * 24 },
      untilFull: { state: 'filling', hours: 84.3 / 1.8, atMs: T0 + (3 + 84.3 / 1.8) * HOUR },
    },
    { name: 'flat', hours: [0, 1, 2], values: [50, 50, 50], trend: { trusted: true, direction: 'flat', changePerHour: 0, forecast: 50 }, untilFull: { state: 'not-filling' } },
    // 0.05 an hour is under 0.1 % of the limit of 100 an hour.
    { name: 'rising slower than the threshold is flat', hours: [0, 1, 2], values: [50, 50.05, 50.1], trend: { trusted: true, direction: 'flat' }, untilFull: { state: 'not-filling' } },
    { name: 'falling', hours: [0, 1, 2], values: [30, 20, 10], trend: { trusted: true, direction: 'down', changePerHour: -10, forecast: -230 }, untilFull: { state: 'not-filling' } },
    { name: 'one point: too short to trust', hours: [0], values: [10], trend: { trusted: false, points: 1, latest: 10 }, untilFull: { state: 'too-short' } },
    { name: 'two points: still too short (two points always make a perfect line)', hours: [0, 1], values: [10, 20], trend: { trusted: false, points: 2, latest: 20 }, untilFull: { state: 'too-short' } },
    { name: 'at the limit already: full', hours: [0, 1, 2], values: [80, 90, 100], trend: { trusted: true, direction: 'up' }, untilFull: { state: 'full' } },
    {
      name: 'clock gaps: y = 1 + 3t, 27 h from 19 to 100',
      hours: [0, 0.5, 5, 6],
      values: [1, 2.5, 16, 19],
      trend: { trusted: true, direction: 'up', changePerHour: 3 },
      untilFull: { state: 'filling', hours: 27, atMs: T0 + 33 * HOUR },
    },
  ])('$name', ({ hours, values, trend, untilFull }) => {
    const trends = trendsOf(entries(hours, values));
    const [total] = trends.resources;
    const [cluster] = trends.clusters;
    const [quota] = trends.quotas;
    for (const [got, full] of [[total?.allocated, total?.untilFull], [cluster?.trend, cluster?.untilFull], [quota?.trend, quota?.untilFull]] as const) {
      for (const [field, value] of Object.entries(trend)) {
        if (typeof value === 'number') expect((got as Record<string, unknown>)[field]).toBeCloseTo(value, 9);
        else expect((got as Record<string, unknown>)[field]).toBe(value);
      }
      expect(rounded(full)).toEqual(rounded(untilFull));
    }
  });

  it('the window, the horizon and the count of points', () => {
    const trends = trendsOf(entries([0, 1, 2.5], [1, 2, 3]), { horizonMs: HOUR });
    expect([trends.atMs, trends.windowMs, trends.points, trends.horizonMs]).toEqual([T0 + 2.5 * HOUR, 2.5 * HOUR, 3, HOUR]);
    expect(trends.resources[0]?.allocated).toMatchObject({ trusted: true });
  });

  it('no history: nothing to say', () => {
    expect(trendsOf([])).toEqual({ atMs: 0, windowMs: 0, points: 0, horizonMs: 24 * HOUR, resources: [], clusters: [], quotas: [] });
  });

  it('a series counts only the entries that kept it, and only series of the newest entry are reported', () => {
    const history = entries([0, 1, 2, 3], [10, 20, 30, 40]).map((entry, i) => ({
      ...entry,
      // Cluster `a` dropped out of the fullest at the second entry; `b` was kept only in the first.
      clusters: i === 1 ? [] : i === 0 ? [...entry.clusters, { key: 'b', levels: { cpu: { value: 1, limit: 100 } } }] : entry.clusters,
    }));
    const trends = trendsOf(history);
    expect(trends.clusters.map((c) => [c.key, c.trend.points])).toEqual([['a', 3]]);
  });

  it('the used total gets a trend when the newest entry has one; until-full follows allocation', () => {
    const history = entries([0, 1, 2], [10, 20, 30]).map((entry, i) => ({ ...entry, totals: { cpu: { allocated: 10, limit: 100, used: 5 * (i + 1) } } }));
    const [cpu] = trendsOf(history).resources;
    expect(cpu?.used).toMatchObject({ trusted: true, direction: 'up', latest: 15 });
    expect(cpu?.allocated).toMatchObject({ direction: 'flat' });
    expect(cpu?.untilFull).toEqual({ state: 'not-filling' });
  });
});
