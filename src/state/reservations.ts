import type { Demand } from '../core/decide.js';
import type { RoomRanking, StateView } from '../core/view.js';
import { addLists, isZeroList, subLists, type ResourceList } from '../quantity/index.js';
import { VersionedMemo } from './bounded-cache.js';

const NOTHING: ResourceList = Object.freeze({});

/** Keeps a sum, or forgets it once it is back to zero, so reads of an idle key cost nothing. */
function setOrForget(sums: Map<string, ResourceList>, key: string, sum: ResourceList): void {
  if (isZeroList(sum)) sums.delete(key);
  else sums.set(key, sum);
}

/** What one admitted request holds until the watch shows its object, or until it expires. */
export interface Reservation {
  /** The AdmissionRequest uid: a retried review of the same request replaces, never adds. */
  readonly requestUid: string;
  /** `<workspace>/<name>` of the placement. */
  readonly key: string;
  /** The reservation is settled once the tracker holds this generation of the object or a later one. */
  readonly minGeneration: number;
  readonly demand: Demand;
  readonly expiresAtMs: number;
}

/**
 * Charges admitted but not yet seen by the tracker. Without them, two admissions in quick succession
 * would both read the usage from before either, and both pass where only one fits. Sums are kept per
 * quota and per cluster, so reading them costs nothing per reservation.
 */
export class ReservationLedger {
  private readonly byRequest = new Map<string, Reservation>();
  private readonly quotaSums = new Map<string, ResourceList>();
  private readonly clusterSums = new Map<string, ResourceList>();
  private changes = 0;

  get size(): number {
    return this.byRequest.size;
  }

  reserve(reservation: Reservation): void {
    this.release(reservation.requestUid);
    this.byRequest.set(reservation.requestUid, reservation);
    this.account(reservation.demand, addLists);
  }

  release(requestUid: string): void {
    const reservation = this.byRequest.get(requestUid);
    if (!reservation) return;
    this.byRequest.delete(requestUid);
    this.account(reservation.demand, subLists);
  }

  /** The tracker now holds `generation` of the object (or saw it deleted: pass Infinity). */
  settle(key: string, generation: number): void {
    for (const reservation of this.byRequest.values()) {
      if (reservation.key === key && generation >= reservation.minGeneration) this.release(reservation.requestUid);
    }
  }

  /** Drops reservations whose object never appeared (refused by another webhook, timed out). */
  expire(nowMs: number): number {
    let expired = 0;
    for (const reservation of this.byRequest.values()) {
      if (reservation.expiresAtMs <= nowMs) {
        this.release(reservation.requestUid);
        expired += 1;
      }
    }
    return expired;
  }

  quota(key: string): ResourceList {
    return this.quotaSums.get(key) ?? NOTHING;
  }

  cluster(name: string): ResourceList {
    return this.clusterSums.get(name) ?? NOTHING;
  }

  /** Moves on with every reserve and release that holds room on a cluster. */
  get version(): number {
    return this.changes;
  }

  private account(demand: Demand, op: (a: ResourceList, b: ResourceList) => ResourceList): void {
    if (demand.clusters.length > 0) this.changes += 1;
    for (const { key, requested } of demand.quotas) setOrForget(this.quotaSums, key, op(this.quota(key), requested));
    for (const { cluster, requested } of demand.clusters) setOrForget(this.clusterSums, cluster, op(this.cluster(cluster), requested));
  }
}

/** `tracked + reserved`, without building a new list when nothing is reserved (the common case). */
function plus(tracked: ResourceList, reserved: ResourceList): ResourceList {
  return reserved === NOTHING ? tracked : addLists(tracked, reserved);
}

/** The tracked state plus what is reserved: the view admissions decide on. */
export function withReservations(view: StateView, ledger: ReservationLedger): StateView {
  // Both only grow, so their sum changes whenever either does.
  const version = (): number => view.version() + ledger.version;
  const rankings = new VersionedMemo<RoomRanking>(16);
  return {
    clusterRecord: (name) => view.clusterRecord(name),
    clusterRecords: () => view.clusterRecords(),
    version,
    roomRankings: () => rankings.at(version()),
    quotas: (workspace) => view.quotas(workspace),
    allocated: (cluster) => plus(view.allocated(cluster), ledger.cluster(cluster)),
    used: (key) => plus(view.used(key), ledger.quota(key)),
    // The tracked room holds while nothing is reserved there; with a reservation the decision checks exactly.
    clusterHeadroom: (cluster, overcommit) => (ledger.cluster(cluster.name) === NOTHING ? view.clusterHeadroom(cluster, overcommit) : undefined),
    quotaHeadroom: (quota) => (ledger.quota(quota.key) === NOTHING ? view.quotaHeadroom(quota) : undefined),
  };
}
