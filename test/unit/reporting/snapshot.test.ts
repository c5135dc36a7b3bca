import { describe, expect, it } from '@jest/globals';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { readinessOf, snapshotOf } from '../../../src/reporting/snapshot.js';
import { ClusterRecord } from '../../../src/state/cluster-record.js';
import { aPlacement, aQuota, aSyncTarget, NOW, stateOf, syncTarget, type Manifest } from '../../builders/objects.js';
import { strings } from '../../builders/report-inputs.js';

describe('readinessOf', () => {
  const withoutReady = (): Manifest => {
    const manifest = aSyncTarget('a');
    (manifest.status as { conditions: unknown[] }).conditions = [];
    return manifest;
  };

  it.each([
    { name: 'Ready, heartbeat 5 s old', manifest: aSyncTarget('a'), expected: { readiness: 'Ready', reason: '' } },
    { name: 'heartbeat exactly 3 x 20 s old is still Ready', manifest: aSyncTarget('a', { heartbeatAgoMs: 60_000 }), expected: { readiness: 'Ready', reason: '' } },
    {
      name: 'heartbeat 1 ms past 3 x 20 s is stale',
      manifest: aSyncTarget('a', { heartbeatAgoMs: 60_001 }),
      expected: { readiness: 'StaleHeartbeat', reason: 'is not Ready: last heartbeat 2026-11-23T11:58:59.999Z is 60s old (over 3 x 20s)' },
    },
    { name: 'never a heartbeat', manifest: aSyncTarget('a', { heartbeatAgoMs: null }), expected: { readiness: 'StaleHeartbeat', reason: 'is not Ready: has never sent a heartbeat' } },
    { name: 'Ready=False, with the reason', manifest: aSyncTarget('a', { ready: false }), expected: { readiness: 'NotReady', reason: 'is not Ready: Ready=False (SyncerDown)' } },
    { name: 'no Ready condition', manifest: withoutReady(), expected: { readiness: 'NotReady', reason: 'has no Ready condition' } },
  ])('$name', ({ manifest, expected }) => {
    expect(readinessOf(new ClusterRecord(syncTarget(manifest)), NOW)).toEqual(expected);
  });
});

describe('snapshotOf', () => {
  const objects = (manifests: Manifest[], config = decisionConfigSchema.parse({})) => [stateOf(...manifests), config, NOW] as const;
  const world = [
    aSyncTarget('a', { location: 'us-east', unschedulable: true }),
    aSyncTarget('b', { location: 'eu-west', ready: false }),
    aQuota('compute', { hard: { cpu: '10' } }),
    aQuota('batch', { hard: { cpu: '4' }, scope: { matchLabels: { tier: 'batch' } } }),
    aQuota('everything', { hard: { cpu: '100' }, scope: { matchLabels: {} } }),
    aPlacement('web', { requirements: { cpu: '1', memory: '1Gi' }, clusters: ['a', 'b'], labels: { tier: 'web' } }),
    aPlacement('job', { requirements: { cpu: '2' }, clusters: ['a'], selected: ['ghost'], labels: { tier: 'batch' } }),
    aPlacement('gone', { requirements: { cpu: '50' }, clusters: ['a'], phase: 'Evicted' }),
    aPlacement('other', { namespace: 'team-b', clusters: ['b'] }),
  ];
  const snapshot = snapshotOf(...objects(world));

  it('clusters: allocated and placement counts as admission counts them (evicted count nowhere)', () => {
    expect(snapshot.clusters.map((c) => [c.name, c.location, c.readiness, c.unschedulable, c.placementCount, strings(c.allocated)])).toEqual([
      ['a', 'us-east', 'Ready', true, 2, { cpu: '3', memory: '1152Mi', storage: '0' }],
      ['b', 'eu-west', 'NotReady', false, 2, { cpu: '1100m', memory: '1152Mi', storage: '0' }],
    ]);
  });

  it('quotas: charge x max(|C|, 1) plus placements, scopes applied; an empty selector is no scope', () => {
    expect(snapshot.quotas.map((q) => [q.key, q.scoped, q.placementCount, q.clusters, strings(q.used)])).toEqual([
      ['team-a/batch', true, 1, ['a', 'ghost'], { cpu: '4', memory: '256Mi', placements: '1', storage: '0' }],
      ['team-a/compute', false, 2, ['a', 'b', 'ghost'], { cpu: '6', memory: '2304Mi', placements: '2', storage: '0' }],
      ['team-a/everything', false, 2, ['a', 'b', 'ghost'], { cpu: '6', memory: '2304Mi', placements: '2', storage: '0' }],
    ]);
  });

  it('a workspace without quotas gets the default quota when it is enabled', () => {
    const config = decisionConfigSchema.parse({ defaultQuota: { enabled: true, hard: { cpu: '4' } } });
    const quotas = snapshotOf(...objects(world, config)).quotas.filter((q) => q.workspace === 'team-b');
    expect(quotas.map((q) => [q.key, q.name, q.scoped, strings(q.hard), strings(q.used), q.placementCount])).toEqual([
      ['team-b/', '', false, { cpu: '4' }, { cpu: '100m', memory: '128Mi', placements: '1', storage: '0' }, 1],
    ]);
  });

  it('keeps what the SyncTarget reports: capacity, allocatable defaulting to capacity, used, nodes', () => {
    const target = aSyncTarget('c', { capacity: { cpu: '4' } });
    (target.status as Record<string, unknown>).used = { cpu: '1' };
    (target.status as Record<string, unknown>).nodeSummary = { total: 2, ready: 1 };
    const [c] = snapshotOf(...objects([target])).clusters;
    expect([strings(c?.capacity ?? {}), strings(c?.allocatable ?? {}), strings(c?.used ?? {}), c?.nodes, c?.placementCount]).toEqual([{ cpu: '4' }, { cpu: '4' }, { cpu: '1' }, { total: 2, ready: 1 }, 0]);
  });
});
