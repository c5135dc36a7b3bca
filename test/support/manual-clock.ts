/**
 * A clock that moves only when a test says so, for code that takes a `Timers` port and a `clock`
 * (src/tracker/timers.ts). `advance(ms)` fires every timer due on the way, in order, letting the
 * code under test run to its next wait after each one: no jest fake timers, no module mocks.
 */
import type { Timer, Timers } from '../../src/tracker/timers.js';

interface Pending {
  due: number;
  readonly order: number;
  readonly ms: number;
  readonly callback: () => void;
}

// Lets promise chains started by a fired timer run to their next wait. The code under test does no
// real IO, so a few turns of the event loop drain everything.
async function drain(): Promise<void> {
  for (let turn = 0; turn < 5; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}

export class ManualClock implements Timers {
  private time = 0;
  private order = 0;
  private readonly pending = new Map<number, Pending>();

  /** Milliseconds since the clock was made. */
  readonly now = (): number => this.time;

  setTimeout(callback: () => void, ms: number): Timer {
    const id = ++this.order;
    const entry: Pending = { due: this.time + ms, order: id, ms, callback };
    this.pending.set(id, entry);
    return {
      clear: () => void this.pending.delete(id),
      refresh: () => {
        entry.due = this.time + entry.ms;
        this.pending.set(id, entry);
      },
    };
  }

  sleep(ms: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const wake = (): void => {
        timer.clear();
        signal.removeEventListener('abort', wake);
        resolve();
      };
      const timer = this.setTimeout(wake, ms);
      signal.addEventListener('abort', wake, { once: true });
    });
  }

  /** Moves time forward by `ms`, firing the timers due on the way in order. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    await drain();
    for (let next = this.nextDue(target); next; next = this.nextDue(target)) {
      this.pending.delete(next.order);
      this.time = next.due;
      next.callback();
      await drain();
    }
    this.time = target;
    await drain();
  }

  /** Timers not yet fired nor cleared. */
  get pendingCount(): number {
    return this.pending.size;
  }

  private nextDue(limit: number): Pending | undefined {
    let next: Pending | undefined;
    for (const entry of this.pending.values()) {
      if (entry.due > limit) continue;
      if (!next || entry.due < next.due || (entry.due === next.due && entry.order < next.order)) next = entry;
    }
    return next;
  }
}
