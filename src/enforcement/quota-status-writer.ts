import type { WorkspaceQuota } from '../api/resources.js';
import type { QuotaStore } from '../consistency/quota-store.js';
import { expiresAtMs, isOlderVersion, sameReservations, toWireReservation, uncountedReservations } from '../core/quota-agreement.js';
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

  const settled = (key: string) => (quota: WorkspaceQuota) => {
    const asOf = placementsVersion();
    if (isOlderVersion(asOf, quota.status.usedAsOf)) return undefined;
    const nowMs = clock();
    const desired = desiredQuotaStatus(quota, state.used(key), new Date(nowMs).toISOString());
    const reservations = uncountedReservations(quota, (placement) => state.placementVersion(placement), nowMs);
    if (quotaStatusCurrent(quota, desired) && sameReservations(quota.status.reservations, reservations)) return undefined;
    log.debug({ quota: key, used: desired.used, phase: desired.phase, reservations: reservations.length }, 'writing quota status');
    return { ...desired, reservations: reservations.map(toWireReservation), usedAsOf: asOf };
  };

  /**
   * A reservation that expires changes nothing anyone watches, so without this it would stay in the
   * stored status, counting nothing but shown to everyone, until some other change or the resync:
   * the quota is touched again once its earliest reservation has expired, and that write drops it.
   */
  const expiryTimers = new Map<string, { atMs: number; timer: NodeJS.Timeout }>();
  const touchAtExpiry = (key: string, quota: WorkspaceQuota | undefined): void => {
    const earliest = Math.min(...(quota?.status.reservations ?? []).map(expiresAtMs));
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

  const writeOne = async (key: string): Promise<void> => {
    if (!ready()) return; // the `ready` event touches every quota again
    try {
      touchAtExpiry(key, await store.update(key, settled(key), AbortSignal.timeout(WRITE_TIMEOUT_MS)));
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
