/**
 * The status aggregation writer on a fake clock, against placements held in memory with the API
 * server's compare-and-swap rule; every applied write comes back to the writer as a watch event, so
 * a write loop would show up as extra writes.
 */
import { afterEach, describe, expect, it } from '@jest/globals';
import { workloadPlacementSchema, type WorkloadPlacement } from '../../../src/api/resources.js';
import { aggregateClusterStatuses, aggregationInput, aggregationPatch, type AggregationPatch } from '../../../src/core/status-aggregation.js';
import { objectKey } from '../../../src/core/workspace.js';
import { PlacementConflictError } from '../../../src/enforcement/eviction-loop.js';
import { createStatusAggregationWriter, type AggregationApi, type StatusAggregationSettings, type StatusAggregationWriter } from '../../../src/enforcement/status-aggregation-writer.js';
import { TrackedState } from '../../../src/state/tracked-state.js';
import { FakeClock } from '../../builders/fake-clock.js';
import { aPlacement, NOW } from '../../builders/objects.js';

const SETTINGS: StatusAggregationSettings = { staleAfterSeconds: 60, clusterPriority: [], debounceMs: 500, maxWritesPerSecond: 100, recheckSeconds: 5 };
const CLUSTERS = ['a', 'b', 'c'];
const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

class MemoryPlacements implements AggregationApi {
  readonly objects = new Map<string, WorkloadPlacement>();
  readonly writes: { key: string; patch: AggregationPatch }[] = [];
  reads = 0;
  conflictNext = false;
  private version = 0;
  watcher?: StatusAggregationWriter;

  constructor(readonly state: TrackedState) {}

  /** Stores a placement as someone else wrote it, and delivers the watch event. */
  put(placement: WorkloadPlacement): void {
    this.version += 1;
    const stored = { ...placement, metadata: { ...placement.metadata, resourceVersion: String(this.version) } };
    const key = objectKey(stored.metadata);
    this.objects.set(key, stored);
    this.state.upsertPlacement(stored);
    this.watcher?.observe(key, stored);
  }

  read(namespace: string, name: string): Promise<WorkloadPlacement | undefined> {
    this.reads += 1;
    return Promise.resolve(this.objects.get(`${namespace}/${name}`));
  }

  patchStatus(namespace: string, name: string, resourceVersion: string, patch: AggregationPatch): Promise<void> {
    const key = `${namespace}/${name}`;
    const stored = this.objects.get(key);
    if (!stored || this.conflictNext || stored.metadata.resourceVersion !== resourceVersion) {
      this.conflictNext = false;
      return Promise.reject(new PlacementConflictError(key));
    }
    this.writes.push({ key, patch });
    const merged = Object.fromEntries(Object.entries({ ...stored.status.aggregatedStatus, ...patch.aggregatedStatus }).filter(([, v]) => v !== null));
    const { aggregatedStatus: _, ...rest } = patch;
    this.put({ ...stored, status: { ...stored.status, ...rest, conditions: [...(patch.conditions ?? stored.status.conditions)], aggregatedStatus: merged } });
    return Promise.resolve();
  }
}

const at = (ms: number) => new Date(ms).toISOString();

function placement(name: string, phases: readonly string[], updatedMs = NOW, strategy = 'UseNewest'): WorkloadPlacement {
  const manifest = aPlacement(name, { clusters: CLUSTERS });
  return workloadPlacementSchema.parse({
    ...manifest,
    metadata: { ...(manifest.metadata as object), generation: 1 },
    spec: { ...(manifest.spec as object), conflictStrategy: strategy },
    status: { phase: 'Pending', clusterStatuses: phases.map((phase, i) => ({ cluster: CLUSTERS[i], phase, observedGeneration: 1, lastUpdated: at(updatedMs) })) },
  });
}

let writer: StatusAggregationWriter | undefined;
afterEach(async () => {
  await writer?.stop();
  writer = undefined;
});

function setUp(settings: Partial<StatusAggregationSettings> = {}, leading = { now: true }) {
  const clock = new FakeClock(NOW);
  const state = new TrackedState();
  const api = new MemoryPlacements(state);
  writer = createStatusAggregationWriter({
    settings: { ...SETTINGS, ...settings },
    api,
    isLeader: () => leading.now,
    ready: () => true,
    reportTimes: () => state.statusReportTimes(),
    clock: clock.now,
    timers: clock.timers(),
    log: silent,
  });
  api.watcher = writer;
  writer.start();
  return { clock, api, writer, leading };
}

