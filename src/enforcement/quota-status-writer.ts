import type { WorkspaceQuota } from '../api/resources.js';
import { STALE, type QuotaStore } from '../consistency/quota-store.js';
import type { Settle } from '../consistency/quota-reserver.js';
import { expiresAtMs, isCounted, isOlderVersion, sameReservations, toWireReservation } from '../core/quota-agreement.js';
import { hasDoubt, inDoubt, rewriteShares, seen, settlePatch, shareReservations, stillCounts } from '../core/quota-shares.js';
import { desiredQuotaStatus, quotaStatusCurrent } from '../core/quota-status.js';
import type { TrackedState } from '../state/tracked-state.js';

/** A status write that hangs (API server stopped) must not hold every later write behind it. */
const WRITE_TIMEOUT_MS = 10_000;
/** After a reservation's expiry, before the write that drops it: clocks of replicas differ a little. */
const EXPIRY_SLACK_MS = 250;

export interface StatusWriterLog {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface QuotaStatusWriterOptions {
  readonly state: TrackedState;
  readonly store: QuotaStore;
  /** Whether the tracker holds a complete view (a partial one would undercount). */
  readonly ready: () => boolean;
  /** The WorkloadPlacement resourceVersion the tracker's view is as of. */
  readonly placementsVersion: () => string;
  readonly clock: () => number;
  readonly log: StatusWriterLog;
  /** Changes within this window are written together: a burst of admissions costs one write per quota. */
  readonly debounceMs?: number;
  /**
   * Whether this replica's reserver is writing the quota now. Those writes settle too (the reserver
   * is given the same settlement), so the writer waits for them to end instead of competing for
   * the object: on a hot quota every write of its own would only cost the reservers a conflict.
   */
  readonly reserving?: (quotaKey: string) => boolean;
}

export interface QuotaStatusWriter {
  /** A quota or one of its workspace's placements changed. */
  touch(quotaKey: string): void;
  /** Every quota of the workspace may have changed. */
  touchWorkspace(workspace: string): void;
  /** Re-checks every quota (after a sync; also repairs drift from before a restart). */
  touchAll(): void;
  /** Writes what is pending now; resolves when done. */
  flush(): Promise<void>;
  stop(): void;
}

export interface SettlementOptions {
  readonly state: TrackedState;
  /** Whether this replica may settle now: its tracker is complete and it holds the Lease. */
  readonly ready: () => boolean;
  /** The WorkloadPlacement resourceVersion the tracker's view is as of. */
  readonly placementsVersion: () => string;
}

/**
 * What settling a quota means from one snapshot of the tracker (docs/consistency.md): the status
 * `used` is recomputed to, which reservations that usage already counts (they are dropped in the same
 * write), and whether the status differs. Undefined when this replica may not settle, or its view is
 * older than the one `used` was written from. The status writer settles with it, and so does the
 * Lease holder's reserver in its own writes (one writer fewer on a hot quota).
 */
export function createSettlement(options: SettlementOptions): Settle {
  const { state, ready, placementsVersion } = options;
  return (key, quota, nowMs) => {
    if (!ready()) return undefined;
    const asOf = placementsVersion();
    if (isOlderVersion(asOf, quota.status.usedAsOf)) return undefined;
    const used = state.used(key);
    const desired = desiredQuotaStatus(quota, used, new Date(nowMs).toISOString());
    return {
      status: { ...desired, usedAsOf: asOf },
      used,
      counts: (reservation) => isCounted(reservation, state.placementVersion(reservation.placement)),
      // A reservation in doubt is cleared by writing, whatever else changed.
      changed: !quotaStatusCurrent(quota, desired) || hasDoubt(quota),
    };
  };
}

/**
 * Keeps `WorkspaceQuota.status` (hard, used, summary, phase, QuotaExceeded) equal to what the tracked
 * placements charge, and settles reservations: in the same compare-and-swap write it drops those
 * the new `used` counts and those expired (docs/consistency.md). Usage is never read back from
 * status: it is recomputed from the watch, so drift (restarts, missed writes, hand edits) is
 * repaired on the next touch. A writer whose view is older than the one `used` was written from
 * leaves it alone: it would count placements that a newer view has already settled as missing.
 */
export function createQuotaStatusWriter(options: QuotaStatusWriterOptions): QuotaStatusWriter {
  const { state, store, ready, placementsVersion, clock, log } = options;
  const debounceMs = options.debounceMs ?? 200;
  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const settlement = createSettlement({ state, ready: () => true, placementsVersion });
  const settled = (key: string) => (quota: WorkspaceQuota) => {
    const nowMs = clock();
    const settling = settlement(key, quota, nowMs);
    if (!settling) return undefined;
    const keeps = stillCounts(nowMs, settling);
    const kept = quota.status.reservations.filter(keeps);
    // Each share's reservations settle the same way; expired shares are taken back. What is kept
    // has been seen by this settlement: no longer in doubt (docs/consistency.md).
    const shares = rewriteShares(quota, { keeps, recallOthers: false, settles: true, nowMs });
    const sharesChanged = Object.keys(shares).length > 0;
    if (!settling.changed && !sharesChanged && !kept.some(inDoubt) && sameReservations(quota.status.reservations, kept)) return undefined;
    const reservations = kept.map(seen);
    log.debug({ quota: key, used: settling.status.used, phase: settling.status.phase, reservations: reservations.length }, 'writing quota status');
    // `rounds` written once, so that settling patches can test it from then on.
    return { ...settling.status, reservations: reservations.map(toWireReservation), rounds: quota.status.rounds ?? 0, ...(sharesChanged ? { shares } : {}) };
  };

  /**
   * A reservation that expires changes nothing anyone watches, so without this it would stay in the
   * stored status, counting nothing but shown to everyone, until some other change or the resync:
   * the quota is touched again once its earliest reservation has expired, and that write drops it.
   */
  const expiryTimers = new Map<string, { atMs: number; timer: NodeJS.Timeout }>();
  const touchAtExpiry = (key: string, quota: WorkspaceQuota | undefined): void => {
    const held = quota ? [...quota.status.reservations, ...shareReservations(quota, () => true)] : [];
    const earliest = Math.min(...held.map(expiresAtMs));
    if (!Number.isFinite(earliest)) return;
    const atMs = earliest + EXPIRY_SLACK_MS;
    const pending = expiryTimers.get(key);
    if (pending && pending.atMs <= atMs) return;
    if (pending) clearTimeout(pending.timer);
    const timer = setTimeout(() => {
      expiryTimers.delete(key);
      touch(key);
    }, Math.max(0, atMs - clock()));
    timer.unref();
    expiryTimers.set(key, { atMs, timer });
  };

  /**
   * Settling as a guarded JSON patch, which the replicas spending their shares do not make fail;
   * STALE when that cannot be done (or its tests failed): the caller settles by compare-and-swap.
   */
  const settleInPlace = async (key: string, signal: AbortSignal): Promise<WorkspaceQuota | undefined | typeof STALE> => {
    const copy = store.latest(key);
    const settling = copy && settlement(key, copy, clock());
    const operations = copy && settling && settlePatch(copy, settling, clock());
    return copy && operations ? store.patch(key, copy, operations, signal) : STALE;
  };

  const writeOne = async (key: string): Promise<void> => {
    if (!ready()) return; // the `ready` event touches every quota again
    if (options.reserving?.(key)) {
      touch(key); // settled by the reserver's writes meanwhile; checked again after the debounce
      return;
    }
    try {
      const signal = AbortSignal.timeout(WRITE_TIMEOUT_MS);
      const patched = await settleInPlace(key, signal);
      touchAtExpiry(key, patched === STALE ? await store.update(key, settled(key), signal) : patched);
    } catch (error) {
      // The next event or resync touches it again; a deleted quota simply stops being tracked.
      log.warn({ quota: key, err: error }, 'quota status write failed');
    }
  };

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const keys = [...dirty];
    dirty.clear();
    running = running.then(async () => {
      for (const key of keys) await writeOne(key);
    });
    return running;
  };

  const schedule = (): void => {
    timer ??= setTimeout(() => void flush(), debounceMs);
  };

  const touch = (key: string): void => {
    dirty.add(key);
    schedule();
  };

  return {
    touch,
    touchWorkspace: (workspace) => {
      for (const quota of state.quotas(workspace)) touch(quota.key);
    },
    touchAll: () => {
      for (const key of state.keys('WorkspaceQuota')) touch(key);
    },
    flush,
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const pending of expiryTimers.values()) clearTimeout(pending.timer);
      expiryTimers.clear();
      dirty.clear();
    },
  };
}
