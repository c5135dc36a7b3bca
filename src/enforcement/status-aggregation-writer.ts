import type { WorkloadPlacement } from '../api/resources.js';
import { aggregateClusterStatuses, aggregationInput, aggregationPatch, type AggregationPatch, type AggregationSettings } from '../core/status-aggregation.js';
import { PlacementConflictError } from './eviction-loop.js';
import type { ElectorLog, Timers } from './leader-lease.js';

/**
 * The calls the writer makes (the real one is kubernetesAggregationApi). `patchStatus` is a merge
 * patch of the status subresource carrying `resourceVersion`: it rejects with
 * {@link PlacementConflictError} when the object moved on.
 */
export interface AggregationApi {
  /** The placement as stored now (metadata.resourceVersion set); undefined when it is gone. */
  read(namespace: string, name: string): Promise<WorkloadPlacement | undefined>;
  patchStatus(namespace: string, name: string, resourceVersion: string, patch: AggregationPatch): Promise<void>;
}

/** config.statusAggregation. */
export interface StatusAggregationSettings {
  readonly staleAfterSeconds: number;
  readonly clusterPriority: readonly string[];
  readonly debounceMs: number;
  readonly maxWritesPerSecond: number;
  readonly recheckSeconds: number;
}

export interface StatusAggregationWriterOptions {
  readonly settings: StatusAggregationSettings;
  readonly api: AggregationApi;
  /** Checked before every write: only the Lease holder writes. */
  readonly isLeader: () => boolean;
  /** Whether the tracker holds a complete view. */
  readonly ready: () => boolean;
  /** The tracked placements' lastUpdated times (TrackedState.statusReportTimes), for the recheck. */
  readonly reportTimes: () => Iterable<readonly [string, readonly number[]]>;
  readonly clock: () => number;
  readonly timers?: Timers;
  readonly log: ElectorLog;
}

export interface AggregationWriterStats {
  /** Placements waiting for a write (or for the read that decides whether one is due). */
  readonly pending: number;
  readonly writes: number;
  /** Read before writing and found already up to date (another leader wrote it, or it changed back). */
  readonly upToDate: number;
  readonly conflicts: number;
  readonly failures: number;
}

export interface StatusAggregationWriter {
  /** A placement's change as the watch delivered it (undefined: deleted). Every replica keeps track; only the leader writes. */
  observe(key: string, placement: WorkloadPlacement | undefined): void;
  /** Writes what is due now (on becoming leader, on the tracker's ready). */
  trigger(): void;
  /** Starts the recheck of entries going stale. */
  start(): void;
  /** Stops scheduling and waits for the write in flight. */
  stop(): Promise<void>;
  stats(): AggregationWriterStats;
}

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

const splitKey = (key: string): [string, string] => [key.slice(0, key.lastIndexOf('/')), key.slice(key.lastIndexOf('/') + 1)];

/** Whether some time t has t + staleAfterMs in (fromMs, toMs]: that entry went stale in between. */
function wentStale(times: readonly number[], staleAfterMs: number, fromMs: number, toMs: number): boolean {
  return times.some((t) => t + staleAfterMs > fromMs && t + staleAfterMs <= toMs);
}

/**
 * Writes `status.aggregatedStatus`, the StatusConflict condition and status.phase (core/status-aggregation)
 * of every placement, on the Lease holder only.
 *
 * - Every replica computes, on each watch event, whether the stored status differs from what it
 *   should say; only those placements are kept (a key and a time each): nothing when all is written.
 * - Debounced and coalesced per placement: a placement is written `debounceMs` after its last
 *   change, once however many changes came in between. Once past its debounce (waiting behind a
 *   backlog), a further change keeps its place in the queue: a placement that keeps changing is
 *   not sent back behind the backlog each time.
 * - A write reads the placement, recomputes from what is stored now, and merge-patches its status
 *   with that resourceVersion (compare-and-swap); a conflict waits for the next change or debounce.
 *   Its own write comes back through the watch with nothing left to write: no loop.
 * - At most `maxWritesPerSecond` reads-and-writes per second (a token bucket).
 * - Entries go stale with time, not with events: every `recheckSeconds` the tracked lastUpdated
 *   times say which placements had an entry cross the limit since the last recheck.
 */
