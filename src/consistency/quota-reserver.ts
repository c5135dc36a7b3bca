import { describeApiError } from '../api/errors.js';
import type { QuotaReservation, WorkspaceQuota } from '../api/resources.js';
import { decideRound, fitInShare, othersAvailable, roundBasis, roundStatus, settlePatch, shareReservations, spendShare, usableShare } from '../core/quota-shares.js';
import { describeViolation } from '../core/messages.js';
import { quotaLimits } from '../core/quotas.js';
import type { Quantity, ResourceList } from '../quantity/index.js';
import { STALE, type QuotaStore } from './quota-store.js';

/** One admission's charge on the WorkspaceQuotas it must fit. */
export interface Hold {
  readonly requestUid: string;
  /** `<workspace>/<name>` of the placement. */
  readonly placement: string;
  readonly uid?: string | undefined;
  readonly minGeneration: number;
  readonly quotas: readonly { readonly key: string; readonly requested: ResourceList }[];
  /** Past this the API server has given up on the review: answer before it. */
  readonly deadlineMs: number;
  readonly expiresAtMs: number;
}

export type HoldOutcome = { readonly ok: true } | { readonly ok: false; readonly message: string };

export interface ReserverLog {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** Settling a quota from this replica's tracker, as the status writer does (enforcement/quota-status-writer.ts). */
export interface Settlement {
  /** The status fields a settling write sets (hard, used, summary, phase, conditions, usedAsOf). */
  readonly status: { readonly used: Record<string, string>; readonly phase: string; readonly usedAsOf?: string };
  /** The usage that status counts: it stands for `status.used` in the round's decisions. */
  readonly used: ResourceList;
  /** Whether that usage already counts the reservation's placement (the write drops it). */
  readonly counts: (reservation: QuotaReservation) => boolean;
  /** Whether `status` differs from what the quota says now. */
  readonly changed: boolean;
}

/** Undefined when this replica may not settle the quota now (not the Lease holder, tracker not ready, older view). */
export type Settle = (quotaKey: string, quota: WorkspaceQuota, nowMs: number) => Settlement | undefined;

export interface QuotaReserverOptions {
  readonly store: QuotaStore;
  /** This replica's count of a quota's usage: stands in until the status writer has written `used`. */
  readonly fallbackUsed: (quotaKey: string) => ResourceList;
  readonly clock: () => number;
  readonly log: ReserverLog;
  /**
   * On the replica that settles, each reservation write settles too: the status writer's change
   * folded into the same compare-and-swap, so a hot quota is written by the reservers alone.
   */
  readonly settle?: Settle | undefined;
  /** Shares of the headroom (docs/consistency.md, "Shares"); without, every admission is a compare-and-swap round. */
  readonly shares?: ShareOptions | undefined;
}

export interface ShareOptions {
  /** This replica's identity: the key of its share. */
  readonly owner: string;
  /** Of the headroom left after a round, the part the round claims for this replica (0 < f ≤ 1). */
  readonly fraction: Quantity;
  /** A share not renewed for this long may be taken back by any writer. */
  readonly ttlMs: number;
}

/**
 * Reservations the quota object may hold before shares stop being spent: compare-and-swap rounds
 * take over, and the Lease holder's settle them (the object, and every write of it, stays small).
 */
const MAX_UNSETTLED = 64;

export interface QuotaReserver {
  /** Reserves on every quota of the hold (in key order) or on none. */
  reserve(hold: Hold): Promise<HoldOutcome>;
  /** Whether a reservation write for the quota is under way or queued on this replica. */
  busy(quotaKey: string): boolean;
}

interface PendingHold {
  readonly reservation: QuotaReservation;
  readonly deadlineMs: number;
  readonly resolve: (outcome: HoldOutcome) => void;
  decided: boolean;
  /** Taken into a round: that round's write, bounded by this deadline, answers it. */
  inRound: boolean;
  /** Answers it at its deadline while it still waits in the queue. */
  timer?: NodeJS.Timeout;
}

/** What one round decides and writes: holds (joined by those that queue meanwhile) and reservations to give back. */
interface Batch {
  readonly holds: PendingHold[];
  readonly releases: ReadonlySet<string>;
}

/** What spending from a share left: holds for a compare-and-swap round, and what a failed patch may have written. */
interface Spent {
  readonly rest: PendingHold[];
  /** The share was taken back meanwhile: nothing was written, and this replica's copies are stale. */
  readonly stale: boolean;
  readonly maybeWritten: string[];
}

interface QuotaQueue {
  holds: PendingHold[];
  releases: Set<string>;
  busy: boolean;
}

/** Bound on a round that only gives reservations back: nobody waits on it, but the queue does. */
const RELEASE_TIMEOUT_MS = 10_000;

function decideOnce(pending: PendingHold, outcome: HoldOutcome): void {
  if (pending.decided) return;
  pending.decided = true;
  clearTimeout(pending.timer);
  pending.resolve(outcome);
}

/** The holds still undecided: those past their deadline are refused first (nothing is written for them). */
function openHolds(key: string, holds: readonly PendingHold[], nowMs: number): PendingHold[] {
  for (const pending of holds) {
    if (pending.deadlineMs <= nowMs) decideOnce(pending, { ok: false, message: `could not reserve on quota ${key} before the request's deadline; try again` });
  }
  return holds.filter((pending) => !pending.decided);
}

const notInTime = (key: string): string => `could not confirm quota ${key} in time: the API server did not answer before the request's deadline; retry`;

/**
 * Reserves admissions' charges in WorkspaceQuota status by compare-and-swap (docs/consistency.md).
 * Reviews for one quota that arrive while a write for it is in flight wait and are decided together,
 * in arrival order, in the next write: under load one API write admits many.
 *
 * A hold refused in one attempt stays refused: after a conflict only the holds still undecided are
 * decided again, on the fresh state (the trap of Kubernetes #141904).
 */
export function createQuotaReserver(options: QuotaReserverOptions): QuotaReserver {
  const { store, fallbackUsed, clock, log, settle, shares } = options;
  const queues = new Map<string, QuotaQueue>();

  /** The status a round writes: live reservations, minus released and re-reviewed ones, plus the holds that fit. */
  const roundChange = (key: string, batch: Batch, accepted: PendingHold[], join: () => void) => (quota: WorkspaceQuota) => {
    // Every attempt, the first and each after a conflict, also decides the holds that have queued
    // meanwhile: under contention a retry then admits everything waiting instead of only its own batch.
    join();
    const nowMs = clock();
    accepted.length = 0;
    const open = openHolds(key, batch.holds, nowMs);
    // Settling in the same write: one snapshot of the tracker gives `used` and the reservations it
    // already counts, exactly as the status writer's own write would (docs/consistency.md).
    const settling = settle?.(key, quota, nowMs);
    const replaced = new Set([...batch.releases, ...open.map((pending) => pending.reservation.request)]);
    const basis = roundBasis(quota, { nowMs, replaced, settling, fallbackUsed: settling ? {} : fallbackUsed(key) });
    const decision = decideRound({
      limits: quotaLimits(quota),
      used: basis.used,
      claimed: othersAvailable(quota, shares?.owner ?? '', nowMs),
      charges: open.map((pending) => pending.reservation.charge),
      fraction: shares?.fraction,
    });
    open.forEach((pending, i) => {
      const violation = decision.verdicts[i];
      if (violation) decideOnce(pending, { ok: false, message: describeViolation(violation).join('; ') });
      else accepted.push(pending);
    });
    const admitted = accepted.map((pending) => pending.reservation);
    return roundStatus(quota, { basis, decision, admitted, settling, owner: shares?.owner, expires: shareExpiry(nowMs), nowMs });
  };

  const shareExpiry = (nowMs: number): string => new Date(nowMs + (shares?.ttlMs ?? 0)).toISOString();

  /** What this replica's own share fits of the holds, in order; undefined when it may not spend now. */
  const spendable = (key: string, holds: PendingHold[], nowMs: number) => {
    const quota = store.latest(key);
    const share = shares && quota && usableShare(quota, shares.owner, nowMs);
    if (!shares || !quota || !share) return undefined;
    if (quota.status.reservations.length + shareReservations(quota, () => true).length >= MAX_UNSETTLED) return undefined;
    const open = holds.filter((pending) => !pending.decided && pending.deadlineMs > nowMs);
    const fits = fitInShare(share, open.map((pending) => pending.reservation.charge));
    const spending = open.filter((_, i) => fits[i]);
    // Bounded by every hold of the round: those left for compare-and-swap wait on this patch too.
    return spending.length > 0 ? { owner: shares.owner, quota, share, spending, boundMs: Math.min(...open.map((pending) => pending.deadlineMs)) } : undefined;
  };

  /**
   * Holds this replica's own share fits, spent in one guarded JSON patch: no precondition on the
   * object's version, so the other replicas' writes in between do not make it fail. Returns the
   * holds left for a compare-and-swap round (those the share does not fit; all of them when the
   * share was taken back), and the requests a failed patch may still have written.
   */
  const spend = async (key: string, holds: PendingHold[]): Promise<Spent> => {
    const nowMs = clock();
    const plan = spendable(key, holds, nowMs);
    if (!plan) return { rest: holds, stale: false, maybeWritten: [] };
    const { owner, quota, share, spending, boundMs } = plan;
    const rest = holds.filter((pending) => !spending.includes(pending));
    const signal = AbortSignal.timeout(boundMs - nowMs);
    const reservations = spending.map((pending) => pending.reservation);
    // The Lease holder settles in the same patch: still no precondition, so nobody conflicts.
    const settling = settle?.(key, quota, nowMs);
    const settleOps = (settling && settlePatch(quota, settling, nowMs)) ?? [];
    try {
      const written = await store.patch(key, quota, [...spendShare(owner, share, reservations, shareExpiry(nowMs)), ...settleOps], signal);
      if (written === STALE) return { rest: holds, stale: true, maybeWritten: [] };
      for (const pending of spending) decideOnce(pending, { ok: true });
      return { rest, stale: false, maybeWritten: [] };
    } catch (error) {
      refuseAfterFailure(key, spending, error, signal);
      return { rest, stale: false, maybeWritten: reservations.map((reservation) => reservation.request) };
    }
  };

  /** A write failed or was cut off (it may still have landed): its holds are refused, saying why. */
  const refuseAfterFailure = (key: string, holds: readonly PendingHold[], error: unknown, signal: AbortSignal): void => {
    const timedOut = signal.aborted;
    log.warn({ quota: key, err: error, timedOut }, 'quota reservation write failed');
    const message = timedOut ? notInTime(key) : `could not reserve on quota ${key}: ${describeApiError(error)}; try again`;
    for (const pending of holds) decideOnce(pending, { ok: false, message });
  };

  /**
   * One write for the holds waiting on a quota. It is bounded by the earliest deadline among them
   * (a write that outlives its review must not count), or by RELEASE_TIMEOUT_MS when it only gives
   * back. A write that failed or was cut off may still have been applied by the API server: its
   * holds are answered as refused, and their reservations are taken out again by the next round.
   */
  const round = async (key: string, queue: QuotaQueue, batch: Batch, fresh: boolean): Promise<string[]> => {
    const { holds } = batch;
    const accepted: PendingHold[] = [];
    // Holds already past their deadline are refused by the change itself; they do not bound the write.
    const nowMs = clock();
    const ahead = holds.map((pending) => pending.deadlineMs).filter((deadlineMs) => deadlineMs > nowMs);
    const boundMs = ahead.length > 0 ? Math.min(...ahead) : nowMs + RELEASE_TIMEOUT_MS;
    const signal = AbortSignal.timeout(boundMs - nowMs);
    // Holds that queued during this round join it when the write's bound is within their deadline
    // (a write must never outlive a review it answers); the others wait for the next round.
    const join = (): void => {
      if (queue.holds.length === 0) return;
      const waiting: PendingHold[] = [];
      for (const pending of queue.holds) (pending.deadlineMs >= boundMs ? holds : waiting).push(pending);
      queue.holds = waiting;
    };
    try {
      const quota = await store.update(key, roundChange(key, batch, accepted, join), signal, { fresh });
      // A quota deleted meanwhile limits nothing any more.
      for (const pending of quota ? accepted : holds) decideOnce(pending, { ok: true });
      return [];
    } catch (error) {
      refuseAfterFailure(key, holds, error, signal);
      return accepted.map((pending) => pending.reservation.request);
    }
  };

  /**
   * One turn of a quota's queue: what waits is spent from this replica's share when it can be, the
   * rest goes to a compare-and-swap round. Resolves to whether this replica's copy of the quota is
   * uncertain afterwards (a write that may have landed unseen, or a share taken back).
   */
  const turn = async (key: string, queue: QuotaQueue, uncertain: boolean): Promise<boolean> => {
    let holds = queue.holds.splice(0);
    for (const pending of holds) pending.inRound = true;
    const releases = queue.releases;
    queue.releases = new Set();
    let fresh = uncertain;
    // From the share first, when this replica's copy can be trusted and nothing is to be given back.
    if (!uncertain && releases.size === 0) {
      const spent = await spend(key, holds);
      holds = spent.rest;
      fresh = spent.stale || spent.maybeWritten.length > 0;
      spent.maybeWritten.forEach((request) => releases.add(request));
      if (holds.length === 0 && releases.size === 0) return fresh;
    }
    const maybeWritten = await round(key, queue, { holds, releases }, fresh);
    // Refused holds whose write may have landed: the next round takes them out (or they expire),
    // reading the object afresh, since no copy we hold shows what that write did.
    if (holds.length > 0) for (const request of maybeWritten) queue.releases.add(request);
    return maybeWritten.length > 0;
  };

  const drain = async (key: string, queue: QuotaQueue): Promise<void> => {
    let uncertain = false;
    while (queue.holds.length > 0 || queue.releases.size > 0) uncertain = await turn(key, queue, uncertain);
    queue.busy = false;
    queues.delete(key);
  };

  const queueOf = (key: string): QuotaQueue => {
    let queue = queues.get(key);
    if (!queue) {
      queue = { holds: [], releases: new Set(), busy: false };
      queues.set(key, queue);
    }
    return queue;
  };

  /** An idle queue starts on the next turn of the event loop, so reviews read in the same turn share a write. */
  const kick = (key: string, queue: QuotaQueue): void => {
    if (queue.busy) return;
    queue.busy = true;
    setImmediate(() => void drain(key, queue));
  };

  /**
   * Queues a hold for the next round. A round in flight is bounded by its own holds' deadlines, not by
   * the queued ones' (nor, giving back only, by theirs at all), so a hold whose deadline comes while it
   * still waits is answered then, refused, and never joins a round: with the API server stopped, a
   * review must not wait out the write ahead of it (issue 14). Nothing was written for it.
   */
  const holdOn = (key: string, reservation: QuotaReservation, deadlineMs: number): Promise<HoldOutcome> =>
    new Promise((resolve) => {
      const queue = queueOf(key);
      const pending: PendingHold = { reservation, deadlineMs, resolve, decided: false, inRound: false };
      const waitMs = deadlineMs - clock();
      // Already past it: the round refuses it at once, without writing.
      if (waitMs > 0) {
        pending.timer = setTimeout(() => {
          if (pending.decided || pending.inRound) return;
          queue.holds.splice(queue.holds.indexOf(pending), 1);
          decideOnce(pending, { ok: false, message: notInTime(key) });
        }, waitMs);
      }
      queue.holds.push(pending);
      kick(key, queue);
    });

  const release = (key: string, requestUid: string): void => {
    const queue = queueOf(key);
    queue.releases.add(requestUid);
    kick(key, queue);
  };

  const reserve = async (hold: Hold): Promise<HoldOutcome> => {
    const quotas = [...hold.quotas].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    const held: string[] = [];
    for (const { key, requested } of quotas) {
      const reservation: QuotaReservation = {
        request: hold.requestUid,
        placement: hold.placement,
        uid: hold.uid,
        minGeneration: hold.minGeneration,
        charge: requested,
        expires: new Date(hold.expiresAtMs).toISOString(),
      };
      const outcome = await holdOn(key, reservation, hold.deadlineMs);
      if (!outcome.ok) {
        // All or nothing: what earlier quotas hold for this request is given back (or expires).
        for (const earlier of held) release(earlier, hold.requestUid);
        return outcome;
      }
      held.push(key);
    }
    log.debug({ request: hold.requestUid, quotas: held }, 'reserved');
    return { ok: true };
  };

  return { reserve, busy: (key) => queues.get(key)?.busy ?? false };
}
