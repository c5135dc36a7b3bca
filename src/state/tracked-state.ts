import type { SyncTarget, TrackedKind, TrackedObject, WorkloadPlacement, WorkspaceQuota } from '../api/resources.js';
import { addLists, isZeroList, subLists, type ResourceList } from '../quantity/index.js';
import { timestampMs, type Condition } from '../api/fields.js';
import { clusterConsumption, isEvicted, placementClusters, quotaCharge } from '../core/charging.js';
import type { EvictionCandidate, EvictionReason } from '../core/eviction.js';
import type { Headroom } from '../core/headroom.js';
import { defaultQuotaKey, isDefaultQuotaKey, quotaLimits, workspaceOfKey } from '../core/quotas.js';
import { selectorMatches } from '../core/selector.js';
import type { ClusterView, Memo, PlacementVersion, QuotaLimits, RoomRanking, StateView } from '../core/view.js';
import { objectKey, trackedKey, workspaceKey } from '../core/workspace.js';
import { VersionedMemo } from './bounded-cache.js';
import { ClusterRecord } from './cluster-record.js';
import { Interner } from './interner.js';
import { QuotaEntry } from './quota-entry.js';

const NOTHING: ResourceList = Object.freeze({});
const NO_QUOTAS: readonly QuotaEntry[] = Object.freeze([]);
const NO_TIMES: readonly number[] = Object.freeze([]);

function reportTimes(placement: WorkloadPlacement): readonly number[] {
  const entries = placement.status.clusterStatuses;
  if (entries.length === 0) return NO_TIMES;
  const times = entries.map((entry) => (entry.lastUpdated === undefined ? NaN : timestampMs(entry.lastUpdated))).filter((ms) => !Number.isNaN(ms));
  return times.length === 0 ? NO_TIMES : times.sort((a, b) => a - b);
}

/**
 * One workspace: its placements' keys, its quotas (sorted by key, so that messages name them in the
 * same order whatever order the events came in; replaced, never changed, when one changes), and what
 * its placements charge in all (the usage of its default quota). A decision reads it with one lookup.
 */
interface WorkspaceEntry {
  readonly placements: Set<string>;
  quotas: readonly QuotaEntry[];
  total: ResourceList;
}

/** `quotas` with `entry` in its place (by key), as a new array. */
function withQuota(quotas: readonly QuotaEntry[], entry: QuotaEntry): readonly QuotaEntry[] {
  const kept = quotas.filter((quota) => quota.key !== entry.key);
  const at = kept.findIndex((quota) => entry.key < quota.key);
  kept.splice(at < 0 ? kept.length : at, 0, entry);
  return kept;
}

/** What the state keeps of one placement. */
export interface PlacementFacts {
  readonly workspace: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly clusters: readonly string[];
  readonly perCluster: ResourceList;
  readonly charge: ResourceList;
  /** What the eviction order reads: spec.priority and creationTimestamp (epoch ms, 0 when absent). */
  readonly priority: number;
  readonly createdMs: number;
  readonly evicted: boolean;
  /** Which Soft conditions (EVICTION_REASONS) are True on it now, one bit each. */
  readonly marks: number;
  /**
   * The lastUpdated (epoch ms) of its status.clusterStatuses entries, sorted: all the status
   * aggregation writer needs to know when an entry goes stale with no event to say so. The
   * statuses themselves are not kept (SPEC §12 memory); the writer reads the object when it writes.
   */
  readonly reportedMs: readonly number[];
}

/** The condition types the loop sets on a placement that would be evicted (Soft), in bit order. */
export const EVICTION_REASONS: readonly EvictionReason[] = Object.freeze(['QuotaExceeded', 'ClusterCapacityExceeded', 'ClusterNotReady']);

/** The bit of one Soft condition type in {@link TrackedPlacement.marks}. */
export const markOf = (reason: EvictionReason): number => 1 << EVICTION_REASONS.indexOf(reason);

function marksOf(conditions: readonly Condition[]): number {
  let marks = 0;
  for (const condition of conditions) {
    const bit = EVICTION_REASONS.indexOf(condition.type as EvictionReason);
    if (bit >= 0 && condition.status === 'True') marks |= 1 << bit;
  }
  return marks;
}

/** A placement not evicted, as the eviction choice reads it, with the Soft conditions True on it. */
export interface TrackedPlacement extends EvictionCandidate {
  readonly marks: number;
}

type PlacementEntry = PlacementVersion & PlacementFacts;

