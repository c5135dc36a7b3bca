import { describe, expect, it } from '@jest/globals';
import { createServiceMetrics, type MetricSources, type TrackerFigures } from '../../../src/reporting/metrics.js';
import { produceReports, type ReportSet } from '../../../src/reporting/report-set.js';
import { historyEntry } from '../../../src/reporting/history.js';
import { aggregate } from '../../../src/reporting/aggregate.js';
import { NOW } from '../../builders/objects.js';
import { aClusterInput, aQuotaInput, aSnapshot } from '../../builders/report-inputs.js';
import { promtool } from '../../support/promtool.js';

const HOUR = 3_600_000;
const clusters = (allocatedCpu: string) => [
  aClusterInput('us-east-1', { capacity: { cpu: '8', memory: '16Gi' }, allocated: { cpu: allocatedCpu, memory: '1Gi' }, used: { cpu: '2' } }),
  aClusterInput('eu "west"', { location: 'eu\\west', readiness: 'NotReady', reason: 'down' }),
];
const quotas = [
  aQuotaInput('team-a/compute', { hard: { cpu: '10', placements: '5' }, soft: { cpu: '8' }, used: { cpu: '4', placements: '2' } }),
  // A default quota (no object, no name) is left out: there is nothing to look up by that name.
  aQuotaInput('team-b/', { hard: { cpu: '1' } }),
];

/** A set whose history fills us-east-1's cpu by 1 core an hour: 12 − 6 = 6 h until full. */
function filling(): ReportSet {
  const past = [3, 2, 1].map((hoursAgo) => historyEntry(aggregate({ ...aSnapshot(clusters(String(6 - hoursAgo)), quotas), nowMs: NOW - hoursAgo * HOUR })));
  return produceReports(aSnapshot(clusters('6'), quotas), past);
}

const tracker: TrackerFigures = {
  ready: true,
  perKind: { SyncTarget: { relists: 1, restarts: 2, lastEventMs: NOW - 5_000 }, WorkloadPlacement: { relists: 0, restarts: 0, lastEventMs: 0 } },
};

function setup(overrides: Partial<MetricSources> = {}) {
  let set: ReportSet | undefined = filling();
  const metrics = createServiceMetrics({
    latest: () => set,
    tracker: () => tracker,
    objects: (kind) => (kind === 'SyncTarget' ? 2 : 7),
    reservations: () => ({ writes: 3, conflicts: 1, retries: 1 }),
    admissions: () => ({ atOnce: 40, fromShare: 3, byRound: 7, waited: 2 }),
    clock: () => NOW,
    ...overrides,
  });
  return { metrics, replace: (next: ReportSet | undefined) => (set = next) };
}

const samples = (text: string, family: string): string[] => text.split('\n').filter((line) => line.startsWith(`${family}{`) || line.startsWith(`${family} `));

