import type { Condition } from '../api/fields.js';
import type { TrackedKind, TrackedObject } from '../api/resources.js';
import { chooseEvictions, type EvictionReason, type Victim } from '../core/eviction.js';
import { withConditions, type WantedCondition } from '../core/placement-conditions.js';
import { formatList } from '../quantity/index.js';
import { EVICTION_REASONS, markOf, type TrackedPlacement, type TrackedState } from '../state/tracked-state.js';
import { evictionSnapshot, type EvictionSettings } from './eviction-input.js';
import type { ElectorLog, Timers } from './leader-lease.js';

/** A placement's status as stored, with what a compare-and-swap write must carry. */
export interface PlacementStatusView {
  readonly resourceVersion: string;
  readonly generation: number;
  readonly uid?: string | undefined;
  readonly phase?: string | undefined;
  readonly conditions: readonly Condition[];
}

/** How far back a new leader replays eviction Events (the API server keeps Events for an hour). */
const EVENT_REPLAY_MS = 55 * 60_000;

/** The `events.k8s.io/v1` Event the loop emits for each eviction. */
export interface EvictionEvent {
  readonly namespace: string;
  readonly name: string;
  readonly uid?: string | undefined;
  readonly reason: EvictionReason;
  readonly note: string;
  readonly reportingInstance: string;
  readonly eventTimeMs: number;
}

/** Another writer changed the placement since it was read (HTTP 409): skip it, the next round decides again. */
export class PlacementConflictError extends Error {
  readonly code = 'PlacementConflict';
}

/**
 * The calls the loop makes on placements (the real one is kubernetesPlacementStatusApi). `patchStatus`
 * is a merge patch of the status subresource carrying `resourceVersion`: it rejects with
 * {@link PlacementConflictError} when the object moved on.
 */
export interface PlacementStatusApi {
  /** The placement as stored now; undefined when it is gone. */
  read(namespace: string, name: string): Promise<PlacementStatusView | undefined>;
  patchStatus(namespace: string, name: string, resourceVersion: string, status: { phase?: 'Evicted'; conditions: readonly Condition[] }): Promise<void>;
  /**
   * Makes sure the Event of one eviction exists. Its name follows from the placement and the
   * eviction's time, so creating it again (a new leader replaying what a killed one may not have
   * sent) finds it there and adds nothing.
   */
  createEvent(event: EvictionEvent): Promise<void>;
}

export interface EvictionLoopSettings extends EvictionSettings {
  readonly enforcement: EvictionSettings['enforcement'] & {
    readonly intervalSeconds: number;
    readonly maxWritesPerRound: number;
    readonly debounceMs: number;
  };
}

export interface EvictionLoopOptions {
  readonly state: TrackedState;
  readonly settings: EvictionLoopSettings;
  readonly api: PlacementStatusApi;
  /** Whether this replica may act now (the elector's isLeader): checked before the round and before every write. */
  readonly isLeader: () => boolean;
  /** Whether the tracker holds a complete view: no choice is made from half a picture. */
  readonly ready: () => boolean;
  /** The Event's reportingInstance. */
  readonly identity: string;
  readonly clock: () => number;
  readonly timers?: Timers;
  readonly log: ElectorLog;
}

/** What one round did. */
export interface RoundReport {
  readonly evicted: readonly string[];
  /** Keys that got a Soft condition set True. */
  readonly marked: readonly string[];
  /** Keys whose Soft conditions went back to False. */
  readonly cleared: readonly string[];
  readonly conflicts: number;
  /** Planned writes beyond maxWritesPerRound, left to the next round. */
  readonly deferred: number;
}

export interface EvictionLoop {
  /** Starts the interval; rounds run only while leader and ready. */
  start(): void;
  /** A tracker change: a round follows within debounceMs if it can change the choice. */
  touch(kind: TrackedKind, key: string, object: TrackedObject | undefined): void;
  /** Asks for a round within debounceMs (on becoming leader, on the tracker's ready). */
  trigger(): void;
  /** One round now; a round already running is waited for instead. */
  runRound(): Promise<RoundReport>;
  /** Stops scheduling and waits for the round in flight. */
  stop(): Promise<void>;
  /** Evictions written and Soft conditions set (status True) so far, by reason: for the metrics. */
  readonly counters: EnforcementCounters;
}

/** Counts by namespace, then reason (the metrics' labels). */
export type ReasonCounts = ReadonlyMap<string, Readonly<Partial<Record<EvictionReason, number>>>>;

export interface EnforcementCounters {
  readonly evictions: ReasonCounts;
  readonly conditions: ReasonCounts;
}

type Task =
  | { readonly kind: 'evict'; readonly key: string; readonly victim: Victim }
  | { readonly kind: 'mark'; readonly key: string; readonly victim: Victim | undefined; readonly marks: number };