/** An Evicted placement's eviction, as its Evicted condition records it. */
export interface EvictionRecord {
  readonly uid?: string | undefined;
  readonly atMs: number;
  readonly reason: EvictionReason;
  readonly message: string;
}

function evictionOf(placement: WorkloadPlacement): EvictionRecord | undefined {
  if (!isEvicted(placement)) return undefined;
  const condition = placement.status.conditions.find((c) => c.type === 'Evicted' && c.status === 'True');
  const reason = EVICTION_REASONS.find((r) => r === condition?.reason);
  if (!condition || !reason) return undefined;
  return { uid: placement.metadata.uid, atMs: timestampMs(condition.lastTransitionTime), reason, message: condition.message };
}

/**
 * The in-memory state, indexed for decisions and updated one object at a time: each change adjusts
 * only the sums it touches (its clusters, its workspace's quotas). The tracker feeds it from watches,
 * the offline `check` command from files; both then decide through the same core.
 */
export class TrackedState implements StateView {
  // A cluster's record holds what is allocated on it too: a decision reads both with one lookup.
  private readonly clusters = new Map<string, ClusterRecord>();
  /** What placements allocate on clusters without a SyncTarget (kept for when one appears). */
  private readonly unknownClusters = new Map<string, ResourceList>();
  private readonly placements = new Map<string, PlacementEntry>();
  private readonly evictions = new Map<string, EvictionRecord>();
  private readonly workspaceEntries = new Map<string, WorkspaceEntry>();
  private readonly quotaEntries = new Map<string, QuotaEntry>();
  /** Shared copies of what placements repeat (names, label sets, request shapes): SPEC §12 memory. */
  private readonly interned = new Interner();
  private clusterChanges = 0;
  /** Placements with a Soft condition True: while none and nothing is over, a round has nothing to do. */
  private marked = 0;
  /** Each ranking holds up to every cluster; a few shapes are plenty between two changes of the state. */
  private readonly rankings = new VersionedMemo<RoomRanking>(16);

  clusterRecord(name: string): ClusterRecord | undefined {
    return this.clusters.get(name);
  }

  allocated(cluster: string): ResourceList {
    return this.clusters.get(cluster)?.allocated ?? this.unknownClusters.get(cluster) ?? NOTHING;
  }

  quotas(workspace: string): readonly QuotaEntry[] {
    // Reviews of a workspace without quotas must not leave an entry behind each: get, never create.
    return this.workspaceEntries.get(workspace)?.quotas ?? NO_QUOTAS;
  }

  used(quotaKey: string): ResourceList {
    if (isDefaultQuotaKey(quotaKey)) return this.workspaceEntries.get(workspaceOfKey(quotaKey))?.total ?? NOTHING;
    return this.quotaEntries.get(quotaKey)?.used ?? NOTHING;
  }

  /** The records this state made keep their room; any other view of a cluster is checked exactly. */
  clusterHeadroom(cluster: ClusterView, overcommit: ResourceList): Headroom | undefined {
    return cluster instanceof ClusterRecord ? cluster.headroom(overcommit, this.interned.resourceNames) : undefined;
  }

  /** Quotas of this state keep their room; a default quota (made per decision from the config) is checked exactly. */
  quotaHeadroom(quota: QuotaLimits): Headroom | undefined {
    return quota instanceof QuotaEntry ? quota.headroom(this.interned.resourceNames) : undefined;
  }

  clusterRecords(): Iterable<ClusterRecord> {
    return this.clusters.values();
  }

  version(): number {
    return this.clusterChanges;
  }

  roomRankings(): Memo<RoomRanking> {
    return this.rankings.at(this.clusterChanges);
  }

  /** The WorkspaceQuota object as last seen (its status included), for the status writer. */
  quotaObject(key: string): WorkspaceQuota | undefined {
    return this.quotaEntries.get(key)?.object;
  }

  hasPlacement(key: string): boolean {
    return this.placements.has(key);
  }

  /** Which version of a placement is counted (uid and generation), for settling reservations. */
  placementVersion(key: string): PlacementVersion | undefined {
    return this.placements.get(key);
  }

  /**
   * Every counted placement as the state holds it (workspace, labels, clusters, what it consumes per
   * cluster and charges its quotas), for whole-population reads: the reports' aggregation. Evicted
   * placements are held with nothing charged.
   */
  placementFacts(): Iterable<PlacementFacts> {
    return this.placements.values();
  }

  /** Every workspace that holds a placement or a quota. */
  workspaces(): Iterable<string> {
    return this.workspaceEntries.keys();
  }

