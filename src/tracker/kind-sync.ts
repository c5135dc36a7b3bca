import type { TrackedKind } from '../api/resources.js';
import { emptyList, type CollectedList, type KindApplier } from './apply.js';
import { classifyLine, type WatchEvent } from './events.js';
import type { KindInfo } from './kinds.js';
import type { KubeSource } from './kube-source.js';
import type { TrackerLog } from './log.js';
import { backoffDelay, isGone, jitteredSeconds, planAfterWatch, type Backoff, type Pause, type WatchEnd } from './policy.js';
import type { Timer, Timers } from './timers.js';
import type { StreamEnd } from './watch-stream.js';

/** Timing and sizing of list and watch (see docs/tracker.md for the defaults and why). */
export interface SyncSettings {
  readonly pageSize: number;
  readonly listTimeoutMs: number;
  readonly watchTimeoutSeconds: { readonly min: number; readonly max: number };
  readonly connectTimeoutMs: number;
  readonly watchdogMs: number;
  readonly establishMs: number;
  readonly resumeGraceMs: number;
  readonly backoff: Backoff;
}

/** What a completed list did. */
export interface SyncedInfo {
  readonly objects: number;
  readonly invalid: number;
  readonly deleted: number;
  readonly resourceVersion: string;
  /** False for the kind's first list. */
  readonly relist: boolean;
}

export interface KindCounters {
  lists: number;
  relists: number;
  watches: number;
  restarts: number;
  expirations: number;
  watchdogAborts: number;
  /** When the server last said anything for this kind (a list, an event, a bookmark), epoch ms; 0 before that. */
  lastEventMs: number;
}

export interface KindSyncDeps {
  readonly info: KindInfo;
  readonly source: KubeSource;
  readonly applier: KindApplier;
  readonly settings: SyncSettings;
  readonly log: TrackerLog;
  readonly clock: () => number;
  readonly random: () => number;
  readonly timers: Timers;
  /** The kind came into view (complete and current) or lost it. */
  readonly onView: (kind: TrackedKind, inView: boolean, reason: string) => void;
  readonly onSynced: (kind: TrackedKind, info: SyncedInfo) => void;
}

/** An ERROR event other than 410 in a watch stream. */
export class WatchEventError extends Error {
  constructor(
    readonly code: number | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'WatchEventError';
  }
}

type Mode = 'list' | 'watch';

interface ChildSignal {
  readonly controller: AbortController;
  dispose(): void;
}

