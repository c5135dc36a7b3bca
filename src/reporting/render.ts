/**
 * Renderers (SPEC §7): the summary a person reads in a terminal, JSON for scripts, CSV for
 * spreadsheets. Pure functions of a report and its trends; docs/reports.md documents every field.
 */
import { amountOf, formatForHumans, formatQuantity, type Quantity, type QuantityFormat, type ResourceList } from '../quantity/index.js';
import type { ClusterFigures, QuotaFigures, Report } from './aggregate.js';
import type { Rates } from './figures.js';
import type { HistoryEntry } from './history.js';
import type { Trend, Trends, UntilFull } from './trends.js';

const NANO = 1_000_000_000n;

/** Exact base units as a decimal string (`1.5`, `17179869184`, `-0.001`): what a spreadsheet sums. */
export function baseUnits(q: Quantity): string {
  const magnitude = q.nanos < 0n ? -q.nanos : q.nanos;
  const fraction = (magnitude % NANO).toString().padStart(9, '0').replace(/0+$/, '');
  return `${q.nanos < 0n ? '-' : ''}${magnitude / NANO}${fraction ? `.${fraction}` : ''}`;
}

const isQuantity = (value: unknown): value is Quantity => typeof value === 'object' && value !== null && typeof (value as { nanos?: unknown }).nanos === 'bigint';

/** Every quantity becomes `{ quantity: "<Kubernetes string>", value: <base units> }`. */
function jsonValue(_key: string, value: unknown): unknown {
  return isQuantity(value) ? { quantity: formatQuantity(value), value: Number(value.nanos) / 1e9 } : value;
}

/** The report and its trends as one JSON document; field names are the report's own (docs/reports.md). */
export function renderJson(report: Report, trends: Trends): string {
  return JSON.stringify({ at: new Date(report.atMs).toISOString(), ...report, trends }, jsonValue, 2);
}

/** The history's entries as JSON (numbers in base units, times as RFC 3339 alongside epoch ms). */
export function renderHistoryJson(entries: readonly HistoryEntry[]): string {
  return JSON.stringify({ entries: entries.map((entry) => ({ at: new Date(entry.atMs).toISOString(), ...entry })) }, undefined, 2);
}

/** Well-known resources first, then the rest by name: the order columns and tables use. */
function resourceOrder(names: Iterable<string>): string[] {
  const known = ['cpu', 'memory', 'storage', 'pods'];
  const all = new Set(names);
  return [...known.filter((name) => all.has(name)), ...[...all].filter((name) => !known.includes(name)).sort()];
}

const CLUSTER_LISTS = ['capacity', 'allocatable', 'limit', 'allocated', 'used', 'available'] as const;

