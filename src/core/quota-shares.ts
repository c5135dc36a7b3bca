import { timestampMs } from '../api/fields.js';
import type { QuotaReservation, QuotaShare, WorkspaceQuota } from '../api/resources.js';
import { addLists, amountOf, floorToUnit, formatList, isNegative, isZero, isZeroList, mask, mulRatio, sub, subLists, ZERO, type Quantity, type ResourceList } from '../quantity/index.js';
import { quotaViolation, type Violation } from './fit.js';
import { admitInOrder, agreedUsage, expiresAtMs, toWireReservation, type WireReservation } from './quota-agreement.js';
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
  readonly instance: string;
  readonly records: number;
  readonly recalled: boolean;
  readonly reservations: WireReservation[];
}

/** Who owns a share: the replica's identity (the key of its entry) and this process's random id. */
export interface ShareOwner {
  readonly name: string;
  readonly instance: string;
}

/** One RFC 6902 operation. */
export interface JsonPatchOperation {
  readonly op: 'test' | 'replace' | 'add' | 'remove';
  readonly path: string;
  readonly value?: unknown;
}

/** A merge patch of `status.shares`: an entry replaced, merged (reservations, recalled) or removed (null). */
export type SharesPatch = Record<string, WireShare | { readonly reservations?: WireReservation[]; readonly recalled?: true } | null>;

const generationOf = (quota: WorkspaceQuota): number => quota.metadata.generation ?? 0;
const shareOf = (quota: WorkspaceQuota, owner: string): QuotaShare | undefined =>
  Object.hasOwn(quota.status.shares, owner) ? quota.status.shares[owner] : undefined;
const isExpired = (share: QuotaShare, nowMs: number): boolean => timestampMs(share.expires) <= nowMs;
const isEmpty = (share: QuotaShare): boolean => Object.values(share.available).every(isZero);
const isMine = (name: string, share: QuotaShare, owner: ShareOwner | undefined): boolean =>
  owner !== undefined && name === owner.name && share.instance === owner.instance;

/** Whether the share has headroom to give back, and must: recalled, or granted under an older spec. */
export function owesHeadroom(quota: WorkspaceQuota, share: QuotaShare): boolean {
  return !isEmpty(share) && (share.recalled || share.generation !== generationOf(quota));
}

/** Whether the share still has headroom of its own. */
export const hasHeadroom = (share: QuotaShare): boolean => !isEmpty(share);

/** This process's own share, whatever its state (a share left by an earlier process under the same name is not). */
export function ownShare(quota: WorkspaceQuota, owner: ShareOwner): QuotaShare | undefined {
  const share = shareOf(quota, owner.name);
  return share && isMine(owner.name, share, owner) ? share : undefined;
}

/**
 * The owner's share if it may admit from it now: this process's, not recalled, granted under the
 * quota's current spec (a changed `hard` makes it stale), not expired, and listing every resource
 * `hard` limits.
 */
export function usableShare(quota: WorkspaceQuota, owner: ShareOwner, nowMs: number): QuotaShare | undefined {
  const share = ownShare(quota, owner);
  if (!share || share.recalled || share.generation !== generationOf(quota) || isExpired(share, nowMs)) return undefined;
  return Object.keys(quota.spec.hard).every((resource) => Object.hasOwn(share.available, resource)) ? share : undefined;
}

/**
 * Whether the owner may admit from its usable share at once and write the charge after the answer:
 * the quota has been settled once (a record is stamped with `usedAsOf`), and the share has at least
 * half its TTL to live, so that nobody can take it back for that long after the admission.
 */
export function admitsAtOnce(quota: WorkspaceQuota, share: QuotaShare, nowMs: number, ttlMs: number): boolean {
  return quota.status.usedAsOf !== undefined && timestampMs(share.expires) - nowMs >= ttlMs / 2;
}

/** What the share has left once the owner's charges not written yet are taken off. */
export function leftInShare(share: QuotaShare, unwritten: readonly ResourceList[]): ResourceList {
  const spent = unwritten.reduce<ResourceList>((sum, charge) => addLists(sum, charge), {});
  return subLists(share.available, mask(spent, Object.keys(share.available)));
}

