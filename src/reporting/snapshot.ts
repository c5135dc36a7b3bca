import type { DecisionConfig } from '../api/config.js';
import type { WorkspaceQuota } from '../api/resources.js';
import { clusterHealth, isReady } from '../core/cluster-health.js';
import { applicableQuotas } from '../core/quotas.js';
import type { ClusterView, QuotaLimits } from '../core/view.js';
import type { TrackedState } from '../state/tracked-state.js';
import type { ClusterInput, QuotaInput, Readiness, ReportSnapshot } from './aggregate.js';

/**
 * The snapshot the reports are made from, read off the same TrackedState admission decides on
 * (the service's tracker, or the files `placement-quota report` loads), so a report counts what
 * admission counts: allocated and used come from the state's own sums, health from core's rules.
 */

/** Ready, or why not; a stale heartbeat is told apart from a Ready condition that is not True. */
export function readinessOf(cluster: ClusterView, nowMs: number): { readiness: Readiness; reason: string } {
  const health = clusterHealth(cluster, nowMs);
  if (health.ready) return { readiness: 'Ready', reason: '' };
  return { readiness: cluster.conditionProblem === undefined && !isReady(cluster, nowMs) ? 'StaleHeartbeat' : 'NotReady', reason: health.why };
}

interface Tally {
  placements: number;
  readonly clusters: Set<string>;
}

const isScoping = (quota: QuotaLimits): boolean =>
  quota.scopeSelector !== undefined && (Object.keys(quota.scopeSelector.matchLabels).length > 0 || quota.scopeSelector.matchExpressions.length > 0);

function quotaInput(state: TrackedState, quota: QuotaLimits, tally: Tally | undefined, object: WorkspaceQuota | undefined): QuotaInput {
  const workspace = quota.key.slice(0, quota.key.lastIndexOf('/'));
  return {
    key: quota.key,
    workspace,
    name: object?.metadata.name ?? '',
    hard: quota.hard,
    soft: quota.soft,
    used: state.used(quota.key),
    scoped: isScoping(quota),
    placementCount: tally?.placements ?? 0,
    clusters: [...(tally?.clusters ?? [])].sort(),
  };
}

/** Node counts when the SyncTarget reports both (a summary may leave either out). */
function nodeCounts(summary: { total?: number | undefined; ready?: number | undefined } | undefined): ClusterInput['nodes'] {
  return summary?.total !== undefined && summary.ready !== undefined ? { total: summary.total, ready: summary.ready } : undefined;
}

function clusterInput(state: TrackedState, cluster: ClusterView, placements: number, nowMs: number): ClusterInput {
  return {
    name: cluster.name,
    location: cluster.location,
    capacity: cluster.capacity,
    allocatable: cluster.allocatable,
    used: cluster.used,
    allocated: state.allocated(cluster.name),
    ...readinessOf(cluster, nowMs),
    unschedulable: cluster.unschedulable,
    nodes: nodeCounts(cluster.nodeSummary),
    placementCount: placements,
  };
}

/** One pass over the placements for what the state does not sum: counts per cluster and per quota, and each quota's clusters. */
function tallies(state: TrackedState, config: DecisionConfig): { perCluster: Map<string, number>; perQuota: Map<string, Tally> } {
  const perCluster = new Map<string, number>();
  const perQuota = new Map<string, Tally>();
  for (const placement of state.placementFacts()) {
    if (placement.evicted) continue; // counted nowhere
    for (const cluster of placement.clusters) perCluster.set(cluster, (perCluster.get(cluster) ?? 0) + 1);
    for (const quota of applicableQuotas(state, placement.workspace, placement.labels, config)) {
      let tally = perQuota.get(quota.key);
      if (!tally) perQuota.set(quota.key, (tally = { placements: 0, clusters: new Set() }));
      tally.placements += 1;
      for (const cluster of placement.clusters) tally.clusters.add(cluster);
    }
  }
  return { perCluster, perQuota };
}

/** The snapshot of the state at `nowMs`: every cluster, every quota (the default quota of each workspace without one, when enabled). */
export function snapshotOf(state: TrackedState, config: DecisionConfig, nowMs: number): ReportSnapshot {
  const { perCluster, perQuota } = tallies(state, config);
  const quotas: QuotaInput[] = [];
  for (const workspace of state.workspaces()) {
    const objects = state.quotas(workspace);
    // Without quota objects, applicableQuotas gives the default quota (when enabled), whatever the labels.
    for (const quota of objects.length > 0 ? objects : applicableQuotas(state, workspace, {}, config)) {
      quotas.push(quotaInput(state, quota, perQuota.get(quota.key), state.quotaObject(quota.key)));
    }
  }
  const clusters = [...state.clusterRecords()].map((cluster) => clusterInput(state, cluster, perCluster.get(cluster.name) ?? 0, nowMs));
  return { nowMs, overcommit: config.overcommit, clusters, quotas };
}
