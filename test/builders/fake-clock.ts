import type { Timers } from '../../src/enforcement/leader-lease.js';

interface Task {
  readonly at: number;
  readonly seq: number;
  readonly callback: () => void;
  readonly owner: FakeTimers;
}

/** Lets every promise already resolving settle: the fakes answer in microtasks, so one turn is enough. */
export const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * A clock that moves only when told, and timers that fire on it in time order, each followed by
 * {@link settle}: tests drive time instead of sleeping.
 */
export class FakeClock {
  private tasks: Task[] = [];
  private seq = 0;

  constructor(public nowMs: number) {}

  readonly now = (): number => this.nowMs;

  /** A set of timers on this clock, e.g. one per simulated replica. */
  timers(): FakeTimers {
    return new FakeTimers(this);
  }

  schedule(owner: FakeTimers, callback: () => void, ms: number): Task {
    const task = { at: this.nowMs + Math.max(0, ms), seq: this.seq++, callback, owner };
    this.tasks.push(task);
    return task;
  }

  cancel(task: unknown): void {
    this.tasks = this.tasks.filter((t) => t !== task);
  }

  drop(owner: FakeTimers): void {
    this.tasks = this.tasks.filter((t) => t.owner !== owner);
  }

  /** Moves the clock by `ms`, firing every timer due on the way at its own time. */
  async advance(ms: number): Promise<void> {
    const end = this.nowMs + ms;
    await settle();
    for (let next = this.due(end); next; next = this.due(end)) {
      this.cancel(next);
      this.nowMs = next.at;
      next.callback();
      await settle();
    }
    this.nowMs = end;
  }

  private due(end: number): Task | undefined {
    return this.tasks.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
  }
}

/** {@link Timers} on a {@link FakeClock}; `freeze()` drops them all, as a SIGKILL would. */
export class FakeTimers implements Timers {
  constructor(private readonly clock: FakeClock) {}

  setTimeout(callback: () => void, ms: number): unknown {
    return this.clock.schedule(this, callback, ms);
  }

  clearTimeout(handle: unknown): void {
    this.clock.cancel(handle);
  }

  freeze(): void {
    this.clock.drop(this);
    this.setTimeout = () => undefined;
  }
}