/** Which of these charges, in order, `left` fits (each one taken leaves less for the next). */
export function fitInShare(left: ResourceList, charges: readonly ResourceList[]): boolean[] {
  const limits: QuotaLimits = { key: '', label: 'share', hard: left, soft: {} };
  return admitInOrder(limits, {}, charges).map((violation) => violation === undefined);
}

const pointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');

export interface ShareRecord {
  /** Charges already answered (admitted at once): written stamped `after` the object's `usedAsOf`, in doubt until a settlement sees them. */
  readonly answered: readonly QuotaReservation[];
  /** Answered charges this write does not list because the settlement in the same patch counts them. */
  readonly counted: readonly QuotaReservation[];
  /** Holds answered once this patch lands: decided from the share, so the quota's generation is tested. */
  readonly holds: readonly QuotaReservation[];
  readonly expires: string;
  /** Give the rest of `available` back (recalled, stale, stopping). */
  readonly giveBack: boolean;
  /** A settlement in the same patch sees the answered charges (it does not count them): no doubt. */
  readonly settles?: boolean | undefined;
}

/**
 * The owner's JSON patch writing what it admitted from its share (docs/consistency.md, "Recording
 * after the answer"): it applies only to the share the owner decided from (epoch, available and
 * records tested) and, when it decides holds, under the same spec (generation tested). It moves the charges from `available` to reservations, counts the
 * record and renews the expiry. The API server applies it to the newest object, so the other
 * replicas' writes in between do not make it fail.
 */
export function recordShare(quota: WorkspaceQuota, owner: string, share: QuotaShare, record: ShareRecord): JsonPatchOperation[] {
  const base = `/status/shares/${pointer(owner)}`;
  const { answered, counted, holds, expires, giveBack, settles } = record;
  const after = quota.status.usedAsOf;
  const left = leftInShare(share, [...answered, ...counted, ...holds].map((reservation) => reservation.charge));
  const available = giveBack ? Object.fromEntries(Object.keys(share.available).map((resource) => [resource, ZERO])) : left;
  const stamped = answered.map((reservation) => toWireReservation(settles ? reservation : { ...reservation, after: after ?? '' }));
  return [
    ...(holds.length > 0 ? [{ op: 'test' as const, path: '/metadata/generation', value: share.generation }] : []),
    { op: 'test', path: `${base}/epoch`, value: share.epoch },
    { op: 'test', path: `${base}/available`, value: formatList(share.available) },
    { op: 'test', path: `${base}/records`, value: share.records },
    { op: 'replace', path: `${base}/available`, value: formatList(available) },
    { op: 'replace', path: `${base}/records`, value: share.records + 1 },
    { op: 'replace', path: `${base}/expires`, value: expires },
    ...[...stamped, ...holds.map(toWireReservation)].map((value) => ({ op: 'add' as const, path: `${base}/reservations/-`, value })),
  ];
}

/** The reservations every share holds that still count (the caller says which). */
export function shareReservations(quota: WorkspaceQuota, counts: (reservation: QuotaReservation) => boolean): QuotaReservation[] {
  return Object.values(quota.status.shares).flatMap((share) => share.reservations.filter(counts));
}

/**
 * Σ of the unspent `available` of every live share but this process's own (a share its predecessor
 * left under the same name counts: it may hold charges admitted and not written). An expired share's
 * is left out: every compare-and-swap write takes it back ({@link rewriteShares}), and one its owner
 * recorded into meanwhile changed the object, so that write fails and is decided again.
 */
