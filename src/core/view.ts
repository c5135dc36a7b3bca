import type { LabelSelector } from '../api/resources.js';
import type { ResourceList } from '../quantity/index.js';
import type { Headroom } from './headroom.js';

/**
 * The shapes decisions read, apart from the functions that read them, so that every module of the
 * core can name them without importing another's logic (and no two modules import each other).
 */

/** A quota as decisions see it: a WorkspaceQuota object, or the configured default for a bare workspace. */
export interface QuotaLimits {
  /** `<workspace>/<name>`; `<workspace>/` for the default quota. */
  readonly key: string;
  /** How messages name it: `quota team-a/compute`, `default quota of workspace team-a`. */
  readonly label: string;
  readonly hard: ResourceList;
  readonly soft: ResourceList;
  readonly scopeSelector?: LabelSelector | undefined;
}

/** A SyncTarget's status.nodeSummary. */
export interface NodeSummary {
  readonly total?: number | undefined;
  readonly ready?: number | undefined;
}

/**
 * What the service reads of one SyncTarget, worked out once when the state stores it rather than on
 * every read: readiness inputs as numbers (with the texts messages quote), schedulability,
 * allocatable × overcommit, and what the reports show. The parsed object itself is not kept.
 */
export interface ClusterView {
  readonly name: string;
  readonly location: string;
  readonly unschedulable: boolean;
  /** Why the Ready condition alone makes the cluster NotReady; undefined for Ready=True. */
  readonly conditionProblem: string | undefined;
  /** The Ready condition's lastTransitionTime in epoch ms; undefined when there is no Ready condition. */
  readonly readyChangedMs: number | undefined;
  /** metadata.creationTimestamp in epoch ms, NaN when absent. */
  readonly createdMs: number;
  /** The last heartbeat in epoch ms, NaN when there was none. */
  readonly heartbeatMs: number;
  /** The last heartbeat as the SyncTarget wrote it, for messages. */
  readonly heartbeatText: string | undefined;
  /** spec.heartbeatInterval as written (`20s`), for messages. */
  readonly heartbeatIntervalText: string;
  /** How long after its heartbeat the cluster still counts as Ready. */
  readonly freshForMs: number;
  readonly capacity: ResourceList;
  readonly allocatable: ResourceList;
  /** status.used, as the cluster reports it (not what placements allocate). */
  readonly used: ResourceList | undefined;
  readonly nodeSummary: NodeSummary | undefined;
  /** Allocatable × the overcommit ratio of each resource (1 where none is set). */
  effectiveAllocatable(overcommit: ResourceList): ResourceList;
}

/** A bounded store of answers; what it forgets is worked out again. */
export interface Memo<V> {
  get(key: string): V | undefined;
  set(key: string, value: V): void;
}

/** A cluster where a requested shape fits, and how many times. */
export interface RoomCandidate {
  readonly name: string;
  readonly copies: bigint;
  readonly cluster: ClusterView;
}

/** Every cluster with room for one shape, most copies first, then by name, as ranked at `rankedAtMs`. */
export interface RoomRanking {
  /** The overcommit ratios it was ranked with. */
  readonly overcommit: ResourceList;
  readonly rankedAtMs: number;
  readonly candidates: readonly RoomCandidate[];
}

/**
 * The read-only, indexed view every decision reads. Each method answers from an index, so the
 * cost of a decision depends on the placement's own clusters and quotas, not on the population.
 */
export interface StateView {
  /** What decisions read of the SyncTarget of that name; undefined when there is none. */
  clusterRecord(name: string): ClusterView | undefined;
  /** Sum of what non-evicted placements consume on this cluster. */
  allocated(cluster: string): ResourceList;
  /** The WorkspaceQuota objects of a workspace (not the default quota), sorted by key. */
  quotas(workspace: string): readonly QuotaLimits[];
  /** Charged usage counted against a quota (scope applied); for the default quota, the workspace total. */
  used(quotaKey: string): ResourceList;
  /**
   * The room on a cluster of this view under allocatable × overcommit beside allocated(), kept
   * until either changes; undefined when the view keeps none (the decision then checks exactly).
   */
  clusterHeadroom(cluster: ClusterView, overcommit: ResourceList): Headroom | undefined;
  /**
   * The room under a quota's hard and soft limits at once (the smaller of the two) beside used(),
   * kept until it changes; undefined when the view keeps none.
   */
  quotaHeadroom(quota: QuotaLimits): Headroom | undefined;
  /** Every cluster; read only to suggest alternatives when a placement is denied for capacity. */
  clusterRecords(): Iterable<ClusterView>;
  /** Changes whenever a cluster, or what is allocated on one, changes. */
  version(): number;
  /**
   * Rankings of clusters with room, by shape, kept by the view for as long as its version stays the
   * same: answers worked out from every cluster are reused by the next denial of the same shape.
   */
  roomRankings(): Memo<RoomRanking>;
}

/** The version of a placement a tracker holds, to tell which reservations its usage already counts. */
export interface PlacementVersion {
  readonly uid?: string | undefined;
  readonly generation: number;
}
