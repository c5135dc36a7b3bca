/**
 * A test double of the tracker's `KubeSource` port: each kind answers lists and watches from a
 * script, in order; once its script is used up it behaves as a healthy API server does (lists
 * repeat the last scripted answer, watches send a bookmark at once and then every minute, and close
 * cleanly after their `timeoutSeconds`). Every request is recorded with the manual clock's time.
 */
import type { TrackedKind } from '../../src/api/resources.js';
import type { KindInfo } from '../../src/tracker/kinds.js';
import type { KubeSource, ListPage, WatchParams } from '../../src/tracker/kube-source.js';
import type { Timer } from '../../src/tracker/timers.js';
import type { StreamEnd, WatchStreamHandlers } from '../../src/tracker/watch-stream.js';
import type { ManualClock } from './manual-clock.js';

/** One answer to one list request: a page, or an error (refused, timed out, 410 for a continue token). */
export type ListAnswer = { readonly items?: readonly unknown[]; readonly resourceVersion: string; readonly continueToken?: string } | { readonly error: Error };

/** One watch request. `at` is milliseconds after the response (the open). */
export interface WatchScript {
  /** No response at all: the request fails with this (connection refused, an HTTP error status). */
  readonly refuse?: Error;
  /** Lines of the stream once open, each sent `at` ms after the open (default at once). */
  readonly lines?: readonly { readonly at?: number; readonly line: string }[];
  /** How the stream ends after the lines; default: it stays open until aborted. */
  readonly end?: { readonly at?: number; readonly type: 'close' } | { readonly at?: number; readonly type: 'fail'; readonly error: Error };
}

export interface KindScript {
  readonly lists?: readonly ListAnswer[];
  readonly watches?: readonly WatchScript[];
}

export interface SourceCall {
  readonly at: number;
  readonly kind: TrackedKind;
  readonly op: 'list' | 'watch';
  /** The watch's resourceVersion or the list's continue token ('' for none). */
  readonly from: string;
}

export const BOOKMARK_EVERY_MS = 60_000;

/** A watch event line. */
export const eventLine = (type: 'ADDED' | 'MODIFIED' | 'DELETED', object: Record<string, unknown>, resourceVersion: string): string => {
  const metadata = { ...(object.metadata as Record<string, unknown>), resourceVersion };
  return JSON.stringify({ type, object: { ...object, metadata } });
};

export const bookmarkLine = (resourceVersion: string): string => JSON.stringify({ type: 'BOOKMARK', object: { metadata: { resourceVersion } } });

/** What the watch cache sends for a resourceVersion it no longer has (HTTP 200, then this). */
export const expiredLine = (resourceVersion: string): string =>
  JSON.stringify({ type: 'ERROR', object: { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: `too old resource version: ${resourceVersion}` } });

export class ScriptedSource implements KubeSource {
  readonly calls: SourceCall[] = [];
  /** `<at> list|watch <from>` for every request of a scripted kind, and whatever the test notes, in order. */
  readonly journal: string[] = [];
  private readonly lists = new Map<TrackedKind, ListAnswer[]>();
  private readonly watches = new Map<TrackedKind, WatchScript[]>();
  private readonly lastPage = new Map<TrackedKind, ListPage>();

  constructor(
    private readonly clock: ManualClock,
    scripts: Partial<Record<TrackedKind, KindScript>>,
  ) {
    for (const [kind, script] of Object.entries(scripts) as [TrackedKind, KindScript][]) {
      this.lists.set(kind, [...(script.lists ?? [])]);
      this.watches.set(kind, [...(script.watches ?? [])]);
    }
  }

  listPage(info: KindInfo, page: { limit: number; continueToken: string | undefined }, signal: AbortSignal): Promise<ListPage> {
    this.record({ at: this.clock.now(), kind: info.kind, op: 'list', from: page.continueToken ?? '' });
    if (signal.aborted) return Promise.reject(new Error('aborted'));
    const answer = this.lists.get(info.kind)?.shift();
    if (answer && 'error' in answer) return Promise.reject(answer.error);
    const served: ListPage = answer
      ? { items: answer.items ?? [], resourceVersion: answer.resourceVersion, continueToken: answer.continueToken }
      : (this.lastPage.get(info.kind) ?? { items: [], resourceVersion: '1', continueToken: undefined });
    if (served.continueToken === undefined) this.lastPage.set(info.kind, served);
    return Promise.resolve(served);
  }

  watch(info: KindInfo, params: WatchParams, handlers: WatchStreamHandlers, signal: AbortSignal): Promise<StreamEnd> {
    this.record({ at: this.clock.now(), kind: info.kind, op: 'watch', from: params.resourceVersion });
    const script = this.watches.get(info.kind)?.shift() ?? this.healthy(params);
    return new Promise<StreamEnd>((resolve) => {
      const timers: Timer[] = [];
      let done = false;
      const finish = (end: StreamEnd): void => {
        if (done) return;
        done = true;
        for (const timer of timers) timer.clear();
        signal.removeEventListener('abort', onAbort);
        resolve(end);
      };
      const onAbort = (): void => finish({ type: 'aborted', reason: signal.reason });
      if (signal.aborted) return onAbort();
      signal.addEventListener('abort', onAbort, { once: true });
      if (script.refuse) return finish({ type: 'failed', error: script.refuse });
      const later = (at: number | undefined, action: () => void): void => {
        if (!at) action();
        else timers.push(this.clock.setTimeout(action, at));
      };
      handlers.onOpen();
      // As the real stream does, nothing more is delivered once the tracker ended the watch.
      for (const { at, line } of script.lines ?? []) later(at, () => done || handlers.onLine(line));
      const end = script.end;
      if (end) later(end.at, () => finish(end.type === 'close' ? { type: 'ended' } : { type: 'failed', error: end.error }));
    });
  }

  /** Adds `<now> <text>` to the journal (the test's view of events, between the requests). */
  note(text: string): void {
    this.journal.push(`${this.clock.now()} ${text}`);
  }

  private record(call: SourceCall): void {
    this.calls.push(call);
    if (this.lists.has(call.kind)) this.journal.push(`${call.at} ${call.op} ${call.from}`.trimEnd());
  }

  private healthy(params: WatchParams): WatchScript {
    const closeAt = params.timeoutSeconds * 1000;
    const lines: { at?: number; line: string }[] = [{ line: bookmarkLine(params.resourceVersion) }];
    for (let at = BOOKMARK_EVERY_MS; at < closeAt; at += BOOKMARK_EVERY_MS) lines.push({ at, line: bookmarkLine(params.resourceVersion) });
    return { lines, end: { at: closeAt, type: 'close' } };
  }
}