export function othersAvailable(quota: WorkspaceQuota, owner: ShareOwner | undefined, nowMs: number): ResourceList {
  let sum: ResourceList = {};
  for (const [name, share] of Object.entries(quota.status.shares)) if (!isMine(name, share, owner) && !isExpired(share, nowMs)) sum = addLists(sum, share.available);
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
  readonly owner?: ShareOwner | undefined;
  /** Which stored share reservations still count after this write (not settled, not expired, not given back). */
  readonly keeps: (reservation: QuotaReservation) => boolean;
  /** Ask every other live share with headroom to give it back (a request waits for it). */
  readonly recallOthers: boolean;
  /** The write settles: the reservations it keeps are seen, no longer in doubt. */
  readonly settles?: boolean | undefined;
  /** The owner's new share: its headroom and expiry; undefined: its share keeps no headroom. */
  readonly grant?: { readonly available: ResourceList; readonly expires: string } | undefined;
  readonly nowMs: number;
}

/**
 * How a compare-and-swap write rewrites `status.shares` (a merge patch; empty when nothing changes).
 * Settled and expired reservations leave. The owner's own share gets `grant` or dissolves; the
 * round counted its headroom as free and writes its unrecorded charges itself. Another share is
 * taken only when nothing unwritten can be in it: expired, or nothing left in `available`; it gets a
 * new epoch (the object's resourceVersion as read, which no earlier epoch can equal), so its owner's
 * next record fails its test, or it is removed when it holds nothing. A live share with headroom is
 * only ever recalled. A grant is not written over a live share of an earlier process of the owner.
 */
export function rewriteShares(quota: WorkspaceQuota, rewrite: ShareRewrite): SharesPatch {
  const fresh: Fresh = { epoch: `rv-${quota.metadata.resourceVersion ?? '0'}`, generation: generationOf(quota) };
  const patch: SharesPatch = {};
  for (const [name, share] of Object.entries(quota.status.shares)) {
    const entry = rewriteOne(name, share, rewrite, fresh);
    if (entry !== undefined) patch[name] = entry;
  }
  const granted = grantEntry(quota, rewrite, fresh);
  if (granted) patch[granted.name] = granted.entry;
  return patch;
}

interface Fresh {
  readonly epoch: string;
  readonly generation: number;
}

/** A share's reservations that still count after the write: seen, if it settles. */
const keptOf = (share: QuotaShare | undefined, rewrite: ShareRewrite): QuotaReservation[] => {
  const kept = share?.reservations.filter(rewrite.keeps) ?? [];
  return rewrite.settles ? kept.map(seen) : kept;
};

/** Nothing unwritten can be in it: this process's own, expired, or emptied. */
const isTakeable = (name: string, share: QuotaShare, rewrite: ShareRewrite): boolean =>
  isMine(name, share, rewrite.owner) || isExpired(share, rewrite.nowMs) || isEmpty(share);

/** The owner's new share, unless its entry is held by a live share with headroom of an earlier process. */
function grantEntry(quota: WorkspaceQuota, rewrite: ShareRewrite, fresh: Fresh): { name: string; entry: WireShare } | undefined {
  const { owner, grant } = rewrite;
  if (!owner || !grant) return undefined;
  const occupant = shareOf(quota, owner.name);
  if (occupant && !isTakeable(owner.name, occupant, rewrite)) return undefined;
  const entry: WireShare = {
    ...fresh,
    available: formatList(grant.available),
    expires: grant.expires,
    instance: owner.instance,
    records: occupant?.records ?? 0,
    recalled: false,
    reservations: keptOf(occupant, rewrite).map(toWireReservation),
  };
  return { name: owner.name, entry };
}

/** One share's entry in the patch; undefined when it stays as it is. */
function rewriteOne(name: string, share: QuotaShare, rewrite: ShareRewrite, fresh: Fresh): SharesPatch[string] | undefined {
  const kept = keptOf(share, rewrite);
  const changed = kept.length !== share.reservations.length || kept.some((reservation, i) => reservation !== share.reservations[i]);
  if (!isTakeable(name, share, rewrite)) return recallOrTrim(share, rewrite.recallOthers, changed ? kept : undefined);
  if (kept.length === 0) return null;
  if (!changed && isEmpty(share)) return undefined;
  const available = formatList(Object.fromEntries(Object.keys(share.available).map((resource) => [resource, ZERO])));
  return { ...fresh, available, expires: share.expires, instance: share.instance, records: share.records, recalled: false, reservations: kept.map(toWireReservation) };
}