type Outcome = 'evicted' | 'marked' | 'cleared' | 'conflict' | 'skipped';

const IDLE: RoundReport = Object.freeze({ evicted: [], marked: [], cleared: [], conflicts: 0, deferred: 0 });

const realTimers: Timers = {
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** The writes a choice needs, in order: evictions, then Soft marks, then clears; each only where the tracked state differs. */
export function planWrites(evict: readonly Victim[], wouldEvict: readonly Victim[], placements: ReadonlyMap<string, TrackedPlacement>): Task[] {
  const tasks: Task[] = evict.map((victim) => ({ kind: 'evict', key: victim.key, victim }));
  const chosen = new Set([...evict, ...wouldEvict].map((victim) => victim.key));
  for (const victim of wouldEvict) {
    const marks = placements.get(victim.key)?.marks ?? 0;
    if (marks !== markOf(victim.reason)) tasks.push({ kind: 'mark', key: victim.key, victim, marks });
  }
  for (const [key, { marks }] of placements) {
    if (marks !== 0 && !chosen.has(key)) tasks.push({ kind: 'mark', key, victim: undefined, marks });
  }
  return tasks;
}

/** The Soft conditions a placement should carry: the victim's reason True, every other one that is True now False. */
function softConditions(victim: Victim | undefined, stored: readonly Condition[]): WantedCondition[] {
  return EVICTION_REASONS.flatMap((reason): WantedCondition[] => {
    if (victim?.reason === reason) return [{ type: reason, status: 'True', reason, message: `would be evicted (${victim.message})` }];
    const current = stored.find((condition) => condition.type === reason);
    if (current?.status !== 'True') return [];
    return [{ type: reason, status: 'False', reason: 'WithinLimits', message: 'no longer chosen for eviction: its quotas and clusters are within their limits without it' }];
  });
}

const splitKey = (key: string): [string, string] => [key.slice(0, key.lastIndexOf('/')), key.slice(key.lastIndexOf('/') + 1)];

/** What a tracked object's change means for the choice; heartbeats alone do not (the interval sees staleness). */
function fingerprint(object: TrackedObject): string | undefined {
  switch (object.kind) {
    case 'WorkloadPlacement':
      return undefined;
    case 'WorkspaceQuota':
      return JSON.stringify([formatList(object.object.spec.hard), object.object.spec.enforcementMode]);
    case 'SyncTarget': {
      const { status, spec } = object.object;
      const ready = status.conditions.find((condition) => condition.type === 'Ready');
      return JSON.stringify([formatList(status.allocatable), ready?.status, ready?.reason, spec.unschedulable, spec.heartbeatInterval.text]);
    }
  }
}

/**
 * SPEC §6's enforcement loop. Each round, on the leader with a ready tracker: chooses from the tracked
 * state (core/eviction), then writes, in eviction order and at most maxWritesPerRound:
 * Hard victims get `phase: Evicted` and an Evicted condition, then a Warning Event; Soft victims get
 * the condition of their reason set True; placements no longer chosen get theirs back to False.
 * Every write reads the placement first and is a compare-and-swap on that resourceVersion: an
 * Evicted placement (whoever evicted it, a previous leader included) is never written again, a
 * conflict is left to the next round, and nothing is written when the stored condition already
 * says it (no loop on its own watch events).
 */
export function createEvictionLoop(options: EvictionLoopOptions): EvictionLoop {
  const { state, settings, api, isLeader, ready, identity, clock, log } = options;
  const timers = options.timers ?? realTimers;
  const { intervalSeconds, maxWritesPerRound, debounceMs } = settings.enforcement;
  const fingerprints = new Map<string, string>();
  let running = false;
  let intervalTimer: unknown;
  let debounceTimer: unknown;
  let inFlight: Promise<RoundReport> | undefined;
  let again = false;

  const evictions = new Map<string, Partial<Record<EvictionReason, number>>>();
  const marks = new Map<string, Partial<Record<EvictionReason, number>>>();
  const count = (into: Map<string, Partial<Record<EvictionReason, number>>>, namespace: string, reason: EvictionReason): void => {
    const counts = into.get(namespace) ?? {};
    counts[reason] = (counts[reason] ?? 0) + 1;
    into.set(namespace, counts);
  };

  const write = async (task: Task): Promise<Outcome> => {
    const [namespace, name] = splitKey(task.key);
    const stored = await api.read(namespace, name);
    if (!stored || stored.phase === 'Evicted') return 'skipped';
    const nowMs = clock();
    const nowIso = new Date(nowMs).toISOString();
    if (task.kind === 'evict') {
      const { reason, message } = task.victim;
      const conditions = withConditions(stored.conditions, [{ type: 'Evicted', status: 'True', reason, message }], nowIso, stored.generation) ?? stored.conditions;
      await api.patchStatus(namespace, name, stored.resourceVersion, { phase: 'Evicted', conditions });
      count(evictions, namespace, reason);
      await api
        .createEvent({ namespace, name, uid: stored.uid, reason, note: message, reportingInstance: identity, eventTimeMs: nowMs })
        .catch((err: unknown) => log.warn({ placement: task.key, err }, 'evicted, but the Event could not be created'));
      return 'evicted';
    }
    const conditions = withConditions(stored.conditions, softConditions(task.victim, stored.conditions), nowIso, stored.generation);
    if (!conditions) return 'skipped';
    await api.patchStatus(namespace, name, stored.resourceVersion, { conditions });
    if (task.victim) count(marks, namespace, task.victim.reason);
    return task.victim ? 'marked' : 'cleared';
  };

  const attempt = async (task: Task): Promise<Outcome> => {
    try {
      return await write(task);
    } catch (err) {
      if (err instanceof PlacementConflictError) return 'conflict';
      log.warn({ placement: task.key, err }, 'enforcement write failed; the next round tries again');
      return 'skipped';
    }
  };

  /**
   * A new leader sends the Events of recent evictions again: a leader killed between an eviction's
   * status write and its Event never sent that one, and the placement, Evicted now, is never chosen
   * again. Events are named by placement and eviction time, so those that exist are not doubled.
   */
  const replayEvents = async (): Promise<void> => {
    const nowMs = clock();
    for (const [key, eviction] of state.recentEvictions(nowMs - EVENT_REPLAY_MS)) {
      const [namespace, name] = splitKey(key);
      const event = { namespace, name, uid: eviction.uid, reason: eviction.reason, note: eviction.message, reportingInstance: identity, eventTimeMs: eviction.atMs };
      await api.createEvent(event).catch((err: unknown) => log.warn({ placement: key, err }, 'the Event of an earlier eviction could not be created'));
    }
  };

  let leading = false;
  const round = async (): Promise<RoundReport> => {
    if (!isLeader() || !ready()) {
      leading = false;
      return IDLE;
    }
    if (!leading) {
      leading = true;
      await replayEvents();
    }
    const { input, placements } = evictionSnapshot(state, settings, clock());
    const choice = chooseEvictions(input);
    const tasks = planWrites(choice.evict, choice.wouldEvict, placements);
    const done: Record<Outcome, string[]> = { evicted: [], marked: [], cleared: [], conflict: [], skipped: [] };
    for (const task of tasks.slice(0, maxWritesPerRound)) {
      // Fencing: a leader past its renew deadline stops between two writes, not at the end of the round.
      if (!isLeader()) break;
      done[await attempt(task)].push(task.key);
    }
    const report = { evicted: done.evicted, marked: done.marked, cleared: done.cleared, conflicts: done.conflict.length, deferred: Math.max(0, tasks.length - maxWritesPerRound) };
    if (tasks.length > 0) log.info({ violations: choice.violations.map((violation) => violation.message), ...report }, 'enforcement round');
    // Writes left over (budget or conflicts) are worth another round soon rather than an interval later.
    if (report.deferred > 0 || report.conflicts > 0) again = true;
    return report;
  };

  const runRound = (): Promise<RoundReport> => {
    if (inFlight) {
      again = true;
      return inFlight;
    }
    inFlight = round().finally(() => {
      inFlight = undefined;
      if (again) {
        again = false;
        trigger();
      }
    });
    return inFlight;
  };

  function trigger(): void {
    if (!running || debounceTimer !== undefined) return;
    debounceTimer = timers.setTimeout(() => {
      debounceTimer = undefined;
      void runRound();
    }, debounceMs);
  }

  const tick = (): void => {
    if (!running) return;
    intervalTimer = timers.setTimeout(tick, intervalSeconds * 1000);
    void runRound();
  };

  const touch = (kind: TrackedKind, key: string, object: TrackedObject | undefined): void => {
    const id = `${kind}:${key}`;
    const print = object && fingerprint(object);
    if (print !== undefined) {
      if (fingerprints.get(id) === print) return;
      fingerprints.set(id, print);
    } else fingerprints.delete(id);
    trigger();
  };

  return {
    counters: { evictions, conditions: marks },
    start: () => {
      if (running) return;
      running = true;
      intervalTimer = timers.setTimeout(tick, intervalSeconds * 1000);
    },
    touch,
    trigger,
    runRound,
    stop: async () => {
      running = false;
      timers.clearTimeout(intervalTimer);
      timers.clearTimeout(debounceTimer);
      debounceTimer = undefined;
      await inFlight;
    },
  };
}
