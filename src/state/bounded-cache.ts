import { LRUCache } from 'lru-cache';
import type { Memo } from '../core/view.js';

/**
 * The one bounded cache of the service: at most `max` entries, the least recently used forgotten
 * first. Everything the service keeps "for speed" goes through it (shared values of the state, kept
 * rankings, the newest quota copies), so memory stays flat whatever the population or the churn.
 */
export class BoundedCache<V extends object | string> implements Memo<V> {
  private readonly entries: LRUCache<string, V>;

  constructor(max: number) {
    this.entries = new LRUCache<string, V>({ max });
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  /** The value kept under `key`, or `value`, which is then kept: one shared instance per key. */
  share(key: string, value: V): V {
    const kept = this.entries.get(key);
    if (kept !== undefined) return kept;
    this.entries.set(key, value);
    return value;
  }
}

/** A {@link BoundedCache} that is emptied whenever the version it is asked at moves on. */
export class VersionedMemo<V extends object> {
  private version: number | undefined;
  private cache: BoundedCache<V>;

  constructor(private readonly max: number) {
    this.cache = new BoundedCache(max);
  }

  /** The memo of `version`: the same one as long as the version stays, a fresh one once it moves. */
  at(version: number): Memo<V> {
    if (version !== this.version) {
      this.version = version;
      this.cache = new BoundedCache(this.max);
    }
    return this.cache;
  }
}