/** A live share of another keeps its headroom: its reservations trimmed, and it recalled if asked. */
function recallOrTrim(share: QuotaShare, recallOthers: boolean, kept: QuotaReservation[] | undefined): SharesPatch[string] | undefined {
  const recall = recallOthers && !share.recalled;
  if (!recall && !kept) return undefined;
  return { ...(kept ? { reservations: kept.map(toWireReservation) } : {}), ...(recall ? { recalled: true as const } : {}) };
}

/** What a compare-and-swap round counts before deciding its holds. */
export interface RoundBasis {
  /** Whether a stored reservation still counts after this write (live, not replaced, not settled). */
  readonly keeps: (reservation: QuotaReservation) => boolean;
  /** The shared list's reservations that stay. */
  readonly kept: QuotaReservation[];
  /** This replica's answered charges the round writes (those its own settlement counts are left out). */
  readonly answered: QuotaReservation[];
  /** The upper bound: `used` (or the usage this write settles to), every reservation that stays, the shares' included, and `answered`. */
  readonly used: ResourceList;
  /** The lower bound: what certainly counts once ({@link inDoubt}); refusals are decided on it. */
  readonly certain: ResourceList;
}

export interface RoundBasisInput {
  readonly nowMs: number;
  /** Requests whose stored reservation this write replaces or gives back. */
  readonly replaced: ReadonlySet<string>;
  /** The settlement this write makes, when this replica settles. */
  readonly settling?: { readonly used: ResourceList; readonly counts: (reservation: QuotaReservation) => boolean } | undefined;
  /** This replica's count of the quota's usage: stands in until `status.used` is written. */
  readonly fallbackUsed: ResourceList;
  /** Charges this replica admitted from its share and has not written: the round writes them. */
  readonly answered?: readonly QuotaReservation[] | undefined;
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

/**
 * Whether `used` may count the reservation's placement too: it was written after its answer and no
 * settlement has seen it since, so the last one may have counted the placement without it. Every
 * settlement strips `after` from the reservations it keeps (it saw them, and its view does not count
 * them), and applies only to an object holding every record made before it (settling patches test
 * each share's `records`); every other reservation was written before its placement existed.
 */
export const inDoubt = (reservation: QuotaReservation): boolean => reservation.after !== undefined;

/** A reservation a settlement keeps: seen by it, so no longer in doubt. */
export const seen = (reservation: QuotaReservation): QuotaReservation => {
  if (reservation.after === undefined) return reservation;
  const { after: _seen, ...rest } = reservation;
  return rest;
};

/** Whether any reservation the quota holds, in the shared list or in a share, passes `test` (nothing copied). */
export function anyReservation(quota: WorkspaceQuota, test: (reservation: QuotaReservation) => boolean): boolean {
  return quota.status.reservations.some(test) || Object.values(quota.status.shares).some((share) => share.reservations.some(test));
}

/** How many reservations the quota holds, the shares' included (nothing copied). */
export function reservationCount(quota: WorkspaceQuota): number {
  let count = quota.status.reservations.length;
  for (const share of Object.values(quota.status.shares)) count += share.reservations.length;
  return count;
}

/** Whether any reservation of the quota is in doubt (a settlement then has something to write). */
export const hasDoubt = (quota: WorkspaceQuota): boolean => anyReservation(quota, inDoubt);

export function roundBasis(quota: WorkspaceQuota, input: RoundBasisInput): RoundBasis {
  const { nowMs, replaced, settling, fallbackUsed } = input;
  const keeps = stillCounts(nowMs, settling, replaced);
  const kept = quota.status.reservations.filter(keeps);
  const answered = (input.answered ?? []).filter((reservation) => !settling?.counts(reservation));
  const counted = [...kept, ...shareReservations(quota, keeps)];
  const usage = (reservations: readonly QuotaReservation[]) =>
    settling ? agreedUsage(quota, settling.used, reservations, { settled: true }) : agreedUsage(quota, fallbackUsed, reservations);
  const used = usage([...counted, ...answered]);
  // Settling in this write: what stays is exactly what its view does not count. Otherwise the
  // answered charges and the reservations in doubt may be in `used` already.
  const certain = settling ? used : usage(counted.filter((reservation) => !inDoubt(reservation)));
  return { keeps, kept, answered, used, certain };
}

export interface RoundWrite {
  readonly basis: RoundBasis;
  readonly decision: RoundDecision;
  /** The reservations of the holds the round admitted. */
  readonly admitted: readonly QuotaReservation[];
  /** The status fields a settlement in the same write sets, and whether they change anything. */
  readonly settling?: { readonly status: object; readonly changed: boolean } | undefined;
  readonly owner?: ShareOwner | undefined;
  /** The expiry of a share granted now. */
  readonly expires: string;
  readonly nowMs: number;
}

/** The status a compare-and-swap round writes (a merge patch); undefined when it changes nothing. */
export function roundStatus(quota: WorkspaceQuota, write: RoundWrite): object | undefined {
  const { basis, decision, admitted, settling, owner, expires, nowMs } = write;
  const grant = decision.grant && { available: decision.grant, expires };
  const shares = rewriteShares(quota, { owner, keeps: basis.keeps, recallOthers: decision.recallOthers, settles: settling !== undefined, grant, nowMs });
  const sharesChanged = Object.keys(shares).length > 0;
  const reservations = sharedList(quota, basis, admitted, settling !== undefined);
  if (!reservations && !settling?.changed && !sharesChanged) return undefined;
  return {
    ...settling?.status,
    reservations: (reservations ?? basis.kept).map(toWireReservation),
    // Counted, so that a settling patch made from an older copy does not apply over this write.
    rounds: (quota.status.rounds ?? 0) + 1,
    ...(sharesChanged ? { shares } : {}),
  };
}

/**
 * The shared list a round writes; undefined when it stays as stored. Answered charges are in doubt
 * until a settlement sees them, unless this write settles: then it has seen every reservation it keeps.
 */
function sharedList(quota: WorkspaceQuota, basis: RoundBasis, admitted: readonly QuotaReservation[], settles: boolean): QuotaReservation[] | undefined {
  const { kept, answered } = basis;
  const cleared = settles && kept.some(inDoubt);
  if (admitted.length === 0 && answered.length === 0 && kept.length === quota.status.reservations.length && !cleared) return undefined;
  const after = quota.status.usedAsOf ?? '';
  const listed = settles ? [...kept.map(seen), ...answered] : [...kept, ...answered.map((reservation) => ({ ...reservation, after }))];
  return [...listed, ...admitted];
}

export interface RoundInput {
  readonly limits: QuotaLimits;
  /** The upper bound ({@link RoundBasis}.used). */
  readonly used: ResourceList;
  /** The lower bound ({@link RoundBasis}.certain). */
  readonly certain: ResourceList;
  /** The other replicas' unspent shares ({@link othersAvailable}). */
  readonly claimed: ResourceList;
  readonly charges: readonly ResourceList[];
  /** This replica's share fraction; undefined: no share is claimed. */
  readonly fraction?: Quantity | undefined;
}

/** A hold's verdict: admitted (undefined), refused, or to be decided again once the quota changes. */
export type RoundVerdict = Violation | 'wait' | undefined;

export interface RoundDecision {
  readonly verdicts: RoundVerdict[];
  /** Whether the other shares' headroom is asked back (a hold waits for it). */
  readonly recallOthers: boolean;
  /** The headroom this replica claims for its share; undefined when none. */
  readonly grant?: ResourceList | undefined;
}

/**
 * One compare-and-swap round's decision, in arrival order. A hold is admitted only if it fits on the
 * upper bound with the other replicas' unspent shares counted as spent (they may hold charges
 * answered and not written); refused only if it does not fit on the lower bound with everything this
 * round admits: then it does not fit on what is really held, so the refusal is final. Between the
 * two it waits, and the round recalls the other shares' headroom when there is any. A round that
 * left nobody waiting and did not refuse everything claims `fraction` of what is left for this replica.
 */
export function decideRound(input: RoundInput): RoundDecision {
  const { limits, used, certain, claimed, charges, fraction } = input;
  const upper = admitInOrder(limits, addLists(used, claimed), charges);
  const admitted = charges.reduce<ResourceList>((sum, charge, i) => (upper[i] ? sum : addLists(sum, charge)), {});
  const lower = addLists(certain, admitted);
  const verdicts: RoundVerdict[] = charges.map((charge, i) => upper[i] && (quotaViolation(limits, lower, charge) ?? 'wait'));
  const waiting = verdicts.includes('wait');
  const recallOthers = waiting && !isZeroList(claimed);
  // A round with no hold (it writes answered charges, or gives reservations back) claims too: it
  // replaces this replica's share, which would otherwise go.
  const refusedAll = charges.length > 0 && verdicts.every(Boolean);
  if (!fraction || waiting || refusedAll) return { verdicts, recallOthers };
  const grant = grantOf(limits.hard, addLists(addLists(used, claimed), admitted), fraction);
  return { verdicts, recallOthers, grant: isZeroList(grant) ? undefined : grant };
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
 * Settling as a guarded JSON patch, which the owners' records do not make fail: the status fields a
 * settlement sets, the removal of every reservation it counts or that has expired, and the doubt of
 * every one it keeps cleared, each tested by its request at its index (owners only append, so
 * earlier indexes stay put). It applies only to an object holding no reservation `quota` lacks: no
 * other settlement (`usedAsOf`), compare-and-swap round (`rounds`) or record (each share's
 * `records`) came in between. So the view may be newer than `quota`: every reservation of a
 * placement it counts was written before the placement, or was written after and is in doubt.
 * Undefined when there is nothing to write or it cannot be done so: never settled, or never written
 * by a round yet, or a share has expired (taking it back needs a compare-and-swap).
 */
export function settlePatch(quota: WorkspaceQuota, settling: SettlingWrite, nowMs: number, recording?: string): JsonPatchOperation[] | undefined {
  const { usedAsOf, rounds } = quota.status;
  if (usedAsOf === undefined || rounds === undefined) return undefined;
  if (Object.values(quota.status.shares).some((share) => isExpired(share, nowMs))) return undefined;
  const keeps = stillCounts(nowMs, settling);
  const lists: [string, readonly QuotaReservation[]][] = [
    ['/status/reservations', quota.status.reservations],
    ...Object.entries(quota.status.shares).map(([name, share]): [string, readonly QuotaReservation[]] => [`/status/shares/${pointer(name)}/reservations`, share.reservations]),
  ];
  // Last first, so that earlier indexes stay put: each counted one removed, each kept one in doubt seen.
  const removals = lists.flatMap(([path, list]) =>
    list
      .map((reservation, i) => ({ reservation, at: `${path}/${i}`, kept: keeps(reservation) }))
      .filter(({ reservation, kept }) => !kept || inDoubt(reservation))
      .reverse()
      .flatMap(({ reservation, at, kept }): JsonPatchOperation[] => [
        { op: 'test', path: `${at}/request`, value: reservation.request },
        { op: 'remove', path: kept ? `${at}/after` : at },
      ]),
  );
  if (removals.length === 0 && !settling.changed) return undefined;
  const fields = Object.entries(settling.status).map(([field, value]): JsonPatchOperation => ({ op: 'add', path: `/status/${pointer(field)}`, value }));
  // Nothing recorded since this copy (the share `recording` writes in the same patch tests its own).
  const records = Object.entries(quota.status.shares)
    // Shares written before `records` existed are never recorded into again.
    .filter(([name, share]) => name !== recording && share.instance !== '')
    .map(([name, share]): JsonPatchOperation => ({ op: 'test', path: `/status/shares/${pointer(name)}/records`, value: share.records }));
  return [{ op: 'test', path: '/status/usedAsOf', value: usedAsOf }, { op: 'test', path: '/status/rounds', value: rounds }, ...records, ...fields, ...removals];
}