// An AbortController that also aborts with `parent` (stop()) and, if given, after `timeoutMs`.
// Hand-made rather than AbortSignal.any: the parent lives as long as the tracker, and listeners are
// removed as soon as each request is done.
function childOf(parent: AbortSignal, timers: Timers, timeoutMs?: number): ChildSignal {
  const controller = new AbortController();
  const abort = (): void => controller.abort(parent.reason);
  if (parent.aborted) abort();
  else parent.addEventListener('abort', abort, { once: true });
  const timer = timeoutMs === undefined ? undefined : timers.setTimeout(() => controller.abort(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  return {
    controller,
    dispose: () => {
      parent.removeEventListener('abort', abort);
      timer?.clear();
    },
  };
}
type Ended = Exclude<WatchEnd, { type: 'stopped' }>;

/** One watch request in flight. */
interface Attempt {
  readonly abort: ChildSignal;
  established: boolean;
  /** Set when the tracker itself ends the watch (an ERROR event, a bad line, the watchdog). */
  outcome: Ended | undefined;
  /** Until the response: the connect bound; then the watchdog, pushed back by every line. */
  silence: Timer | undefined;
  settle: Timer | undefined;
}

/**
 * Keeps one kind current: list (paginated) → swap into the state → watch from the list's
 * resourceVersion → on a clean close resume, on 410 relist, on anything else back off and resume.
 * The kind is "in view" once listed and stays so while its watch is up or has been down for less
 * than `resumeGraceMs`; a 410 takes it out of view at once, a relist or a resumed watch brings it back.
 */
/** Events that show the watch is alive (errors and expiry end it instead). */
const HEARD: ReadonlySet<WatchEvent['type']> = new Set(['ADDED', 'MODIFIED', 'DELETED', 'BOOKMARK']);

export class KindSync {
  readonly counters: KindCounters = { lists: 0, relists: 0, watches: 0, restarts: 0, expirations: 0, watchdogAborts: 0, lastEventMs: 0 };
  private resourceVersion = '';
  private inView = false;
  private failures = 0;
  private grace: Timer | undefined;
  private readonly stopper = new AbortController();
  private loop: Promise<void> | undefined;

  constructor(private readonly deps: KindSyncDeps) {}

  get kind(): TrackedKind {
    return this.deps.info.kind;
  }

  /** The resourceVersion the next watch resumes from ('' before the first list). Opaque. */
  get lastResourceVersion(): string {
    return this.resourceVersion;
  }

  get viewing(): boolean {
    return this.inView;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopper.abort();
    this.clearGrace();
    await this.loop;
  }

  private get stopped(): boolean {
    return this.stopper.signal.aborted;
  }

  private async run(): Promise<void> {
    let mode: Mode = 'list';
    while (!this.stopped) {
      try {
        mode = mode === 'list' ? await this.list() : await this.watch();
      } catch (error) {
        // Every step handles its own failures; this is the net under a bug, so the tracker lives on.
        this.deps.log.error({ err: error }, 'tracker step failed unexpectedly; relisting');
        this.setView(false, 'internal error');
        mode = 'list';
        await this.backOff();
      }
    }
  }

  // ---- list ----------------------------------------------------------------------------------

  private async list(): Promise<Mode> {
    const started = this.deps.clock();
    let read: { list: CollectedList; resourceVersion: string };
    try {
      read = await this.readList();
    } catch (error) {
      if (this.stopped) return 'list';
      const expired = isGone(error);
      this.deps.log.warn(
        { err: error, attempt: this.failures + 1 },
        expired ? 'list continue token expired; listing again from the start' : 'list failed; retrying with backoff',
      );
      // An expired continue token is an answer: the server is up, so the list starts over promptly.
      await this.pause(expired ? 'base' : 'backoff');
      return 'list';
    }
    if (this.stopped) return 'list';
    this.swap(read.list, read.resourceVersion, started);
    return 'watch';
  }

  /** Reads every page; a relist is applied only when the last one is in, so no one sees half a list. */
  private async readList(): Promise<{ list: CollectedList; resourceVersion: string }> {
    const list = emptyList();
    let continueToken: string | undefined;
    let resourceVersion: string;
    do {
      const abort = childOf(this.stopper.signal, this.deps.timers, this.deps.settings.listTimeoutMs);
      const page = await this.deps.source
        .listPage(this.deps.info, { limit: this.deps.settings.pageSize, continueToken }, abort.controller.signal)
        .finally(() => abort.dispose());
      this.deps.applier.collect(page.items, list);
      continueToken = page.continueToken;
      // Every page of a paginated list is one snapshot; the last page's version is where the watch starts.
      resourceVersion = page.resourceVersion;
    } while (continueToken !== undefined);
    return { list, resourceVersion };
  }

  private swap(list: CollectedList, resourceVersion: string, started: number): void {
    const relist = this.counters.lists > 0;
    this.counters.lists++;
    if (relist) this.counters.relists++;
    this.counters.lastEventMs = this.deps.clock();
    const { deleted } = this.deps.applier.swap(list);
    this.resourceVersion = resourceVersion;
    // A complete list is the server answering in full: whatever failed before is behind us.
    this.failures = 0;
    const info: SyncedInfo = { objects: list.objects.length + list.applied.size, invalid: list.invalidKeys.size, deleted, resourceVersion, relist };
    this.deps.log.info({ ...info, ms: this.deps.clock() - started }, relist ? 'relisted' : 'listed');
    this.deps.onSynced(this.kind, info);
    this.clearGrace();
    this.setView(true, relist ? 'relisted' : 'listed');
  }

  // ---- watch ---------------------------------------------------------------------------------

  private async watch(): Promise<Mode> {
    this.counters.watches++;
    const end = await this.watchOnce();
    if (end.type === 'stopped') return 'watch';
    this.afterWatch(end);
    const plan = planAfterWatch(end);
    await this.pause(plan.pause);
    return plan.relist ? 'list' : 'watch';
  }

  private async watchOnce(): Promise<WatchEnd> {
    const attempt: Attempt = { abort: childOf(this.stopper.signal, this.deps.timers), established: false, outcome: undefined, silence: undefined, settle: undefined };
    const params = { resourceVersion: this.resourceVersion, timeoutSeconds: jitteredSeconds(this.deps.settings.watchTimeoutSeconds, this.deps.random) };
    this.watchSilence(attempt, this.deps.settings.connectTimeoutMs);
    try {
      const end = await this.deps.source.watch(
        this.deps.info,
        params,
        { onOpen: () => this.opened(attempt), onLine: (line) => this.line(attempt, line) },
        attempt.abort.controller.signal,
      );
      return this.endOf(attempt, end);
    } finally {
      attempt.abort.dispose();
      attempt.silence?.clear();
      attempt.settle?.clear();
    }
  }

  private watchSilence(attempt: Attempt, ms: number): void {
    attempt.silence?.clear();
    attempt.silence = this.deps.timers.setTimeout(() => {
      this.counters.watchdogAborts++;
      this.deps.log.warn({ silentMs: ms, resourceVersion: this.resourceVersion }, 'watch silent for too long; aborting it');
      this.endAttempt(attempt, { type: 'watchdog', established: attempt.established });
    }, ms);
  }

  private opened(attempt: Attempt): void {
    this.watchSilence(attempt, this.deps.settings.watchdogMs);
    attempt.settle = this.deps.timers.setTimeout(() => this.established(attempt), this.deps.settings.establishMs);
  }

  private line(attempt: Attempt, line: string): void {
    if (attempt.outcome) return;
    attempt.silence?.refresh();
    try {
      this.handle(attempt, classifyLine(line));
    } catch (error) {
      // Applying an event must never throw; if it does, resuming replays it after a backoff.
      this.endAttempt(attempt, { type: 'failed', error, established: attempt.established });
    }
  }

  private handle(attempt: Attempt, event: WatchEvent): void {
    // A bookmark counts too: a quiet kind is not a stalled watch.
    if (HEARD.has(event.type)) this.counters.lastEventMs = this.deps.clock();
    switch (event.type) {
      case 'ADDED':
      case 'MODIFIED':
      case 'DELETED':
        this.deps.applier.applyEvent(event.type, event.object, event.resourceVersion);
        this.resourceVersion = event.resourceVersion;
        return this.established(attempt);
      case 'BOOKMARK':
        this.resourceVersion = event.resourceVersion;
        return this.established(attempt);
      case 'EXPIRED':
        return this.endAttempt(attempt, { type: 'expired', message: event.message });
      case 'ERROR':
        return this.endAttempt(attempt, { type: 'failed', error: new WatchEventError(event.code, event.message), established: attempt.established });
      case 'MALFORMED':
        return this.endAttempt(attempt, { type: 'failed', error: new Error(event.reason), established: attempt.established });
    }
  }

  /** The server accepted this watch: failures are behind us, and a kind that lost its view has it back. */
  private established(attempt: Attempt): void {
    if (attempt.established || attempt.outcome) return;
    attempt.established = true;
    attempt.settle?.clear();
    this.failures = 0;
    this.clearGrace();
    this.setView(true, 'watch resumed');
  }

  private endAttempt(attempt: Attempt, outcome: Ended): void {
    attempt.outcome ??= outcome;
    attempt.abort.controller.abort();
  }

  private endOf(attempt: Attempt, end: StreamEnd): WatchEnd {
    if (this.stopped) return { type: 'stopped' };
    if (attempt.outcome) return attempt.outcome;
    switch (end.type) {
      case 'ended':
        return { type: 'closed', established: attempt.established };
      case 'failed':
        return isGone(end.error) ? { type: 'expired', message: end.error.message } : { type: 'failed', error: end.error, established: attempt.established };
      case 'aborted':
        // Only stop() and the attempt's own controller abort; the latter always sets an outcome.
        return { type: 'stopped' };
    }
  }

  private afterWatch(end: Ended): void {
    const normal = end.type === 'closed' && end.established;
    if (!normal) this.counters.restarts++;
    const fields = { resourceVersion: this.resourceVersion, end: end.type };
    if (end.type === 'expired') {
      this.counters.expirations++;
      this.deps.log.info({ ...fields, message: end.message }, 'resourceVersion expired (410); relisting');
      this.setView(false, `resourceVersion ${this.resourceVersion} expired; relisting`);
      return;
    }
    if (normal) this.deps.log.debug(fields, 'watch closed by the server; resuming');
    else this.deps.log.warn({ ...fields, err: end.type === 'failed' ? end.error : undefined, attempt: this.failures + 1 }, 'watch ended; resuming with backoff');
    this.startGrace();
  }

  // ---- readiness and pacing ------------------------------------------------------------------

  /** A watch that stays down for `resumeGraceMs` takes the kind out of view. */
  private startGrace(): void {
    if (!this.inView || this.grace) return;
    const ms = this.deps.settings.resumeGraceMs;
    this.grace = this.deps.timers.setTimeout(() => {
      this.grace = undefined;
      this.setView(false, `watch down for more than ${ms} ms`);
    }, ms);
  }

  private clearGrace(): void {
    this.grace?.clear();
    this.grace = undefined;
  }

  private setView(inView: boolean, reason: string): void {
    if (this.inView === inView || (inView && this.stopped)) return;
    this.inView = inView;
    this.deps.onView(this.kind, inView, reason);
  }

  private async pause(pause: Pause): Promise<void> {
    if (pause === 'none') return;
    if (pause === 'base') this.failures = 0;
    await this.backOff();
  }

  private async backOff(): Promise<void> {
    this.failures++;
    const ms = backoffDelay(this.failures, this.deps.settings.backoff, this.deps.random);
    await this.deps.timers.sleep(ms, this.stopper.signal);
  }
}
