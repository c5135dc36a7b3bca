import type { WorkloadPlacement } from '../api/resources.js';
import { fromInteger, inOrder, scaleList, addLists, type ResourceList } from '../quantity/index.js';

const NOTHING: ResourceList = Object.freeze({});

/** The quota resource that counts placements. */
export const PLACEMENTS_RESOURCE = 'placements';

export function isEvicted(placement: WorkloadPlacement): boolean {
  return placement.status.phase === 'Evicted';
}

/** SPEC §3: the set C a placement lands on, spec.targetClusters ∪ status.selectedClusters, sorted. */
export function placementClusters(placement: WorkloadPlacement): string[] {
  const names = new Set(placement.spec.targetClusters.map((target) => target.name));
  for (const name of placement.status.selectedClusters) names.add(name);
  return inOrder([...names]);
}

/** What the placement consumes on each cluster of C; nothing once evicted. */
export function clusterConsumption(placement: WorkloadPlacement): ResourceList {
  return isEvicted(placement) ? NOTHING : placement.spec.resourceRequirements;
}

/** SPEC §3: requirements × max(|C|, 1) plus `placements: 1`; nothing once evicted. */
export function quotaCharge(placement: WorkloadPlacement, clusterCount: number): ResourceList {
  if (isEvicted(placement)) return NOTHING;
  const perCopy = scaleList(placement.spec.resourceRequirements, Math.max(clusterCount, 1));
  return addLists(perCopy, { [PLACEMENTS_RESOURCE]: fromInteger(1) });
}