describe('createServiceMetrics', () => {
  it('quota series: hard, soft and used per resource, in base units; no default quota', async () => {
    const text = await setup().metrics.render();
    expect(samples(text, 'placement_quota_workspacequota')).toEqual([
      'placement_quota_workspacequota{namespace="team-a",workspacequota="compute",resource="cpu",type="hard"} 10',
      'placement_quota_workspacequota{namespace="team-a",workspacequota="compute",resource="placements",type="hard"} 5',
      'placement_quota_workspacequota{namespace="team-a",workspacequota="compute",resource="cpu",type="soft"} 8',
      'placement_quota_workspacequota{namespace="team-a",workspacequota="compute",resource="cpu",type="used"} 4',
      'placement_quota_workspacequota{namespace="team-a",workspacequota="compute",resource="placements",type="used"} 2',
    ]);
  });

  it('cluster series: capacity, allocatable, limit, allocated, used; readiness; label values escaped', async () => {
    const text = await setup().metrics.render();
    const east = samples(text, 'placement_quota_cluster_resource').filter((line) => line.includes('cluster="us-east-1"') && line.includes('resource="cpu"'));
    expect(east.map((line) => line.replace(/.*type="(\w+)"\} /, '$1 '))).toEqual(['capacity 8', 'allocatable 8', 'limit 12', 'allocated 6', 'used 2']);
    expect(samples(text, 'placement_quota_cluster_ready')).toEqual([
      'placement_quota_cluster_ready{cluster="eu \\"west\\""} 0',
      'placement_quota_cluster_ready{cluster="us-east-1"} 1',
    ]);
    expect(text).toContain('location="eu\\\\west"');
  });

  it('time until full: the trend of the history, in seconds, only for what is filling', async () => {
    const text = await setup().metrics.render();
    expect(samples(text, 'placement_quota_time_until_full_seconds')).toEqual(['placement_quota_time_until_full_seconds{kind="cluster",name="us-east-1",resource="cpu"} 21600']);
  });

  it('admission: a histogram per operation and decision, and denials by reason', async () => {
    const { metrics } = setup();
    metrics.observeAdmission({ operation: 'CREATE', decision: 'allowed', seconds: 0.00003 });
    metrics.observeAdmission({ operation: 'CREATE', decision: 'denied', reason: 'quota', seconds: 0.0002 });
    metrics.observeAdmission({ operation: 'UPDATE', decision: 'denied', reason: 'quota', seconds: 2 });
    const text = await metrics.render();
    expect(text).toContain('placement_quota_admission_duration_seconds_bucket{le="0.0001",operation="CREATE",decision="allowed"} 1');
    expect(text).toContain('placement_quota_admission_duration_seconds_bucket{le="0.00025",operation="CREATE",decision="denied"} 1');
    expect(text).toContain('placement_quota_admission_duration_seconds_bucket{le="1",operation="UPDATE",decision="denied"} 0');
    expect(text).toContain('placement_quota_admission_duration_seconds_bucket{le="2.5",operation="UPDATE",decision="denied"} 1');
    expect(samples(text, 'placement_quota_admission_denials_total')).toEqual(['placement_quota_admission_denials_total{reason="quota"} 2']);
  });

  it('tracker, reservations and readiness come from their stats at scrape time', async () => {
    const text = await setup().metrics.render();
    expect([
      ...samples(text, 'placement_quota_ready'),
      ...samples(text, 'placement_quota_tracker_objects'),
      ...samples(text, 'placement_quota_tracker_relists_total'),
      ...samples(text, 'placement_quota_tracker_watch_restarts_total'),
      ...samples(text, 'placement_quota_tracker_seconds_since_last_event'),
      ...samples(text, 'placement_quota_reservation_conflicts_total'),
      ...samples(text, 'placement_quota_holds_admitted_total'),
      ...samples(text, 'placement_quota_holds_waited_total'),
    ]).toEqual([
      'placement_quota_ready 1',
      'placement_quota_tracker_objects{kind="SyncTarget"} 2',
      'placement_quota_tracker_objects{kind="WorkloadPlacement"} 7',
      'placement_quota_tracker_relists_total{kind="SyncTarget"} 1',
      'placement_quota_tracker_relists_total{kind="WorkloadPlacement"} 0',
      'placement_quota_tracker_watch_restarts_total{kind="SyncTarget"} 2',
      'placement_quota_tracker_watch_restarts_total{kind="WorkloadPlacement"} 0',
      // A kind the server never answered for has no age to tell.
      'placement_quota_tracker_seconds_since_last_event{kind="SyncTarget"} 5',
      'placement_quota_reservation_conflicts_total 1',
      'placement_quota_holds_admitted_total{path="at-once"} 40',
      'placement_quota_holds_admitted_total{path="share"} 3',
      'placement_quota_holds_admitted_total{path="round"} 7',
      'placement_quota_holds_waited_total 2',
    ]);
    expect(text).toMatch(/^process_cpu_seconds_total \d/m);
    expect(text).toMatch(/^nodejs_heap_size_used_bytes \d/m);
  });

  it('the state text is made once per snapshot and follows a new one', async () => {
    const { metrics, replace } = setup();
    const first = await metrics.render();
    expect(samples(await metrics.render(), 'placement_quota_workspacequota')).toEqual(samples(first, 'placement_quota_workspacequota'));
    replace(produceReports(aSnapshot(clusters('1'), []), []));
    const next = await metrics.render();
    expect([samples(next, 'placement_quota_workspacequota'), samples(next, 'placement_quota_time_until_full_seconds')]).toEqual([[], []]);
    replace(undefined);
    expect(samples(await metrics.render(), 'placement_quota_cluster_ready')).toEqual([]);
  });

  it('promtool check metrics: no lint problems', async () => {
    const { metrics } = setup();
    metrics.observeAdmission({ operation: 'CREATE', decision: 'denied', reason: 'capacity', seconds: 0.001 });
    const result = await promtool(['check', 'metrics'], await metrics.render());
    expect({ code: result.code, output: `${result.stdout}${result.stderr}` }).toEqual({ code: 0, output: '' });
  });
});
