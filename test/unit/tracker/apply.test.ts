import { describe, expect, it } from '@jest/globals';
import type { TrackedKind, TrackedObject } from '../../../src/api/resources.js';
import { TrackedState } from '../../../src/state/tracked-state.js';
import { formatList } from '../../../src/quantity/index.js';
import { emptyList, KindApplier } from '../../../src/tracker/apply.js';
import { keyOf, parseObject } from '../../../src/tracker/kinds.js';
import { aPlacement, aQuota, aSyncTarget } from '../../builders/objects.js';

type Manifest = Record<string, unknown>;

interface Recorded {
  changes: [TrackedKind, string, 'upsert' | 'delete'][];
  invalid: [TrackedKind, string | undefined, string][];
}

function applierFor(kind: TrackedKind, state = new TrackedState()): { applier: KindApplier; state: TrackedState; seen: Recorded } {
  const seen: Recorded = { changes: [], invalid: [] };
  const applier = new KindApplier(kind, state, {
    change: (k, key, object: TrackedObject | undefined) => seen.changes.push([k, key, object ? 'upsert' : 'delete']),
    invalid: (k, key, issues) => seen.invalid.push([k, key, issues]),
  });
  return { applier, state, seen };
}

function relist(applier: KindApplier, items: Manifest[]): { deleted: number } {
  const list = emptyList();
  applier.collect(items, list);
  return applier.swap(list);
}

const wp = (name: string, cpu: string, cluster = 'c1'): Manifest => aPlacement(name, { requirements: { cpu }, clusters: [cluster] });
const badCpu = (name: string): Manifest => aPlacement(name, { requirements: { cpu: '2 cores' }, clusters: ['c1'] });
const allocatedCpu = (state: TrackedState, cluster = 'c1'): string | undefined => formatList(state.allocated(cluster)).cpu;

describe('parseObject and keyOf', () => {
  it.each<[string, TrackedKind, Manifest, { ok: boolean; key: string | undefined; issues?: string }]>([
    ['a placement is keyed <namespace>/<name>', 'WorkloadPlacement', wp('api', '2'), { ok: true, key: 'team-a/api' }],
    [
      'on kcp the workspace includes the logical cluster',
      'WorkloadPlacement',
      aPlacement('api', { annotations: { 'kcp.io/cluster': 'root:org' } }),
      { ok: true, key: 'root:org:team-a/api' },
    ],
    ['a SyncTarget is keyed by its name', 'SyncTarget', aSyncTarget('us-east-1'), { ok: true, key: 'us-east-1' }],
    ['a quota is keyed <namespace>/<name>', 'WorkspaceQuota', aQuota('compute', { hard: { cpu: '10' } }), { ok: true, key: 'team-a/compute' }],
    [
      'a refused object still has its key, and the issue names the field',
      'WorkloadPlacement',
      badCpu('api'),
      { ok: false, key: 'team-a/api', issues: 'spec.resourceRequirements.cpu: ' },
    ],
    [
      'a lowercase RFC 3339 timestamp is accepted, as the API server accepts it',
      'SyncTarget',
      { ...aSyncTarget('odd'), status: { capacity: { cpu: '1' }, lastHeartbeatTime: '2026-11-23t12:00:00z' } },
      { ok: true, key: 'odd' },
    ],
    [
      'a timestamp the API server refuses (hour 24) is refused',
      'SyncTarget',
      { ...aSyncTarget('odd'), status: { capacity: { cpu: '1' }, lastHeartbeatTime: '2026-11-23T24:00:00Z' } },
      { ok: false, key: 'odd', issues: 'status.lastHeartbeatTime: ' },
    ],
    ['an object without a name has no key', 'SyncTarget', { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'SyncTarget', metadata: {} }, { ok: false, key: undefined }],
  ])('%s', (_name, kind, manifest, expected) => {
    const parsed = parseObject(kind, manifest);
    expect({ ok: parsed.ok, key: parsed.key }).toEqual({ ok: expected.ok, key: expected.key });
    expect(keyOf(kind, manifest)).toBe(expected.key);
    if (expected.issues !== undefined) expect(parsed.ok ? '' : parsed.issues).toContain(expected.issues);
  });

  it('fills in apiVersion and kind when a list leaves them out', () => {
    const { apiVersion: _a, kind: _k, ...bare } = wp('api', '2');
    expect(parseObject('WorkloadPlacement', bare)).toMatchObject({ ok: true, key: 'team-a/api' });
  });
});

