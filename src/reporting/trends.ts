/**
 * Trends (SPEC §7): a least-squares line through each series of the history, its direction, change
 * per hour, R², a forecast, and when the line reaches the limit. Pure; numbers in base units.
 */
import type { HistoryEntry, Level } from './history.js';

const HOUR_MS = 3_600_000;

/** One observation of a series. */
export interface Point {
  readonly atMs: number;
  readonly value: number;
}

/** The least-squares line y = valueNow + slopePerHour × (hours from nowMs). */
export interface Fit {
  readonly slopePerHour: number;
  /** The line's value at nowMs (the newest point's time). */
  readonly valueNow: number;
  /** 1 − SSres / SStot; null when every value is the same (there is no variance to explain). */
  readonly r2: number | null;
}

/**
 * Ordinary least squares over (hours since nowMs, value). Time is taken relative to the newest point
 * so the sums stay small and exact enough; irregular spacing (a gap in the clock) is fine, as the
 * line is fitted to the real timestamps. Undefined with fewer than two distinct times.
 */
export function leastSquares(points: readonly Point[], nowMs: number): Fit | undefined {
  const n = points.length;
  if (n < 2) return undefined;
  let sumX = 0;
  let sumY = 0;
  for (const p of points) {
    sumX += (p.atMs - nowMs) / HOUR_MS;
    sumY += p.value;
  }
  const meanX = sumX / n;
  const meanY = sumY / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = (p.atMs - nowMs) / HOUR_MS - meanX;
    const dy = p.value - meanY;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) return undefined;
  const slopePerHour = sxy / sxx;
  // SSres = Syy − Sxy² / Sxx for the least-squares line, so R² = Sxy² / (Sxx · Syy).
  return { slopePerHour, valueNow: meanY - slopePerHour * meanX, r2: syy === 0 ? null : (sxy * sxy) / (sxx * syy) };
}

export type Direction = 'up' | 'down' | 'flat';

/** A series' trend, or that there are too few points to trust one. */
export type Trend =
  | { readonly trusted: false; readonly points: number; readonly latest: number }
  | {
      readonly trusted: true;
      readonly points: number;
      readonly latest: number;
      readonly direction: Direction;
      readonly changePerHour: number;
      readonly r2: number | null;
      /** The line's value at nowMs (the newest point may sit off it). */
      readonly valueNow: number;
      /** The line's value at nowMs + horizon. */
      readonly forecast: number;
    };

/** When a series reaches its limit along its line. */
export type UntilFull =
  | { readonly state: 'too-short' }
  | { readonly state: 'full' }
  | { readonly state: 'not-filling' }
  | { readonly state: 'filling'; readonly hours: number; readonly atMs: number };

export interface TrendOptions {
  /** How far ahead `forecast` looks (default 24 h). */
  readonly horizonMs?: number;
  /** A change per hour below this fraction of the limit is flat (default 0.001: 0.1 % of the limit an hour). */
  readonly flatFractionPerHour?: number;
  /** Fewer points than this are too short to trust (default 3: two points always make a perfect line). */
  readonly minPoints?: number;
}

interface Settings {
  readonly nowMs: number;
  readonly horizonHours: number;
  readonly flatFraction: number;
  readonly minPoints: number;
}

/**
 * Flat when the change per hour is below `flatFraction` of the limit; with no limit, of the latest
 * value; with neither, only an exactly level line is flat.
 */
function directionOf(slopePerHour: number, limit: number, latest: number, flatFraction: number): Direction {
  const reference = limit > 0 ? limit : Math.abs(latest);
  if (Math.abs(slopePerHour) <= flatFraction * reference) return 'flat';
  return slopePerHour > 0 ? 'up' : 'down';
}

function trendOf(points: readonly Point[], limit: number, settings: Settings): Trend {
  const latest = points.at(-1)?.value ?? 0;
  const fit = points.length >= settings.minPoints ? leastSquares(points, settings.nowMs) : undefined;
  if (!fit) return { trusted: false, points: points.length, latest };
  return {
    trusted: true,
    points: points.length,
    latest,
    direction: directionOf(fit.slopePerHour, limit, latest, settings.flatFraction),
    changePerHour: fit.slopePerHour,
    r2: fit.r2,
    valueNow: fit.valueNow,
    forecast: fit.valueNow + fit.slopePerHour * settings.horizonHours,
  };
}

/**
 * Hours until the line reaches the limit, from the line's value now (not the last, noisy point);
 * none when flat or falling; full when the latest value has reached the limit already.
 */
