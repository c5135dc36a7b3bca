import { loadServiceConfig } from '../ops/config.js';
import { produceReports, renderReport, type ReportFormat } from '../reporting/report-set.js';
import { snapshotOf } from '../reporting/snapshot.js';
import { loadState, parseNow } from './load.js';

export interface ReportCommandOptions {
  readonly files: readonly string[];
  readonly now?: string | undefined;
  readonly config?: string | undefined;
  readonly format: ReportFormat;
}

/**
 * `placement-quota report`: the reports of SPEC §7 from state files, through the same state, snapshot
 * and renderers as the service's `/reports/*`. One snapshot, so no history: trends say so.
 * Throws InputError / ConfigError for bad input (exit 2).
 */
export async function runReport(options: ReportCommandOptions): Promise<string> {
  const config = await loadServiceConfig({}, options.config);
  const nowMs = parseNow(options.now);
  const state = await loadState(options.files);
  return renderReport(produceReports(snapshotOf(state, config, nowMs), []), options.format);
}