describe('KindApplier: lists', () => {
  it('applies a complete list, reports every object, and skips (and counts) refused ones', () => {
    const { applier, state, seen } = applierFor('WorkloadPlacement');
    const result = relist(applier, [wp('a', '1'), badCpu('bad'), wp('b', '2')]);
    expect(result).toEqual({ deleted: 0 });
    expect(state.keys('WorkloadPlacement').sort()).toEqual(['team-a/a', 'team-a/b']);
    expect(allocatedCpu(state)).toBe('3');
    expect(seen.changes).toEqual([
      ['WorkloadPlacement', 'team-a/a', 'upsert'],
      ['WorkloadPlacement', 'team-a/b', 'upsert'],
    ]);
    expect(seen.invalid.map(([, key]) => key)).toEqual(['team-a/bad']);
    expect([applier.parseErrors, applier.invalidCount]).toEqual([1, 1]);
  });

  it("applies a kind's first list page by page; a relist reaches the state only with its last page", () => {
    const { applier, state, seen } = applierFor('WorkloadPlacement');
    const first = emptyList();
    applier.collect([wp('a', '1'), wp('b', '2')], first);
    // Nobody reads the kind before its first swap: the pages go straight into the state.
    expect([state.keys('WorkloadPlacement').sort(), allocatedCpu(state), first.objects.length]).toEqual([['team-a/a', 'team-a/b'], '3', 0]);
    applier.collect([wp('c', '4')], first);
    expect(applier.swap(first)).toEqual({ deleted: 0 });
    expect(seen.changes.map(([, key, what]) => `${what} ${key}`)).toEqual(['upsert team-a/a', 'upsert team-a/b', 'upsert team-a/c']);

    const second = emptyList();
    applier.collect([wp('a', '8')], second);
    expect([state.keys('WorkloadPlacement').length, allocatedCpu(state)]).toEqual([3, '7']);
    expect(applier.swap(second)).toEqual({ deleted: 2 });
    expect([state.keys('WorkloadPlacement'), allocatedCpu(state)]).toEqual([['team-a/a'], '8']);
  });

  it.each<[string, Manifest[], string[], number, string]>([
    ['drops what only the failed attempt applied', [wp('a', '1')], ['team-a/a'], 1, '1'],
    ['keeps the last good version of an object now refused', [wp('a', '1'), badCpu('b'), wp('c', '4')], ['team-a/a', 'team-a/b', 'team-a/c'], 0, '7'],
  ])('a first list read again after a failed attempt %s', (_name, listed, keys, deleted, cpu) => {
    const { applier, state } = applierFor('WorkloadPlacement');
    applier.collect([wp('a', '1'), wp('b', '2')], emptyList()); // its next page never came
    const again = emptyList();
    applier.collect(listed, again);
    expect(applier.swap(again)).toEqual({ deleted });
    expect([state.keys('WorkloadPlacement').sort(), allocatedCpu(state)]).toEqual([keys, cpu]);
  });

  it('a relist drops objects deleted meanwhile and reports their deletion', () => {
    const { applier, state, seen } = applierFor('WorkloadPlacement');
    relist(applier, [wp('a', '1'), wp('b', '2'), wp('c', '4')]);
    seen.changes.length = 0;
    const result = relist(applier, [wp('a', '1'), wp('c', '8')]);
    expect(result).toEqual({ deleted: 1 });
    expect(state.keys('WorkloadPlacement').sort()).toEqual(['team-a/a', 'team-a/c']);
    expect(allocatedCpu(state)).toBe('9');
    expect(seen.changes).toEqual([
      ['WorkloadPlacement', 'team-a/b', 'delete'],
      ['WorkloadPlacement', 'team-a/a', 'upsert'],
      ['WorkloadPlacement', 'team-a/c', 'upsert'],
    ]);
  });

  it('a relist keeps the last good version of an object whose listed version is refused', () => {
    const { applier, state } = applierFor('WorkloadPlacement');
    relist(applier, [wp('a', '1'), wp('b', '2')]);
    relist(applier, [wp('a', '1'), badCpu('b')]);
    expect(state.keys('WorkloadPlacement').sort()).toEqual(['team-a/a', 'team-a/b']);
    expect(allocatedCpu(state)).toBe('3');
    expect(applier.invalidCount).toBe(1);
    // Once it is gone from the list, it is gone from the state.
    relist(applier, [wp('a', '1')]);
    expect([state.keys('WorkloadPlacement'), allocatedCpu(state), applier.invalidCount]).toEqual([['team-a/a'], '1', 0]);
  });

  it('replaces SyncTargets and quotas the same way', () => {
    const targets = applierFor('SyncTarget');
    relist(targets.applier, [aSyncTarget('us-east-1'), aSyncTarget('eu-west-1')]);
    relist(targets.applier, [aSyncTarget('eu-west-1')]);
    expect([...targets.state.clusterRecords()].map((record) => record.name)).toEqual(['eu-west-1']);
    const quotas = applierFor('WorkspaceQuota');
    relist(quotas.applier, [aQuota('compute', { hard: { cpu: '10' } }), aQuota('storage', { hard: { storage: '1Ti' } })]);
    relist(quotas.applier, [aQuota('compute', { hard: { cpu: '12' } })]);
    expect(quotas.state.quotas('team-a').map((quota) => [quota.key, formatList(quota.hard)])).toEqual([['team-a/compute', { cpu: '12' }]]);
  });
});

