import type { WorkloadPlacement } from '../../src/api/resources.js';
import { objectKey } from '../../src/core/workspace.js';
import { PlacementConflictError, type EvictionEvent, type PlacementStatusApi, type PlacementStatusView } from '../../src/enforcement/eviction-loop.js';
import type { TrackedState } from '../../src/state/tracked-state.js';

interface Stored {
  object: WorkloadPlacement;
  resourceVersion: string;
}

/**
 * Placements held in memory with the API server's rules for a status merge patch carrying a
 * resourceVersion: applied only to that version, else a conflict. Every applied write is fed to
 * `watchers` as a watch would, so a loop under test sees its own writes come back. This is the
 * loop's port, not a mock of the Kubernetes API: the real API server is tested in the e2e suite.
 */
export class InMemoryPlacements implements PlacementStatusApi {
  private readonly objects = new Map<string, Stored>();
  private version = 0;
  readonly patches: { key: string; status: object }[] = [];
  readonly events: EvictionEvent[] = [];
  reads = 0;
  /** Keys whose next patch is refused with a conflict, as if another writer got in first. */
  readonly conflictNext = new Set<string>();
  /** Whether applied writes reach the state at once (false: the watch lags behind). */
  watching = true;
  /** Event creations refused from now on, as by a leader that dies before it sends them. */
  failEvents = false;

  constructor(private readonly state: TrackedState) {}

  /** Stores a placement (a create or update by someone else) and feeds it to the state. */
  put(object: WorkloadPlacement): void {
    this.version += 1;
    const resourceVersion = String(this.version);
    const stored = { ...object, metadata: { ...object.metadata, resourceVersion } };
    this.objects.set(objectKey(object.metadata), { object: stored, resourceVersion });
    this.state.upsertPlacement(stored);
  }

  get(key: string): WorkloadPlacement | undefined {
    return this.objects.get(key)?.object;
  }

  read(namespace: string, name: string): Promise<PlacementStatusView | undefined> {
    this.reads += 1;
    const stored = this.objects.get(`${namespace}/${name}`);
    if (!stored) return Promise.resolve(undefined);
    const { object, resourceVersion } = stored;
    return Promise.resolve({ resourceVersion, generation: object.metadata.generation ?? 1, uid: object.metadata.uid, phase: object.status.phase, conditions: object.status.conditions });
  }

  patchStatus(namespace: string, name: string, resourceVersion: string, status: object): Promise<void> {
    const key = `${namespace}/${name}`;
    const stored = this.objects.get(key);
    if (this.conflictNext.delete(key) || !stored || stored.resourceVersion !== resourceVersion) {
      return Promise.reject(new PlacementConflictError(`${key}: resourceVersion ${resourceVersion} is not current`));
    }
    this.patches.push({ key, status });
    this.version += 1;
    const next = { ...stored.object, status: { ...stored.object.status, ...status } } as WorkloadPlacement;
    const updated = { ...next, metadata: { ...next.metadata, resourceVersion: String(this.version) } };
    this.objects.set(key, { object: updated, resourceVersion: String(this.version) });
    if (this.watching) this.state.upsertPlacement(updated);
    return Promise.resolve();
  }

  /** Delivers every stored object to the state, as a lagging watch catching up. */
  catchUp(): void {
    for (const { object } of this.objects.values()) this.state.upsertPlacement(object);
  }

  /** As the API server with the Event's name (placement and eviction time): a second create adds nothing. */
  createEvent(event: EvictionEvent): Promise<void> {
    if (this.failEvents) return Promise.reject(new Error('the leader died before its Event'));
    const same = (e: EvictionEvent) => e.namespace === event.namespace && e.name === event.name && e.eventTimeMs === event.eventTimeMs;
    if (!this.events.some(same)) this.events.push(event);
    return Promise.resolve();
  }
}
