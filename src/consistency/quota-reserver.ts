import { randomBytes } from 'node:crypto';
import { describeApiError } from '../api/errors.js';
import type { QuotaReservation, QuotaShare, WorkspaceQuota } from '../api/resources.js';
import {
  admitsAtOnce,
  anyReservation,
  decideRound,
  fitInShare,
  hasHeadroom,
  leftInShare,
  othersAvailable,
  ownShare,
  owesHeadroom,
  recordShare,
  reservationCount,
  roundBasis,
  roundStatus,
  settlePatch,
  usableShare,
  type ShareOwner,
} from '../core/quota-shares.js';
import { describeViolation } from '../core/messages.js';
import { quotaLimits } from '../core/quotas.js';
import type { Quantity, ResourceList } from '../quantity/index.js';
import { BoundedCache } from '../state/bounded-cache.js';
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
  /** This process's id in its shares (random per start when not given). */
  readonly instance?: string | undefined;
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
  /** The tracker saw the quota change: a recall of this replica's share, or room for a waiting hold. */
  observe(quotaKey: string): void;
  /** Writes every charge admitted at once and gives every share's headroom back (on SIGTERM). */
  stop(): Promise<void>;
  /** How holds were admitted: at once from the share, from the share by a record, by a compare-and-swap round; and how many waited. */
  readonly counters: ReserverCounters;
}

export interface ReserverCounters {
  atOnce: number;
  fromShare: number;
  byRound: number;
  waited: number;
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
  /** A record landed: the charges answered meanwhile go in the next one, not in a round. */
  readonly recorded?: boolean;
  /** The share was taken back meanwhile: nothing was written, and this replica's copies are stale. */
  readonly stale: boolean;
  readonly maybeWritten: string[];
}

interface QuotaQueue {
  holds: PendingHold[];
  releases: Set<string>;
  busy: boolean;
  /** Charges admitted at once from this replica's share, not yet written (docs/consistency.md). */
  answered: QuotaReservation[];
  /**
   * The write in flight and the charges it writes: during a record admissions at once go on; during a
   * round (which may replace this replica's share) or a record giving the share back (`replaces`) they wait.
   */
  writing?: { readonly replaces: boolean; readonly charges: readonly QuotaReservation[]; readonly sinceMs: number } | undefined;
  /** Holds that fit only if a share in doubt gives its headroom back: decided again when the quota changes. */
  waiting: PendingHold[];
  /** Give this replica's headroom back in the next record (recalled, or stopping). */
  giveBack: boolean;
  recordTimer?: NodeJS.Timeout | undefined;
  /** When the last record was sent: records of answered charges alone are at least RECORD_DELAY_MS apart. */
  recordedAtMs: number;
  /** The wait for the next record's slot is over (the timer says so, whatever the injected clock says). */
  slotReached?: boolean;
  /** The drain under way (or the last one), for stop() to wait on. */
  drained?: Promise<void>;
  pollTimer?: NodeJS.Timeout | undefined;
}

/** Bound on a round that only gives reservations back: nobody waits on it, but the queue does. */
const RELEASE_TIMEOUT_MS = 10_000;
/** A hold waiting for a share's headroom is decided again at least this often (its owner may be gone). */
const WAIT_POLL_MS = 100;
/**
 * Admitting at once needs the API server answering this replica's writes of the quota: one answered
 * within this long, and none in flight for longer. Otherwise a hold waits for its own write (and is
 * refused if that write is not answered in time), as without shares.
 */
const ANSWERED_WITHIN_MS = 1_000;
/**
 * How long charges admitted at once wait to be written together, and the least time between two
 * such records: fewer, larger records (docs/benchmarks.md: 0.25 writes per admission at 100 ms,
 * 0.195 at 150 ms).
 */
const RECORD_DELAY_MS = 150;

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
/** A hold that fit only with headroom another replica's share still held when its deadline came. */
const waitedOut = (key: string): string =>
  `could not reserve on quota ${key} before the request's deadline: the headroom it needs is held by another replica's share, given back on request or when the share expires; retry`;

