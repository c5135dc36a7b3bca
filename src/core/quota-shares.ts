import { timestampMs } from '../api/fields.js';
import type { QuotaReservation, QuotaShare, WorkspaceQuota } from '../api/resources.js';
import { addLists, amountOf, floorToUnit, formatList, isNegative, isZero, isZeroList, mask, mulRatio, sub, subLists, ZERO, type Quantity, type ResourceList } from '../quantity/index.js';
import type { Violation } from './fit.js';
import { admitInOrder, agreedUsage, expiresAtMs, isOlderVersion, toWireReservation, type WireReservation } from './quota-agreement.js';
import type { QuotaLimits } from './view.js';

/**
 * Shares of a quota's headroom (docs/consistency.md, "Shares"): the demarcation protocol on one
 * WorkspaceQuota object. A replica claims part of the headroom by compare-and-swap, then admits from
 * it with JSON patches of its own entry that `test` the entry's epoch: patches of different
 * replicas touch different keys, so they never conflict. Any compare-and-swap writer may take a
 * share's unspent `available` back by changing its epoch, after which the owner's next patch fails
 * its test and the owner goes back to compare-and-swap. What a share admitted stays in its
 * `reservations` until the status writer counts it in `used`, exactly as the shared list does, so
 * every admitted placement is counted once at every version of the object.
 */

