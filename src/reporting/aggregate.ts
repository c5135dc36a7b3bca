/**
 * Aggregation (SPEC §7): one snapshot of the tracked state in, every figure of a report out. Pure:
 * the caller fills the snapshot (from the tracker, or from files for the offline `report` command),
 * this module only adds, subtracts and divides. Quantities stay exact; rates are numbers.
 */
import { amountOf, exceeded, inOrder, mask, scaleByRatios, subLists, type Quantity, type ResourceList } from '../quantity/index.js';
import { quantityOf, ratesOf, setOwn, spreadOf, Sums, type Rates, type Spread } from './figures.js';
import { failoverHeadroom, oversubscription, type FailoverFigures, type OversubscriptionFigures } from './findings.js';

/** Why a cluster admits nothing: its Ready condition says so, or its heartbeat is too old. */
export type Readiness = 'Ready' | 'NotReady' | 'StaleHeartbeat';

/** Node counts as the cluster's syncer reports them. */
export interface NodeCounts {
  readonly total: number;
  readonly ready: number;
}

/** One SyncTarget as the snapshot holds it; `allocated` and `placementCount` as admission counts them. */
export interface ClusterInput {
  readonly name: string;
  readonly location: string;
  readonly capacity: ResourceList;
  /** `status.allocatable`, or capacity when the cluster reports none (SPEC §2). */
  readonly allocatable: ResourceList;
  /** `status.used`, reported by monitoring; undefined when the cluster reports none. */
  readonly used?: ResourceList | undefined;
  /** Σ of what the non-evicted placements on this cluster consume (SPEC §3). */
  readonly allocated: ResourceList;
  readonly readiness: Readiness;
  /** Why it is not Ready, in the words of admission's denial; empty when Ready. */
  readonly reason?: string | undefined;
  readonly unschedulable: boolean;
  readonly nodes?: NodeCounts | undefined;
  /** Non-evicted placements that land on this cluster. */
  readonly placementCount: number;
}

/** One quota (a WorkspaceQuota, or a workspace's default quota) with the usage admission charges it. */
export interface QuotaInput {
  /** `<workspace>/<name>`; `<workspace>/` for a default quota. */
  readonly key: string;
  readonly workspace: string;
  /** Empty for a default quota. */
  readonly name: string;
  readonly hard: ResourceList;
  readonly soft: ResourceList;
  /** Charged usage (SPEC §3): requirements × max(|C|, 1) plus `placements: 1` per counted placement. */
  readonly used: ResourceList;
  /** True when a scopeSelector limits which placements count (the quota bounds only part of the workspace). */
  readonly scoped: boolean;
  /** Non-evicted placements it counts. */
  readonly placementCount: number;
  /** The clusters those placements land on, in name order (they can run to hundreds; the report does not sort them again). */
  readonly clusters: readonly string[];
}

/** Everything one aggregation reads. Cluster names and quota keys are unique. */
export interface ReportSnapshot {
  /** The time the snapshot describes (epoch ms): readiness was judged at it, history files it under it. */
  readonly nowMs: number;
  /** Overcommit ratio per resource; a resource without one has ratio 1. */
  readonly overcommit: ResourceList;
  readonly clusters: readonly ClusterInput[];
  readonly quotas: readonly QuotaInput[];
}

/** Health as a report shows it: the worst of readiness and schedulability, with the reason. */
export interface ClusterHealth {
  readonly status: Readiness | 'Unschedulable';
  readonly ready: boolean;
  readonly schedulable: boolean;
  readonly reason: string;
}

/** Every figure of one cluster. */
export interface ClusterFigures {
  readonly name: string;
  readonly location: string;
  readonly health: ClusterHealth;
  readonly nodes: NodeCounts | undefined;
  readonly placementCount: number;
  readonly capacity: ResourceList;
  readonly allocatable: ResourceList;
  /** allocatable × overcommit: what admission lets placements allocate. */
  readonly limit: ResourceList;
  readonly allocated: ResourceList;
  readonly used: ResourceList | undefined;
  /** limit − allocated; negative when the cluster holds more than its limit (it shrank, or the ratio was lowered). */
  readonly available: ResourceList;
  /** allocated / limit. */
  readonly allocation: Rates;
  /** used / allocatable, for the resources the cluster reports usage of. */
  readonly utilization: Rates;
}

