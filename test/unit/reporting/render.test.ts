import { describe, expect, it } from '@jest/globals';
import { mustParse } from '../../../src/quantity/index.js';
import { aggregate } from '../../../src/reporting/aggregate.js';
import { baseUnits, renderCsv, renderHistoryJson, renderJson, renderSummary } from '../../../src/reporting/render.js';
import { produceReports, renderReport, REPORT_CONTENT_TYPES } from '../../../src/reporting/report-set.js';
import { trendsOf } from '../../../src/reporting/trends.js';
import { NOW } from '../../builders/objects.js';
import { aClusterInput, aQuotaInput, aSnapshot } from '../../builders/report-inputs.js';

const HOUR = 3_600_000;
const snapshot = aSnapshot(
  [
    aClusterInput('big', { capacity: { cpu: '40', memory: '64Gi' }, allocated: { cpu: '6', memory: '8Gi' }, used: { cpu: '30' }, nodes: { total: 4, ready: 4 }, placementCount: 3 }),
    aClusterInput('full', { capacity: { cpu: '8', memory: '16Gi' }, allocated: { cpu: '11', memory: '1Gi' }, placementCount: 9 }),
    aClusterInput('odd', { location: 'eu, "west"', readiness: 'NotReady', reason: 'is not Ready: Ready=False (Syncer, "down")' }),
  ],
  [
    aQuotaInput('team-a/compute', { hard: { cpu: '100' }, used: { cpu: '85' }, placementCount: 12, clusters: ['big', 'full'] }),
    aQuotaInput('team-b/compute', { hard: { cpu: '100' }, used: { cpu: '10' } }),
  ],
);
const report = aggregate(snapshot);

describe('baseUnits', () => {
  it.each([
    ['1500m', '1.5'],
    ['16Gi', '17179869184'],
    ['0', '0'],
    ['1n', '0.000000001'],
    ['8Ei', '9223372036854775808'],
  ])('%s is %s', (text, expected) => {
    expect(baseUnits(mustParse(text))).toBe(expected);
  });

  it('negative values keep their sign', () => {
    expect(baseUnits({ nanos: -1_500_000_000n, format: 'DecimalSI' })).toBe('-1.5');
  });
});

describe('renderCsv', () => {
  const csv = renderCsv(report);
  const lines = csv.split('\r\n');

  it('a header row, then one row per cluster by name, every line ended by CRLF', () => {
    expect(csv.endsWith('\r\n')).toBe(true);
    expect(lines.slice(0, -1).map((line) => line.split(',')[0])).toEqual(['cluster', 'big', 'full', 'odd']);
    expect(lines[0]).toBe(
      'cluster,location,health,ready,schedulable,reason,nodes_total,nodes_ready,placements,' +
        'cpu_capacity,cpu_allocatable,cpu_limit,cpu_allocated,cpu_used,cpu_available,cpu_allocation,cpu_utilization,' +
        'memory_capacity,memory_allocatable,memory_limit,memory_allocated,memory_used,memory_available,memory_allocation,memory_utilization',
    );
  });

  it('numbers in base units; empty where there is no figure; nothing allocated is 0', () => {
    expect(lines[1]).toBe('big,us-east,Ready,true,true,,4,4,3,40,40,60,6,30,54,0.1,0.75,68719476736,68719476736,82463372083.2,8589934592,,73873437491.2,0.10416666666666667,');
    // odd: cpu_limit, cpu_allocated (nothing: 0), cpu_used (not reported: empty).
    expect(lines[3]?.split(',').slice(-14, -11)).toEqual(['12', '0', '']);
  });

  it('RFC 4180: fields with commas or quotes are quoted, quotes doubled', () => {
    expect(lines[3]?.startsWith('odd,"eu, ""west""",NotReady,false,true,"is not Ready: Ready=False (Syncer, ""down"")",')).toBe(true);
  });
});

describe('renderJson', () => {
  const json = JSON.parse(renderJson(report, trendsOf([]))) as Record<string, unknown>;

  it('stable top-level fields', () => {
    expect(Object.keys(json)).toEqual(['at', 'atMs', 'overcommit', 'clusters', 'totals', 'locations', 'spread', 'quotas', 'findings', 'trends']);
    expect(json.at).toBe('2026-11-23T12:00:00.000Z');
  });

  it('quantities as the Kubernetes string and a number of base units', () => {
    const [big] = json.clusters as { limit: unknown; used: unknown }[];
    expect(big?.limit).toEqual({ cpu: { quantity: '60', value: 60 }, memory: { quantity: '82463372083200m', value: 82463372083.2 } });
    expect((json.overcommit as Record<string, unknown>).cpu).toEqual({ quantity: '1500m', value: 1.5 });
  });

  it('a cluster without reported usage has no used field', () => {
    const [, full] = json.clusters as Record<string, unknown>[];
    expect(Object.hasOwn(full ?? {}, 'used')).toBe(false);
  });
});

