/**
 * The two findings no other quota system reports (SPEC §7): how much more the quotas promise than the
 * clusters hold, and which cluster's loss its location could not absorb. Pure, exact.
 */
import { PLACEMENTS_RESOURCE } from '../core/charging.js';
import { amountOf, cmp, mask, min, subLists, subNonNegative, ZERO, type Quantity, type ResourceList } from '../quantity/index.js';
import { accumulate, frozenList, newSums, type Sums } from './figures.js';

/** Σ of what the quotas promise for one resource, against what the Ready clusters can hold. */
export interface OversubscriptionFigures {
  readonly resource: string;
  /** Σ over workspaces of the most their quotas let them charge (see {@link oversubscription}). */
  readonly promised: Quantity;
  /** Σ of allocatable × overcommit over the Ready clusters. */
  readonly capacity: Quantity;
  /** promised / capacity; null when no Ready cluster has any of the resource. */
  readonly ratio: number | null;
  readonly oversubscribed: boolean;
}

/** What {@link oversubscription} reads of a quota. */
export interface PromiseInput {
  readonly workspace: string;
  readonly hard: ResourceList;
  readonly scoped: boolean;
}

/**
 * The most one workspace's quotas let it charge, per resource. A placement must fit every quota whose
 * scope matches it, so an unscoped quota bounds the whole workspace and the smallest such limit is its
 * promise; scoped quotas each bound only their own placements, so without an unscoped limit they add
 * up (placements outside every scope are unbounded, and not counted). Summing every quota instead would
 * count a `batch` quota nested inside `compute` twice.
 */
function workspacePromise(quotas: readonly PromiseInput[]): Sums {
  const unscoped = newSums();
  const scoped = newSums();
  for (const quota of quotas) {
    if (quota.scoped) {
      accumulate(scoped, quota.hard);
      continue;
    }
    for (const name of Object.keys(quota.hard)) {
      const known = unscoped[name];
      unscoped[name] = known === undefined ? amountOf(quota.hard, name) : min(known, amountOf(quota.hard, name));
    }
  }
  return Object.assign(scoped, unscoped);
}

/**
 * Per resource the quotas limit (not `placements`, which no cluster holds): what the workspaces are
 * promised in all, against the overcommit-adjusted capacity of the Ready clusters, e.g. "quotas promise
 * 3.2× the cpu that exists". `quotas` in key order keeps the sums' formats stable.
 */
export function oversubscription(quotas: readonly PromiseInput[], readyLimit: ResourceList): OversubscriptionFigures[] {
  const byWorkspace = new Map<string, PromiseInput[]>();
  for (const quota of quotas) {
    const same = byWorkspace.get(quota.workspace);
    if (same) same.push(quota);
    else byWorkspace.set(quota.workspace, [quota]);
  }
  const promised = newSums();
  for (const workspace of [...byWorkspace.keys()].sort()) accumulate(promised, frozenList(workspacePromise(byWorkspace.get(workspace) ?? [])));
  return Object.keys(promised)
    .filter((resource) => resource !== PLACEMENTS_RESOURCE)
    .sort()
    .map((resource) => {
      const amount = promised[resource] ?? ZERO;
      const capacity = amountOf(readyLimit, resource);
      const ratio = capacity.nanos > 0n ? Number(amount.nanos) / Number(capacity.nanos) : null;
      return { resource, promised: amount, capacity, ratio, oversubscribed: cmp(amount, capacity) > 0 };
    });
}

/** Whether one cluster's placements would fit on the rest of its location. */
export interface FailoverFigures {
  readonly cluster: string;
  readonly location: string;
  /** The other Ready, schedulable clusters of the location: where its placements could go. */
  readonly peers: number;
  /** What its placements allocate (resources above zero). */
  readonly needed: ResourceList;
  /** Σ of max(0, limit − allocated) on the peers, per resource of `needed`. */
  readonly room: ResourceList;
  /** needed − room where positive: by how much its loss could not be absorbed. Empty when absorbed. */
  readonly shortfall: ResourceList;
  readonly absorbed: boolean;
}

/** What {@link failoverHeadroom} reads of a cluster. */
export interface FailoverInput {
  readonly name: string;
  readonly location: string;
  readonly health: { readonly ready: boolean; readonly schedulable: boolean };
  readonly limit: ResourceList;
  readonly allocated: ResourceList;
}

const acceptsPlacements = (cluster: FailoverInput): boolean => cluster.health.ready && cluster.health.schedulable;

function positive(list: ResourceList): ResourceList {
  return mask(list, Object.keys(list).filter((name) => amountOf(list, name).nanos > 0n));
}

/**
 * For every cluster: would what it allocates fit in the room left on the other Ready, schedulable
 * clusters of its location? The room is pooled (a placement is not split across clusters, so a fit
 * here is necessary, not sufficient: a "no" is certain, a "yes" says the room exists in total). One
 * pass builds each location's pool; a cluster's own room is then taken back out, exactly.
 */
export function failoverHeadroom(clusters: readonly FailoverInput[]): FailoverFigures[] {
  const roomOf = new Map<FailoverInput, ResourceList>();
  const pools = new Map<string, { sums: Sums; peers: number }>();
  for (const cluster of clusters) {
    if (!acceptsPlacements(cluster)) continue;
    const room = subNonNegative(cluster.limit, cluster.allocated);
    roomOf.set(cluster, room);
    let pool = pools.get(cluster.location);
    if (!pool) pools.set(cluster.location, (pool = { sums: newSums(), peers: 0 }));
    accumulate(pool.sums, room);
    pool.peers += 1;
  }
  const frozenPools = new Map([...pools].map(([location, pool]) => [location, { room: frozenList(pool.sums), peers: pool.peers }]));
  return clusters.map((cluster) => {
    const pool = frozenPools.get(cluster.location) ?? { room: {}, peers: 0 };
    const own = roomOf.get(cluster);
    const needed = positive(cluster.allocated);
    const others = own ? subLists(pool.room, own) : pool.room;
    // Every resource needed, zero where the peers have none of it: that is the whole shortfall.
    const room = frozenList(Object.fromEntries(Object.keys(needed).map((name) => [name, amountOf(others, name)])));
    const shortfall = positive(subNonNegative(needed, room));
    return {
      cluster: cluster.name,
      location: cluster.location,
      peers: pool.peers - (own ? 1 : 0),
      needed,
      room,
      shortfall,
      absorbed: Object.keys(shortfall).length === 0,
    };
  });
}