/** A share in the form the status subresource stores. */
export interface WireShare {
  readonly epoch: string;
  readonly generation: number;
  readonly available: Record<string, string>;
  readonly expires: string;
  readonly reservations: WireReservation[];
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  readonly op: 'test' | 'replace' | 'add' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** A merge patch of `status.shares`: an entry replaced, merged (reservations only) or removed (null). */
export type SharesPatch = Record<string, WireShare | { readonly reservations: WireReservation[] } | null>;

const generationOf = (quota: WorkspaceQuota): number => quota.metadata.generation ?? 0;
const shareOf = (quota: WorkspaceQuota, owner: string): QuotaShare | undefined =>
  Object.hasOwn(quota.status.shares, owner) ? quota.status.shares[owner] : undefined;
const isExpired = (share: QuotaShare, nowMs: number): boolean => timestampMs(share.expires) <= nowMs;

/**
 * The owner's share if it may admit from it now: granted under the quota's current spec (a changed
 * `hard` makes it stale), not expired, and listing every resource `hard` limits.
 */
export function usableShare(quota: WorkspaceQuota, owner: string, nowMs: number): QuotaShare | undefined {
  const share = shareOf(quota, owner);
  if (!share || share.generation !== generationOf(quota) || isExpired(share, nowMs)) return undefined;
  return Object.keys(quota.spec.hard).every((resource) => Object.hasOwn(share.available, resource)) ? share : undefined;
}

/** Which of these charges, in order, the share's `available` fits (each one taken leaves less for the next). */
export function fitInShare(share: QuotaShare, charges: readonly ResourceList[]): boolean[] {
  const limits: QuotaLimits = { key: '', label: 'share', hard: share.available, soft: {} };
  return admitInOrder(limits, {}, charges).map((violation) => violation === undefined);
}

const pointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');

/**
 * The owner's JSON patch spending its share on `admitted`: it applies only while the share is the
 * one the owner decided from (epoch, available and the quota's generation tested), and renews the
 * share's expiry. The API server applies it to the newest object, so the other replicas' writes in
 * between do not make it fail.
 */
export function spendShare(owner: string, share: QuotaShare, admitted: readonly QuotaReservation[], expires: string): JsonPatchOperation[] {
  const base = `/status/shares/${pointer(owner)}`;
  const spent = admitted.reduce<ResourceList>((sum, reservation) => addLists(sum, reservation.charge), {});
  const available = subLists(share.available, mask(spent, Object.keys(share.available)));
  return [
    { op: 'test', path: '/metadata/generation', value: share.generation },
    { op: 'test', path: `${base}/epoch`, value: share.epoch },
    { op: 'test', path: `${base}/available`, value: formatList(share.available) },
    { op: 'replace', path: `${base}/available`, value: formatList(available) },
    { op: 'replace', path: `${base}/expires`, value: expires },
    ...admitted.map((reservation) => ({ op: 'add' as const, path: `${base}/reservations/-`, value: toWireReservation(reservation) })),
  ];
}

/** The reservations every share holds that still count (the caller says which). */
export function shareReservations(quota: WorkspaceQuota, counts: (reservation: QuotaReservation) => boolean): QuotaReservation[] {
  return Object.values(quota.status.shares).flatMap((share) => share.reservations.filter(counts));
}

/**
 * Σ of the unspent `available` of every live share but the owner's. An expired share's is left
 * out: every compare-and-swap write takes it back ({@link rewriteShares}), and one its owner spent
 * meanwhile changed the object, so that write fails and is decided again.
 */
export function othersAvailable(quota: WorkspaceQuota, owner: string, nowMs: number): ResourceList {
  let sum: ResourceList = {};
  for (const [name, share] of Object.entries(quota.status.shares)) if (name !== owner && !isExpired(share, nowMs)) sum = addLists(sum, share.available);
  return sum;
}

/**
 * A new share for a replica: `fraction` of what is left of each resource `hard` limits once `spent`
 * (everything counted, the other shares' available included) is taken off, in whole units when that
 * leaves any (a share of `11401795993600m` bytes helps nobody read the status); zero where nothing is left.
 */
export function grantOf(hard: ResourceList, spent: ResourceList, fraction: Quantity): ResourceList {
  const grant: Record<string, Quantity> = {};
  for (const resource of Object.keys(hard)) {
    const left = sub(amountOf(hard, resource), amountOf(spent, resource));
    const part = isNegative(left) ? ZERO : mulRatio(left, fraction);
    const whole = floorToUnit(part);
    grant[resource] = isZero(whole) ? part : whole;
  }
  return grant;
}

export interface ShareRewrite {
  /** The replica writing (its own share is replaced by `grant`, or dissolved); none for the status writer. */
  readonly owner?: string | undefined;
  /** Which stored share reservations still count after this write (not settled, not expired, not given back). */
  readonly keeps: (reservation: QuotaReservation) => boolean;
  /** Take every other share's `available` back (a request would not fit otherwise). */
  readonly revokeOthers: boolean;
  /** The owner's new share: its headroom and expiry; undefined: its share keeps no headroom. */
  readonly grant?: { readonly available: ResourceList; readonly expires: string } | undefined;
  readonly nowMs: number;
}

/**
 * How a compare-and-swap write rewrites `status.shares` (a merge patch; empty when nothing changes).
 * Settled and expired reservations leave; the owner's share gets `grant` or dissolves; every other
 * share whose headroom is taken (revoked, or expired) gets a new epoch, so its owner's next spend
 * fails its test; a share with nothing left to count or claim is removed. The new epoch is the
 * object's resourceVersion as read, which no earlier epoch can equal.
 */
export function rewriteShares(quota: WorkspaceQuota, rewrite: ShareRewrite): SharesPatch {
  const { owner, keeps, grant } = rewrite;
  const fresh: Fresh = { epoch: `rv-${quota.metadata.resourceVersion ?? '0'}`, generation: generationOf(quota) };
  const patch: SharesPatch = {};
  for (const [name, share] of Object.entries(quota.status.shares)) {
    const entry = rewriteOne(name, share, rewrite, fresh);
    if (entry !== undefined) patch[name] = entry;
  }
  if (owner !== undefined && grant) {
    const kept = shareOf(quota, owner)?.reservations.filter(keeps) ?? [];
    patch[owner] = { ...fresh, available: formatList(grant.available), expires: grant.expires, reservations: kept.map(toWireReservation) };
  }
  return patch;
}

interface Fresh {
  readonly epoch: string;
  readonly generation: number;
}

/**
 * One share's entry in the patch; undefined when it stays as it is. The owner's own share is taken
 * too (a grant, written after, replaces it): a compare-and-swap round has counted its headroom as free.
 */
function rewriteOne(name: string, share: QuotaShare, rewrite: ShareRewrite, fresh: Fresh): SharesPatch[string] | undefined {
  const kept = share.reservations.filter(rewrite.keeps);
  const taken = name === rewrite.owner || rewrite.revokeOthers || isExpired(share, rewrite.nowMs);
  if (!taken) return kept.length === share.reservations.length ? undefined : { reservations: kept.map(toWireReservation) };
  if (kept.length === 0) return null;
  if (kept.length === share.reservations.length && Object.values(share.available).every(isZero)) return undefined;
  const available = formatList(Object.fromEntries(Object.keys(share.available).map((resource) => [resource, ZERO])));
  return { ...fresh, available, expires: share.expires, reservations: kept.map(toWireReservation) };
}

/** What a compare-and-swap round counts before deciding its holds. */
export interface RoundBasis {
  /** Whether a stored reservation still counts after this write (live, not replaced, not settled). */
  readonly keeps: (reservation: QuotaReservation) => boolean;
  /** The shared list's reservations that stay. */
  readonly kept: QuotaReservation[];
  /** `used` (or the usage this write settles to) plus every reservation that stays, the shares' included. */
  readonly used: ResourceList;
}

export interface RoundBasisInput {
  readonly nowMs: number;
  /** Requests whose stored reservation this write replaces or gives back. */
  readonly replaced: ReadonlySet<string>;
  /** The settlement this write makes, when this replica settles. */
  readonly settling?: { readonly used: ResourceList; readonly counts: (reservation: QuotaReservation) => boolean } | undefined;
  /** This replica's count of the quota's usage: stands in until `status.used` is written. */
  readonly fallbackUsed: ResourceList;
}

/**
 * Whether a stored reservation still counts after a write at `nowMs`: not expired, not replaced or
 * given back by that write, and not counted in `used` by the settlement it makes.
 */
export function stillCounts(
  nowMs: number,
  settling: { readonly counts: (reservation: QuotaReservation) => boolean } | undefined,
  replaced: ReadonlySet<string> = new Set(),
): (reservation: QuotaReservation) => boolean {
  return (reservation) => expiresAtMs(reservation) > nowMs && !replaced.has(reservation.request) && !settling?.counts(reservation);
}

export function roundBasis(quota: WorkspaceQuota, input: RoundBasisInput): RoundBasis {
  const { nowMs, replaced, settling, fallbackUsed } = input;
  const keeps = stillCounts(nowMs, settling, replaced);
  const kept = quota.status.reservations.filter(keeps);
  const counted = [...kept, ...shareReservations(quota, keeps)];
  const used = settling ? agreedUsage(quota, settling.used, counted, { settled: true }) : agreedUsage(quota, fallbackUsed, counted);
  return { keeps, kept, used };
}

export interface RoundWrite {
  readonly basis: RoundBasis;
  readonly decision: RoundDecision;
  /** The reservations of the holds the round admitted. */
  readonly admitted: readonly QuotaReservation[];
  /** The status fields a settlement in the same write sets, and whether they change anything. */
  readonly settling?: { readonly status: object; readonly changed: boolean } | undefined;
  readonly owner?: string | undefined;
  /** The expiry of a share granted now. */
  readonly expires: string;
  readonly nowMs: number;
}

/** The status a compare-and-swap round writes (a merge patch); undefined when it changes nothing. */
export function roundStatus(quota: WorkspaceQuota, write: RoundWrite): object | undefined {
  const { basis, decision, admitted, settling, owner, expires, nowMs } = write;
  const grant = decision.grant && { available: decision.grant, expires };
  const shares = rewriteShares(quota, { owner, keeps: basis.keeps, revokeOthers: decision.revokeOthers, grant, nowMs });
  const sharesChanged = Object.keys(shares).length > 0;
  if (admitted.length === 0 && basis.kept.length === quota.status.reservations.length && !settling?.changed && !sharesChanged) return undefined;
  return {
    ...settling?.status,
    reservations: [...basis.kept, ...admitted].map(toWireReservation),
    ...(sharesChanged ? { shares } : {}),
  };
}

export interface RoundInput {
  readonly limits: QuotaLimits;
  /** Everything counted: `used` (or the settled usage) and every reservation that still counts. */
  readonly used: ResourceList;
  /** The other replicas' unspent shares ({@link othersAvailable}). */
  readonly claimed: ResourceList;
  readonly charges: readonly ResourceList[];
  /** This replica's share fraction; undefined: no share is claimed. */
  readonly fraction?: Quantity | undefined;
}

export interface RoundDecision {
  readonly verdicts: (Violation | undefined)[];
  /** Whether the other shares' headroom had to be taken back for the verdicts. */
  readonly revokeOthers: boolean;
  /** The headroom this replica claims for its share; undefined when none. */
  readonly grant?: ResourceList | undefined;
}

/**
 * One compare-and-swap round's decision, in arrival order. The other replicas' unspent shares count
 * as spent, unless a charge would not fit so: then the round takes them back and decides on what
 * is really spent. A refusal is only ever decided that way, so it is final. A round that admitted
 * claims `fraction` of what is left for this replica's next admissions (none when it took others' back).
 */
export function decideRound(input: RoundInput): RoundDecision {
  const { limits, used, claimed, charges, fraction } = input;
  const withClaims = admitInOrder(limits, addLists(used, claimed), charges);
  const revokeOthers = withClaims.some(Boolean) && !isZeroList(claimed);
  const verdicts = revokeOthers ? admitInOrder(limits, used, charges) : withClaims;
  if (!fraction || revokeOthers || verdicts.every(Boolean)) return { verdicts, revokeOthers };
  const spent = charges.reduce((sum, charge, i) => (verdicts[i] ? sum : addLists(sum, charge)), addLists(used, claimed));
  const grant = grantOf(limits.hard, spent, fraction);
  return { verdicts, revokeOthers, grant: isZeroList(grant) ? undefined : grant };
}

/** What a settling write sets (enforcement/quota-status-writer.ts, `createSettlement`). */
export interface SettlingWrite {
  /** The status fields it sets, `usedAsOf` among them: the WorkloadPlacement resourceVersion of the view. */
  readonly status: Readonly<Record<string, unknown>> & { readonly usedAsOf?: string };
  /** Whether that view already counts the reservation's placement. */
  readonly counts: (reservation: QuotaReservation) => boolean;
  /** Whether `status` differs from what the quota says. */
  readonly changed: boolean;
}

/**
 * Settling as a guarded JSON patch, which the owners' spends do not make fail: the status fields a
 * settlement sets, and the removal of every reservation it counts or that has expired, each tested
 * by its request at its index (owners only append, so earlier indexes stay put). It applies only if
 * no other settlement came in between (`usedAsOf` tested). Undefined when there is nothing to write
 * or it cannot be done so: the quota was never settled, a share has expired (taking it back needs a
 * compare-and-swap), or `quota` is older than the view settled from, so it could lack the
 * reservation of a placement that view counts (every reservation is written before its placement).
 */
export function settlePatch(quota: WorkspaceQuota, settling: SettlingWrite, nowMs: number): JsonPatchOperation[] | undefined {
  const { usedAsOf } = quota.status;
  if (usedAsOf === undefined || isOlderVersion(quota.metadata.resourceVersion, settling.status.usedAsOf)) return undefined;
  if (Object.values(quota.status.shares).some((share) => isExpired(share, nowMs))) return undefined;
  const keeps = stillCounts(nowMs, settling);
  const lists: [string, readonly QuotaReservation[]][] = [
    ['/status/reservations', quota.status.reservations],
    ...Object.entries(quota.status.shares).map(([name, share]): [string, readonly QuotaReservation[]] => [`/status/shares/${pointer(name)}/reservations`, share.reservations]),
  ];
  const removals = lists.flatMap(([path, list]) =>
    list
      .map((reservation, i) => ({ reservation, at: `${path}/${i}` }))
      .filter(({ reservation }) => !keeps(reservation))
      .reverse()
      .flatMap(({ reservation, at }): JsonPatchOperation[] => [
        { op: 'test', path: `${at}/request`, value: reservation.request },
        { op: 'remove', path: at },
      ]),
  );
  if (removals.length === 0 && !settling.changed) return undefined;
  const fields = Object.entries(settling.status).map(([field, value]): JsonPatchOperation => ({ op: 'add', path: `/status/${pointer(field)}`, value }));
  return [{ op: 'test', path: '/status/usedAsOf', value: usedAsOf }, ...fields, ...removals];
}
