import type { SyncTarget } from '../api/resources.js';
import { scaleByRatios, type ResourceList } from '../quantity/index.js';

/** SPEC §2: a heartbeat older than this many intervals makes a cluster NotReady. */
export const STALE_HEARTBEATS = 3;

export type Health = { ready: true } | { ready: false; why: string };

/** Why the Ready condition alone makes a cluster NotReady, whatever the time; undefined for Ready=True. */
function conditionProblem(target: SyncTarget): string | undefined {
  const ready = target.status.conditions.find((condition) => condition.type === 'Ready');
  if (!ready) return 'has no Ready condition';
  if (ready.status === 'True') return undefined;
  const because = ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : '';
  return `is not Ready: Ready=${ready.status}${because}`;
}

/**
 * What decisions read of one SyncTarget, worked out once when the tracker stores it rather than on
 * every read: readiness inputs as numbers (the heartbeat parsed to epoch ms), schedulability, and
 * allocatable × overcommit. A decision then touches one small object per cluster instead of the dozen
 * a parsed SyncTarget is made of, and "clusters with room" can afford to read every cluster.
 */
export class ClusterRecord {
  readonly name: string;
  readonly unschedulable: boolean;
  /** See {@link conditionProblem}; the heartbeat is judged against the decision's clock. */
  readonly conditionProblem: string | undefined;
  /** The last heartbeat in epoch ms, NaN when there was none. */
  readonly heartbeatMs: number;
  /** How long after its heartbeat the cluster still counts as Ready. */
  readonly freshForMs: number;
  readonly allocatable: ResourceList;
  private scaledBy: ResourceList | undefined;
  private scaled: ResourceList;

  constructor(readonly target: SyncTarget) {
    const { lastHeartbeatTime } = target.status;
    this.name = target.metadata.name;
    this.unschedulable = target.spec.unschedulable;
    this.conditionProblem = conditionProblem(target);
    this.heartbeatMs = lastHeartbeatTime ? Date.parse(lastHeartbeatTime) : NaN;
    this.freshForMs = STALE_HEARTBEATS * target.spec.heartbeatInterval.ms;
    this.allocatable = target.status.allocatable;
    this.scaled = this.allocatable;
  }

  /** Allocatable × the overcommit ratio of each resource (1 where none is set); kept for the ratios last asked. */
  effectiveAllocatable(overcommit: ResourceList): ResourceList {
    if (this.scaledBy !== overcommit) {
      this.scaled = scaleByRatios(this.allocatable, overcommit);
      this.scaledBy = overcommit;
    }
    return this.scaled;
  }
}

/** Ready=True and a heartbeat no older than {@link STALE_HEARTBEATS} intervals at `nowMs`. */
export function isReady(record: ClusterRecord, nowMs: number): boolean {
  return record.conditionProblem === undefined && nowMs - record.heartbeatMs <= record.freshForMs;
}

function heartbeatProblem(record: ClusterRecord, nowMs: number): string {
  const last = record.target.status.lastHeartbeatTime;
  if (!last) return 'has never sent a heartbeat';
  const ageMs = nowMs - record.heartbeatMs;
  return `last heartbeat ${last} is ${Math.floor(ageMs / 1000)}s old (over ${STALE_HEARTBEATS} x ${record.target.spec.heartbeatInterval.text})`;
}

/** Ready means a Ready=True condition and a fresh heartbeat; anything else is NotReady with a reason. */
export function clusterHealth(record: ClusterRecord, nowMs: number): Health {
  if (record.conditionProblem !== undefined) return { ready: false, why: record.conditionProblem };
  return isReady(record, nowMs) ? { ready: true } : { ready: false, why: `is not Ready: ${heartbeatProblem(record, nowMs)}` };
}
