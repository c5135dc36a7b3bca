/**
 * The two findings no other quota system reports (SPEC §7): how much more the quotas promise than the
 * clusters hold, and which cluster's loss its location could not absorb. Pure, exact.
 */
import { PLACEMENTS_RESOURCE } from '../core/charging.js';
import { amountOf, cmp, min, type Quantity, type ResourceList } from '../quantity/index.js';
import { accumulate, quantityOf, setOwn, startSum, Sums, type RunningSum } from './figures.js';

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
 * What one workspace's quotas promise of one resource: the smallest unscoped limit, else the sum of
 * the scoped ones. `round` numbers the workspace that set it; a record of an earlier one reads as absent.
 */
interface ResourcePromise {
  readonly name: string;
  round: number;
  limit: Quantity | undefined;
  scoped: RunningSum | undefined;
}

/** The record of `name` for this round's workspace, reset if an earlier workspace left it. */
function promiseOf(promises: Map<string, ResourcePromise>, name: string, round: number): ResourcePromise {
  let promise = promises.get(name);
  if (!promise) promises.set(name, (promise = { name, round, limit: undefined, scoped: undefined }));
  else if (promise.round !== round) {
    promise.round = round;
    promise.limit = undefined;
    promise.scoped = undefined;
  }
  return promise;
}

/**
 * The most one workspace's quotas let it charge, per resource. A placement must fit every quota whose
 * scope matches it, so an unscoped quota bounds the whole workspace and the smallest such limit is its
 * promise; scoped quotas each bound only their own placements, so without an unscoped limit they add
 * up (placements outside every scope are unbounded, and not counted). Summing every quota instead would
 * count a `batch` quota nested inside `compute` twice.
 */
function addWorkspacePromise(into: Sums, quotas: readonly PromiseInput[], promises: Map<string, ResourcePromise>, round: number): void {
  // One record per resource for all workspaces, reset as each is reached: emptying the map for every
  // workspace made it allocate a new hash table 6,667 times per aggregation.
  for (const quota of quotas) {
    for (const name in quota.hard) {
      if (!Object.hasOwn(quota.hard, name)) continue;
      const amount = quota.hard[name] as Quantity;
      const promise = promiseOf(promises, name, round);
      if (!quota.scoped) promise.limit = promise.limit === undefined ? amount : min(promise.limit, amount);
      else if (promise.scoped === undefined) promise.scoped = startSum(amount);
      else accumulate(promise.scoped, amount);
    }
  }
  // A record of this round exists only once a quota limited the resource, so one of the two is set.
  // Its values, not its [name, record] entries: those are an array each.
  for (const promise of promises.values()) if (promise.round === round) into.addQuantity(promise.name, promise.limit ?? (promise.scoped as RunningSum));
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
  const sums = new Sums();
  const promises = new Map<string, ResourcePromise>();
  let round = 0;
  for (const workspace of [...byWorkspace.keys()].sort()) addWorkspacePromise(sums, byWorkspace.get(workspace) ?? [], promises, round++);
  const promised = sums.list();
  return Object.keys(promised)
    .filter((resource) => resource !== PLACEMENTS_RESOURCE)
    .map((resource) => {
      const amount = amountOf(promised, resource);
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
  /** limit − allocated, as the cluster's figures have it already. */
  readonly available: ResourceList;
}

const acceptsPlacements = (cluster: FailoverInput): boolean => cluster.health.ready && cluster.health.schedulable;

/** max(0, limit − allocated) of one resource of the limit, in nanos. */
function roomNanos(cluster: FailoverInput, name: string): bigint {
  const room = amountOf(cluster.available, name).nanos;
  return room > 0n ? room : 0n;
}

interface Pool {
  /** Σ of the room of its Ready, schedulable clusters, per resource, in nanos (added to in place). */
  readonly room: Map<string, { nanos: bigint }>;
  peers: number;
}

/** The room the other clusters of the pool have for one resource: the pool less this cluster's own room, exactly. */
function roomOfOthers(pool: Pool | undefined, cluster: FailoverInput, own: boolean, name: string): bigint {
  return (pool?.room.get(name)?.nanos ?? 0n) - (own ? roomNanos(cluster, name) : 0n);
}

/** The shortfall of every cluster whose loss is absorbed: one shared empty list. */
const NO_SHORTFALL: ResourceList = Object.freeze({});

function failoverOf(cluster: FailoverInput, pool: Pool | undefined): FailoverFigures {
  const own = acceptsPlacements(cluster);
  const needed: Record<string, Quantity> = {};
  const room: Record<string, Quantity> = {};
  let shortfall: Record<string, Quantity> | undefined;
  for (const name in cluster.allocated) {
    if (!Object.hasOwn(cluster.allocated, name)) continue;
    const need = cluster.allocated[name] as Quantity;
    if (need.nanos <= 0n) continue;
    const others = roomOfOthers(pool, cluster, own, name);
    setOwn(needed, name, need);
    setOwn(room, name, quantityOf(others, need.format));
    if (need.nanos > others) setOwn((shortfall ??= {}), name, quantityOf(need.nanos - others, need.format));
  }
  return {
    cluster: cluster.name,
    location: cluster.location,
    peers: (pool?.peers ?? 0) - (own ? 1 : 0),
    needed: Object.freeze(needed),
    room: Object.freeze(room),
    shortfall: shortfall ? Object.freeze(shortfall) : NO_SHORTFALL,
    absorbed: shortfall === undefined,
  };
}

/**
 * For every cluster: would what it allocates fit in the room left on the other Ready, schedulable
 * clusters of its location? The room is pooled (a placement is not split across clusters, so a fit
 * here is necessary, not sufficient: a "no" is certain, a "yes" says the room exists in total). One
 * pass builds each location's pool; a cluster's own room is then taken back out, exactly.
 */
export function failoverHeadroom(clusters: readonly FailoverInput[]): FailoverFigures[] {
  const pools = new Map<string, Pool>();
  for (const cluster of clusters) {
    if (!acceptsPlacements(cluster)) continue;
    let pool = pools.get(cluster.location);
    if (!pool) pools.set(cluster.location, (pool = { room: new Map(), peers: 0 }));
    for (const name in cluster.limit) {
      if (!Object.hasOwn(cluster.limit, name)) continue;
      const room = roomNanos(cluster, name);
      if (room <= 0n) continue;
      const sum = pool.room.get(name);
      if (sum) sum.nanos += room;
      else pool.room.set(name, { nanos: room });
    }
    pool.peers += 1;
  }
  return clusters.map((cluster) => failoverOf(cluster, pools.get(cluster.location)));
}