  /**
   * Every placement not evicted, with the keys of the quotas that count it (scope applied, the
   * workspace's default quota key included: the choice ignores quotas it is not given). Made on
   * demand from the entries, so a placement keeps only its numbers in memory.
   */
  *evictionCandidates(): Iterable<TrackedPlacement> {
    for (const [key, entry] of this.placements) {
      if (entry.evicted) continue;
      const quotas = [defaultQuotaKey(entry.workspace)];
      for (const quota of this.quotas(entry.workspace)) {
        if (selectorMatches(quota.scopeSelector, entry.labels)) quotas.push(quota.key);
      }
      const { priority, createdMs, clusters, perCluster, charge: quotaCharge, marks } = entry;
      yield { key, name: key.slice(key.lastIndexOf('/') + 1), priority, createdMs, clusters, perCluster, quotas, quotaCharge, marks };
    }
  }

  /** Evictions at or after `sinceMs` (only Evicted placements are kept here, so this costs their number). */
  *recentEvictions(sinceMs: number): Iterable<[string, EvictionRecord]> {
    for (const entry of this.evictions) if (entry[1].atMs >= sinceMs) yield entry;
  }

  /** Every placement with clusterStatuses entries that have a lastUpdated, and those times, sorted. */
  *statusReportTimes(): Iterable<readonly [string, readonly number[]]> {
    for (const [key, entry] of this.placements) if (entry.reportedMs.length > 0) yield [key, entry.reportedMs];
  }

  /** How many placements (not evicted) carry a Soft eviction condition with status True. */
  markedPlacements(): number {
    return this.marked;
  }

  /** Workspaces with at least one tracked placement: where a default quota may be over. */
  *placementWorkspaces(): Iterable<string> {
    for (const [workspace, { placements }] of this.workspaceEntries) if (placements.size > 0) yield workspace;
  }

  /** Adds or replaces an object of any tracked kind. */
  upsert(tracked: TrackedObject): void {
    switch (tracked.kind) {
      case 'SyncTarget':
        return this.upsertSyncTarget(tracked.object);
      case 'WorkspaceQuota':
        return this.upsertQuota(tracked.object);
      case 'WorkloadPlacement':
        return this.upsertPlacement(tracked.object);
    }
  }

  /** Forgets an object of any tracked kind by its key (see trackedKey); unknown keys are ignored. */
  delete(kind: TrackedKind, key: string): void {
    switch (kind) {
      case 'SyncTarget':
        return this.deleteSyncTarget(key);
      case 'WorkspaceQuota':
        return this.deleteQuota(key);
      case 'WorkloadPlacement':
        return this.deletePlacement(key);
    }
  }

  /** How many objects of one kind the state holds (for metrics; no copy is made). */
  count(kind: TrackedKind): number {
    switch (kind) {
      case 'SyncTarget':
        return this.clusters.size;
      case 'WorkspaceQuota':
        return this.quotaEntries.size;
      case 'WorkloadPlacement':
        return this.placements.size;
    }
  }

  /** The keys held for one kind: what a relist compares against to find objects deleted meanwhile. */
  keys(kind: TrackedKind): string[] {
    switch (kind) {
      case 'SyncTarget':
        return [...this.clusters.keys()];
      case 'WorkspaceQuota':
        return [...this.workspaceEntries.values()].flatMap(({ quotas }) => quotas.map((quota) => quota.key));
      case 'WorkloadPlacement':
        return [...this.placements.keys()];
    }
  }

  /**
   * Makes one kind hold exactly these objects (after a relist): upserts them, deletes the rest, except
   * the keys in `keep` (objects listed but unreadable: the tracker keeps their last good version).
   * Returns the keys it deleted.
   */
  replaceKind(kind: TrackedKind, objects: readonly TrackedObject[], keep: ReadonlySet<string> = new Set()): string[] {
    const listed = new Set(objects.map(trackedKey));
    const deleted = this.keys(kind).filter((key) => !listed.has(key) && !keep.has(key));
    for (const key of deleted) this.delete(kind, key);
    for (const tracked of objects) this.upsert(tracked);
    return deleted;
  }

  upsertSyncTarget(target: SyncTarget): void {
    const record = new ClusterRecord(target, this.interned);
    record.allocated = this.allocated(record.name);
    this.unknownClusters.delete(record.name);
    this.clusters.set(record.name, record);
    this.clusterChanges += 1;
  }

  deleteSyncTarget(name: string): void {
    const record = this.clusters.get(name);
    if (!record) return;
    this.clusters.delete(name);
    if (!isZeroList(record.allocated)) this.unknownClusters.set(name, record.allocated);
    this.clusterChanges += 1;
  }

