import { amountOf, type Quantity, type ResourceList } from '../quantity/index.js';
import { isReady } from './cluster-health.js';
import { positiveResources, type DecisionContext } from './fit.js';
import type { ClusterView, RoomCandidate, RoomRanking } from './view.js';

/**
 * "Clusters with room" (SPEC §4): the Ready, schedulable clusters where a denied placement would fit,
 * most room first. Finding them reads every cluster, so the ranking of all clusters for a requested
 * shape is kept until the view's version moves on (a cluster or an allocation changed) and reused by
 * the next denial of the same shape, whatever clusters that one excludes. Time alone only makes
 * clusters NotReady (a fresh heartbeat is an event, and bumps the version), so a kept ranking stays
 * right as long as the clusters it answers with are still fresh at the decision's clock. The view
 * keeps the rankings (StateView.roomRankings); this module only works them out.
 */

/** The positive amounts of a request, in nanos, and a key that tells shapes apart. */
interface Shape {
  readonly resources: readonly string[];
  readonly nanos: readonly bigint[];
  readonly key: string;
}

function shapeOf(requested: ResourceList): Shape {
  const resources = positiveResources(requested);
  const nanos = resources.map((resource) => amountOf(requested, resource).nanos);
  return { resources, nanos, key: JSON.stringify([resources, nanos.map(String)]) };
}

/** {@link amountOf}'s nanos, inline: this runs for every cluster and resource. */
const nanosOf = (list: ResourceList, name: string): bigint => (Object.hasOwn(list, name) ? (list[name] as Quantity).nanos : 0n);

/** How many copies of the shape fit in the cluster's overcommitted allocatable beside what is allocated there. */
function copiesThatFit(record: ClusterView, allocated: ResourceList, shape: Shape, overcommit: ResourceList): bigint {
  const effective = record.effectiveAllocatable(overcommit);
  let copies: bigint | undefined;
  for (let i = 0; i < shape.resources.length; i++) {
    const resource = shape.resources[i] as string;
    const free = nanosOf(effective, resource) - nanosOf(allocated, resource);
    const fit = free > 0n ? free / (shape.nanos[i] as bigint) : 0n;
    if (copies === undefined || fit < copies) copies = fit;
  }
  return copies ?? 0n;
}

const byRoom = (a: RoomCandidate, b: RoomCandidate): number => (a.copies === b.copies ? a.name.localeCompare(b.name) : a.copies > b.copies ? -1 : 1);

function rank({ view, config, nowMs }: DecisionContext, shape: Shape): RoomRanking {
  const candidates: RoomCandidate[] = [];
  for (const record of view.clusterRecords()) {
    if (record.unschedulable || !isReady(record, nowMs)) continue;
    // A shape that asks for nothing fits on every Ready, schedulable cluster (ranked by name).
    const copies = shape.resources.length === 0 ? 1n : copiesThatFit(record, view.allocated(record.name), shape, config.overcommit);
    if (copies > 0n) candidates.push({ name: record.name, copies, cluster: record });
  }
  return { overcommit: config.overcommit, rankedAtMs: nowMs, candidates: candidates.sort(byRoom) };
}

/** The first `limit` candidates outside `exclude`. */
function pick(ranking: RoomRanking, exclude: ReadonlySet<string>, limit: number): RoomCandidate[] {
  const picked: RoomCandidate[] = [];
  for (const candidate of ranking.candidates) {
    if (picked.length >= limit) break;
    if (!exclude.has(candidate.name)) picked.push(candidate);
  }
  return picked;
}

/** The kept ranking's answer, or undefined when the state, the configuration or the clock has moved past it. */
function keptAnswer(ranking: RoomRanking | undefined, { config, nowMs }: DecisionContext, exclude: ReadonlySet<string>): RoomCandidate[] | undefined {
  // A clock that went back could find clusters fresh that the ranking left out as stale.
  if (!ranking || ranking.overcommit !== config.overcommit || nowMs < ranking.rankedAtMs) return undefined;
  const picked = pick(ranking, exclude, config.roomSuggestions);
  return picked.every((candidate) => isReady(candidate.cluster, nowMs)) ? picked : undefined;
}

/** Ready, schedulable clusters outside `exclude` where `requested` fits, most room first, at most `config.roomSuggestions`. */
export function clustersWithRoom(context: DecisionContext, requested: ResourceList, exclude: ReadonlySet<string>): string[] {
  const shape = shapeOf(requested);
  const rankings = context.view.roomRankings();
  let answer = keptAnswer(rankings.get(shape.key), context, exclude);
  if (!answer) {
    const ranking = rank(context, shape);
    rankings.set(shape.key, ranking);
    answer = pick(ranking, exclude, context.config.roomSuggestions);
  }
  return answer.map((candidate) => candidate.name);
}
