import { setTimeout as sleepFor } from 'node:timers/promises';

/** A pending callback: `clear` cancels it, `refresh` starts its delay over from now. */
export interface Timer {
  clear(): void;
  refresh(): void;
}

/**
 * The time the sync loop waits on: timeouts (watchdog, grace, establish, list page) and the backoff
 * sleep. Injected so that tests drive a manual clock instead of waiting (habit 6).
 */
export interface Timers {
  setTimeout(callback: () => void, ms: number): Timer;
  /** Resolves after `ms`, or at once when `signal` aborts; never rejects. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

/** Node's own timers. */
export const realTimers: Timers = {
  setTimeout(callback, ms) {
    const timeout = setTimeout(callback, ms);
    return { clear: () => clearTimeout(timeout), refresh: () => void timeout.refresh() };
  },
  sleep: (ms, signal) => sleepFor(ms, undefined, { signal }).catch(() => undefined),
};
