/**
 * Status aggregation (SPEC §7, issue 17): one table per strategy and one per conflict type, then what
 * the writer patches (and that it patches nothing when the stored status already says it).
 */
import { describe, expect, it } from '@jest/globals';
import { workloadPlacementSchema, type ConflictStrategy } from '../../../src/api/resources.js';
import {
  aggregateClusterStatuses,
  aggregationInput,
  aggregationPatch,
  canonicalJson,
  MAX_CONFLICTS,
  type AggregationInput,
  type ClusterStatusEntry,
} from '../../../src/core/status-aggregation.js';
import { aPlacement, ago, NOW } from '../../builders/objects.js';

const SETTINGS = { staleAfterMs: 300_000, clusterPriority: ['eu-west-2', 'us-east-1'] };
const C = ['ap-south-1', 'eu-west-2', 'us-east-1'];

/** An entry at generation 3, `secondsAgo` before NOW. */
const entry = (cluster: string, phase: string, secondsAgo: number, observedGeneration: number | undefined = 3): ClusterStatusEntry => ({
  cluster,
  phase,
  ...(observedGeneration === undefined ? {} : { observedGeneration }),
  lastUpdated: ago(secondsAgo * 1000),
});

const input = (strategy: ConflictStrategy, entries: ClusterStatusEntry[], clusters = C): AggregationInput => ({ generation: 3, clusters, entries, strategy });
const run = (strategy: ConflictStrategy, entries: ClusterStatusEntry[], clusters = C) => aggregateClusterStatuses(input(strategy, entries, clusters), SETTINGS, NOW);

// ap-south-1 Running 30 s ago, eu-west-2 Failed 10 s ago, us-east-1 Pending 60 s ago: three phases.
const DISAGREEING = [entry('ap-south-1', 'Running', 30), entry('eu-west-2', 'Failed', 10), entry('us-east-1', 'Pending', 60)];

describe('resolution by strategy, the clusters disagreeing', () => {
  it.each([
    ['UseNewest', 'eu-west-2', 'Failed', 'UseNewest: eu-west-2 reported last (2026-11-23T11:59:50.000Z)'],
    ['UseOldest', 'us-east-1', 'Pending', 'UseOldest: us-east-1 reported first (2026-11-23T11:59:00.000Z)'],
    ['Priority', 'eu-west-2', 'Failed', 'Priority: eu-west-2 is #1 in clusterPriority'],
  ] as const)('%s picks %s (%s)', (strategy, winner, phase, why) => {
    const { status, condition } = run(strategy, DISAGREEING);
    expect(status).toMatchObject({ phase, winner, why, strategy });
    expect(condition).toEqual({ type: 'StatusConflict', status: 'False', reason: `ResolvedBy${strategy}`, message: why });
  });

  it('Manual picks nobody, the phase is Unknown and StatusConflict is True with the conflict in the message', () => {
    const { status, condition } = run('Manual', DISAGREEING);
    expect(status.phase).toBe('Unknown');
    expect(status).not.toHaveProperty('winner');
    expect(condition.status).toBe('True');
    expect(condition.reason).toBe('ManualResolutionRequired');
    expect(condition.message).toBe(
      'phase Failed on eu-west-2; Pending on us-east-1; Running on ap-south-1 (observedGeneration 3); Manual: the clusters report different phases (Failed, Pending, Running); nothing is picked until they agree',
    );
  });

  it.each(['UseNewest', 'UseOldest', 'Priority', 'Manual'] as const)('%s with agreeing clusters picks nobody and reports no conflict', (strategy) => {
    const { status, conflicts, condition, placed } = run(strategy, C.map((cluster, i) => entry(cluster, 'Running', i)));
    expect(status).toMatchObject({ phase: 'Running', why: 'all 3 clusters report Running', ready: '3/3', conflicts: [] });
    expect(status).not.toHaveProperty('winner');
    expect(conflicts).toEqual([]);
    expect(condition).toMatchObject({ status: 'False', reason: 'ClustersAgree' });
    expect(placed).toBe(true);
  });

  it('UseNewest breaks a tie of lastUpdated by cluster name', () => {
    expect(run('UseNewest', [entry('us-east-1', 'Failed', 5), entry('eu-west-2', 'Running', 5)]).status.winner).toBe('eu-west-2');
  });

  it('UseNewest and UseOldest never prefer an entry without lastUpdated', () => {
    const untimed: ClusterStatusEntry = { cluster: 'ap-south-1', phase: 'Failed', observedGeneration: 3 };
    expect(run('UseNewest', [untimed, entry('us-east-1', 'Running', 5)]).status.winner).toBe('us-east-1');
    expect(run('UseOldest', [untimed, entry('us-east-1', 'Running', 5)]).status.winner).toBe('us-east-1');
  });

  it('Priority puts clusters not listed after the listed ones, then by name', () => {
    expect(run('Priority', [entry('us-east-1', 'Failed', 5), entry('ap-south-1', 'Running', 5)]).status.winner).toBe('us-east-1');
    const unlisted = run('Priority', [entry('ap-south-1', 'Failed', 5), entry('zz-1', 'Running', 5)], ['ap-south-1', 'zz-1']);
    expect(unlisted.status).toMatchObject({ winner: 'ap-south-1', why: 'Priority: no reporting cluster is in clusterPriority; ap-south-1 is first by name' });
  });
});

