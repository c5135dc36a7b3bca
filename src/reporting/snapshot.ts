/**
 * A {@link ReportSnapshot} from plain parsed objects, counted as admission counts them (SPEC §3): for
 * the offline `report` command, and for any caller that holds the objects rather than indices. Pure.
 */
import type { DecisionConfig } from '../api/config.js';
import type { LabelSelector, SyncTarget, WorkloadPlacement, WorkspaceQuota } from '../api/resources.js';
import { clusterConsumption, isEvicted, placementClusters, quotaCharge } from '../core/charging.js';
import { selectorMatches } from '../core/selector.js';
import { objectKey, workspaceKey } from '../core/workspace.js';
import type { ResourceList } from '../quantity/index.js';
import type { ClusterInput, QuotaInput, Readiness, ReportSnapshot } from './aggregate.js';
import { Sums } from './figures.js';

/**
 * SPEC §2: a heartbeat older than this many intervals makes a cluster NotReady. The same rule as
 * admission's (src/core/cluster-record.ts); reporting does not import it while the core is being
 * restructured, and the two are to become one.
 */
export const STALE_HEARTBEATS = 3;

/** Readiness of a SyncTarget at `nowMs`, with admission's wording for why it is not Ready. */
export function readinessOf(target: SyncTarget, nowMs: number): { readiness: Readiness; reason: string } {
  const ready = target.status.conditions.find((condition) => condition.type === 'Ready');
  if (!ready) return { readiness: 'NotReady', reason: 'has no Ready condition' };
  if (ready.status !== 'True') {
    const because = ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : '';
    return { readiness: 'NotReady', reason: `is not Ready: Ready=${ready.status}${because}` };
  }
  const last = target.status.lastHeartbeatTime;
  if (!last) return { readiness: 'StaleHeartbeat', reason: 'is not Ready: has never sent a heartbeat' };
  const ageMs = nowMs - Date.parse(last);
  const interval = target.spec.heartbeatInterval;
  if (ageMs <= STALE_HEARTBEATS * interval.ms) return { readiness: 'Ready', reason: '' };
  return { readiness: 'StaleHeartbeat', reason: `is not Ready: last heartbeat ${last} is ${Math.floor(ageMs / 1000)}s old (over ${STALE_HEARTBEATS} x ${interval.text})` };
}

/** The objects a snapshot is counted from, and the settings admission counts with. */
export interface SnapshotObjects {
  readonly nowMs: number;
  readonly config: Pick<DecisionConfig, 'overcommit' | 'defaultQuota'>;
  readonly syncTargets: readonly SyncTarget[];
  readonly placements: readonly WorkloadPlacement[];
  readonly quotas: readonly WorkspaceQuota[];
}

interface Tally {
  readonly sums: Sums;
  placements: number;
  readonly clusters: Set<string>;
}

const newTally = (): Tally => ({ sums: new Sums(), placements: 0, clusters: new Set() });

interface QuotaSlot {
  readonly input: Omit<QuotaInput, 'used' | 'placementCount' | 'clusters'>;
  readonly selector: LabelSelector | undefined;
  readonly tally: Tally;
}

/** An empty selector matches every placement, as no selector does. */
const isScoping = (selector: LabelSelector | undefined): boolean =>
  selector !== undefined && (Object.keys(selector.matchLabels).length > 0 || selector.matchExpressions.length > 0);

function quotaSlots(objects: SnapshotObjects): Map<string, QuotaSlot[]> {
  const byWorkspace = new Map<string, QuotaSlot[]>();
  for (const quota of objects.quotas) {
    const workspace = workspaceKey(quota.metadata);
    const selector = quota.spec.scopeSelector;
    const slot = { input: { key: objectKey(quota.metadata), workspace, name: quota.metadata.name, hard: quota.spec.hard, soft: quota.spec.soft, scoped: isScoping(selector) }, selector, tally: newTally() };
    byWorkspace.set(workspace, [...(byWorkspace.get(workspace) ?? []), slot]);
  }
  return byWorkspace;
}

/** The configured default quota of a workspace without WorkspaceQuota objects (SPEC §2). */
function defaultSlot(workspace: string, config: SnapshotObjects['config']): QuotaSlot[] {
  if (!config.defaultQuota.enabled) return [];
  const { hard, soft } = config.defaultQuota;
  return [{ input: { key: `${workspace}/`, workspace, name: '', hard, soft, scoped: false }, selector: undefined, tally: newTally() }];
}

function count(tally: Tally, charge: ResourceList, clusters: readonly string[]): void {
  tally.sums.add(charge);
  tally.placements += 1;
  for (const cluster of clusters) tally.clusters.add(cluster);
}

/** Adds one placement's charge to its workspace's quotas, making the default quota on first sight. */
function chargeQuotas(placement: WorkloadPlacement, clusters: readonly string[], slots: Map<string, QuotaSlot[]>, config: SnapshotObjects['config']): void {
  const workspace = workspaceKey(placement.metadata);
  let quotas = slots.get(workspace);
  if (!quotas) slots.set(workspace, (quotas = defaultSlot(workspace, config)));
  const charge = quotaCharge(placement, clusters.length);
  for (const quota of quotas) if (selectorMatches(quota.selector, placement.metadata.labels)) count(quota.tally, charge, clusters);
}

function clusterInput(target: SyncTarget, tally: Tally | undefined, nowMs: number): ClusterInput {
  const { status, spec, metadata } = target;
  return {
    name: metadata.name,
    location: spec.location,
    capacity: status.capacity,
    allocatable: status.allocatable,
    used: status.used,
    allocated: tally ? tally.sums.list() : {},
    ...readinessOf(target, nowMs),
    unschedulable: spec.unschedulable,
    nodes: status.nodeSummary,
    placementCount: tally?.placements ?? 0,
  };
}

/**
 * The snapshot of these objects at `nowMs`. Evicted placements count nowhere; what a placement puts on
 * a cluster without a SyncTarget is not reported (there is no cluster to report it on).
 */
export function snapshotOf(objects: SnapshotObjects): ReportSnapshot {
  const { nowMs, config } = objects;
  const perCluster = new Map<string, Tally>();
  const slots = quotaSlots(objects);
  for (const placement of objects.placements) {
    if (isEvicted(placement)) continue;
    const clusters = placementClusters(placement);
    const consumption = clusterConsumption(placement);
    for (const cluster of clusters) {
      let tally = perCluster.get(cluster);
      if (!tally) perCluster.set(cluster, (tally = newTally()));
      count(tally, consumption, []);
    }
    chargeQuotas(placement, clusters, slots, config);
  }
  const quotas = [...slots.values()].flat().map(({ input, tally }): QuotaInput => ({ ...input, used: tally.sums.list(), placementCount: tally.placements, clusters: [...tally.clusters].sort() }));
  return { nowMs, overcommit: config.overcommit, clusters: objects.syncTargets.map((target) => clusterInput(target, perCluster.get(target.metadata.name), nowMs)), quotas };
}
