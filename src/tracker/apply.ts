import type { TrackedKind, TrackedObject } from '../api/resources.js';
import { trackedKey } from '../core/workspace.js';
import type { TrackedState } from '../state/tracked-state.js';
import { keyOf, parseObject } from './kinds.js';

/** Where applied changes are reported (the tracker turns them into its events). */
export interface ApplySink {
  /** An object was added or replaced (`object`), or deleted (`undefined`). */
  change(kind: TrackedKind, key: string, object: TrackedObject | undefined): void;
  /** An object failed its schema and was skipped; `issues` names the fields. */
  invalid(kind: TrackedKind, key: string | undefined, issues: string, resourceVersion: string | undefined): void;
}

/**
 * A list being read page by page. A relist reaches the state only when its last page is in; a kind's
 * first list is applied as its pages come in (see KindApplier), and only their keys are kept here.
 */
export interface CollectedList {
  /** Listed objects waiting for the swap (relists). */
  readonly objects: TrackedObject[];
  /** Keys of listed objects already applied (a kind's first list). */
  readonly applied: Set<string>;
  /** Keys of listed objects the schema refused. */
  readonly invalidKeys: Set<string>;
}

export const emptyList = (): CollectedList => ({ objects: [], applied: new Set(), invalidKeys: new Set() });

/**
 * Applies one kind's lists and watch events to the shared state. An object its schema refuses is
 * skipped — logged, counted, never thrown — and what the state held under its key stays: the last
 * good version. Dropping it instead would free its charge on quotas and clusters (admitting what
 * should be denied), while a kept SyncTarget whose heartbeat stops advancing turns NotReady on its
 * own. The same rule holds for watch events and relists, so the two paths agree.
 */
export class KindApplier {
  private invalidKeys = new Set<string>();
  private parseErrorCount = 0;
  /** Whether a list of this kind has been swapped in: until then the kind is out of view for everyone. */
  private listed = false;

  constructor(
    private readonly kind: TrackedKind,
    private readonly state: TrackedState,
    private readonly sink: ApplySink,
  ) {}

  /** Objects refused by their schema so far (each refusal counts, also of the same object again). */
  get parseErrors(): number {
    return this.parseErrorCount;
  }

  /** Objects whose current version the schema refuses (the state holds their last good version, if any). */
  get invalidCount(): number {
    return this.invalidKeys.size;
  }

  /**
   * Parses one page of a list into `list`. On a relist the parsed objects wait for the swap, so no
   * decision sees half a list. On the kind's first list they go into the state at once: the kind is
   * not in view until that list is swapped in, so no decision reads it meanwhile, and the tracker then
   * never holds a whole list of parsed objects beside the state (SPEC §12: memory of a cold sync).
   */
  collect(items: readonly unknown[], list: CollectedList): void {
    for (const item of items) {
      const parsed = parseObject(this.kind, item);
      if (!parsed.ok) {
        if (parsed.key !== undefined) list.invalidKeys.add(parsed.key);
        this.refused(parsed.key, parsed.issues, undefined);
      } else if (this.listed) list.objects.push(parsed.tracked);
      else {
        this.state.upsert(parsed.tracked);
        list.applied.add(parsed.key);
        this.sink.change(this.kind, parsed.key, parsed.tracked);
      }
    }
  }

  /**
   * Makes the kind hold exactly a complete list, in one synchronous step (no decision can see a
   * half-applied list), then reports every deletion and every listed object not reported yet.
   * Deleted: what the state held and the list did not name (on a first list, what an earlier,
   * failed attempt applied).
   */
  swap(list: CollectedList): { deleted: number } {
    const keep = list.applied.size === 0 ? list.invalidKeys : new Set([...list.applied, ...list.invalidKeys]);
    const deleted = this.state.replaceKind(this.kind, list.objects, keep);
    this.invalidKeys = new Set(list.invalidKeys);
    this.listed = true;
    for (const key of deleted) this.sink.change(this.kind, key, undefined);
    for (const tracked of list.objects) this.sink.change(this.kind, trackedKey(tracked), tracked);
    return { deleted: deleted.length };
  }

  /** Applies one ADDED / MODIFIED / DELETED event. */
  applyEvent(type: 'ADDED' | 'MODIFIED' | 'DELETED', object: unknown, resourceVersion: string): void {
    if (type === 'DELETED') return this.delete(object, resourceVersion);
    const parsed = parseObject(this.kind, object);
    if (!parsed.ok) {
      if (parsed.key !== undefined) this.invalidKeys.add(parsed.key);
      return this.refused(parsed.key, parsed.issues, resourceVersion);
    }
    this.state.upsert(parsed.tracked);
    this.invalidKeys.delete(parsed.key);
    this.sink.change(this.kind, parsed.key, parsed.tracked);
  }

  private delete(object: unknown, resourceVersion: string): void {
    // Deletion needs only the name: an object the schema refuses is still removed.
    const key = keyOf(this.kind, object);
    if (key === undefined) return this.refused(undefined, 'metadata.name: a DELETED event must name the object', resourceVersion);
    this.state.delete(this.kind, key);
    this.invalidKeys.delete(key);
    this.sink.change(this.kind, key, undefined);
  }

  private refused(key: string | undefined, issues: string, resourceVersion: string | undefined): void {
    this.parseErrorCount++;
    this.sink.invalid(this.kind, key, issues, resourceVersion);
  }
}