describe('renderSummary', () => {
  const history = [0, 1, 2].map((h) => ({
    atMs: NOW - (3 - h) * HOUR,
    totals: { cpu: { allocated: 10 + h, limit: 72 } },
    clusters: [{ key: 'big', levels: { cpu: { value: 3 + h, limit: 60 } } }],
    quotas: [{ key: 'team-a/compute', levels: { cpu: { value: 82 + h, limit: 100 } } }],
  }));
  const text = renderSummary(report, produceReports(snapshot, history).trends);

  it('clusters sorted by their fullest allocation, with the reasons of the unhealthy', () => {
    const section = text.slice(text.indexOf('CLUSTERS BY ALLOCATION'), text.indexOf('TOP UTILIZED'));
    const rows = section.split('\n').slice(2, 5).map((line) => line.split(/\s+/)[0]);
    expect(rows).toEqual(['full', 'big', 'odd']);
    expect(section).toContain('full     us-east     Ready     9           11/12');
    expect(section).toContain('odd is not Ready: Ready=False (Syncer, "down")');
  });

  it('the top utilized, and quotas fullest first with those near their limit marked', () => {
    expect(text).toContain('big      us-east   75% cpu      10% memory');
    expect(text).toMatch(/team-a\/compute\s+Active\s+85% cpu\s+cpu 85\/100\s+12\s+2\s+near hard\n/);
    expect(text).toContain('(1 near or over their limits');
  });

  it('findings, in words', () => {
    // 200 cpu promised; Ready clusters: (40 + 8) x 1.5 = 72.
    expect(text).toContain('oversubscription: quotas promise 2.78x the cpu that exists (200 promised, 72 on Ready clusters after overcommit)');
    // big needs 6 cpu and 8Gi; full has 12 - 11 = 1 cpu left. full's 11 cpu fit in big's 54.
    expect(text).toContain('failover: losing big could not be absorbed in us-east: short cpu 5 (1 other Ready, schedulable clusters there)');
    expect(text).not.toContain('failover: losing full');
  });

  it('trends and what fills up first', () => {
    // cpu total 10, 11, 12, then 17 now (hours -3..0): not a line, but a trusted rise.
    expect(text).toMatch(/cpu\s+allocated\s+up\s+\+/);
    const filling = text.slice(text.indexOf('FILLING UP')).split('\n');
    expect(filling.slice(1, 4).map((line) => line.split(/\s+/).slice(0, 3).join(' '))).toEqual(['KIND NAME RESOURCE', 'quota team-a/compute cpu', 'cluster big cpu']);
  });

  it('too short to trust without history; tables capped at `rows`', () => {
    const short = renderSummary(report, trendsOf([produceReports(snapshot, []).entry]), { rows: 1 });
    expect(short).toContain('1 point: too short to trust');
    expect(short).toContain('… and 2 more');
    expect(short).toContain('nothing is filling up');
  });
});

describe('report set', () => {
  it('trends include the snapshot itself, and leave out entries newer than it', () => {
    const newer = { atMs: NOW + HOUR, totals: {}, clusters: [], quotas: [] };
    const set = produceReports(snapshot, [newer]);
    expect([set.trends.points, set.trends.atMs, set.entry.atMs]).toEqual([1, NOW, NOW]);
  });

  it.each([
    { format: 'text' as const, render: () => renderSummary(report, trendsOf([produceReports(snapshot, []).entry])), type: 'text/plain; charset=utf-8' },
    { format: 'json' as const, render: () => renderJson(report, trendsOf([produceReports(snapshot, []).entry])), type: 'application/json' },
    { format: 'csv' as const, render: () => renderCsv(report), type: 'text/csv; charset=utf-8; header=present' },
  ])('$format is served as $type', ({ format, render, type }) => {
    expect(renderReport(produceReports(snapshot, []), format)).toBe(render());
    expect(REPORT_CONTENT_TYPES[format]).toBe(type);
  });

  it('history as JSON: every entry with its time', () => {
    const entry = produceReports(snapshot, []).entry;
    const parsed = JSON.parse(renderHistoryJson([entry])) as { entries: { at: string; totals: unknown }[] };
    expect(parsed.entries.map((e) => [e.at, e.totals])).toEqual([['2026-11-23T12:00:00.000Z', { cpu: { allocated: 17, limit: 72, used: 30 }, memory: { allocated: 9663676416, limit: 103079215104 } }]]);
  });
});