/**
 * Reserves admissions' charges in WorkspaceQuota status by compare-and-swap (docs/consistency.md).
 * Reviews for one quota that arrive while a write for it is in flight wait and are decided together,
 * in arrival order, in the next write: under load one API write admits many. With shares, a hold
 * this replica's share fits is admitted at once and written after its answer, with the others.
 *
 * A hold refused in one attempt stays refused: after a conflict only the holds still undecided are
 * decided again, on the fresh state (the trap of Kubernetes #141904).
 */
export function createQuotaReserver(options: QuotaReserverOptions): QuotaReserver {
  const { store, fallbackUsed, clock, log, settle, shares } = options;
  const owner: ShareOwner | undefined = shares && { name: shares.owner, instance: shares.instance ?? randomBytes(8).toString('hex') };
  const queues = new Map<string, QuotaQueue>();
  // When a write of each quota by this replica was last answered (queues go when idle; this stays):
  // admitting at once needs the API server answering. Bounded: a forgotten quota's next hold waits for its write.
  const answeredAt = new BoundedCache<{ atMs: number }>(1024);
  const counters: ReserverCounters = { atOnce: 0, fromShare: 0, byRound: 0, waited: 0 };
  let stopping = false;

  const shareExpiry = (nowMs: number): string => new Date(nowMs + (shares?.ttlMs ?? 0)).toISOString();
  const unwritten = (queue: QuotaQueue | undefined): QuotaReservation[] => (queue ? [...queue.answered, ...(queue.writing?.charges ?? [])] : []);
  // Read on every admission at once: counted, not copied.
  const unsettled = (quota: WorkspaceQuota, queue: QuotaQueue | undefined): number =>
    reservationCount(quota) + (queue ? queue.answered.length + (queue.writing?.charges.length ?? 0) : 0);

  /** The status a round writes: live reservations, minus released and re-reviewed ones, plus the holds that fit and the charges answered. */
  const roundChange = (key: string, round: RoundContext) => (quota: WorkspaceQuota) => {
    const { batch, queue, answered, outcome } = round;
    // Every attempt, the first and each after a conflict, also decides the holds that have queued
    // meanwhile: under contention a retry then admits everything waiting instead of only its own batch.
    round.join();
    const nowMs = clock();
    outcome.accepted.length = 0;
    outcome.waiting.length = 0;
    const open = openHolds(key, batch.holds, nowMs);
    // Settling in the same write: one snapshot of the tracker gives `used` and the reservations it
    // already counts, exactly as the status writer's own write would (docs/consistency.md).
    const settling = settle?.(key, quota, nowMs);
    const replaced = new Set([...batch.releases, ...open.map((pending) => pending.reservation.request)]);
    // A write of these that got no answer may have landed: what the object holds is not written again.
    const toWrite = answered.filter(({ request }) => !batch.releases.has(request) && !anyReservation(quota, (held) => held.request === request));
    const basis = roundBasis(quota, { nowMs, replaced, settling, fallbackUsed: settling ? {} : fallbackUsed(key), answered: toWrite });
    const decision = decideRound({
      limits: quotaLimits(quota),
      used: basis.used,
      certain: basis.certain,
      claimed: othersAvailable(quota, owner, nowMs),
      charges: open.map((pending) => pending.reservation.charge),
      // Asked to give its headroom back, at the round's start or since (the watch showed a recall):
      // this round claims none.
      fraction: round.giveBack || queue.giveBack ? undefined : shares?.fraction,
    });
    open.forEach((pending, i) => {
      const verdict = decision.verdicts[i];
      if (verdict === 'wait') outcome.waiting.push(pending);
      else if (verdict) decideOnce(pending, { ok: false, message: describeViolation(verdict).join('; ') });
      else outcome.accepted.push(pending);
    });
    const admitted = outcome.accepted.map((pending) => pending.reservation);
    return roundStatus(quota, { basis, decision, admitted, settling, owner, expires: shareExpiry(nowMs), nowMs });
  };

  /** Whether the API server answers this replica's writes of the quota: one lately, and none hanging. */
  const answering = (key: string, queue: QuotaQueue | undefined, nowMs: number): boolean =>
    nowMs - (answeredAt.get(key)?.atMs ?? Number.NEGATIVE_INFINITY) <= ANSWERED_WITHIN_MS && (queue?.writing === undefined || nowMs - queue.writing.sinceMs <= ANSWERED_WITHIN_MS);

  /** Not once stopping, nor while a write in flight may replace the share or gives it back, nor while the API server does not answer. */
  const mayAdmitAtOnce = (key: string, queue: QuotaQueue | undefined, nowMs: number): boolean => !stopping && !queue?.writing?.replaces && answering(key, queue, nowMs);

  /**
   * This replica's share, if it may admit from it at once now (docs/consistency.md): not while a
   * write in flight may replace it or gives it back, nor once stopping, nor while the API server does not answer.
   */
  const shareAtOnce = (key: string, quota: WorkspaceQuota, queue: QuotaQueue | undefined, nowMs: number): QuotaShare | undefined => {
    if (!shares || !owner || !mayAdmitAtOnce(key, queue, nowMs)) return undefined;
    const share = usableShare(quota, owner, nowMs);
    return share && admitsAtOnce(quota, share, nowMs, shares.ttlMs) && unsettled(quota, queue) < MAX_UNSETTLED ? share : undefined;
  };

  /** What this replica's share has left for a charge decided at once now; undefined when it may not admit so. */
  const roomAtOnce = (key: string, queue: QuotaQueue | undefined, nowMs: number) => {
    const quota = store.latest(key);
    const share = quota && shareAtOnce(key, quota, queue, nowMs);
    return share && leftInShare(share, unwritten(queue).map((reservation) => reservation.charge));
  };

  /**
   * Admits at once, with no write, when this replica's share fits the charge (docs/consistency.md,
   * "Recording after the answer"): the charge is written with the next record. Undefined when it
   * cannot be decided so; the hold then queues.
   */
  const admitAtOnce = (key: string, reservation: QuotaReservation): HoldOutcome | undefined => {
    const left = roomAtOnce(key, queues.get(key), clock());
    if (!left || !fitInShare(left, [reservation.charge])[0]) return undefined;
    const queue = queueOf(key);
    queue.answered.push(reservation);
    counters.atOnce += 1;
    if (!queue.busy && !queue.recordTimer) {
      queue.recordTimer = setTimeout(() => {
        queue.recordTimer = undefined;
        kick(key, queue);
      }, RECORD_DELAY_MS);
    }
    return { ok: true };
  };

  /** The newest copy of the quota and this process's own share in it, if any. */
  const ownCopy = (key: string): { owner: ShareOwner; quota: WorkspaceQuota; share: QuotaShare } | undefined => {
    const quota = store.latest(key);
    const share = owner && quota ? ownShare(quota, owner) : undefined;
    return owner && quota && share ? { owner, quota, share } : undefined;
  };

  /** The holds, in order, that this replica's share fits beside its answered charges; none when it may not spend it now. */
  const spendable = (quota: WorkspaceQuota, queue: QuotaQueue, holdsIn: readonly PendingHold[], nowMs: number): PendingHold[] => {
    const share = owner && usableShare(quota, owner, nowMs);
    if (!share || unsettled(quota, queue) >= MAX_UNSETTLED) return [];
    const open = holdsIn.filter((pending) => !pending.decided && pending.deadlineMs > nowMs);
    const fits = fitInShare(leftInShare(share, queue.answered.map((reservation) => reservation.charge)), open.map((pending) => pending.reservation.charge));
    return open.filter((_, i) => fits[i]);
  };

  /** What the next record writes: the answered charges, the holds the share fits, and whether it gives the rest back. */
  const planRecord = (key: string, queue: QuotaQueue, holdsIn: readonly PendingHold[], nowMs: number): RecordPlan | undefined => {
    const own = ownCopy(key);
    // Asked once: answered by this record, or moot (no share, nothing left in it).
    const asked = queue.giveBack;
    queue.giveBack = false;
    if (!own) return undefined;
    const spending = spendable(own.quota, queue, holdsIn, nowMs);
    const giveBack = hasHeadroom(own.share) && (stopping || asked || owesHeadroom(own.quota, own.share));
    const plan = { ...own, answered: queue.answered, spending, giveBack };
    return plan.answered.length > 0 || spending.length > 0 || giveBack ? plan : undefined;
  };

  /** The record's JSON patch; the Lease holder settles in it too (unless `alone`), and what its view counts is spent, not listed. */
  const recordOps = (key: string, plan: RecordPlan, nowMs: number, alone = false) => {
    const { owner: me, quota, share, answered, spending, giveBack } = plan;
    const settling = alone ? undefined : settle?.(key, quota, nowMs);
    const settleOps = (settling && settlePatch(quota, settling, nowMs, me.name)) ?? [];
    const settles = settleOps.length > 0 && settling !== undefined;
    const counted = settles ? answered.filter((reservation) => settling.counts(reservation)) : [];
    const written = answered.filter((reservation) => !counted.includes(reservation));
    const holdsWritten = spending.map((pending) => pending.reservation);
    const operations = [...recordShare(quota, me.name, share, { answered: written, counted, holds: holdsWritten, expires: shareExpiry(nowMs), giveBack, settles }), ...settleOps];
    return { operations, settles };
  };

  /**
   * One guarded JSON patch of this replica's own share: the charges answered at once, the holds the
   * share fits (answered when it lands), and the rest given back when recalled or stopping. No
   * precondition on the object's version, so the other replicas' writes in between do not make it
   * fail. Returns the holds left for a compare-and-swap round (all of them when the patch did not
   * apply), and the requests a failed patch may still have written.
   */
  const record = async (key: string, queue: QuotaQueue, holdsIn: PendingHold[]): Promise<Spent> => {
    const nowMs = clock();
    const plan = planRecord(key, queue, holdsIn, nowMs);
    if (!plan) return { rest: holdsIn, stale: false, maybeWritten: [] };
    const { answered, spending, giveBack } = plan;
    queue.answered = [];
    const rest = holdsIn.filter((pending) => !spending.includes(pending));
    // Bounded by every hold of the turn: those left for compare-and-swap wait on this patch too.
    const bound = Math.min(nowMs + RELEASE_TIMEOUT_MS, ...holdsIn.map((pending) => pending.deadlineMs));
    const signal = AbortSignal.timeout(Math.max(0, bound - nowMs));
    const reservations = spending.map((pending) => pending.reservation);
    // Giving the share back: nothing more may be admitted at once from it, whatever this replica's
    // copy shows (a round may have granted it afresh since the recall was seen).
    queue.writing = { replaces: giveBack, charges: [...answered, ...reservations], sinceMs: nowMs };
    queue.recordedAtMs = nowMs;
    queue.slotReached = false;
    try {
      const ops = recordOps(key, plan, nowMs);
      let result = await store.patch(key, plan.quota, ops.operations, signal);
      // A settlement in it tests every share's records, which the other replicas move every 150 ms:
      // the record alone still applies when only that failed, instead of a compare-and-swap round.
      if (result === STALE && ops.settles) result = await store.patch(key, plan.quota, recordOps(key, plan, nowMs, true).operations, signal);
      answeredAt.set(key, { atMs: clock() });
      log.debug({ quota: key, answered: answered.length, holds: spending.length, giveBack, stale: result === STALE, held: reservationCount(plan.quota), ms: clock() - nowMs }, 'quota share recorded');
      if (result === STALE) {
        // Not written: a settlement, a recall or a take-back came in between. Decided again on a fresh read.
        queue.answered.unshift(...answered);
        queue.giveBack ||= giveBack;
        return { rest: holdsIn, stale: true, maybeWritten: [] };
      }
      for (const pending of spending) decideOnce(pending, { ok: true });
      counters.fromShare += spending.length;
      return { rest, stale: false, maybeWritten: [], recorded: true };
    } catch (error) {
      refuseAfterFailure(key, spending, error, signal);
      // It may have landed: the next round reads afresh and writes only what the object lacks.
      queue.answered.unshift(...answered);
      return { rest, stale: true, maybeWritten: reservations.map((reservation) => reservation.request) };
    } finally {
      queue.writing = undefined;
    }
  };

  /** A write failed or was cut off (it may still have landed): its holds are refused, saying why. */
  const refuseAfterFailure = (key: string, failed: readonly PendingHold[], error: unknown, signal: AbortSignal): void => {
    const timedOut = signal.aborted;
    log.warn({ quota: key, err: error, timedOut }, 'quota reservation write failed');
    const message = timedOut ? notInTime(key) : `could not reserve on quota ${key}: ${describeApiError(error)}; try again`;
    for (const pending of failed) decideOnce(pending, { ok: false, message });
  };

  /**
   * One write for the holds waiting on a quota. It is bounded by the earliest deadline among them
   * (a write that outlives its review must not count), or by RELEASE_TIMEOUT_MS when it only gives
   * back. A write that failed or was cut off may still have been applied by the API server: its
   * holds are answered as refused, and their reservations are taken out again by the next round.
   * Holds that must wait for a share's headroom go back to wait for the quota's next change.
   */
  const round = async (key: string, queue: QuotaQueue, batch: Batch, { fresh, giveBack }: { fresh: boolean; giveBack: boolean }): Promise<string[]> => {
    const { holds: batchHolds } = batch;
    const outcome: RoundOutcome = { accepted: [], waiting: [] };
    // Holds already past their deadline (a record ahead of them in this turn used up their time) are
    // refused now, not when the write's read comes back: with the API server stopped it would not,
    // and they must not wait on a write they do not bound. Nothing is written for them.
    const nowMs = clock();
    openHolds(key, batchHolds, nowMs);
    const ahead = batchHolds.map((pending) => pending.deadlineMs).filter((deadlineMs) => deadlineMs > nowMs);
    const boundMs = ahead.length > 0 ? Math.min(...ahead) : nowMs + RELEASE_TIMEOUT_MS;
    const signal = AbortSignal.timeout(boundMs - nowMs);
    // Holds that queued during this round join it when the write's bound is within their deadline
    // (a write must never outlive a review it answers); the others wait for the next round.
    const join = (): void => {
      if (queue.holds.length === 0) return;
      const later: PendingHold[] = [];
      for (const pending of queue.holds) (pending.deadlineMs >= boundMs ? batchHolds : later).push(pending);
      queue.holds = later;
    };
    const charges = queue.answered;
    queue.answered = [];
    queue.writing = { replaces: true, charges, sinceMs: nowMs };
    try {
      const quota = await store.update(key, roundChange(key, { batch, giveBack, queue, answered: charges, outcome, join }), signal, { fresh });
      answeredAt.set(key, { atMs: clock() });
      // A quota deleted meanwhile limits nothing any more.
      for (const pending of quota ? outcome.accepted : batchHolds) decideOnce(pending, { ok: true });
      counters.byRound += outcome.accepted.length;
      log.debug({ quota: key, holds: batchHolds.length, admitted: outcome.accepted.length, waiting: outcome.waiting.length, answered: charges.length, giveBack, held: quota && reservationCount(quota), ms: clock() - nowMs }, 'quota round written');
      if (quota) wait(key, queue, outcome.waiting);
      return [];
    } catch (error) {
      refuseAfterFailure(key, batchHolds, error, signal);
      queue.answered.unshift(...charges);
      return outcome.accepted.map((pending) => pending.reservation.request);
    } finally {
      queue.writing = undefined;
    }
  };

  /** Holds that fit only once a share's headroom is given back (or a settlement clears a doubt): decided again on the quota's next change. */
  const wait = (key: string, queue: QuotaQueue, waiting: readonly PendingHold[]): void => {
    const open = waiting.filter((pending) => !pending.decided);
    if (open.length === 0) return;
    for (const pending of open) pending.inRound = false;
    queue.waiting.push(...open);
    counters.waited += open.length;
    if (!queue.pollTimer) queue.pollTimer = setTimeout(() => observe(key), WAIT_POLL_MS);
  };

  const observe = (key: string): void => {
    const queue = queues.get(key);
    const copy = ownCopy(key);
    const recalled = copy !== undefined && owesHeadroom(copy.quota, copy.share);
    if (!queue && !recalled) return;
    const own = queue ?? queueOf(key);
    clearTimeout(own.pollTimer);
    own.pollTimer = undefined;
    own.giveBack ||= recalled;
    own.holds.unshift(...own.waiting.splice(0));
    kick(key, own);
  };

  /**
   * One turn of a quota's queue: the charges answered at once are written and what waits is spent
   * from this replica's share when it can be, the rest goes to a compare-and-swap round (which writes
   * the answered charges itself when the share could not). Resolves to whether this replica's copy
   * of the quota is uncertain afterwards (a write that may have landed unseen, or a patch that did
   * not apply).
   */
  const turn = async (key: string, queue: QuotaQueue, uncertain: boolean): Promise<boolean> => {
    const turnHolds = queue.holds.splice(0);
    for (const pending of turnHolds) pending.inRound = true;
    const releases = queue.releases;
    queue.releases = new Set();
    // From the share first, when this replica's copy can be trusted and nothing is to be given back.
    const spent = !uncertain && releases.size === 0 ? await record(key, queue, turnHolds) : { rest: turnHolds, stale: uncertain, maybeWritten: [] };
    spent.maybeWritten.forEach((request) => releases.add(request));
    // Still asked after the record (it did not run, or did not apply): a round writes the answered
    // charges and dissolves this replica's share, which gives it back too.
    const giveBack = queue.giveBack;
    queue.giveBack = false;
    const { rest } = spent;
    if (!needsRound(queue, spent, releases, giveBack)) return spent.stale;
    const maybeWritten = await round(key, queue, { holds: rest, releases }, { fresh: spent.stale, giveBack: giveBack || stopping });
    // Refused holds whose write may have landed: the next round takes them out (or they expire),
    // reading the object afresh, since no copy we hold shows what that write did.
    if (rest.length > 0) for (const request of maybeWritten) queue.releases.add(request);
    return maybeWritten.length > 0;
  };

  /** Whether anything is left for a compare-and-swap round after the record (charges answered meanwhile go in the next record, if this one landed). */
  const needsRound = (queue: QuotaQueue, spent: Spent, releases: ReadonlySet<string>, giveBack: boolean): boolean =>
    spent.rest.length > 0 || releases.size > 0 || (queue.answered.length > 0 && spent.recorded !== true) || giveBack;

  const pending = (queue: QuotaQueue): boolean => queue.holds.length > 0 || queue.releases.size > 0 || queue.answered.length > 0 || queue.giveBack;

  /** Answered charges alone wait for the next record slot (fewer, larger records); anything else goes now. */
  const recordLater = (key: string, queue: QuotaQueue): boolean => {
    const waitMs = queue.recordedAtMs + RECORD_DELAY_MS - clock();
    if (queue.slotReached || waitMs <= 0 || queue.holds.length > 0 || queue.releases.size > 0 || queue.giveBack) return false;
    queue.recordTimer = setTimeout(() => {
      queue.recordTimer = undefined;
      queue.slotReached = true;
      kick(key, queue);
    }, waitMs);
    return true;
  };

  const drain = async (key: string, queue: QuotaQueue): Promise<void> => {
    let uncertain = false;
    while (pending(queue) && !recordLater(key, queue)) uncertain = await turn(key, queue, uncertain);
    queue.busy = false;
    if (queue.waiting.length === 0 && !queue.recordTimer) queues.delete(key);
  };

  const queueOf = (key: string): QuotaQueue => {
    let queue = queues.get(key);
    if (!queue) {
      queue = { holds: [], releases: new Set(), busy: false, answered: [], waiting: [], giveBack: false, recordedAtMs: Number.NEGATIVE_INFINITY };
      queues.set(key, queue);
    }
    return queue;
  };

  /** An idle queue starts on the next turn of the event loop, so reviews read in the same turn share a write. */
  const kick = (key: string, queue: QuotaQueue): void => {
    if (queue.busy) return;
    queue.busy = true;
    clearTimeout(queue.recordTimer);
    queue.recordTimer = undefined;
    queue.drained = new Promise((resolve) => setImmediate(() => void drain(key, queue).then(resolve)));
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
      const pendingHold: PendingHold = { reservation, deadlineMs, resolve, decided: false, inRound: false };
      const waitMs = deadlineMs - clock();
      // Already past it: the round refuses it at once, without writing.
      if (waitMs > 0) {
        pendingHold.timer = setTimeout(() => {
          if (pendingHold.decided || pendingHold.inRound) return;
          const waited = queue.waiting.includes(pendingHold);
          for (const list of [queue.holds, queue.waiting]) if (list.includes(pendingHold)) list.splice(list.indexOf(pendingHold), 1);
          decideOnce(pendingHold, { ok: false, message: waited ? waitedOut(key) : notInTime(key) });
        }, waitMs);
      }
      queue.holds.push(pendingHold);
      kick(key, queue);
    });

  /** All or nothing: a charge not written yet is dropped; a written one is given back by the next round (or expires). */
  const release = (key: string, requestUid: string): void => {
    const queue = queueOf(key);
    const at = queue.answered.findIndex((reservation) => reservation.request === requestUid);
    if (at >= 0) {
      queue.answered.splice(at, 1);
      return;
    }
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
      const outcome = admitAtOnce(key, reservation) ?? (await holdOn(key, reservation, hold.deadlineMs));
      if (!outcome.ok) {
        for (const earlier of held) release(earlier, hold.requestUid);
        return outcome;
      }
      held.push(key);
    }
    log.debug({ request: hold.requestUid, quotas: held }, 'reserved');
    return { ok: true };
  };

  /** Every share's headroom given back and every answered charge written, each quota's queue drained. */
  const stop = async (): Promise<void> => {
    stopping = true;
    const drains: Promise<void>[] = [];
    for (const [key, queue] of queues) {
      queue.giveBack = true;
      kick(key, queue);
      // A drain under way goes on while anything is pending, this give-back included.
      if (queue.drained) drains.push(queue.drained);
    }
    await Promise.all(drains);
  };

  return { reserve, busy: (key) => queues.get(key)?.busy ?? false, observe, stop, counters };
}

interface RoundOutcome {
  readonly accepted: PendingHold[];
  readonly waiting: PendingHold[];
}

/** One compare-and-swap round: its holds and releases, the answered charges it writes, what it decided, and how queued holds join it. */
interface RoundContext {
  readonly batch: Batch;
  readonly giveBack: boolean;
  readonly queue: QuotaQueue;
  readonly answered: readonly QuotaReservation[];
  readonly outcome: RoundOutcome;
  readonly join: () => void;
}

interface RecordPlan {
  readonly owner: ShareOwner;
  readonly quota: WorkspaceQuota;
  readonly share: QuotaShare;
  readonly answered: readonly QuotaReservation[];
  readonly spending: readonly PendingHold[];
  readonly giveBack: boolean;
}
