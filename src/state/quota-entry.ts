import type { LabelSelector, WorkspaceQuota } from '../api/resources.js';
import { headroomUnderBoth, type Headroom, type ShareNames } from '../core/headroom.js';
import type { QuotaLimits } from '../core/view.js';
import type { ResourceList } from '../quantity/index.js';

/**
 * One WorkspaceQuota as the state holds it: its limits as decisions read them, the usage the tracked
 * placements charge it, and the object as last seen (the status writer and the reserver write from
 * it). Limits and usage in one entry, so a decision finds both with the one lookup of its workspace.
 */
export class QuotaEntry implements QuotaLimits {
  // In the order an allowed decision reads them (see ClusterRecord).
  readonly scopeSelector: LabelSelector | undefined;
  private room: Headroom | undefined;
  private roomBeside: ResourceList | undefined;
  readonly key: string;
  readonly label: string;
  readonly hard: ResourceList;
  readonly soft: ResourceList;

  constructor(
    limits: QuotaLimits,
    readonly object: WorkspaceQuota,
    /** Charged usage of the placements its scope selects; the state alone sets it. */
    public used: ResourceList,
  ) {
    this.key = limits.key;
    this.label = limits.label;
    this.hard = limits.hard;
    this.soft = limits.soft;
    this.scopeSelector = limits.scopeSelector;
  }

  /** The room under both the hard and the soft limits beside {@link used}, kept until the usage changes. */
  headroom(shareNames?: ShareNames): Headroom {
    if (this.room === undefined || this.roomBeside !== this.used) {
      this.room = headroomUnderBoth(this.hard, this.soft, this.used, shareNames);
      this.roomBeside = this.used;
    }
    return this.room;
  }
}
