import { timestampMs } from '../api/fields.js';
import type { SyncTarget } from '../api/resources.js';
import { conditionProblem, freshForMs } from '../core/cluster-health.js';
import type { ClusterView } from '../core/view.js';
import { scaleByRatios, type ResourceList } from '../quantity/index.js';

/**
 * The {@link ClusterView} of one SyncTarget, made once when the state stores it. A decision then
 * touches one small object per cluster instead of the dozen a parsed SyncTarget is made of, and
 * "clusters with room" can afford to read every cluster.
 */
export class ClusterRecord implements ClusterView {
  readonly name: string;
  readonly unschedulable: boolean;
  readonly conditionProblem: string | undefined;
  readonly heartbeatMs: number;
  readonly freshForMs: number;
  readonly allocatable: ResourceList;
  private scaledBy: ResourceList | undefined;
  private scaled: ResourceList;

  constructor(readonly target: SyncTarget) {
    const { lastHeartbeatTime } = target.status;
    this.name = target.metadata.name;
    this.unschedulable = target.spec.unschedulable;
    this.conditionProblem = conditionProblem(target);
    this.heartbeatMs = lastHeartbeatTime ? timestampMs(lastHeartbeatTime) : NaN;
    this.freshForMs = freshForMs(target);
    this.allocatable = target.status.allocatable;
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
}
