import { z } from 'zod';
import { isExpiredStatus, statusSchema } from './events.js';

/** Capped exponential backoff: the ceiling doubles from `baseMs` with each failure, up to `capMs`. */
export interface Backoff {
  readonly baseMs: number;
  readonly capMs: number;
}

/**
 * How long to wait before the next try after `attempt` consecutive failures (0: no wait). Full
 * jitter — a uniform draw below the ceiling — so that many replicas cut off together (an API server
 * restart) do not come back in lockstep and flood it.
 */
export function backoffDelay(attempt: number, backoff: Backoff, random: () => number): number {
  if (attempt <= 0) return 0;
  // The exponent is bounded before it overflows to Infinity; the cap applies long before anyway.
  const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** Math.min(attempt - 1, 40));
  return Math.floor(random() * ceiling);
}

/** A watch's `timeoutSeconds`: spread across the range so that watches of many replicas do not all end together. */
export function jitteredSeconds(range: { readonly min: number; readonly max: number }, random: () => number): number {
  return Math.round(range.min + random() * (range.max - range.min));
}

/**
 * How one watch ended. `established`: the server accepted it for good — it delivered an event or a
 * bookmark, or stayed open without an error for a moment (an expired resourceVersion is answered at
 * once, so a watch that survived that moment was accepted).
 */
export type WatchEnd =
  /** The server closed the stream cleanly (its `timeoutSeconds` elapsed, or it shut down). */
  | { readonly type: 'closed'; readonly established: boolean }
  /** 410: as an ERROR event in the stream or as the HTTP status. */
  | { readonly type: 'expired'; readonly message: string }
  /** Network error, premature close, another HTTP status or ERROR event, an unreadable line. */
  | { readonly type: 'failed'; readonly error: unknown; readonly established: boolean }
  /** Nothing heard (no response, event or bookmark) within the bound: aborted by the tracker. */
  | { readonly type: 'watchdog'; readonly established: boolean }
  | { readonly type: 'stopped' };

/**
 * How long to wait before the next request: `none`; `base`, one jittered base delay with the
 * failure count started over (the server answered, so the outage's backoff is behind us); or
 * `backoff`, one more failure.
 */
export type Pause = 'none' | 'base' | 'backoff';

/** What to do after a watch ended: relist or resume from the last resourceVersion, and how long to wait first. */
export interface WatchPlan {
  readonly relist: boolean;
  readonly pause: Pause;
}

/**
 * The decision table. Only 410 needs a relist: after any other end the server can replay what came
 * after the last resourceVersion applied, so resuming loses nothing. A clean close of an established
 * watch is the normal end of a watch's timeout and resumes at once; a watch the server closes before
 * accepting it would otherwise be reopened in a tight loop, so that close counts as a failure. A 410
 * is no failure: the server answered, and after a restart it is the first thing it says; reusing the
 * backoff built up while it was down kept replicas unready for seconds after it was back (issue 14).
 * The relist still waits one jittered base delay, so replicas that got their 410s together spread out.
 */
export function planAfterWatch(end: Exclude<WatchEnd, { type: 'stopped' }>): WatchPlan {
  switch (end.type) {
    case 'closed':
      return { relist: false, pause: end.established ? 'none' : 'backoff' };
    case 'expired':
      return { relist: true, pause: 'base' };
    case 'failed':
    case 'watchdog':
      return { relist: false, pause: 'backoff' };
  }
}

// The shapes 410 arrives in: the watch's own HTTP error (statusCode), the generated client's
// ApiException (code, body as JSON text), a Status object.
const goneError = z.union([
  z.object({ statusCode: z.literal(410) }),
  z.object({ code: z.literal(410) }),
  z.object({ status: statusSchema.refine(isExpiredStatus) }),
]);

/** True when an error from a list or watch request means `410 Gone` (expired resourceVersion or continue token). */
export function isGone(error: unknown): boolean {
  return goneError.safeParse(error).success;
}