describe('conflicts by type', () => {
  it('Generation: clusters report different observedGenerations (same phase: nothing to pick)', () => {
    const { conflicts, status, clusters } = run('Manual', [entry('ap-south-1', 'Running', 1, 2), entry('eu-west-2', 'Running', 1), entry('us-east-1', 'Running', 1)]);
    expect(conflicts).toEqual([{ type: 'Generation', clusters: C, message: 'observedGeneration 2 on ap-south-1; 3 on eu-west-2, us-east-1' }]);
    expect(status).toMatchObject({ phase: 'Running', ready: '2/3', clusters: { total: 3, reported: 3, current: 2, running: 2, stale: 0 } });
    expect(clusters.map((c) => c.generation)).toEqual(['behind', 'current', 'current']);
  });

  it('Status: different phases at one generation, one conflict per generation', () => {
    const { conflicts } = run('UseNewest', [entry('ap-south-1', 'Running', 1, 2), entry('eu-west-2', 'Failed', 1), entry('us-east-1', 'Running', 1)]);
    expect(conflicts.map((c) => c.type)).toEqual(['Generation', 'Status']);
    expect(conflicts[1]).toEqual({ type: 'Status', clusters: ['eu-west-2', 'us-east-1'], message: 'phase Failed on eu-west-2; Running on us-east-1 (observedGeneration 3)' });
  });

  it('Missing: past ten clusters, the first ten named and how many more', () => {
    const many = Array.from({ length: 12 }, (_, i) => `c-${String(i).padStart(2, '0')}`);
    const { conflicts } = run('UseNewest', [], many);
    expect(conflicts).toEqual([{ type: 'Missing', clusters: many.slice(0, 10), more: 2, message: `no status from ${many.slice(0, 10).join(', ')} and 2 more` }]);
  });

  it('Missing: clusters of C without an entry', () => {
    const { conflicts, status, placed } = run('UseNewest', [entry('us-east-1', 'Running', 1)]);
    expect(conflicts).toEqual([{ type: 'Missing', clusters: ['ap-south-1', 'eu-west-2'], message: 'no status from ap-south-1, eu-west-2' }]);
    expect(status).toMatchObject({ phase: 'Running', why: '1 of 3 clusters report Running', ready: '1/3' });
    expect(placed).toBe(false);
  });

  it('NotTargeted: entries from clusters outside C are ignored, and said so', () => {
    const { conflicts, status } = run('UseNewest', [...C.map((cluster) => entry(cluster, 'Running', 1)), entry('old-cluster', 'Failed', 0)]);
    expect(conflicts).toEqual([{ type: 'NotTargeted', clusters: ['old-cluster'], message: 'ignored: old-cluster not among the placement\'s clusters' }]);
    expect(status).toMatchObject({ phase: 'Running', ready: '3/3', clusters: { reported: 3 } });
  });

  it('stale: an entry older than the limit counts as reported, not as running', () => {
    const { clusters, status, placed } = run('UseNewest', [entry('ap-south-1', 'Running', 301), entry('eu-west-2', 'Running', 1), entry('us-east-1', 'Running', 300)]);
    expect(clusters.map((c) => c.stale)).toEqual([true, false, false]);
    expect(status).toMatchObject({ ready: '2/3', clusters: { reported: 3, current: 3, running: 2, stale: 1 } });
    expect(placed).toBe(false);
  });

  it('nothing reported: Unknown, nobody picked, StatusConflict False', () => {
    const { status, condition } = run('Manual', []);
    expect(status).toMatchObject({ phase: 'Unknown', ready: '0/3', clusterNames: 'ap-south-1,eu-west-2,us-east-1' });
    expect(condition).toMatchObject({ status: 'False', reason: 'NothingReported' });
  });

  it('keeps at most MAX_CONFLICTS conflicts and at most 10 clusters per conflict', () => {
    const many = Array.from({ length: 30 }, (_, i) => `c${String(i).padStart(2, '0')}`);
    // Ten generations, each with two phases: ten Status conflicts, one Generation, one Missing.
    const entries = many.slice(0, 20).map((cluster, i) => entry(cluster, i % 2 === 0 ? 'Running' : 'Failed', 1, i >> 1));
    const { status, conflicts } = run('UseNewest', entries, many);
    expect(conflicts).toHaveLength(12);
    expect(status.conflicts).toHaveLength(MAX_CONFLICTS);
    expect(status.conflictsOmitted).toBe(12 - MAX_CONFLICTS);
    expect(status.conflicts[0]).toMatchObject({ type: 'Generation', more: 10 });
    expect(status.conflicts[0]?.clusters).toHaveLength(10);
  });
});