describe('status aggregation writer', () => {
  it('writes once per burst of changes, debounced per placement, and not again for its own write', async () => {
    const { clock, api } = setUp();
    api.put(placement('web', ['Running']));
    await clock.advance(200);
    api.put(placement('web', ['Running', 'Running']));
    await clock.advance(200);
    api.put(placement('web', ['Running', 'Running', 'Running']));
    await clock.advance(499);
    expect(api.writes).toHaveLength(0);
    await clock.advance(1);
    expect(api.writes).toHaveLength(1);
    expect(api.writes[0]?.patch).toMatchObject({ phase: 'Placed', aggregatedStatus: { phase: 'Running', ready: '3/3' } });
    // Its own write came back through the watch: nothing more to write, however long we wait.
    await clock.advance(60_000 - 901);
    expect(api.writes).toHaveLength(1);
    expect(api.reads).toBe(1);
  });

  it('writes nothing while not leading, and what is due once it leads', async () => {
    const { clock, api, writer: w, leading } = setUp({}, { now: false });
    api.put(placement('web', ['Running', 'Failed', 'Running'], NOW, 'Manual'));
    await clock.advance(5000);
    expect(api.writes).toHaveLength(0);
    expect(w.stats().pending).toBe(1);
    leading.now = true;
    w.trigger();
    await clock.advance(0);
    expect(api.writes.map((write) => write.patch.conditions?.[0]?.status)).toEqual(['True']);
    expect(w.stats()).toMatchObject({ pending: 0, writes: 1 });
  });

  it('forgets a placement whose stored status is already right (another leader wrote it)', async () => {
    const { clock, api, writer: w } = setUp({}, { now: false });
    api.put(placement('web', ['Running']));
    expect(w.stats().pending).toBe(1);
    const written = placement('web', ['Running']);
    api.put(written);
    // A copy with the status as a previous leader wrote it.
    const patch = aggregationPatch(written, aggregateClusterStatuses(aggregationInput(written), { staleAfterMs: 60_000, clusterPriority: [] }, NOW), at(NOW))!;
    api.put({ ...written, status: { ...written.status, ...patch, conditions: [...(patch.conditions ?? [])], aggregatedStatus: patch.aggregatedStatus } });
    expect(w.stats().pending).toBe(0);
    await clock.advance(1000);
    expect(api.writes).toHaveLength(0);
  });

  it('retries after a conflict with what is stored then', async () => {
    const { clock, api, writer: w } = setUp();
    api.put(placement('web', ['Running', 'Running', 'Running']));
    api.conflictNext = true;
    await clock.advance(500);
    expect(w.stats()).toMatchObject({ conflicts: 1, writes: 0, pending: 1 });
    await clock.advance(500);
    expect(w.stats()).toMatchObject({ conflicts: 1, writes: 1, pending: 0 });
  });

  it('keeps to maxWritesPerSecond', async () => {
    const { clock, api } = setUp({ maxWritesPerSecond: 2, debounceMs: 0 });
    for (let i = 0; i < 10; i++) api.put(placement(`p${i}`, ['Running']));
    await clock.advance(0);
    expect(api.writes).toHaveLength(2);
    await clock.advance(1000);
    expect(api.writes).toHaveLength(4);
    await clock.advance(3000);
    expect(api.writes).toHaveLength(10);
  });

  it('rewrites a placement whose entry went stale, with no event to say so', async () => {
    const { clock, api } = setUp();
    api.put(placement('web', ['Running', 'Running', 'Running'], NOW - 30_000));
    await clock.advance(1000);
    expect(api.writes.map((w) => w.patch.aggregatedStatus.ready)).toEqual(['3/3']);
    // Stale once 60 s old: at NOW + 30 s; the recheck every 5 s sees it, then the debounce.
    await clock.advance(29_000 + 5_000 + 500);
    expect(api.writes.map((w) => [w.patch.aggregatedStatus.ready, w.patch.phase])).toEqual([
      ['3/3', 'Placed'],
      ['0/3', 'Pending'],
    ]);
    await clock.advance(60_000);
    expect(api.writes).toHaveLength(2);
  });

  // One write a second, five placements changed at once: p0 is written at 0.5 s, p1-p4 wait their turn.
  it.each([
    ['waiting for its turn (past its debounce) keeps its place', 'p3', 1000, ['p0', 'p1', 'p2', 'p3', 'p4']],
    ['still within its debounce is debounced again, behind the others', 'p3', 200, ['p0', 'p1', 'p2', 'p4', 'p3']],
    ['already written is due again, at the back', 'p0', 1000, ['p0', 'p1', 'p2', 'p3', 'p4', 'p0']],
  ])('a placement changed while %s', async (_, changed, atMs, order) => {
    const { clock, api } = setUp({ maxWritesPerSecond: 1 });
    for (let i = 0; i < 5; i++) api.put(placement(`p${i}`, ['Running']));
    await clock.advance(atMs);
    api.put(placement(changed, ['Running', 'Running']));
    await clock.advance(10_000 - atMs);
    expect(api.writes.map((w) => w.key.split('/')[1])).toEqual(order);
    // Its last write says what changed, however soon after the change its turn came.
    expect(api.writes.filter((w) => w.key.endsWith(`/${changed}`)).at(-1)?.patch.aggregatedStatus.ready).toBe('2/3');
  });
});
