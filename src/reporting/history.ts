/**
 * The history trends are computed from (SPEC §7): a bounded ring of figures, not of reports. An entry
 * holds numbers only (base units: cores, bytes), for a bounded set of resources, clusters and quotas,
 * so the ring's memory is bounded by its parameters whatever the population. Timestamps are passed
 * in: the clock belongs to the caller.
 */
import { amountOf, type ResourceList } from '../quantity/index.js';
import type { Report } from './aggregate.js';
import { unitsOf, type Rates } from './figures.js';

/** How full one resource of one cluster (allocated vs limit) or one quota (used vs hard) is. */
export interface Level {
  readonly value: number;
  readonly limit: number;
}

/** The levels of one cluster (by name) or one quota (by key). */
export interface SeriesPoint {
  readonly key: string;
  readonly levels: Readonly<Record<string, Level>>;
}

/** Totals of the Ready clusters for one resource; `used` only when some Ready cluster reports usage. */
export interface TotalPoint {
  readonly allocated: number;
  readonly limit: number;
  readonly used?: number;
}

/** The figures of one aggregation, as the history keeps them. */
export interface HistoryEntry {
  readonly atMs: number;
  readonly totals: Readonly<Record<string, TotalPoint>>;
  readonly clusters: readonly SeriesPoint[];
  readonly quotas: readonly SeriesPoint[];
}

/** What an entry keeps of a report: at most this many clusters, quotas and resources of each. */
export interface FigureLimits {
  /** Clusters kept, and quotas kept, per entry: the fullest of each (default 100). */
  readonly maxSeries?: number;
  /** Resources kept per total, cluster or quota, in name order (default 16). */
  readonly maxResources?: number;
}

export const DEFAULT_MAX_SERIES = 100;
export const DEFAULT_MAX_RESOURCES = 16;

// Records are made with fromEntries, which defines own properties: a resource called `__proto__` stays a key.
function levels(value: ResourceList, limit: ResourceList, maxResources: number): Record<string, Level> {
  return Object.fromEntries(
    Object.keys(limit)
      .sort()
      .slice(0, maxResources)
      .map((name) => [name, { value: unitsOf(amountOf(value, name)), limit: unitsOf(amountOf(limit, name)) }]),
  );
}

const fullest = (rates: Rates): number => Math.max(0, ...Object.values(rates));

/**
 * The fullest `max` of many: time until full matters most for what is nearly full, and keeping them
 * all would make every entry as large as the population. Ties by key, so the choice is stable.
 */
function fullestSeries<T extends { key: string; rates: Rates }>(items: readonly T[], max: number): T[] {
  return items
    .map((item) => ({ item, score: fullest(item.rates) }))
    .sort((a, b) => b.score - a.score || (a.item.key < b.item.key ? -1 : a.item.key > b.item.key ? 1 : 0))
    .slice(0, max)
    .map(({ item }) => item);
}

function totalPoints(report: Report, maxResources: number): Record<string, TotalPoint> {
  const { allocated, limit, used } = report.totals;
  return Object.fromEntries(
    Object.keys(limit)
      .sort()
      .slice(0, maxResources)
      .map((name) => {
        const point = { allocated: unitsOf(amountOf(allocated, name)), limit: unitsOf(amountOf(limit, name)) };
        return [name, Object.hasOwn(used, name) ? { ...point, used: unitsOf(amountOf(used, name)) } : point];
      }),
  );
}

/** The figures of a report that the history keeps (see {@link FigureLimits}). */
export function historyEntry(report: Report, limits: FigureLimits = {}): HistoryEntry {
  const maxSeries = limits.maxSeries ?? DEFAULT_MAX_SERIES;
  const maxResources = limits.maxResources ?? DEFAULT_MAX_RESOURCES;
  const clusters = fullestSeries(report.clusters.map((c) => ({ key: c.name, rates: c.allocation, value: c.allocated, limit: c.limit })), maxSeries);
  const quotas = fullestSeries(report.quotas.map((q) => ({ key: q.key, rates: q.percent, value: q.used, limit: q.hard })), maxSeries);
  const series = (item: { key: string; value: ResourceList; limit: ResourceList }): SeriesPoint => ({ key: item.key, levels: levels(item.value, item.limit, maxResources) });
  return { atMs: report.atMs, totals: totalPoints(report, maxResources), clusters: clusters.map(series), quotas: quotas.map(series) };
}

/** How long and how many entries the history keeps. */
export interface HistoryOptions {
  /** Entries older than this before the newest are dropped (default 24 h). */
  readonly retentionMs?: number;
  /** At most this many entries (default 2880: 24 h at the default 30 s interval). */
  readonly maxEntries?: number;
}

export const DEFAULT_RETENTION_MS = 24 * 3_600_000;
export const DEFAULT_MAX_ENTRIES = 2880;

/**
 * A ring of {@link HistoryEntry}, oldest first, bounded by count and by age. Memory is at most
 * maxEntries × (resources + 2 × maxSeries × resources) levels, whatever the population.
 */
export class ReportHistory {
  readonly retentionMs: number;
  readonly maxEntries: number;
  private readonly ring: (HistoryEntry | undefined)[];
  private first = 0;
  private count = 0;

  constructor(options: HistoryOptions = {}) {
    this.retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
    this.maxEntries = options.maxEntries ?? DEFAULT_MAX_ENTRIES;
    if (!(this.retentionMs > 0)) throw new RangeError(`history retention must be above 0 ms, got ${this.retentionMs}`);
    if (!Number.isInteger(this.maxEntries) || this.maxEntries < 1) throw new RangeError(`history maxEntries must be an integer of at least 1, got ${this.maxEntries}`);
    this.ring = new Array<HistoryEntry | undefined>(this.maxEntries).fill(undefined);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Adds the newest entry and drops what is past retention or beyond the count. An entry older than
   * the newest one is refused (returns false): a clock that stepped back would bend every regression.
   */
  append(entry: HistoryEntry): boolean {
    const newest = this.at(this.count - 1);
    if (newest && entry.atMs < newest.atMs) return false;
    if (this.count === this.maxEntries) this.dropOldest();
    this.ring[(this.first + this.count) % this.maxEntries] = entry;
    this.count += 1;
    for (let oldest = this.at(0); oldest && entry.atMs - oldest.atMs > this.retentionMs; oldest = this.at(0)) this.dropOldest();
    return true;
  }

  /** The entries at or after `sinceMs`, oldest first (a copy: appending later does not change it). */
  entries(sinceMs = -Infinity): HistoryEntry[] {
    const kept: HistoryEntry[] = [];
    for (let i = 0; i < this.count; i++) {
      const entry = this.at(i);
      if (entry && entry.atMs >= sinceMs) kept.push(entry);
    }
    return kept;
  }

  private at(i: number): HistoryEntry | undefined {
    return i < 0 || i >= this.count ? undefined : this.ring[(this.first + i) % this.maxEntries];
  }

  private dropOldest(): void {
    // Cleared, so a dropped entry is garbage at once rather than when its slot is reused.
    this.ring[this.first] = undefined;
    this.first = (this.first + 1) % this.maxEntries;
    this.count -= 1;
  }
}
