import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DecisionConfig } from '../api/config.js';
import { durationMs } from '../api/fields.js';
import type { TrackedState } from '../state/tracked-state.js';
import { ReportHistory } from './history.js';
import { renderHistoryJson } from './render.js';
import { produceReports, renderReport, REPORT_CONTENT_TYPES, type ReportFormat, type ReportSet } from './report-set.js';
import { snapshotOf } from './snapshot.js';

/** How soon after a change the latest report shows it; changes within it share one snapshot. */
const REFRESH_MS = 1_000;

export interface ReportLoopOptions {
  readonly state: TrackedState;
  readonly config: DecisionConfig;
  /** Whether the tracker holds a complete view: a partial one would report holes as free room. */
  readonly ready: () => boolean;
  readonly intervalMs: number;
  readonly history: { readonly retentionMs: number; readonly maxEntries: number };
  readonly clock: () => number;
}

export interface ReportLoop {
  /** Takes a snapshot now and keeps it in the history (what the timer does every interval). */
  aggregate(): ReportSet | undefined;
  /**
   * The state changed: within REFRESH_MS the latest report shows it (without a history entry, so the
   * history keeps its interval), instead of up to a whole interval later.
   */
  touch(): void;
  latest(): ReportSet | undefined;
  readonly history: ReportHistory;
  start(): void;
  stop(): void;
}

/**
 * The side loop of SPEC §7: every interval, one snapshot of this replica's tracker is aggregated and
 * its figures kept in the bounded history. It writes nothing to the API server, so every replica
 * runs it and any replica can answer a report.
 */
export function createReportLoop(options: ReportLoopOptions): ReportLoop {
  const history = new ReportHistory({ retentionMs: options.history.retentionMs, maxEntries: options.history.maxEntries });
  let latest: ReportSet | undefined;
  let timer: NodeJS.Timeout | undefined;
  let refresh: NodeJS.Timeout | undefined;
  const report = (): ReportSet | undefined => {
    if (!options.ready()) return undefined;
    latest = produceReports(snapshotOf(options.state, options.config, options.clock()), history.entries());
    return latest;
  };
  const aggregate = (): ReportSet | undefined => {
    const set = report();
    if (!set) return latest;
    history.append(set.entry);
    return set;
  };
  return {
    aggregate,
    touch: () => {
      refresh ??= setTimeout(() => {
        refresh = undefined;
        report();
      }, REFRESH_MS).unref();
    },
    latest: () => latest,
    history,
    start: () => {
      timer ??= setInterval(aggregate, options.intervalMs).unref();
    },
    stop: () => {
      clearInterval(timer);
      clearTimeout(refresh);
      timer = undefined;
      refresh = undefined;
    },
  };
}

const FORMAT_OF_PATH: Readonly<Record<string, ReportFormat>> = { '/reports/summary': 'text', '/reports/latest.json': 'json', '/reports/clusters.csv': 'csv' };

function send(res: ServerResponse, status: number, type: string, body: string): void {
  res.writeHead(status, { 'Content-Type': type, 'Cache-Control': 'no-store' }).end(body);
}

/** `?since=1h` as a Go duration; the whole history without it. A bad value is the caller's error (400). */
function sinceMs(url: URL, nowMs: number): number | string {
  const since = url.searchParams.get('since');
  if (since === null) return -Infinity;
  const ms = durationMs(since);
  return ms === undefined || ms <= 0 ? `since: not a positive duration such as 30m or 1h: ${JSON.stringify(since.slice(0, 64))}` : nowMs - ms;
}

/**
 * The `/reports/*` endpoints, served from the latest snapshot (no aggregation on a request). Meant
 * for their own listener, apart from the admission route, so a slow report never delays an admission.
 */
export function reportsHandler(loop: ReportLoop, clock: () => number): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'https://reports.invalid');
    if (req.method !== 'GET') return send(res, 405, 'text/plain; charset=utf-8', 'only GET\n');
    const latest = loop.latest() ?? loop.aggregate();
    if (!latest) return send(res, 503, 'text/plain; charset=utf-8', 'no report yet: the tracker has no complete view of the cluster\n');
    const format = Object.hasOwn(FORMAT_OF_PATH, url.pathname) ? FORMAT_OF_PATH[url.pathname] : undefined;
    if (format) return send(res, 200, REPORT_CONTENT_TYPES[format], renderReport(latest, format));
    if (url.pathname === '/reports/trends') return send(res, 200, 'application/json', `${JSON.stringify(latest.trends)}\n`);
    if (url.pathname !== '/reports/history') return send(res, 404, 'text/plain; charset=utf-8', 'not found\n');
    const since = sinceMs(url, clock());
    if (typeof since === 'string') return send(res, 400, 'text/plain; charset=utf-8', `${since}\n`);
    return send(res, 200, 'application/json', renderHistoryJson(loop.history.entries(since)));
  };
}
