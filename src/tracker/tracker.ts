import { EventEmitter } from 'node:events';
import { z } from 'zod';
import { describeIssues } from '../api/errors.js';
import type { TrackedKind, TrackedObject } from '../api/resources.js';
import type { TrackedState } from '../state/tracked-state.js';
import { KindApplier, type ApplySink } from './apply.js';
import { KindSync, type SyncedInfo, type SyncSettings } from './kind-sync.js';
import { TRACKED_KINDS } from './kinds.js';
import type { KubeSource } from './kube-source.js';
import type { TrackerLog } from './log.js';
import { realTimers, type Timers } from './timers.js';

export type { TrackerLog } from './log.js';
export type { SyncedInfo } from './kind-sync.js';
export { kubeSource, type KubeSource } from './kube-source.js';
export { realTimers, type Timer, type Timers } from './timers.js';

const positiveMs = z.number().int().positive();

/** Tracker timing and sizing; every field has a default (docs/tracker.md says why each is what it is). */
export const trackerOptionsSchema = z.object({
  /** Objects per list page (`limit`). */
  pageSize: z.number().int().min(1).max(10_000).default(500),
  /** Bound on one list page. */
  listTimeoutMs: positiveMs.default(60_000),
  /** Each watch asks the server to close it after a random time in this range; it is then resumed. */
  watchTimeoutSeconds: z
    .object({ min: z.number().int().min(1), max: z.number().int().min(1) })
    .refine((range) => range.min <= range.max, 'min must not exceed max')
    .default({ min: 300, max: 600 }),
  /** A watch request must get its response within this. */
  connectTimeoutMs: positiveMs.default(15_000),
  /** Watchdog: an open watch that delivers no event and no bookmark for this long is aborted and resumed. */
  watchdogMs: positiveMs.default(150_000),
  /** A watch open this long without an error counts as accepted by the server. */
  establishMs: positiveMs.default(1_000),
  /** A kind whose watch stays down this long is out of view: the tracker turns unready. */
  resumeGraceMs: positiveMs.default(5_000),
  /**
   * Retry pacing after failures: capped exponential with full jitter. The cap is short because a
   * kind that waits is a kind out of view (the grace window is over long before a longer wait
   * would matter), and every second of it is a second of refused admissions once the server is back.
   */
  backoff: z
    .object({ baseMs: positiveMs, capMs: positiveMs })
    .refine((backoff) => backoff.baseMs <= backoff.capMs, 'baseMs must not exceed capMs')
    .default({ baseMs: 200, capMs: 1_000 }),
})
  // A watch resumed after a normal close is confirmed only after establishMs; with a window that short
  // every quiet kind would turn unready at each of its watch's timeouts.
  .refine((options) => options.establishMs < options.resumeGraceMs, { message: 'must be below resumeGraceMs', path: ['establishMs'] });

export type TrackerOptions = z.input<typeof trackerOptionsSchema> & {
  /** Milliseconds since the epoch; defaults to Date.now. */
  readonly clock?: () => number;
  /** Uniform in [0, 1); defaults to Math.random (jitter). */
  readonly random?: () => number;
  /** Timeouts and backoff sleeps; defaults to Node's timers. Tests pass a manual clock (with `clock` from the same). */
  readonly timers?: Timers;
};

export interface TrackerDeps {
  /** The API server's list and watch; `kubeSource(kubeConfig)` in the service, a scripted double in tests. */
  readonly source: KubeSource;
  readonly state: TrackedState;
  readonly log: TrackerLog;
  readonly options?: TrackerOptions;
}

/** Why the tracker is not ready: the kind that lost its view (none when the tracker was stopped). */
export interface UnreadyReason {
  readonly kind: TrackedKind | undefined;
  readonly reason: string;
}