/** RFC 4180: a field with a comma, a quote or a line break is quoted, quotes doubled. */
const csvField = (text: string): string => (/[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);
const rateCell = (rates: Rates, name: string): string => (Object.hasOwn(rates, name) ? String(rates[name]) : '');

function clusterRow(cluster: ClusterFigures, resources: readonly string[]): string[] {
  const { health, nodes } = cluster;
  const head = [cluster.name, cluster.location, health.status, String(health.ready), String(health.schedulable), health.reason, nodes ? String(nodes.total) : '', nodes ? String(nodes.ready) : '', String(cluster.placementCount)];
  const perResource = resources.flatMap((name) => [
    ...CLUSTER_LISTS.map((field) => {
      const list = cluster[field];
      // Nothing allocated is a figure, zero; a resource a cluster does not report is not.
      if (field === 'allocated' || (list && Object.hasOwn(list, name))) return baseUnits(amountOf(list ?? {}, name));
      return '';
    }),
    rateCell(cluster.allocation, name),
    rateCell(cluster.utilization, name),
  ]);
  return [...head, ...perResource];
}

/**
 * One row per cluster (by name) after a header row, CRLF line ends (RFC 4180). Per resource, in base
 * units: capacity, allocatable, limit, allocated, used, available, then the allocation and utilization
 * rates (fractions); a cell is empty where the cluster has no such figure.
 */
export function renderCsv(report: Report): string {
  const resources = resourceOrder(report.clusters.flatMap((c) => CLUSTER_LISTS.flatMap((field) => Object.keys(c[field] ?? {}))));
  const header = [
    'cluster', 'location', 'health', 'ready', 'schedulable', 'reason', 'nodes_total', 'nodes_ready', 'placements',
    ...resources.flatMap((name) => [...CLUSTER_LISTS, 'allocation', 'utilization'].map((field) => `${name}_${field}`)),
  ];
  return [header, ...report.clusters.map((cluster) => clusterRow(cluster, resources))].map((row) => `${row.map(csvField).join(',')}\r\n`).join('');
}

/** How the summary is laid out. */
export interface SummaryOptions {
  /** Rows per table at most (default 20); the rest is counted. */
  readonly rows?: number;
  /** A quota at or above this percentage of a hard limit is near it (default 80). */
  readonly nearPercent?: number;
}

const percent = (fraction: number | undefined): string => {
  if (fraction === undefined || !Number.isFinite(fraction)) return '-';
  const p = fraction * 100;
  return `${p < 10 ? p.toFixed(1) : p.toFixed(0)}%`;
};

/** `-` where there is no list (usage not reported); a resource missing from a list is zero. */
const human = (list: ResourceList | undefined, name: string): string => (list ? formatForHumans(amountOf(list, name)) : '-');

/** A base-unit number, shown as the resource's quantities are (`1.5Gi`, `250m`), for trends. */
function humanNumber(value: number, format: QuantityFormat): string {
  if (!Number.isFinite(value)) return '-';
  return formatForHumans({ nanos: BigInt(Math.round(value * 1e6)) * 1000n, format });
}

/** Columns padded to their widest cell, two spaces apart. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), ...rows.map(line)];
}

/** The first `rows` of a table, and how many were left out. */
function capped<T>(items: readonly T[], rows: number): { shown: readonly T[]; more: string[] } {
  const left = items.length - rows;
  return { shown: items.slice(0, rows), more: left > 0 ? [`… and ${left} more`] : [] };
}

/** The fullest resource of some rates, and how full. */
function fullest(rates: Rates): { name: string; rate: number } | undefined {
  let best: { name: string; rate: number } | undefined;
  for (const name of Object.keys(rates)) if (!best || (rates[name] as number) > best.rate) best = { name, rate: rates[name] as number };
  return best;
}

const fullestText = (rates: Rates, scale = 1): string => {
  const top = fullest(rates);
  return top ? `${percent(top.rate / scale)} ${top.name}` : '-';
};

function headline(report: Report): string[] {
  const { totals, clusters, quotas } = report;
  const stale = clusters.filter((c) => c.health.status === 'StaleHeartbeat').length;
  const notReady = clusters.length - totals.readyClusters - stale;
  return [
    `placement-quota report at ${new Date(report.atMs).toISOString()}`,
    `${clusters.length} clusters: ${totals.readyClusters} Ready (${totals.schedulableClusters} schedulable), ${notReady} NotReady, ${stale} stale heartbeat; ` +
      `${totals.placementCount} placement copies on Ready clusters; ${quotas.length} quotas`,
  ];
}

function totalsSection(report: Report): string[] {
  const { totals, spread } = report;
  const rows = resourceOrder(Object.keys(totals.limit)).map((name) => {
    const s = spread.allocation[name];
    const used = Object.keys(totals.used).length > 0 ? totals.used : undefined;
    return [name, human(totals.limit, name), human(totals.allocated, name), human(totals.available, name), percent(totals.allocation[name]), human(used, name), percent(totals.utilization[name]), percent(s?.p50), percent(s?.p95), percent(s?.max)];
  });
  return ['', 'READY CLUSTERS IN TOTAL (allocation p50 / p95 / max across all clusters)', ...table(['RESOURCE', 'LIMIT', 'ALLOCATED', 'AVAILABLE', 'ALLOCATION', 'USED', 'UTILIZATION', 'P50', 'P95', 'MAX'], rows)];
}

const maxRate = (rates: Rates): number => fullest(rates)?.rate ?? -1;

function clustersSection(report: Report, rows: number): string[] {
  const shownResources = resourceOrder(Object.keys(report.totals.limit)).slice(0, 2);
  const sorted = [...report.clusters].sort((a, b) => maxRate(b.allocation) - maxRate(a.allocation) || (a.name < b.name ? -1 : 1));
  const { shown, more } = capped(sorted, rows);
  const header = ['CLUSTER', 'LOCATION', 'HEALTH', 'PLACEMENTS', ...shownResources.map((name) => `${name.toUpperCase()} ALLOCATED/LIMIT`), 'FULLEST'];
  const lines = shown.map((c) => [
    c.name,
    c.location,
    c.health.status,
    String(c.placementCount),
    ...shownResources.map((name) => `${human(c.allocated, name)}/${human(c.limit, name)}`),
    fullestText(c.allocation),
  ]);
  const reasons = shown.filter((c) => c.health.reason).map((c) => `  ${c.name} ${c.health.reason}`);
  return ['', 'CLUSTERS BY ALLOCATION (allocated / allocatable x overcommit)', ...table(header, lines), ...more, ...reasons];
}

function utilizedSection(report: Report, rows: number): string[] {
  const reporting = report.clusters.filter((c) => Object.keys(c.utilization).length > 0);
  if (reporting.length === 0) return ['', 'TOP UTILIZED (used / allocatable)', 'no cluster reports usage (status.used)'];
  const sorted = [...reporting].sort((a, b) => maxRate(b.utilization) - maxRate(a.utilization) || (a.name < b.name ? -1 : 1));
  const { shown, more } = capped(sorted, rows);
  return ['', 'TOP UTILIZED (used / allocatable)', ...table(['CLUSTER', 'LOCATION', 'UTILIZATION', 'ALLOCATION'], shown.map((c) => [c.name, c.location, fullestText(c.utilization), fullestText(c.allocation)])), ...more];
}

function quotaNote(quota: QuotaFigures, nearPercent: number): string {
  if (quota.exceeded.length > 0) return `over hard: ${quota.exceeded.join(', ')}`;
  if (quota.overSoft.length > 0) return `over soft: ${quota.overSoft.join(', ')}`;
  return (fullest(quota.percent)?.rate ?? 0) >= nearPercent ? 'near hard' : '';
}

function quotasSection(report: Report, options: Required<SummaryOptions>): string[] {
  const sorted = [...report.quotas].sort((a, b) => maxRate(b.percent) - maxRate(a.percent) || (a.key < b.key ? -1 : 1));
  const { shown, more } = capped(sorted, options.rows);
  const near = report.quotas.filter((q) => quotaNote(q, options.nearPercent) !== '').length;
  const lines = shown.map((q) => [
    q.name ? q.key : `${q.workspace} (default)`,
    q.phase,
    fullestText(q.percent, 100),
    resourceOrder(Object.keys(q.hard)).map((name) => `${name} ${human(q.used, name)}/${human(q.hard, name)}`).join(', '),
    String(q.placementCount),
    String(q.clusters.length),
    quotaNote(q, options.nearPercent),
  ]);
  return ['', `WORKSPACE QUOTAS, FULLEST FIRST (${near} near or over their limits, near: >= ${options.nearPercent}% of hard)`, ...table(['QUOTA', 'PHASE', 'FULLEST', 'USED/HARD', 'PLACEMENTS', 'CLUSTERS', 'NOTE'], lines), ...more];
}

function oversubscriptionLines(report: Report): string[] {
  return report.findings.oversubscription.map((f) => {
    const promised = formatForHumans(f.promised);
    if (f.ratio === null) return `oversubscription: quotas promise ${promised} ${f.resource}, and no Ready cluster has any`;
    return `oversubscription: quotas promise ${f.ratio.toFixed(2)}x the ${f.resource} that exists (${promised} promised, ${formatForHumans(f.capacity)} on Ready clusters after overcommit)`;
  });
}

function failoverLines(report: Report, rows: number): string[] {
  const lost = report.findings.failover.filter((f) => !f.absorbed);
  if (lost.length === 0) return ["failover: every cluster's placements fit in the room left in its location"];
  const { shown, more } = capped(lost, rows);
  return [
    ...shown.map((f) => {
      const short = resourceOrder(Object.keys(f.shortfall)).map((name) => `${name} ${human(f.shortfall, name)}`).join(', ');
      return `failover: losing ${f.cluster} could not be absorbed in ${f.location || '(no location)'}: short ${short} (${f.peers} other Ready, schedulable clusters there)`;
    }),
    ...more,
  ];
}

function untilFullText(untilFull: UntilFull): string {
  switch (untilFull.state) {
    case 'too-short':
      return 'too short to trust';
    case 'full':
      return 'full now';
    case 'not-filling':
      return 'not filling';
    case 'filling':
      return untilFull.hours < 48 ? `${untilFull.hours.toFixed(1)}h` : `${(untilFull.hours / 24).toFixed(1)}d`;
  }
}

function trendCells(trend: Trend, format: QuantityFormat): string[] {
  if (!trend.trusted) return [`${trend.points} ${trend.points === 1 ? 'point' : 'points'}: too short to trust`, '', '', ''];
  return [trend.direction, `${trend.changePerHour < 0 ? '' : '+'}${humanNumber(trend.changePerHour, format)}`, trend.r2 === null ? '-' : trend.r2.toFixed(2), humanNumber(trend.forecast, format)];
}

const formatOf = (report: Report, name: string): QuantityFormat => amountOf(report.totals.limit, name).format;

function trendsSection(report: Report, trends: Trends, rows: number): string[] {
  const horizon = `${(trends.horizonMs / 3_600_000).toFixed(0)}h`;
  const byResource = new Map(trends.resources.map((r) => [r.resource, r]));
  const lines = resourceOrder(byResource.keys()).flatMap((name) => {
    const r = byResource.get(name);
    return r ? [
    [r.resource, 'allocated', ...trendCells(r.allocated, formatOf(report, r.resource)), untilFullText(r.untilFull)],
    ...(r.used ? [[r.resource, 'used', ...trendCells(r.used, formatOf(report, r.resource)), '']] : []),
    ] : [];
  });
  const filling = [...trends.clusters.map((s) => ({ ...s, kind: 'cluster' })), ...trends.quotas.map((s) => ({ ...s, kind: 'quota' }))]
    .filter((s) => s.untilFull.state === 'filling' || s.untilFull.state === 'full')
    .sort((a, b) => hoursOf(a.untilFull) - hoursOf(b.untilFull) || (a.key < b.key ? -1 : 1));
  const { shown, more } = capped(filling, rows);
  return [
    '',
    `TRENDS (${trends.points} ${trends.points === 1 ? 'entry' : 'entries'} over ${(trends.windowMs / 60_000).toFixed(0)} min, least squares; forecast at +${horizon})`,
    ...table(['RESOURCE', 'SERIES', 'DIRECTION', 'CHANGE/H', 'R²', `AT +${horizon}`, 'UNTIL FULL'], lines),
    '',
    'FILLING UP (clusters: allocated vs limit; quotas: used vs hard)',
    ...(shown.length === 0 ? ['nothing is filling up'] : table(['KIND', 'NAME', 'RESOURCE', 'UNTIL FULL'], shown.map((s) => [s.kind, s.key, s.resource, untilFullText(s.untilFull)]))),
    ...more,
  ];
}

const hoursOf = (untilFull: UntilFull): number => (untilFull.state === 'filling' ? untilFull.hours : 0);

/** The summary: fixed-width tables a person reads in a terminal, in the order they act on them. */
export function renderSummary(report: Report, trends: Trends, options: SummaryOptions = {}): string {
  const settings = { rows: options.rows ?? 20, nearPercent: options.nearPercent ?? 80 };
  return [
    ...headline(report),
    ...totalsSection(report),
    ...clustersSection(report, settings.rows),
    ...utilizedSection(report, settings.rows),
    ...quotasSection(report, settings),
    '',
    'FINDINGS',
    ...oversubscriptionLines(report),
    ...failoverLines(report, settings.rows),
    ...trendsSection(report, trends, settings.rows),
    '',
  ].join('\n');
}