function untilFullOf(trend: Trend, limit: number, nowMs: number): UntilFull {
  if (!trend.trusted) return { state: 'too-short' };
  if (trend.latest >= limit) return { state: 'full' };
  if (trend.direction !== 'up') return { state: 'not-filling' };
  const hours = Math.max(0, (limit - trend.valueNow) / trend.changePerHour);
  return { state: 'filling', hours, atMs: nowMs + hours * HOUR_MS };
}

/** A resource of the Ready totals. */
export interface ResourceTrend {
  readonly resource: string;
  readonly limit: number;
  readonly allocated: Trend;
  /** Reported usage; undefined when no Ready cluster reported any in the newest entry. */
  readonly used: Trend | undefined;
  /** When allocation reaches the Ready clusters' limit. */
  readonly untilFull: UntilFull;
}

/** One resource of one cluster (allocated vs limit) or quota (used vs hard). */
export interface SeriesTrend {
  readonly key: string;
  readonly resource: string;
  readonly limit: number;
  readonly trend: Trend;
  readonly untilFull: UntilFull;
}

export interface Trends {
  readonly atMs: number;
  /** From the oldest entry to the newest. */
  readonly windowMs: number;
  readonly points: number;
  readonly horizonMs: number;
  readonly resources: readonly ResourceTrend[];
  readonly clusters: readonly SeriesTrend[];
  readonly quotas: readonly SeriesTrend[];
}

function resourceTrends(entries: readonly HistoryEntry[], newest: HistoryEntry, settings: Settings): ResourceTrend[] {
  return Object.keys(newest.totals)
    .sort()
    .map((resource) => {
      const allocated: Point[] = [];
      const used: Point[] = [];
      for (const { atMs, totals } of entries) {
        const total = totals[resource];
        if (total) allocated.push({ atMs, value: total.allocated });
        if (total?.used !== undefined) used.push({ atMs, value: total.used });
      }
      const limit = newest.totals[resource]?.limit ?? 0;
      const hasUsed = newest.totals[resource]?.used !== undefined;
      const trend = trendOf(allocated, limit, settings);
      return { resource, limit, allocated: trend, used: hasUsed ? trendOf(used, limit, settings) : undefined, untilFull: untilFullOf(trend, limit, settings.nowMs) };
    });
}

type SeriesOf = (entry: HistoryEntry) => readonly { readonly key: string; readonly levels: Readonly<Record<string, Level>> }[];

/** Per key and resource of the newest entry, its points across the history and the newest limit. */
function seriesTrends(entries: readonly HistoryEntry[], newest: HistoryEntry, pick: SeriesOf, settings: Settings): SeriesTrend[] {
  const points = new Map<string, Map<string, Point[]>>(pick(newest).map((s) => [s.key, new Map(Object.keys(s.levels).map((r) => [r, []]))]));
  for (const entry of entries) {
    for (const series of pick(entry)) {
      const byResource = points.get(series.key);
      for (const [resource, level] of Object.entries(series.levels)) byResource?.get(resource)?.push({ atMs: entry.atMs, value: level.value });
    }
  }
  return pick(newest).flatMap((s) =>
    Object.keys(s.levels)
      .sort()
      .map((resource) => {
        const limit = s.levels[resource]?.limit ?? 0;
        const series = points.get(s.key)?.get(resource) ?? [];
        const trend = trendOf(series, limit, settings);
        return { key: s.key, resource, limit, trend, untilFull: untilFullOf(trend, limit, settings.nowMs) };
      }),
  );
}

/**
 * Trends over `entries` (oldest first, as {@link ReportHistory.entries} gives them), judged at the
 * newest entry's time, for every total resource and every cluster and quota the newest entry keeps.
 */
export function trendsOf(entries: readonly HistoryEntry[], options: TrendOptions = {}): Trends {
  const newest = entries.at(-1);
  const horizonMs = options.horizonMs ?? 24 * HOUR_MS;
  const atMs = newest?.atMs ?? 0;
  if (!newest) return { atMs, windowMs: 0, points: 0, horizonMs, resources: [], clusters: [], quotas: [] };
  const settings: Settings = { nowMs: atMs, horizonHours: horizonMs / HOUR_MS, flatFraction: options.flatFractionPerHour ?? 0.001, minPoints: options.minPoints ?? 3 };
  return {
    atMs,
    windowMs: atMs - (entries[0]?.atMs ?? atMs),
    points: entries.length,
    horizonMs,
    resources: resourceTrends(entries, newest, settings),
    clusters: seriesTrends(entries, newest, (e) => e.clusters, settings),
    quotas: seriesTrends(entries, newest, (e) => e.quotas, settings),
  };
}
