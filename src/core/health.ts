import type { SyncTarget } from '../api/resources.js';

/** SPEC §2: a heartbeat older than this many intervals makes a cluster NotReady. */
export const STALE_HEARTBEATS = 3;

export type Health = { ready: true } | { ready: false; why: string };

function heartbeatProblem(target: SyncTarget, nowMs: number): string | undefined {
  const last = target.status.lastHeartbeatTime;
  if (!last) return 'has never sent a heartbeat';
  const interval = target.spec.heartbeatInterval;
  const ageMs = nowMs - Date.parse(last);
  if (ageMs <= STALE_HEARTBEATS * interval.ms) return undefined;
  return `last heartbeat ${last} is ${Math.floor(ageMs / 1000)}s old (over ${STALE_HEARTBEATS} x ${interval.text})`;
}

/** Ready means a Ready=True condition and a fresh heartbeat; anything else is NotReady with a reason. */
export function clusterHealth(target: SyncTarget, nowMs: number): Health {
  const ready = target.status.conditions.find((condition) => condition.type === 'Ready');
  if (!ready) return { ready: false, why: 'has no Ready condition' };
  if (ready.status !== 'True') {
    const because = ready.reason ? ` (${ready.reason}${ready.message ? `: ${ready.message}` : ''})` : '';
    return { ready: false, why: `is not Ready: Ready=${ready.status}${because}` };
  }
  const stale = heartbeatProblem(target, nowMs);
  return stale ? { ready: false, why: `is not Ready: ${stale}` } : { ready: true };
}