export interface TrackerEvents {
  /** Every kind is listed and current. */
  ready: [];
  /** A kind lost its view (or the tracker stopped); decisions must wait. */
  unready: [why: UnreadyReason];
  /** One object changed in the state: added or replaced (`object`), or deleted (`undefined`). Also fired for every object of a list. */
  change: [kind: TrackedKind, key: string, object: TrackedObject | undefined];
  /** An object failed its schema and was skipped (the state keeps its last good version, if any). */
  invalid: [kind: TrackedKind, key: string | undefined, issues: string];
  /** A kind's list (first or re-) replaced its state. */
  synced: [kind: TrackedKind, info: SyncedInfo];
}

export interface TrackerStats {
  readonly ready: boolean;
  /** The resourceVersion each kind resumes from (opaque; '' before its first list). */
  readonly resourceVersions: Readonly<Record<TrackedKind, string>>;
  readonly inView: Readonly<Record<TrackedKind, boolean>>;
  /** Completed lists, and of them the ones after a kind's first. */
  readonly lists: number;
  readonly relists: number;
  /** Watch requests opened. */
  readonly watches: number;
  /** Watches that ended other than by a normal close (errors, 410, watchdog), each then restarted. */
  readonly restarts: number;
  /** 410s seen (each followed by a relist). */
  readonly expirations: number;
  readonly watchdogAborts: number;
  /** Objects (list items or events) skipped because their schema refused them. */
  readonly parseErrors: number;
  /** Objects whose current version is refused (the state holds their last good version, if any). */
  readonly invalidObjects: number;
  /** Relists, watch restarts and the time of the last list, event or bookmark, per kind. */
  readonly perKind: Readonly<Record<TrackedKind, { readonly relists: number; readonly restarts: number; readonly lastEventMs: number }>>;
}

/** The in-memory view of SyncTargets, WorkspaceQuotas and WorkloadPlacements, kept current by list+watch. */
export interface Tracker extends EventEmitter<TrackerEvents> {
  /** Starts list+watch of every kind; resolves after the first full sync (rejects if stopped before). */
  start(): Promise<void>;
  /** True while every kind is in view (docs/tracker.md, readiness). Decisions wait while false. */
  ready(): boolean;
  stats(): TrackerStats;
  /** Aborts every request and timer; the tracker turns unready and cannot be started again. */
  stop(): Promise<void>;
}

/** Creates the tracker; nothing happens until `start()`. Throws on invalid options, naming the field and the rule. */
export function createTracker(deps: TrackerDeps): Tracker {
  return new ListWatchTracker(deps);
}

interface Startup {
  readonly promise: Promise<void>;
  resolve(): void;
  reject(error: Error): void;
}

function startup(): Startup {
  let resolve: () => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Marked handled here; a caller awaiting start() still sees the rejection.
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}

class ListWatchTracker extends EventEmitter<TrackerEvents> implements Tracker {
  private readonly log: TrackerLog;
  private readonly syncs: readonly KindSync[];
  private readonly appliers: readonly KindApplier[];
  private isReady = false;
  private stopped = false;
  private started: Startup | undefined;
  private stopping: Promise<void> | undefined;

  constructor({ source, state, log, options = {} }: TrackerDeps) {
    super();
    this.log = log;
    const { clock = Date.now, random = Math.random, timers = realTimers, ...rest } = options;
    const parsed = trackerOptionsSchema.safeParse(rest);
    if (!parsed.success) throw new Error(`invalid tracker options: ${describeIssues(parsed.error)}`);
    const settings: SyncSettings = parsed.data;
    const pairs = TRACKED_KINDS.map((info) => {
      const kindLog = log.child({ kind: info.kind });
      const applier = new KindApplier(info.kind, state, this.sinkFor(kindLog));
      const sync = new KindSync({
        info,
        source,
        applier,
        settings,
        log: kindLog,
        clock,
        random,
        timers,
        onView: (kind, inView, reason) => this.viewChanged(kind, inView, reason),
        onSynced: (kind, info) => this.publish('synced', kind, info),
      });
      return { applier, sync };
    });
    this.appliers = pairs.map((pair) => pair.applier);
    this.syncs = pairs.map((pair) => pair.sync);
  }

