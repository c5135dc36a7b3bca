import { describe, expect, it } from '@jest/globals';
import { aggregate } from '../../../src/reporting/aggregate.js';
import { historyEntry, ReportHistory, type HistoryEntry } from '../../../src/reporting/history.js';
import { aClusterInput, aQuotaInput, aSnapshot } from '../../builders/report-inputs.js';

const HOUR = 3_600_000;
const at = (hours: number): HistoryEntry => ({ atMs: hours * HOUR, totals: {}, clusters: [], quotas: [] });
const times = (history: ReportHistory): number[] => history.entries().map((e) => e.atMs / HOUR);

describe('ReportHistory', () => {
  it.each([
    { name: 'keeps at most maxEntries, dropping the oldest', options: { maxEntries: 3 }, appended: [1, 2, 3, 4, 5], kept: [3, 4, 5] },
    { name: 'drops what is older than retention before the newest', options: { retentionMs: 24 * HOUR }, appended: [0, 10, 20, 30], kept: [10, 20, 30] },
    { name: 'an entry exactly at retention stays', options: { retentionMs: 24 * HOUR }, appended: [0, 24], kept: [0, 24] },
    { name: 'both bounds at once', options: { retentionMs: 5 * HOUR, maxEntries: 2 }, appended: [0, 1, 2, 10], kept: [10] },
    { name: 'the same time twice is kept (two snapshots in one clock tick)', options: {}, appended: [1, 1], kept: [1, 1] },
  ])('$name', ({ options, appended, kept }) => {
    const history = new ReportHistory(options);
    for (const hours of appended) expect(history.append(at(hours))).toBe(true);
    expect(times(history)).toEqual(kept);
    expect(history.size).toBe(kept.length);
  });

  it('refuses an entry older than the newest: a clock that stepped back', () => {
    const history = new ReportHistory();
    history.append(at(5));
    expect(history.append(at(4))).toBe(false);
    expect(times(history)).toEqual([5]);
  });

  it('wraps around many times and still answers oldest first, from a time on', () => {
    const history = new ReportHistory({ maxEntries: 4 });
    for (let hours = 0; hours < 103; hours++) history.append(at(hours));
    expect(times(history)).toEqual([99, 100, 101, 102]);
    expect(history.entries(101 * HOUR).map((e) => e.atMs / HOUR)).toEqual([101, 102]);
  });

  it.each([{ maxEntries: 0 }, { maxEntries: 1.5 }, { retentionMs: 0 }, { retentionMs: NaN }])('refuses %o', (options) => {
    expect(() => new ReportHistory(options)).toThrow(RangeError);
  });
});

describe('historyEntry', () => {
  const report = aggregate(
    aSnapshot(
      [
        aClusterInput('a', { capacity: { cpu: '10' }, allocated: { cpu: '3' } }),
        aClusterInput('b', { capacity: { cpu: '10' }, allocated: { cpu: '12' }, used: { cpu: '2' } }),
        aClusterInput('c', { capacity: { cpu: '10' }, allocated: { cpu: '9' } }),
        aClusterInput('d', { capacity: { cpu: '10' }, allocated: { cpu: '9' }, readiness: 'NotReady' }),
      ],
      [aQuotaInput('t/x', { hard: { cpu: '10', memory: '1Gi' }, used: { cpu: '1' } }), aQuotaInput('t/y', { hard: { cpu: '10' }, used: { cpu: '5' } })],
    ),
  );

  it('keeps figures in base units: Ready totals per resource, used only where reported', () => {
    expect(historyEntry(report).totals).toEqual({ cpu: { allocated: 24, limit: 45, used: 2 } });
  });

  it('keeps the fullest clusters and quotas, ties by key, at most maxSeries of each', () => {
    const entry = historyEntry(report, { maxSeries: 2 });
    expect(entry.clusters).toEqual([
      { key: 'b', levels: { cpu: { value: 12, limit: 15 } } },
      { key: 'c', levels: { cpu: { value: 9, limit: 15 } } },
    ]);
    expect(entry.quotas.map((q) => q.key)).toEqual(['t/y', 't/x']);
    expect(entry.atMs).toBe(report.atMs);
  });

  it('keeps at most maxResources resources, in name order', () => {
    const entry = historyEntry(report, { maxResources: 1 });
    expect(entry.quotas.map((q) => Object.keys(q.levels))).toEqual([['cpu'], ['cpu']]);
  });
});