/** Sums over the Ready clusters of a group (all clusters, or one location), and its counts. */
export interface GroupFigures {
  readonly clusters: number;
  readonly readyClusters: number;
  /** Ready and schedulable: where new placements can go. */
  readonly schedulableClusters: number;
  readonly nodes: NodeCounts;
  /** Placement copies: a placement on two Ready clusters counts on both. */
  readonly placementCount: number;
  readonly capacity: ResourceList;
  readonly allocatable: ResourceList;
  readonly limit: ResourceList;
  readonly allocated: ResourceList;
  /** Σ of reported usage, over the Ready clusters that report it. */
  readonly used: ResourceList;
  readonly available: ResourceList;
  readonly allocation: Rates;
  /** Σ used / Σ allocatable, both over the Ready clusters that report usage of the resource. */
  readonly utilization: Rates;
}

/** A group of one location. */
export interface LocationFigures extends GroupFigures {
  readonly location: string;
}

/** Every figure of one quota: its input, and what follows from it. */
export interface QuotaFigures extends QuotaInput {
  /** hard − used per resource of hard; negative when over. */
  readonly remaining: ResourceList;
  /** 100 × used / hard per resource of hard (absent where hard is zero). */
  readonly percent: Rates;
  /** As the service writes `status.phase`: Exceeded when used is over hard for some resource. */
  readonly phase: 'Active' | 'Exceeded';
  readonly exceeded: readonly string[];
  readonly overSoft: readonly string[];
}

/** The report of one snapshot. Clusters by name, locations by name, quotas by key. */
export interface Report {
  readonly atMs: number;
  readonly overcommit: ResourceList;
  readonly clusters: readonly ClusterFigures[];
  readonly totals: GroupFigures;
  readonly locations: readonly LocationFigures[];
  /** p50 / p95 / max of each cluster's rates, over every cluster that has the rate, Ready or not. */
  readonly spread: { readonly allocation: Readonly<Record<string, Spread>>; readonly utilization: Readonly<Record<string, Spread>> };
  readonly quotas: readonly QuotaFigures[];
  readonly findings: { readonly oversubscription: readonly OversubscriptionFigures[]; readonly failover: readonly FailoverFigures[] };
}

// The health of a cluster that is Ready, or Ready but cordoned, is one of two values: frozen and
// shared, like the empty figures below, so ten thousand clusters do not each hold a copy of the same.
const READY: ClusterHealth = Object.freeze({ status: 'Ready', ready: true, schedulable: true, reason: '' });
const CORDONED: ClusterHealth = Object.freeze({ status: 'Unschedulable', ready: true, schedulable: false, reason: 'spec.unschedulable is true' });
const NO_RATES: Rates = Object.freeze({});
const NO_NAMES: readonly string[] = Object.freeze([]);

function healthOf(cluster: ClusterInput): ClusterHealth {
  if (cluster.readiness !== 'Ready') return { status: cluster.readiness, ready: false, schedulable: !cluster.unschedulable, reason: cluster.reason ?? '' };
  return cluster.unschedulable ? CORDONED : READY;
}

/** `names`, or the shared empty list when there are none. */
const namesOrNone = (names: readonly string[]): readonly string[] => (names.length > 0 ? names : NO_NAMES);

/** Allocatable of the resources a cluster reports usage for: a resource it does not report is unknown, not idle. */
const reportedPart = (allocatable: ResourceList, used: ResourceList): ResourceList => mask(allocatable, Object.keys(used));

