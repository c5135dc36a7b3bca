import { describe, expect, it } from '@jest/globals';
import { DEFAULT_OVERCOMMIT } from '../../../src/api/config.js';
import { chooseEvictions } from '../../../src/core/eviction.js';
import { evictionSnapshot, notReadyForMs, type EvictionSettings } from '../../../src/enforcement/eviction-input.js';
import { markOf } from '../../../src/state/tracked-state.js';
import { addManifest, aPlacement, aQuota, aSyncTarget, ago, NOW, stateOf, syncTarget, type Manifest } from '../../builders/objects.js';
import { ClusterRecord } from '../../../src/state/cluster-record.js';
import { formatForHumans } from '../../../src/quantity/index.js';
import { list } from '../../builders/eviction.js';

const settings = (overrides: Partial<EvictionSettings['enforcement']> = {}, defaultQuota: EvictionSettings['defaultQuota'] = { enabled: false, hard: {}, soft: {} }): EvictionSettings => ({
  overcommit: DEFAULT_OVERCOMMIT,
  defaultQuota,
  enforcement: { defaultMode: 'Soft', clusterMode: 'Soft', notReadyGraceSeconds: 300, ...overrides },
});

const created = (manifest: Manifest, secondsAgo: number): Manifest => ({
  ...manifest,
  metadata: { ...(manifest.metadata as object), creationTimestamp: ago(secondsAgo * 1000) },
});

describe('evictionSnapshot', () => {
  it('reads priority, creation time and scoped quota keys of every placement not evicted', () => {
    const state = stateOf(
      aQuota('compute', { hard: { cpu: '4' } }),
      aQuota('gpu', { hard: { cpu: '1' }, scope: { matchLabels: { tier: 'gpu' } } }),
      created(aPlacement('old', { requirements: { cpu: '2' }, priority: 5 }), 100),
      created(aPlacement('new', { requirements: { cpu: '2' }, labels: { tier: 'gpu' } }), 10),
      aPlacement('gone', { requirements: { cpu: '2' }, phase: 'Evicted' }),
    );
    const { input, placements } = evictionSnapshot(state, settings(), NOW);
    expect([...placements.keys()].sort()).toEqual(['team-a/new', 'team-a/old']);
    expect(placements.get('team-a/old')).toMatchObject({ name: 'old', priority: 5, createdMs: NOW - 100_000, quotas: ['team-a/', 'team-a/compute'] });
    expect(placements.get('team-a/new')?.quotas).toEqual(['team-a/', 'team-a/compute', 'team-a/gpu']);
    expect(input.quotas.map((q) => [q.key, q.mode, formatForHumans(q.used.cpu!)])).toEqual([
      ['team-a/compute', 'Soft', '4'],
      ['team-a/gpu', 'Soft', '2'],
    ]);
  });

  it('takes a quota mode from spec.enforcementMode, else the default', () => {
    const hard = aQuota('compute', { hard: { cpu: '1' } });
    const state = stateOf({ ...hard, spec: { ...(hard.spec as object), enforcementMode: 'Hard' } }, aPlacement('a', { requirements: { cpu: '2' } }));
    expect(evictionSnapshot(state, settings(), NOW).input.quotas[0]?.mode).toBe('Hard');
    expect(chooseEvictions(evictionSnapshot(state, settings(), NOW).input).evict.map((v) => v.key)).toEqual(['team-a/a']);
  });

  it('adds the default quota of a workspace without quota objects, when enabled', () => {
    const state = stateOf(aPlacement('a', { namespace: 'team-b', requirements: { cpu: '2' } }));
    const { input } = evictionSnapshot(state, settings({ defaultMode: 'Hard' }, { enabled: true, hard: list({ cpu: '1' }), soft: {} }), NOW);
    expect(input.quotas.map((q) => [q.key, q.label, q.mode])).toEqual([['team-b/', 'default quota of workspace team-b', 'Hard']]);
  });

  it('limits a cluster to allocatable x overcommit, in the cluster mode', () => {
    const state = stateOf(aSyncTarget('us-east-1', { capacity: { cpu: '4' } }), aPlacement('a', { requirements: { cpu: '5' }, clusters: ['us-east-1'] }));
    const [cluster] = evictionSnapshot(state, settings({ clusterMode: 'Hard' }), NOW).input.clusters;
    expect(cluster).toMatchObject({ name: 'us-east-1', mode: 'Hard', notReady: undefined });
    expect(formatForHumans(cluster!.limit.cpu!)).toBe('6');
    expect(formatForHumans(cluster!.allocated.cpu!)).toBe('5');
  });

  it('keeps the Soft conditions True on a placement as bits', () => {
    const marked = aPlacement('a');
    const conditions = [
      { type: 'QuotaExceeded', status: 'True', reason: 'QuotaExceeded', message: '', lastTransitionTime: ago(0) },
      { type: 'ClusterNotReady', status: 'False', reason: 'WithinLimits', message: '', lastTransitionTime: ago(0) },
    ];
    const state = stateOf({ ...marked, status: { ...(marked.status as object), conditions } });
    expect(evictionSnapshot(state, settings(), NOW).placements.get('team-a/a')?.marks).toBe(markOf('QuotaExceeded'));
  });
});

describe('notReadyForMs', () => {
  const record = (manifest: Manifest) => new ClusterRecord(syncTarget(manifest));
  it.each([
    ['Ready=False since its transition', aSyncTarget('c', { ready: false }), 3_600_000],
    ['a stale heartbeat since it went stale (20s interval x 3)', aSyncTarget('c', { heartbeatAgoMs: 100_000 }), 40_000],
    ['a fresh, Ready cluster', aSyncTarget('c'), 0],
  ])('%s', (_, manifest, expected) => {
    expect(notReadyForMs(record(manifest), NOW)).toBe(expected);
  });
});

describe('evictionSnapshot when nothing is over', () => {
  it('makes no pass over the placements unless one carries a mark to clear', () => {
    const within = stateOf(aQuota('compute', { hard: { cpu: '10' } }), aPlacement('a', { requirements: { cpu: '2' } }));
    expect(evictionSnapshot(within, settings(), NOW).placements.size).toBe(0);
    const marked = aPlacement('b', { requirements: { cpu: '2' } });
    const conditions = [{ type: 'QuotaExceeded', status: 'True', reason: 'QuotaExceeded', message: '', lastTransitionTime: ago(0) }];
    addManifest(within, { ...marked, status: { ...(marked.status as object), conditions } });
    expect(within.markedPlacements()).toBe(1);
    expect([...evictionSnapshot(within, settings(), NOW).placements.keys()].sort()).toEqual(['team-a/a', 'team-a/b']);
    within.deletePlacement('team-a/b');
    expect(within.markedPlacements()).toBe(0);
  });
});
