import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addLists, formatList, listsEqual, type ResourceList } from '../../../src/quantity/index.js';
import { clusterConsumption, placementClusters, quotaCharge } from '../../../src/core/charging.js';
import { selectorMatches } from '../../../src/core/selector.js';
import { defaultQuotaKey } from '../../../src/core/quotas.js';
import { objectKey, workspaceKey } from '../../../src/core/workspace.js';
import type { SyncTarget, WorkloadPlacement, WorkspaceQuota } from '../../../src/api/resources.js';
import { aPlacement, aQuota, aSyncTarget, placement, quota, stateOf, syncTarget } from '../../builders/objects.js';

const CLUSTERS = ['a', 'b', 'c'];
const NAMESPACES = ['team-a', 'team-b'];

const placementArb = fc
  .record({
    name: fc.constantFrom('p1', 'p2', 'p3', 'p4'),
    namespace: fc.constantFrom(...NAMESPACES),
    cpu: fc.integer({ min: 0, max: 5000 }),
    clusters: fc.subarray(CLUSTERS),
    selected: fc.subarray(CLUSTERS),
    tier: fc.constantFrom(undefined, 'batch', 'web'),
    evicted: fc.boolean(),
  })
  .map((p) =>
    placement(
      aPlacement(p.name, {
        namespace: p.namespace,
        requirements: { cpu: `${p.cpu}m` },
        clusters: p.clusters,
        selected: p.selected,
        labels: p.tier ? { tier: p.tier } : {},
        ...(p.evicted ? { phase: 'Evicted' as const } : {}),
      }),
    ),
  );

const quotaArb = fc
  .record({ name: fc.constantFrom('q1', 'q2'), namespace: fc.constantFrom(...NAMESPACES), scoped: fc.boolean() })
  .map((q) => quota(aQuota(q.name, { namespace: q.namespace, hard: { cpu: '1' }, ...(q.scoped ? { scope: { matchLabels: { tier: 'batch' } } } : {}) })));

const targetArb = fc
  .record({ name: fc.constantFrom(...CLUSTERS), cpu: fc.integer({ min: 1, max: 16 }) })
  .map((t) => syncTarget(aSyncTarget(t.name, { capacity: { cpu: `${t.cpu}` } })));

type Op =
  | { op: 'upsertTarget'; target: SyncTarget }
  | { op: 'deleteTarget'; name: string }
  | { op: 'upsertPlacement'; placement: WorkloadPlacement }
  | { op: 'deletePlacement'; placement: WorkloadPlacement }
  | { op: 'upsertQuota'; quota: WorkspaceQuota }
  | { op: 'deleteQuota'; quota: WorkspaceQuota };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  targetArb.map((t) => ({ op: 'upsertTarget' as const, target: t })),
  fc.constantFrom(...CLUSTERS).map((name) => ({ op: 'deleteTarget' as const, name })),
  placementArb.map((p) => ({ op: 'upsertPlacement' as const, placement: p })),
  placementArb.map((p) => ({ op: 'deletePlacement' as const, placement: p })),
  quotaArb.map((q) => ({ op: 'upsertQuota' as const, quota: q })),
  quotaArb.map((q) => ({ op: 'deleteQuota' as const, quota: q })),
);

const sum = (lists: ResourceList[]): ResourceList => lists.reduce(addLists, {});

describe('TrackedState indices', () => {
  it('equal a recount from scratch after any sequence of events', () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => {
        const state = stateOf();
        const placements = new Map<string, WorkloadPlacement>();
        const quotas = new Map<string, WorkspaceQuota>();
        const targets = new Map<string, SyncTarget>();
        for (const op of ops) {
          if (op.op === 'upsertTarget') {
            state.upsertSyncTarget(op.target);
            targets.set(op.target.metadata.name, op.target);
          } else if (op.op === 'deleteTarget') {
            state.deleteSyncTarget(op.name);
            targets.delete(op.name);
          } else if (op.op === 'upsertPlacement') {
            state.upsertPlacement(op.placement);
            placements.set(objectKey(op.placement.metadata), op.placement);
          } else if (op.op === 'deletePlacement') {
            state.deletePlacement(objectKey(op.placement.metadata));
            placements.delete(objectKey(op.placement.metadata));
          } else if (op.op === 'upsertQuota') {
            state.upsertQuota(op.quota);
            quotas.set(objectKey(op.quota.metadata), op.quota);
          } else {
            state.deleteQuota(objectKey(op.quota.metadata));
            quotas.delete(objectKey(op.quota.metadata));
          }
        }
        const all = [...placements.values()];
        for (const cluster of CLUSTERS) {
          const expected = sum(all.filter((p) => placementClusters(p).includes(cluster)).map(clusterConsumption));
          // What is allocated on a cluster does not depend on whether, or since when, its SyncTarget exists.
          expect(listsEqual(state.allocated(cluster), expected)).toBe(true);
          expect(formatList(state.clusterRecord(cluster)?.capacity ?? {})).toEqual(formatList(targets.get(cluster)?.status.capacity ?? {}));
        }
        expect([...state.clusterRecords()].map((record) => record.name).sort()).toEqual([...targets.keys()].sort());
        const charge = (p: WorkloadPlacement) => quotaCharge(p, placementClusters(p).length);
        for (const q of quotas.values()) {
          const ws = workspaceKey(q.metadata);
          const members = all.filter((p) => workspaceKey(p.metadata) === ws && selectorMatches(q.spec.scopeSelector, p.metadata.labels));
          expect(listsEqual(state.used(objectKey(q.metadata)), sum(members.map(charge)))).toBe(true);
        }
        for (const ws of NAMESPACES) {
          const members = all.filter((p) => workspaceKey(p.metadata) === ws);
          expect(listsEqual(state.used(defaultQuotaKey(ws)), sum(members.map(charge)))).toBe(true);
          expect(state.quotas(ws).map((q) => q.key).sort()).toEqual([...quotas.keys()].filter((k) => k.startsWith(`${ws}/`)).sort());
        }
      }),
      { numRuns: 200 },
    );
  });
});