export function createStatusAggregationWriter(options: StatusAggregationWriterOptions): StatusAggregationWriter {
  const { settings, api, isLeader, ready, reportTimes, clock, log } = options;
  const timers = options.timers ?? realTimers;
  const aggregation: AggregationSettings = { staleAfterMs: settings.staleAfterSeconds * 1000, clusterPriority: settings.clusterPriority };
  const capacity = Math.max(1, settings.maxWritesPerSecond);
  // Insertion order is time order (every entry is due debounceMs after it was last set), so the first is the next due.
  const due = new Map<string, number>();
  const counts = { writes: 0, upToDate: 0, conflicts: 0, failures: 0 };
  let tokens = capacity;
  let refilledMs = clock();
  let lastRecheckMs = clock();
  let running = false;
  let flushTimer: unknown;
  let flushAtMs = Number.POSITIVE_INFINITY;
  let recheckTimer: unknown;
  let inFlight: Promise<void> | undefined;

  const patchFor = (placement: WorkloadPlacement, nowMs: number): AggregationPatch | undefined =>
    aggregationPatch(placement, aggregateClusterStatuses(aggregationInput(placement), aggregation, nowMs), new Date(nowMs).toISOString());

  const markDue = (key: string, nowMs: number): void => {
    due.delete(key);
    due.set(key, nowMs + settings.debounceMs);
    schedule(nowMs + settings.debounceMs);
  };

  /** Past its debounce: it only waits for a token (or for the drain to reach it). */
  const waitingForTurn = (key: string, nowMs: number): boolean => {
    const atMs = due.get(key);
    return atMs !== undefined && atMs <= nowMs;
  };

  function schedule(atMs: number): void {
    if (!running || atMs >= flushAtMs) return;
    timers.clearTimeout(flushTimer);
    flushAtMs = atMs;
    flushTimer = timers.setTimeout(() => {
      flushAtMs = Number.POSITIVE_INFINITY;
      flushTimer = undefined;
      void flush();
    }, Math.max(0, atMs - clock()));
  }

  const takeToken = (nowMs: number): boolean => {
    tokens = Math.min(capacity, tokens + ((nowMs - refilledMs) / 1000) * settings.maxWritesPerSecond);
    refilledMs = nowMs;
    if (tokens < 1) return false;
    tokens -= 1;
    return true;
  };

  const write = async (key: string): Promise<void> => {
    const [namespace, name] = splitKey(key);
    try {
      const stored = await api.read(namespace, name);
      const nowMs = clock();
      const patch = stored && patchFor(stored, nowMs);
      if (!stored || !patch) {
        counts.upToDate += 1;
        return;
      }
      // Fencing: the read may have outlived the leadership.
      if (!isLeader()) return markDue(key, nowMs);
      await api.patchStatus(namespace, name, stored.metadata.resourceVersion ?? '', patch);
      counts.writes += 1;
      const { phase, ready: readyText, winner } = patch.aggregatedStatus;
      log.info({ placement: key, phase, ready: readyText, winner, placementPhase: patch.phase }, 'aggregated status written');
    } catch (err) {
      if (err instanceof PlacementConflictError) counts.conflicts += 1;
      else {
        counts.failures += 1;
        log.warn({ placement: key, err }, 'aggregated status not written; trying again');
      }
      markDue(key, clock());
    }
  };

  const drain = async (): Promise<void> => {
    for (let next = due.entries().next(); !next.done; next = due.entries().next()) {
      const [key, atMs] = next.value;
      const nowMs = clock();
      if (!running || !isLeader() || !ready()) return;
      if (atMs > nowMs) return schedule(atMs);
      if (!takeToken(nowMs)) return schedule(nowMs + Math.ceil(((1 - tokens) / settings.maxWritesPerSecond) * 1000));
      due.delete(key);
      await write(key);
    }
  };

  function flush(): Promise<void> {
    if (inFlight) return inFlight;
    inFlight = drain().finally(() => {
      inFlight = undefined;
    });
    return inFlight;
  }

  const recheck = (): void => {
    if (!running) return;
    const nowMs = clock();
    for (const [key, times] of reportTimes()) {
      if (!due.has(key) && wentStale(times, aggregation.staleAfterMs, lastRecheckMs, nowMs)) markDue(key, nowMs);
    }
    lastRecheckMs = nowMs;
    recheckTimer = timers.setTimeout(recheck, settings.recheckSeconds * 1000);
  };

  return {
    observe: (key, placement) => {
      const nowMs = clock();
      if (!placement || !patchFor(placement, nowMs)) due.delete(key);
      // Past its debounce it only waits for its turn (a token), and its write will read what is
      // stored then, this change included: it keeps its place instead of going to the back.
      else if (!waitingForTurn(key, nowMs)) markDue(key, nowMs);
    },
    trigger: () => {
      const first = due.values().next();
      if (!first.done) schedule(first.value);
    },
    start: () => {
      if (running) return;
      running = true;
      lastRecheckMs = clock();
      recheckTimer = timers.setTimeout(recheck, settings.recheckSeconds * 1000);
      const first = due.values().next();
      if (!first.done) schedule(first.value);
    },
    stop: async () => {
      running = false;
      timers.clearTimeout(flushTimer);
      timers.clearTimeout(recheckTimer);
      flushAtMs = Number.POSITIVE_INFINITY;
      await inFlight;
    },
    stats: () => ({ pending: due.size, ...counts }),
  };
}
