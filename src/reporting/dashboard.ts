/**
 * `/dashboard`: one self-contained HTML page from the latest snapshot (SPEC §7). No script, no
 * external asset: inline CSS and SVG only, so the page's Content-Security-Policy can forbid loading
 * anything (observability-server.ts). It refreshes itself every aggregation interval. Pure: a
 * function of the report set and the history.
 */
import { amountOf, formatForHumans, type ResourceList } from '../quantity/index.js';
import type { ClusterFigures, QuotaFigures } from './aggregate.js';
import type { HistoryEntry } from './history.js';
import type { ReportSet } from './report-set.js';
import type { ResourceTrend } from './trends.js';

/** Rows shown per table: the fullest first; a page of 10k rows helps nobody (the CSV has them all). */
export const DASHBOARD_ROWS = 100;
const BAR_RESOURCES = ['cpu', 'memory'];

const escape = (text: string): string =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

const percent = (rate: number): string => `${(rate * 100).toFixed(rate < 0.1 ? 1 : 0)}%`;
const width = (rate: number): string => `${Math.min(100, Math.max(0, rate * 100)).toFixed(1)}%`;
const human = (list: ResourceList | undefined, resource: string): string => (list ? formatForHumans(amountOf(list, resource)) : '-');

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:14px/1.4 system-ui,sans-serif;color:#1c2430;background:#f4f6f9}
header{padding:12px 20px;background:#1c2430;color:#fff;display:flex;flex-wrap:wrap;gap:8px 24px;align-items:baseline}
header h1{font-size:18px;margin:0}main{padding:16px 20px;display:grid;gap:16px;grid-template-columns:repeat(auto-fit,minmax(min(100%,560px),1fr))}
section.wide{grid-column:1/-1}section{background:#fff;border-radius:6px;padding:12px 16px;box-shadow:0 1px 2px #0002;overflow-x:auto}h2{font-size:15px;margin:0 0 8px}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e6e9ef;vertical-align:middle;white-space:nowrap}
th{font-weight:600;color:#5a6473;font-size:12px}.bar{position:relative;height:12px;min-width:90px;background:#e6e9ef;border-radius:3px;overflow:hidden}
.fill{position:absolute;left:0;top:0;bottom:0;background:#3b7dd8}.fill.used{background:#2a9d8f}.warn .fill{background:#e9a23b}.over .fill{background:#d64545}
.soft{position:absolute;top:0;bottom:0;width:2px;background:#1c2430}.num{font-variant-numeric:tabular-nums;font-size:12px;color:#5a6473}
.health{padding:1px 6px;border-radius:8px;font-size:12px;background:#d8f0e0}.health.bad{background:#f7d7d7}.health.warn{background:#faecd0}
ul{margin:0;padding-left:18px}.spark{display:flex;flex-wrap:wrap;gap:12px}.spark figure{margin:0}figcaption{font-size:12px;color:#5a6473}
@media (max-width:600px){main{padding:8px}section{padding:8px}th,td{padding:3px 4px}}`;

function bar(rate: number | undefined, kind: 'alloc' | 'used', soft?: number): string {
  if (rate === undefined) return '<span class="num">-</span>';
  const level = rate > 1 ? ' over' : rate >= 0.8 ? ' warn' : '';
  const marker = soft !== undefined ? `<span class="soft" style="left:${width(soft)}" title="soft limit"></span>` : '';
  return `<div class="bar${level}" data-rate="${rate}"><span class="fill${kind === 'used' ? ' used' : ''}" style="width:${width(rate)}"></span>${marker}</div>`;
}

function healthBadge(cluster: ClusterFigures): string {
  const tone = !cluster.health.ready ? ' bad' : !cluster.health.schedulable ? ' warn' : '';
  return `<span class="health${tone}" title="${escape(cluster.health.reason)}">${escape(cluster.health.status)}</span>`;
}

const fullest = (rates: Readonly<Record<string, number>>): number => Math.max(0, ...Object.values(rates));

function clusterRow(cluster: ClusterFigures): string {
  const cells = BAR_RESOURCES.map((resource) => {
    const allocation = cluster.allocation[resource];
    const utilization = cluster.utilization[resource];
    return (
      `<td data-resource="${resource}" data-allocated="${escape(human(cluster.allocated, resource))}" data-limit="${escape(human(cluster.limit, resource))}">` +
      `${bar(allocation, 'alloc')}<span class="num">${escape(human(cluster.allocated, resource))} / ${escape(human(cluster.limit, resource))}` +
      `${allocation === undefined ? '' : ` (${percent(allocation)})`}</span>` +
      `${utilization === undefined ? '' : `${bar(utilization, 'used')}<span class="num">used ${percent(utilization)}</span>`}</td>`
    );
  });
  return `<tr data-cluster="${escape(cluster.name)}"><td>${escape(cluster.name)}</td><td>${escape(cluster.location)}</td><td>${healthBadge(cluster)}</td><td class="num">${cluster.placementCount}</td>${cells.join('')}</tr>`;
}

function quotaRow(quota: QuotaFigures): string {
  const cells = Object.keys(quota.hard).map((resource) => {
    const hard = amountOf(quota.hard, resource).nanos;
    const rate = hard > 0n ? Number(amountOf(quota.used, resource).nanos) / Number(hard) : undefined;
    const soft = Object.hasOwn(quota.soft, resource) && hard > 0n ? Number(amountOf(quota.soft, resource).nanos) / Number(hard) : undefined;
    return (
      `<div data-resource="${escape(resource)}" data-used="${escape(human(quota.used, resource))}" data-hard="${escape(human(quota.hard, resource))}">` +
      `<span class="num">${escape(resource)} ${escape(human(quota.used, resource))} / ${escape(human(quota.hard, resource))}</span>${bar(rate, 'alloc', soft)}</div>`
    );
  });
  const phase = quota.phase === 'Exceeded' ? ' bad' : quota.overSoft.length > 0 ? ' warn' : '';
  return `<tr data-quota="${escape(quota.key)}"><td>${escape(quota.key)}</td><td><span class="health${phase}">${quota.phase}</span></td><td class="num">${quota.placementCount}</td><td>${cells.join('')}</td></tr>`;
}

/** A sparkline of allocated / limit of one resource over the history, with the trend's line across the same window. */
function sparkline(resource: string, entries: readonly HistoryEntry[], trend: ResourceTrend | undefined): string {
  const points = entries.flatMap((e) => {
    const total = e.totals[resource];
    return total && total.limit > 0 ? [{ atMs: e.atMs, rate: total.allocated / total.limit }] : [];
  });
  const W = 240;
  const H = 48;
  const first = points[0]?.atMs ?? 0;
  const span = Math.max(1, (points.at(-1)?.atMs ?? first) - first);
  const top = Math.max(1, ...points.map((p) => p.rate));
  const x = (atMs: number) => ((atMs - first) / span) * W;
  const y = (rate: number) => H - (rate / top) * H;
  const line = points.map((p) => `${x(p.atMs).toFixed(1)},${y(p.rate).toFixed(1)}`).join(' ');
  let fit = '';
  const last = points.at(-1);
  if (trend?.allocated.trusted && trend.limit > 0 && last) {
    const { valueNow, changePerHour } = trend.allocated;
    const at = (atMs: number) => y((valueNow + (changePerHour * (atMs - last.atMs)) / 3_600_000) / trend.limit);
    fit = `<line class="trend" x1="0" y1="${at(first).toFixed(1)}" x2="${W}" y2="${at(last.atMs).toFixed(1)}" stroke="#d64545" stroke-dasharray="4 3" stroke-width="1.5"/>`;
  }
  const caption = `${escape(resource)} allocation${last ? `: ${percent(last.rate)}` : ''} (${points.length} points)`;
  return (
    `<figure data-spark="${escape(resource)}"><svg viewBox="0 0 ${W} ${H}" width="${W}" height="${H}" role="img" aria-label="${caption}">` +
    `<rect width="${W}" height="${H}" fill="#f4f6f9"/><polyline fill="none" stroke="#3b7dd8" stroke-width="2" points="${line}"/>${fit}</svg><figcaption>${caption}</figcaption></figure>`
  );
}

function findings(set: ReportSet): string {
  const items = [
    ...set.report.findings.oversubscription
      .filter((f) => f.ratio !== null)
      .map((f) => `oversubscription: quotas promise ${(f.ratio ?? 0).toFixed(2)}x the ${escape(f.resource)} that exists (${escape(formatForHumans(f.promised))} promised, ${escape(formatForHumans(f.capacity))} on Ready clusters)`),
    ...set.report.findings.failover
      .filter((f) => !f.absorbed)
      .map((f) => `failover: losing ${escape(f.cluster)} could not be absorbed in ${escape(f.location)} (${f.peers} other Ready, schedulable clusters)`),
  ];
  return items.length > 0 ? `<ul>${items.map((item) => `<li>${item}</li>`).join('')}</ul>` : '<p>No findings.</p>';
}

export interface DashboardOptions {
  /** Seconds between the page's own refreshes (the aggregation interval). */
  readonly refreshSeconds: number;
}

/** The dashboard page of one report set and the history behind its trends. */
export function renderDashboard(set: ReportSet, history: readonly HistoryEntry[], options: DashboardOptions): string {
  const { report, trends } = set;
  const clusters = [...report.clusters].sort((a, b) => fullest(b.allocation) - fullest(a.allocation) || (a.name < b.name ? -1 : 1)).slice(0, DASHBOARD_ROWS);
  const quotas = report.quotas
    .filter((q) => q.name !== '' || Object.keys(q.hard).length > 0)
    .sort((a, b) => fullest(b.percent) - fullest(a.percent) || (a.key < b.key ? -1 : 1))
    .slice(0, DASHBOARD_ROWS);
  const resources = Object.keys(report.totals.limit);
  const header = BAR_RESOURCES.map((r) => `<th>${r} allocated / limit</th>`).join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${Math.max(5, Math.round(options.refreshSeconds))}">
<title>placement-quota dashboard</title><style>${STYLE}</style></head>
<body><header><h1>placement-quota</h1><span data-at="${report.atMs}">snapshot ${new Date(report.atMs).toISOString()}</span>
<span>${report.totals.clusters} clusters, ${report.totals.readyClusters} Ready</span><span>${report.quotas.length} quotas</span></header>
<main>
<section class="wide"><h2>Clusters, fullest first (allocated vs allocatable × overcommit)</h2><table><thead><tr><th>cluster</th><th>location</th><th>health</th><th>placements</th>${header}</tr></thead>
<tbody>${clusters.map(clusterRow).join('')}</tbody></table>${report.clusters.length > clusters.length ? `<p class="num">${report.clusters.length - clusters.length} more in /reports/clusters.csv</p>` : ''}</section>
<section><h2>Workspace quotas, fullest first (bar: used vs hard; mark: soft)</h2><table><thead><tr><th>quota</th><th>phase</th><th>placements</th><th>used / hard</th></tr></thead>
<tbody>${quotas.map(quotaRow).join('')}</tbody></table></section>
<section><h2>Findings</h2>${findings(set)}</section>
<section><h2>History (Ready totals; dashed: least-squares trend)</h2><div class="spark">${resources.map((r) => sparkline(r, history, trends.resources.find((t) => t.resource === r))).join('')}</div></section>
</main></body></html>
`;
}

/** The login form: a bearer token, posted to /dashboard/login, kept in an HttpOnly cookie (never in the URL). */
export function renderLogin(message?: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>placement-quota: sign in</title><style>${STYLE}form{display:grid;gap:8px;max-width:520px}textarea{width:100%;min-height:90px;font:12px monospace}button{justify-self:start;padding:6px 14px}</style></head>
<body><header><h1>placement-quota</h1></header><main><section><h2>Sign in with a bearer token</h2>
${message ? `<p role="alert">${escape(message)}</p>` : ''}
<form method="post" action="/dashboard/login"><label for="token">Token of a service account bound to the ClusterRole placement-quota-reports-reader (<code>kubectl create token …</code>)</label>
<textarea id="token" name="token" required autocomplete="off" spellcheck="false"></textarea><button type="submit">Sign in</button></form>
</section></main></body></html>
`;
}