function clusterFigures(cluster: ClusterInput, overcommit: ResourceList): ClusterFigures {
  const limit = scaleByRatios(cluster.allocatable, overcommit);
  return {
    name: cluster.name,
    location: cluster.location,
    health: healthOf(cluster),
    nodes: cluster.nodes,
    placementCount: cluster.placementCount,
    capacity: cluster.capacity,
    allocatable: cluster.allocatable,
    limit,
    allocated: cluster.allocated,
    used: cluster.used,
    available: subLists(limit, cluster.allocated),
    allocation: ratesOf(cluster.allocated, limit),
    utilization: cluster.used ? ratesOf(cluster.used, reportedPart(cluster.allocatable, cluster.used)) : NO_RATES,
  };
}

/** A group's running sums; frozen into {@link GroupFigures} once every cluster is in. */
interface GroupSums {
  clusters: number;
  readyClusters: number;
  schedulableClusters: number;
  nodesTotal: number;
  nodesReady: number;
  placementCount: number;
  readonly capacity: Sums;
  readonly allocatable: Sums;
  readonly limit: Sums;
  readonly allocated: Sums;
  readonly used: Sums;
  /** Allocatable of the clusters that report usage: the denominator of the group's utilization. */
  readonly usedBase: Sums;
}

const newGroup = (): GroupSums => ({
  clusters: 0,
  readyClusters: 0,
  schedulableClusters: 0,
  nodesTotal: 0,
  nodesReady: 0,
  placementCount: 0,
  capacity: new Sums(),
  allocatable: new Sums(),
  limit: new Sums(),
  allocated: new Sums(),
  used: new Sums(),
  usedBase: new Sums(),
});

function addToGroup(group: GroupSums, cluster: ClusterFigures): void {
  group.clusters += 1;
  if (!cluster.health.ready) return;
  group.readyClusters += 1;
  if (cluster.health.schedulable) group.schedulableClusters += 1;
  group.nodesTotal += cluster.nodes?.total ?? 0;
  group.nodesReady += cluster.nodes?.ready ?? 0;
  group.placementCount += cluster.placementCount;
  group.capacity.add(cluster.capacity);
  group.allocatable.add(cluster.allocatable);
  group.limit.add(cluster.limit);
  group.allocated.add(cluster.allocated);
  if (cluster.used) {
    group.used.add(cluster.used);
    group.usedBase.add(reportedPart(cluster.allocatable, cluster.used));
  }
}

function groupFigures(group: GroupSums): GroupFigures {
  const limit = group.limit.list();
  const allocated = group.allocated.list();
  const used = group.used.list();
  return {
    clusters: group.clusters,
    readyClusters: group.readyClusters,
    schedulableClusters: group.schedulableClusters,
    nodes: { total: group.nodesTotal, ready: group.nodesReady },
    placementCount: group.placementCount,
    capacity: group.capacity.list(),
    allocatable: group.allocatable.list(),
    limit,
    allocated,
    used,
    available: subLists(limit, allocated),
    allocation: ratesOf(allocated, limit),
    utilization: ratesOf(used, group.usedBase.list()),
  };
}

const SUMMED = ['capacity', 'allocatable', 'limit', 'allocated', 'used', 'usedBase'] as const;
const COUNTED = ['clusters', 'readyClusters', 'schedulableClusters', 'nodesTotal', 'nodesReady', 'placementCount'] as const;

function addGroup(into: GroupSums, group: GroupSums): void {
  for (const field of COUNTED) into[field] += group[field];
  for (const field of SUMMED) into[field].addSums(group[field]);
}

/** Clusters are summed once, into their location; the totals are the sum of the locations. */
function groups(clusters: readonly ClusterFigures[]): { totals: GroupFigures; locations: LocationFigures[] } {
  const byLocation = new Map<string, GroupSums>();
  for (const cluster of clusters) {
    let group = byLocation.get(cluster.location);
    if (!group) byLocation.set(cluster.location, (group = newGroup()));
    addToGroup(group, cluster);
  }
  const all = newGroup();
  const locations = [...byLocation.keys()].sort().map((location) => {
    const group = byLocation.get(location) ?? newGroup();
    addGroup(all, group);
    return { location, ...groupFigures(group) };
  });
  return { totals: groupFigures(all), locations };
}