describe('shortcuts give what the general path would', () => {
  it.each([
    ['in order', C],
    ['out of order', ['us-east-1', 'ap-south-1', 'eu-west-2']],
    ['with a cluster twice', ['eu-west-2', 'ap-south-1', 'us-east-1', 'eu-west-2']],
  ])('C %s: the aggregation of C sorted, each once', (_, clusters) => {
    const result = run('UseNewest', DISAGREEING, clusters);
    expect(result).toEqual(run('UseNewest', DISAGREEING, C));
    expect(result.clusters.map((c) => c.cluster)).toEqual(C);
  });

  it.each([
    ['7 entries: found by a scan', 4],
    ['8 entries: found through a Map', 5],
  ])('%s, with the same outcome', (_, notTargeted) => {
    const others = Array.from({ length: notTargeted }, (_, i) => entry(`old-${i}`, 'Failed', 0));
    const { conflicts, status } = run('UseNewest', [...others, ...DISAGREEING].reverse());
    expect(status).toMatchObject({ phase: 'Failed', winner: 'eu-west-2', ready: '1/3', clusters: { reported: 3 } });
    expect(conflicts.map((c) => c.type)).toEqual(['Status', 'NotTargeted']);
  });

  it('names the clusters of a conflict in order whatever order their entries came in', () => {
    const { conflicts } = run('UseNewest', [...C.map((cluster) => entry(cluster, 'Running', 1)), entry('zz-old', 'Failed', 0), entry('old-cluster', 'Failed', 0)]);
    expect(conflicts).toEqual([{ type: 'NotTargeted', clusters: ['old-cluster', 'zz-old'], message: "ignored: old-cluster, zz-old not among the placement's clusters" }]);
  });

  it.each([
    ['fits: kept as found', 'Failed', false],
    ['is too long for the CRD: cut in the written status only', 'F'.repeat(1200), true],
  ])('a conflict whose message %s', (_, phase, cut) => {
    const { conflicts, status } = run('UseNewest', [entry('ap-south-1', phase, 1), entry('eu-west-2', 'Running', 1), entry('us-east-1', 'Running', 1)]);
    const written = status.conflicts[0];
    expect(written?.message).toBe(cut ? `${conflicts[0]?.message.slice(0, 1000)}…` : conflicts[0]?.message);
    expect(written).toEqual(cut ? { ...conflicts[0], message: written?.message } : conflicts[0]);
  });
});

