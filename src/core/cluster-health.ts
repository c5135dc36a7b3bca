import type { SyncTarget } from '../api/resources.js';
import type { ClusterView } from './view.js';

/** SPEC §2: a heartbeat older than this many intervals makes a cluster NotReady. */
export const STALE_HEARTBEATS = 3;

export type Health = { ready: true } | { ready: false; why: string };

/** Why the Ready condition alone makes a cluster NotReady, whatever the time; undefined for Ready=True. */
export function conditionProblem(target: SyncTarget): string | undefined {
  const ready = target.status.conditions.find((condition) => condition.type === 'Ready');
  if (!ready) return 'has no Ready condition';
  if (ready.status === 'True') return undefined;
  const because = ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : '';
  return `is not Ready: Ready=${ready.status}${because}`;
}

/** How long after its heartbeat a SyncTarget still counts as Ready. */
export const freshForMs = (target: SyncTarget): number => STALE_HEARTBEATS * target.spec.heartbeatInterval.ms;

/** Ready=True and a heartbeat no older than {@link STALE_HEARTBEATS} intervals at `nowMs`. */
export function isReady(cluster: ClusterView, nowMs: number): boolean {
  return cluster.conditionProblem === undefined && nowMs - cluster.heartbeatMs <= cluster.freshForMs;
}

function heartbeatProblem(cluster: ClusterView, nowMs: number): string {
  const last = cluster.heartbeatText;
  if (!last) return 'has never sent a heartbeat';
  const ageMs = nowMs - cluster.heartbeatMs;
  return `last heartbeat ${last} is ${Math.floor(ageMs / 1000)}s old (over ${STALE_HEARTBEATS} x ${cluster.heartbeatIntervalText})`;
}

/** Ready means a Ready=True condition and a fresh heartbeat; anything else is NotReady with a reason. */
export function clusterHealth(cluster: ClusterView, nowMs: number): Health {
  if (cluster.conditionProblem !== undefined) return { ready: false, why: cluster.conditionProblem };
  return isReady(cluster, nowMs) ? { ready: true } : { ready: false, why: `is not Ready: ${heartbeatProblem(cluster, nowMs)}` };
}
