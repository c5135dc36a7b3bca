/**
 * The one path from a snapshot to every report, shared by the service's loop and endpoints and the
 * offline `report` command (SPEC §11: one code path). Pure.
 */
import { aggregate, type Report, type ReportSnapshot } from './aggregate.js';
import { historyEntry, type FigureLimits, type HistoryEntry } from './history.js';
import { renderCsv, renderJson, renderSummary, type SummaryOptions } from './render.js';
import { trendsOf, type TrendOptions, type Trends } from './trends.js';

export interface ReportOptions {
  readonly figures?: FigureLimits;
  readonly trends?: TrendOptions;
}

/** One aggregation: the report, the entry to append to the history, and the trends including it. */
export interface ReportSet {
  readonly report: Report;
  readonly entry: HistoryEntry;
  readonly trends: Trends;
}

/**
 * Aggregates the snapshot and computes trends over `history` (oldest first, without this snapshot)
 * plus this snapshot's own entry. The caller appends `entry` to its history; entries newer than the
 * snapshot (a clock that stepped back) are left out of the trends, as the history would refuse this one.
 */
export function produceReports(snapshot: ReportSnapshot, history: readonly HistoryEntry[], options: ReportOptions = {}): ReportSet {
  const report = aggregate(snapshot);
  const entry = historyEntry(report, options.figures);
  const trends = trendsOf([...history.filter((past) => past.atMs <= entry.atMs), entry], options.trends);
  return { report, entry, trends };
}

export type ReportFormat = 'text' | 'json' | 'csv';

/** The content type each format is served with. */
export const REPORT_CONTENT_TYPES: Readonly<Record<ReportFormat, string>> = {
  text: 'text/plain; charset=utf-8',
  json: 'application/json',
  csv: 'text/csv; charset=utf-8; header=present',
};

/** The report set in one format: `text` is the summary (`/reports/summary`), `csv` one row per cluster. */
export function renderReport(set: ReportSet, format: ReportFormat, options: SummaryOptions = {}): string {
  switch (format) {
    case 'text':
      return renderSummary(set.report, set.trends, options);
    case 'json':
      return renderJson(set.report, set.trends);
    case 'csv':
      return renderCsv(set.report);
  }
}