  upsertPlacement(placement: WorkloadPlacement): void {
    const key = objectKey(placement.metadata);
    this.deletePlacement(key);
    const clusters = placementClusters(placement).map((name) => this.interned.name(name));
    const entry: PlacementEntry = {
      uid: placement.metadata.uid,
      generation: placement.metadata.generation ?? 1,
      workspace: this.interned.name(workspaceKey(placement.metadata)),
      labels: this.interned.labels(placement.metadata.labels),
      clusters,
      perCluster: this.interned.list(clusterConsumption(placement)),
      charge: this.interned.list(quotaCharge(placement, clusters.length)),
      priority: placement.spec.priority,
      createdMs: placement.metadata.creationTimestamp ? timestampMs(placement.metadata.creationTimestamp) : 0,
      evicted: isEvicted(placement),
      marks: marksOf(placement.status.conditions),
      reportedMs: reportTimes(placement),
    };
    this.placements.set(key, entry);
    const eviction = evictionOf(placement);
    if (eviction) this.evictions.set(key, eviction);
    if (entry.marks !== 0 && !entry.evicted) this.marked += 1;
    this.workspace(entry.workspace).placements.add(key);
    this.account(entry, addLists);
  }

  /** Forgets a placement by its key (`<workspace>/<name>`); unknown keys are ignored. */
  deletePlacement(key: string): void {
    const entry = this.placements.get(key);
    if (!entry) return;
    this.account(entry, subLists);
    if (entry.marks !== 0 && !entry.evicted) this.marked -= 1;
    this.placements.delete(key);
    this.evictions.delete(key);
    this.workspaceEntries.get(entry.workspace)?.placements.delete(key);
  }

  upsertQuota(quota: WorkspaceQuota): void {
    const limits = this.sharedLimits(quotaLimits(quota));
    const workspace = this.workspace(this.interned.name(workspaceKey(quota.metadata)));
    const previous = this.quotaEntries.get(limits.key);
    // Limits and status changes keep the usage; only a new or re-scoped quota is recounted, and
    // then with one pass over its own workspace.
    const rescoped = !previous || JSON.stringify(previous.scopeSelector) !== JSON.stringify(limits.scopeSelector);
    const entry = new QuotaEntry(limits, quota, rescoped ? this.recount(workspace, limits.scopeSelector) : previous.used);
    this.quotaEntries.set(entry.key, entry);
    workspace.quotas = withQuota(workspace.quotas, entry);
  }

  deleteQuota(key: string): void {
    const workspace = this.workspaceEntries.get(workspaceOfKey(key));
    if (workspace) workspace.quotas = workspace.quotas.filter((quota) => quota.key !== key);
    this.quotaEntries.delete(key);
  }

  /** Limits that quotas repeat (the same hard and soft lists, the same selector) shared, as placements' are. */
  private sharedLimits(limits: QuotaLimits): QuotaLimits {
    const { scopeSelector } = limits;
    return {
      ...limits,
      hard: this.interned.list(limits.hard),
      soft: this.interned.list(limits.soft),
      scopeSelector: scopeSelector && this.interned.selector(scopeSelector),
    };
  }

  private recount(workspace: WorkspaceEntry, scopeSelector: QuotaLimits['scopeSelector']): ResourceList {
    let used = NOTHING;
    for (const key of workspace.placements) {
      const entry = this.placements.get(key);
      if (entry && selectorMatches(scopeSelector, entry.labels)) used = addLists(used, entry.charge);
    }
    return used;
  }

  private account(entry: PlacementEntry, op: (a: ResourceList, b: ResourceList) => ResourceList): void {
    for (const cluster of entry.clusters) {
      const record = this.clusters.get(cluster);
      if (record) record.allocated = op(record.allocated, entry.perCluster);
      else this.unknownClusters.set(cluster, op(this.unknownClusters.get(cluster) ?? NOTHING, entry.perCluster));
    }
    if (entry.clusters.length > 0) this.clusterChanges += 1;
    const workspace = this.workspace(entry.workspace);
    workspace.total = op(workspace.total, entry.charge);
    for (const quota of workspace.quotas) {
      if (selectorMatches(quota.scopeSelector, entry.labels)) quota.used = op(quota.used, entry.charge);
    }
  }

  private workspace(name: string): WorkspaceEntry {
    let workspace = this.workspaceEntries.get(name);
    if (workspace === undefined) {
      workspace = { placements: new Set<string>(), quotas: NO_QUOTAS, total: NOTHING };
      this.workspaceEntries.set(name, workspace);
    }
    return workspace;
  }
}