/**
 * hard − used, in hard's format (used's when hard is zero). Where nothing of it is used (9 quotas in 10
 * at scale) that is hard itself, a frozen quantity as {@link quantityOf} would make: sharing it keeps
 * 27,000 quantities and their BigInts out of the report, and out of every young-generation copy of it.
 */
function remainderOf(hard: Quantity, used: Quantity): Quantity {
  if (used.nanos === 0n && hard.nanos !== 0n && Object.isFrozen(hard) && Object.getPrototypeOf(hard) === Object.prototype) return hard;
  return quantityOf(hard.nanos - used.nanos, hard.nanos === 0n ? used.format : hard.format);
}

/** One pass over hard: a quota's figures are read 10,000 times per aggregation at scale. */
function quotaFigures(quota: QuotaInput): QuotaFigures {
  const remaining: Record<string, Quantity> = {};
  const percent: Record<string, number> = {};
  let overHard: string[] | undefined;
  for (const name in quota.hard) {
    if (!Object.hasOwn(quota.hard, name)) continue;
    const hard = quota.hard[name] as Quantity;
    const used = amountOf(quota.used, name);
    // Only what the quota limits: a charge it has no limit for is shown in `used`, not as a negative remainder.
    const left = remainderOf(hard, used);
    setOwn(remaining, name, left);
    if (hard.nanos > 0n) setOwn(percent, name, used.nanos === 0n ? 0 : (100 * Number(used.nanos)) / Number(hard.nanos));
    // Used above hard is a negative remainder: what `exceeded(used, hard)` finds, without comparing again.
    if (left.nanos < 0n) (overHard ??= []).push(name);
  }
  // The input's fields one by one, not `...quota`: with the spread, this function took four times as long at 10k quotas.
  return {
    key: quota.key,
    workspace: quota.workspace,
    name: quota.name,
    hard: quota.hard,
    soft: quota.soft,
    used: quota.used,
    scoped: quota.scoped,
    placementCount: quota.placementCount,
    clusters: quota.clusters,
    remaining: Object.freeze(remaining),
    percent,
    phase: overHard ? 'Exceeded' : 'Active',
    exceeded: overHard ? inOrder(overHard) : NO_NAMES,
    overSoft: namesOrNone(exceeded(quota.used, quota.soft)),
  };
}

const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byKey = (a: { key: string }, b: { key: string }): number => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);

/**
 * A copy of `items` in `order`. The tracker's state lists clusters and quotas in order already, and
 * one pass that finds them so costs a quarter of what Array#sort takes to find the same.
 */
function sortedCopy<T>(items: readonly T[], order: (a: T, b: T) => number): T[] {
  for (let i = 1; i < items.length; i++) if (order(items[i - 1] as T, items[i] as T) > 0) return [...items].sort(order);
  return [...items];
}

/**
 * The report of one snapshot. Inputs are read in name order whatever order they come in, so the same
 * state always gives the same report, down to the format of every sum (`add` keeps the first non-zero
 * operand's format).
 */
export function aggregate(snapshot: ReportSnapshot): Report {
  const clusters = sortedCopy(snapshot.clusters, byName).map((cluster) => clusterFigures(cluster, snapshot.overcommit));
  const { totals, locations } = groups(clusters);
  const quotaInputs = sortedCopy(snapshot.quotas, byKey);
  const quotas = quotaInputs.map(quotaFigures);
  return {
    atMs: snapshot.nowMs,
    overcommit: snapshot.overcommit,
    clusters,
    totals,
    locations,
    spread: { allocation: spreadOf(clusters.map((c) => c.allocation)), utilization: spreadOf(clusters.map((c) => c.utilization)) },
    quotas,
    findings: { oversubscription: oversubscription(quotaInputs, totals.limit), failover: failoverHeadroom(clusters) },
  };
}
