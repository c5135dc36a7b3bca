import { describeApiError } from '../api/errors.js';
import type { QuotaReservation, WorkspaceQuota } from '../api/resources.js';
import { admitInOrder, agreedUsage, liveReservations, toWireReservation } from '../core/quota-agreement.js';
import { describeViolation } from '../core/messages.js';
import { quotaLimits } from '../core/quotas.js';
import type { ResourceList } from '../quantity/index.js';
import type { QuotaStore } from './quota-store.js';

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
  readonly status: { readonly used: Record<string, string>; readonly phase: string };
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
}

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
  const { store, fallbackUsed, clock, log, settle } = options;
  const queues = new Map<string, QuotaQueue>();

  /** The status a round writes: live reservations, minus released and re-reviewed ones, plus the holds that fit. */
  const roundChange = (key: string, batch: Batch, accepted: PendingHold[], join: () => void) => (quota: WorkspaceQuota) => {
    const { holds, releases } = batch;
    // Every attempt, the first and each after a conflict, also decides the holds that have queued
    // meanwhile: under contention a retry then admits everything waiting instead of only its own batch.
    join();
    const nowMs = clock();
    accepted.length = 0;
    for (const pending of holds) {
      if (pending.deadlineMs <= nowMs) decideOnce(pending, { ok: false, message: `could not reserve on quota ${key} before the request's deadline; try again` });
    }
    const open = holds.filter((pending) => !pending.decided);
    const replaced = new Set([...releases, ...open.map((pending) => pending.reservation.request)]);
    // Settling in the same write: one snapshot of the tracker gives `used` and the reservations it
    // already counts, exactly as the status writer's own write would (docs/consistency.md).
    const settling = settle?.(key, quota, nowMs);
    const live = liveReservations(quota, nowMs);
    const kept = live.filter((reservation) => !replaced.has(reservation.request) && !settling?.counts(reservation));
    const used = settling ? agreedUsage(quota, settling.used, kept, { settled: true }) : agreedUsage(quota, fallbackUsed(key), kept);
    const verdicts = admitInOrder(quotaLimits(quota), used, open.map((pending) => pending.reservation.charge));
    open.forEach((pending, i) => {
      const violation = verdicts[i];
      if (violation) decideOnce(pending, { ok: false, message: describeViolation(violation).join('; ') });
      else accepted.push(pending);
    });
    const unchanged = accepted.length === 0 && kept.length === quota.status.reservations.length && !settling?.changed;
    if (unchanged) return undefined;
    return { ...settling?.status, reservations: [...kept, ...accepted.map((pending) => pending.reservation)].map(toWireReservation) };
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
      const timedOut = signal.aborted;
      log.warn({ quota: key, err: error, timedOut }, 'quota reservation write failed');
      const message = timedOut ? notInTime(key) : `could not reserve on quota ${key}: ${describeApiError(error)}; try again`;
      for (const pending of holds) decideOnce(pending, { ok: false, message });
      return accepted.map((pending) => pending.reservation.request);
    }
  };

  const drain = async (key: string, queue: QuotaQueue): Promise<void> => {
    let uncertain = false;
    while (queue.holds.length > 0 || queue.releases.size > 0) {
      const holds = queue.holds.splice(0);
      for (const pending of holds) pending.inRound = true;
      const releases = queue.releases;
      queue.releases = new Set();
      const maybeWritten = await round(key, queue, { holds, releases }, uncertain);
      // Refused holds whose write may have landed: the next round takes them out (or they expire),
      // reading the object afresh, since no copy we hold shows what that write did.
      uncertain = maybeWritten.length > 0;
      if (holds.length > 0) for (const request of maybeWritten) queue.releases.add(request);
    }
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