describe('the CLUSTERS text', () => {
  /** 51 characters. */
  const long = (i: number) => `cluster-${'x'.repeat(40)}-${String(i).padStart(2, '0')}`;
  const ten = Array.from({ length: 10 }, (_, i) => long(i));
  it.each([
    ['a few names: joined with commas', C, 'ap-south-1,eu-west-2,us-east-1'],
    ['exactly 512 characters: whole', ['a'.repeat(253), 'b'.repeat(258)], `${'a'.repeat(253)},${'b'.repeat(258)}`],
    ['past 512 characters: cut after the last name that fits, then how many more', ten, `${ten.slice(0, 9).join(',')},+1 more`],
    ['nothing', [], ''],
  ])('%s', (_, clusters, text) => {
    expect(run('Manual', [], clusters).status.clusterNames).toBe(text);
  });
});

const placement = (options: { entries?: ClusterStatusEntry[]; strategy?: ConflictStrategy; phase?: string; extraStatus?: object } = {}) => {
  const manifest = aPlacement('web', { clusters: C });
  return workloadPlacementSchema.parse({
    ...manifest,
    metadata: { ...(manifest.metadata as object), generation: 3 },
    spec: { ...(manifest.spec as object), conflictStrategy: options.strategy ?? 'UseNewest' },
    status: { ...(manifest.status as object), phase: options.phase ?? 'Pending', clusterStatuses: options.entries ?? [], ...options.extraStatus },
  });
};

describe('aggregationPatch', () => {
  const nowIso = new Date(NOW).toISOString();
  const allRunning = C.map((cluster) => entry(cluster, 'Running', 1));

  /** The placement after the patch was applied as a merge patch (null removes). */
  const applied = (before: ReturnType<typeof placement>, patch: NonNullable<ReturnType<typeof aggregationPatch>>) => {
    const aggregated = Object.fromEntries(Object.entries({ ...before.status.aggregatedStatus, ...patch.aggregatedStatus }).filter(([, v]) => v !== null));
    return { ...before, status: { ...before.status, ...patch, conditions: [...(patch.conditions ?? before.status.conditions)], aggregatedStatus: aggregated } };
  };

  it('sets Placed once every cluster runs at the current generation, then has nothing to write', () => {
    const before = placement({ entries: allRunning });
    const patch = aggregationPatch(before, aggregateClusterStatuses(aggregationInput(before), SETTINGS, NOW), nowIso);
    expect(patch?.phase).toBe('Placed');
    expect(patch?.conditions).toEqual([{ type: 'StatusConflict', status: 'False', reason: 'ClustersAgree', message: 'all 3 clusters report Running', lastTransitionTime: nowIso, observedGeneration: 3 }]);
    const after = applied(before, patch!);
    // Its own write, seen again by its watch, writes nothing: no loop.
    expect(aggregationPatch(after, aggregateClusterStatuses(aggregationInput(after), SETTINGS, NOW + 1000), new Date(NOW + 1000).toISOString())).toBeUndefined();
  });

  it('goes back to Pending when a cluster stops running, and never touches Evicted', () => {
    const failed = [entry('ap-south-1', 'Failed', 1), ...allRunning.slice(1)];
    const placed = placement({ entries: failed, phase: 'Placed' });
    expect(aggregationPatch(placed, aggregateClusterStatuses(aggregationInput(placed), SETTINGS, NOW), nowIso)?.phase).toBe('Pending');
    const evicted = placement({ entries: allRunning, phase: 'Evicted' });
    const patch = aggregationPatch(evicted, aggregateClusterStatuses(aggregationInput(evicted), SETTINGS, NOW), nowIso);
    expect(patch).toBeDefined();
    expect(patch).not.toHaveProperty('phase');
  });

  it('removes keys the stored status has and the new one lacks (a merge patch keeps what it does not name)', () => {
    const before = placement({ entries: allRunning, extraStatus: { aggregatedStatus: { winner: 'us-east-1', handEdited: true } } });
    const patch = aggregationPatch(before, aggregateClusterStatuses(aggregationInput(before), SETTINGS, NOW), nowIso);
    expect(patch?.aggregatedStatus).toMatchObject({ winner: null, handEdited: null, phase: 'Running' });
  });

  it('compares the stored status whatever order its keys come back in', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: 2, e: 3 }], c: 'x' } })).toBe(canonicalJson({ a: { c: 'x', d: [1, { e: 3, f: 2 }] }, b: 1 }));
    expect(canonicalJson({ a: 1 })).not.toBe(canonicalJson({ a: 2 }));
  });
});
