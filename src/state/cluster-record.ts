import { timestampMs } from '../api/fields.js';
import type { SyncTarget } from '../api/resources.js';
import { conditionProblem, freshForMs } from '../core/cluster-health.js';
import { headroomOf, type Headroom, type ShareNames } from '../core/headroom.js';
import type { ClusterView, NodeSummary } from '../core/view.js';
import { scaleByRatios, type ResourceList } from '../quantity/index.js';

const NOTHING: ResourceList = Object.freeze({});
const same = <T>(value: T): T => value;

/** How a record shares what SyncTargets repeat (lists, names): the state's interner; tests keep their own copies. */
export interface Sharing {
  name(name: string): string;
  list(list: ResourceList): ResourceList;
}

const KEEP_COPIES: Sharing = { name: same, list: same };

/**
 * The {@link ClusterView} of one SyncTarget, made once when the state stores it, and what the
 * tracked placements allocate on it. It is all the state keeps of a SyncTarget: the parsed object
 * (metadata, spec, status, conditions, a dozen objects) is dropped (SPEC §12 memory), so a decision
 * touches this one object per cluster, and "clusters with room" can afford to read every cluster.
 */
export class ClusterRecord implements ClusterView {
  // Fields in the order an allowed decision reads them: V8 lays them out so, and the first few then
  // share the object's first cache line (docs/benchmarks.md, decision-cost).
  readonly conditionProblem: string | undefined;
  readonly heartbeatMs: number;
  readonly freshForMs: number;
  readonly unschedulable: boolean;
  private room: Headroom | undefined;
  private roomBy: ResourceList | undefined;
  private roomBeside: ResourceList | undefined;
  /** What tracked placements (not evicted) consume here; the state alone sets it. */
  allocated: ResourceList = NOTHING;
  readonly name: string;
  readonly location: string;
  readonly readyChangedMs: number | undefined;
  readonly createdMs: number;
  readonly heartbeatText: string | undefined;
  readonly heartbeatIntervalText: string;
  readonly capacity: ResourceList;
  readonly allocatable: ResourceList;
  readonly used: ResourceList | undefined;
  readonly nodeSummary: NodeSummary | undefined;
  private scaledBy: ResourceList | undefined;
  private scaled: ResourceList;

  constructor(target: SyncTarget, share: Sharing = KEEP_COPIES) {
    const { metadata, spec, status } = target;
    const ready = status.conditions.find((condition) => condition.type === 'Ready');
    this.name = share.name(metadata.name);
    this.location = share.name(spec.location);
    this.unschedulable = spec.unschedulable;
    this.conditionProblem = conditionProblem(target);
    this.readyChangedMs = ready ? timestampMs(ready.lastTransitionTime) : undefined;
    this.createdMs = metadata.creationTimestamp ? timestampMs(metadata.creationTimestamp) : NaN;
    this.heartbeatText = status.lastHeartbeatTime;
    this.heartbeatMs = status.lastHeartbeatTime ? timestampMs(status.lastHeartbeatTime) : NaN;
    this.heartbeatIntervalText = share.name(spec.heartbeatInterval.text);
    this.freshForMs = freshForMs(target);
    this.capacity = share.list(status.capacity);
    this.allocatable = status.allocatable === status.capacity ? this.capacity : share.list(status.allocatable);
    this.used = status.used && share.list(status.used);
    this.nodeSummary = status.nodeSummary;
    this.scaled = this.allocatable;
  }

  /** Kept for the ratios last asked: every decision asks with the same configuration. */
  effectiveAllocatable(overcommit: ResourceList): ResourceList {
    if (this.scaledBy !== overcommit) {
      this.scaled = scaleByRatios(this.allocatable, overcommit);
      this.scaledBy = overcommit;
    }
    return this.scaled;
  }

  /** The room under allocatable × overcommit beside {@link allocated}, kept until either changes. */
  headroom(overcommit: ResourceList, shareNames?: ShareNames): Headroom {
    if (this.room === undefined || this.roomBy !== overcommit || this.roomBeside !== this.allocated) {
      this.room = headroomOf(this.effectiveAllocatable(overcommit), this.allocated, false, shareNames);
      this.roomBy = overcommit;
      this.roomBeside = this.allocated;
    }
    return this.room;
  }
}