  start(): Promise<void> {
    if (this.stopped) return Promise.reject(new Error('the tracker was stopped; create a new one'));
    if (!this.started) {
      this.started = startup();
      for (const sync of this.syncs) sync.start();
    }
    return this.started.promise;
  }

  ready(): boolean {
    return this.isReady;
  }

  stats(): TrackerStats {
    const total = (counter: (sync: KindSync) => number): number => this.syncs.reduce((sum, sync) => sum + counter(sync), 0);
    return {
      ready: this.isReady,
      resourceVersions: this.perKind((sync) => sync.lastResourceVersion),
      inView: this.perKind((sync) => sync.viewing),
      lists: total((sync) => sync.counters.lists),
      relists: total((sync) => sync.counters.relists),
      watches: total((sync) => sync.counters.watches),
      restarts: total((sync) => sync.counters.restarts),
      expirations: total((sync) => sync.counters.expirations),
      watchdogAborts: total((sync) => sync.counters.watchdogAborts),
      parseErrors: this.appliers.reduce((sum, applier) => sum + applier.parseErrors, 0),
      invalidObjects: this.appliers.reduce((sum, applier) => sum + applier.invalidCount, 0),
      perKind: this.perKind(({ counters: { relists, restarts, lastEventMs } }) => ({ relists, restarts, lastEventMs })),
    };
  }

  stop(): Promise<void> {
    // Every caller waits for the same shutdown, however many times stop() is called.
    this.stopping ??= this.shutDown();
    return this.stopping;
  }

  private async shutDown(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.syncs.map((sync) => sync.stop()));
    if (this.isReady) {
      this.isReady = false;
      this.log.info({}, 'tracker stopped');
      this.publish('unready', { kind: undefined, reason: 'stopped' });
    }
    this.started?.reject(new Error('the tracker stopped before its first full sync'));
  }

  private perKind<T>(read: (sync: KindSync) => T): Record<TrackedKind, T> {
    const of = (kind: TrackedKind): T => read(this.syncs.find((sync) => sync.kind === kind) ?? this.syncs[0]!);
    return { SyncTarget: of('SyncTarget'), WorkspaceQuota: of('WorkspaceQuota'), WorkloadPlacement: of('WorkloadPlacement') };
  }

  private viewChanged(kind: TrackedKind, inView: boolean, reason: string): void {
    const ready = !this.stopped && this.syncs.every((sync) => sync.viewing);
    if (ready === this.isReady) return;
    this.isReady = ready;
    if (ready) {
      this.log.info({ kind, reason }, 'tracker ready: every kind is listed and watched');
      this.publish('ready');
      this.started?.resolve();
    } else {
      this.log.warn({ kind, reason, inView }, 'tracker unready: a kind lost its view');
      this.publish('unready', { kind, reason });
    }
  }

  private sinkFor(log: TrackerLog): ApplySink {
    return {
      change: (kind, key, object) => this.publish('change', kind, key, object),
      invalid: (kind, key, issues, resourceVersion) => {
        log.warn({ key, resourceVersion, issues }, 'object skipped: it does not match its schema');
        this.publish('invalid', kind, key, issues);
      },
    };
  }

  // Like emit, but a listener that throws neither breaks the watch that delivered the event nor
  // keeps the event from the other listeners. rawListeners keeps once() wrappers, which remove themselves.
  private publish<E extends keyof TrackerEvents>(event: E, ...args: TrackerEvents[E]): void {
    for (const listener of this.rawListeners(event)) {
      try {
        Reflect.apply(listener, this, args);
      } catch (error) {
        this.log.error({ err: error, event }, 'a tracker listener threw; ignored');
      }
    }
  }
}
