import { timestampMs } from '../api/fields.js';
import type { QuotaReservation, WorkspaceQuota } from '../api/resources.js';
import { addLists, formatList, type ResourceList } from '../quantity/index.js';
import { quotaViolation, type Violation } from './fit.js';
import type { QuotaLimits } from './view.js';

/**
 * What replicas agree a WorkspaceQuota has spent (docs/consistency.md): the usage the status writer
 * counted from its tracker (`status.used`) plus the reservations of admissions it has not counted
 * yet. Both live in the quota object and change only by compare-and-swap, so two replicas can never
 * both spend the last unit.
 */

/** A reservation in the form the status subresource stores. */
export interface WireReservation {
  readonly request: string;
  readonly placement: string;
  readonly uid?: string;
  readonly minGeneration: number;
  readonly charge: Record<string, string>;
  readonly expires: string;
  readonly after?: string;
}

/** The version of a placement a tracker holds, to tell which reservations its usage already counts. */
export interface PlacementVersion {
  readonly uid?: string | undefined;
  readonly generation: number;
}

/** When a reservation stops counting, ms since the epoch. */
export const expiresAtMs = (reservation: QuotaReservation): number => timestampMs(reservation.expires);

/**
 * `status.used` plus the given reservations (usually the live ones, minus any the caller replaces).
 * Before the status writer has ever written `used`, `fallbackUsed` (this replica's count) stands in;
 * with `settled`, it stands in always (a settling write replaces `used` with it).
 */
export function agreedUsage(quota: WorkspaceQuota, fallbackUsed: ResourceList, reservations: readonly QuotaReservation[], { settled = false } = {}): ResourceList {
  // `settled`: the caller's usage is the one this very write settles to, and replaces `status.used`.
  let used = settled ? fallbackUsed : (quota.status.used ?? fallbackUsed);
  for (const reservation of reservations) used = addLists(used, reservation.charge);
  return used;
}

/**
 * Decides requests on one quota in arrival order: each admitted request adds to what the next one
 * sees. Returns, per request, the violation that refuses it or undefined when it fits.
 */
export function admitInOrder(limits: QuotaLimits, used: ResourceList, requests: readonly ResourceList[]): (Violation | undefined)[] {
  let spent = used;
  return requests.map((requested) => {
    const violation = quotaViolation(limits, spent, requested);
    if (!violation) spent = addLists(spent, requested);
    return violation;
  });
}

/** Whether a tracker holding `version` of the placement counts the reservation's charge in its usage. */
export function isCounted(reservation: QuotaReservation, version: PlacementVersion | undefined): boolean {
  if (!version || version.generation < reservation.minGeneration) return false;
  // A placement deleted and created again under the same name is another object: its uid tells.
  return reservation.uid === undefined || version.uid === undefined || reservation.uid === version.uid;
}

export function toWireReservation(reservation: QuotaReservation): WireReservation {
  const { uid, charge, after, ...rest } = reservation;
  return { ...rest, ...(uid === undefined ? {} : { uid }), charge: formatList(charge), ...(after === undefined ? {} : { after }) };
}

/** Same reservations (by request) in both lists, order aside. */
export function sameReservations(a: readonly { request: string }[], b: readonly { request: string }[]): boolean {
  if (a.length !== b.length) return false;
  const requests = new Set(a.map((reservation) => reservation.request));
  return b.every((reservation) => requests.has(reservation.request));
}

/**
 * Whether resourceVersion `a` is older than `b`. Kubernetes calls resourceVersions opaque; on one
 * etcd they are increasing integers, and only then is an answer given (otherwise: not older).
 */
export function isOlderVersion(a: string | undefined, b: string | undefined): boolean {
  if (!a || !b || !/^\d+$/.test(a) || !/^\d+$/.test(b)) return false;
  return BigInt(a) < BigInt(b);
}