describe('KindApplier: watch events', () => {
  it('applies ADDED, MODIFIED and DELETED one at a time', () => {
    const { applier, state, seen } = applierFor('WorkloadPlacement');
    applier.applyEvent('ADDED', wp('a', '1'), '10');
    applier.applyEvent('ADDED', wp('b', '2'), '11');
    applier.applyEvent('MODIFIED', wp('a', '4'), '12');
    expect(allocatedCpu(state)).toBe('6');
    applier.applyEvent('DELETED', wp('b', '2'), '13');
    expect([state.keys('WorkloadPlacement'), allocatedCpu(state)]).toEqual([['team-a/a'], '4']);
    expect(seen.changes.map(([, key, what]) => `${what} ${key}`)).toEqual(['upsert team-a/a', 'upsert team-a/b', 'upsert team-a/a', 'delete team-a/b']);
  });

  it('skips a refused update, keeping the last good version, and still deletes that object by name', () => {
    const { applier, state, seen } = applierFor('WorkloadPlacement');
    applier.applyEvent('ADDED', wp('a', '2'), '10');
    applier.applyEvent('MODIFIED', badCpu('a'), '11');
    expect([allocatedCpu(state), applier.parseErrors, applier.invalidCount]).toEqual(['2', 1, 1]);
    expect(seen.invalid).toEqual([['WorkloadPlacement', 'team-a/a', expect.stringContaining('spec.resourceRequirements.cpu')]]);
    applier.applyEvent('DELETED', badCpu('a'), '12');
    expect([state.keys('WorkloadPlacement'), allocatedCpu(state), applier.invalidCount]).toEqual([[], '0', 0]);
  });

  it('a refused object the state never held stays absent; a valid version later is applied', () => {
    const { applier, state } = applierFor('WorkloadPlacement');
    applier.applyEvent('ADDED', badCpu('a'), '10');
    expect(state.keys('WorkloadPlacement')).toEqual([]);
    applier.applyEvent('MODIFIED', wp('a', '3'), '11');
    expect([state.keys('WorkloadPlacement'), allocatedCpu(state), applier.invalidCount]).toEqual([['team-a/a'], '3', 0]);
  });

  it('a DELETED event without a name changes nothing and counts as refused', () => {
    const { applier, state } = applierFor('SyncTarget');
    applier.applyEvent('ADDED', aSyncTarget('us-east-1'), '10');
    applier.applyEvent('DELETED', { metadata: {} }, '11');
    expect([[...state.clusterRecords()].length, applier.parseErrors]).toEqual([1, 1]);
  });
});
