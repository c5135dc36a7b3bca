import type { DecisionConfig } from '../api/config.js';
import type { EnforcementMode } from '../api/resources.js';
import { clusterHealth } from '../core/cluster-health.js';
import { chooseEvictions, type ClusterUsage, type EvictionInput, type QuotaUsage } from '../core/eviction.js';
import { defaultQuotaKey, quotaLimits } from '../core/quotas.js';
import type { ClusterView } from '../core/view.js';
import type { TrackedPlacement, TrackedState } from '../state/tracked-state.js';

/** The settings the choice reads (a slice of ServiceConfig). */
export interface EvictionSettings {
  readonly overcommit: DecisionConfig['overcommit'];
  readonly defaultQuota: DecisionConfig['defaultQuota'];
  readonly enforcement: {
    readonly defaultMode: EnforcementMode;
    readonly clusterMode: EnforcementMode;
    readonly notReadyGraceSeconds: number;
  };
}

/** The choice's input, and the placements it was made from (with the Soft conditions True on each), by key. */
export interface EvictionSnapshot {
  readonly input: EvictionInput;
  readonly placements: ReadonlyMap<string, TrackedPlacement>;
}

function quotaUsages(state: TrackedState, settings: EvictionSettings): QuotaUsage[] {
  const { defaultMode } = settings.enforcement;
  const quotas: QuotaUsage[] = [];
  for (const key of state.keys('WorkspaceQuota')) {
    const quota = state.quotaObject(key);
    if (!quota) continue;
    const { label, hard } = quotaLimits(quota);
    quotas.push({ key, label, hard, used: state.used(key), mode: quota.spec.enforcementMode ?? defaultMode });
  }
  if (!settings.defaultQuota.enabled) return quotas;
  // The default quota applies only to a workspace without WorkspaceQuota objects, as in admission.
  for (const workspace of state.placementWorkspaces()) {
    if (state.quotas(workspace).length > 0) continue;
    const key = defaultQuotaKey(workspace);
    quotas.push({ key, label: `default quota of workspace ${workspace}`, hard: settings.defaultQuota.hard, used: state.used(key), mode: defaultMode });
  }
  return quotas;
}

/**
 * How long a NotReady cluster has been so, judged as admission judges it (core/cluster-health): from
 * the Ready condition's lastTransitionTime when the condition is the problem, from the moment the
 * heartbeat went stale (last heartbeat + 3 intervals) when the heartbeat is; the longer of the two.
 * A cluster that never sent a heartbeat counts from its creation.
 */
export function notReadyForMs(cluster: ClusterView, nowMs: number): number {
  const since: number[] = [];
  if (cluster.conditionProblem !== undefined) since.push(cluster.readyChangedMs ?? cluster.createdMs);
  const staleSince = Number.isNaN(cluster.heartbeatMs) ? cluster.createdMs : cluster.heartbeatMs + cluster.freshForMs;
  if (staleSince < nowMs) since.push(staleSince);
  const earliest = Math.min(...since.filter((ms) => !Number.isNaN(ms)));
  return Number.isFinite(earliest) ? Math.max(0, nowMs - earliest) : 0;
}

function clusterUsages(state: TrackedState, settings: EvictionSettings, nowMs: number): ClusterUsage[] {
  const clusters: ClusterUsage[] = [];
  for (const cluster of state.clusterRecords()) {
    const health = clusterHealth(cluster, nowMs);
    clusters.push({
      name: cluster.name,
      limit: cluster.effectiveAllocatable(settings.overcommit),
      allocated: state.allocated(cluster.name),
      mode: settings.enforcement.clusterMode,
      notReady: health.ready ? undefined : { why: health.why, forMs: notReadyForMs(cluster, nowMs) },
    });
  }
  return clusters;
}

/**
 * What {@link chooseEvictions} reads, from the tracked state at `nowMs`: every placement not evicted,
 * every quota (a WorkspaceQuota's mode is its spec.enforcementMode, else the configured default; the
 * default quota of each bare workspace when enabled), every cluster with its limit
 * (allocatable × overcommit) and, when NotReady, for how long.
 */
export function evictionSnapshot(state: TrackedState, settings: EvictionSettings, nowMs: number): EvictionSnapshot {
  const limits: EvictionInput = {
    placements: [],
    quotas: quotaUsages(state, settings),
    clusters: clusterUsages(state, settings, nowMs),
    notReadyGraceMs: settings.enforcement.notReadyGraceSeconds * 1000,
  };
  // The common round: nothing over and no mark to clear. Quotas and clusters alone tell (a choice
  // without candidates still lists every violation), without a pass over every placement.
  if (state.markedPlacements() === 0 && chooseEvictions(limits).violations.length === 0) return { input: limits, placements: new Map() };
  const placements = new Map<string, TrackedPlacement>();
  for (const placement of state.evictionCandidates()) placements.set(placement.key, placement);
  return { input: { ...limits, placements: [...placements.values()] }, placements };
}
