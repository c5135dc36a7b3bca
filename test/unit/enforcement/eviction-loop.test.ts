import { describe, expect, it } from '@jest/globals';
import { DEFAULT_OVERCOMMIT } from '../../../src/api/config.js';
import type { EnforcementMode } from '../../../src/api/resources.js';
import { createEvictionLoop, type EvictionLoopSettings } from '../../../src/enforcement/eviction-loop.js';
import { TrackedState } from '../../../src/state/tracked-state.js';
import { FakeClock } from '../../builders/fake-clock.js';
import { InMemoryPlacements } from '../../builders/in-memory-placements.js';
import { aPlacement, aQuota, aSyncTarget, ago, NOW, placement, quota, syncTarget, type Manifest } from '../../builders/objects.js';

const silent = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

function settingsWith(overrides: Partial<EvictionLoopSettings['enforcement']> = {}): EvictionLoopSettings {
  return {
    overcommit: DEFAULT_OVERCOMMIT,
    defaultQuota: { enabled: false, hard: {}, soft: {} },
    enforcement: { defaultMode: 'Soft', clusterMode: 'Soft', notReadyGraceSeconds: 300, intervalSeconds: 60, maxWritesPerRound: 50, debounceMs: 1000, ...overrides },
  };
}

const compute = (cpu: string, mode?: EnforcementMode): Manifest => {
  const manifest = aQuota('compute', { hard: { cpu } });
  return { ...manifest, spec: { ...(manifest.spec as object), ...(mode ? { enforcementMode: mode } : {}) } };
};

const placed = (name: string, secondsAgo: number, priority = 0): Manifest => {
  const manifest = aPlacement(name, { requirements: { cpu: '2' }, priority });
  return { ...manifest, metadata: { ...(manifest.metadata as object), creationTimestamp: ago(secondsAgo * 1000), generation: 3 } };
};

/** team-a/compute hard 6 with three 2-cpu placements: `new` (priority 0, newest), `old` (priority 0), `vip` (priority 5). */
function scenario(options: { mode?: EnforcementMode; settings?: Partial<EvictionLoopSettings['enforcement']> } = {}) {
  const clock = new FakeClock(NOW);
  const state = new TrackedState();
  const api = new InMemoryPlacements(state);
  state.upsertQuota(quota(compute('6', options.mode)));
  for (const manifest of [placed('old', 300), placed('new', 60), placed('vip', 30, 5)]) api.put(placement(manifest));
  const control = { leader: true, ready: true, rounds: 0 };
  const loop = createEvictionLoop({
    state,
    settings: settingsWith(options.settings),
    api,
    isLeader: () => control.leader,
    ready: () => {
      control.rounds += 1;
      return control.ready;
    },
    identity: 'replica-1',
    clock: clock.now,
    timers: clock.timers(),
    log: silent,
  });
  const lower = (cpu: string) => state.upsertQuota(quota(compute(cpu, options.mode)));
  return { clock, state, api, control, loop, lower };
}

const conditionOf = (api: InMemoryPlacements, key: string, type: string) => api.get(key)?.status.conditions.find((condition) => condition.type === type);

describe('eviction loop, Hard', () => {
  it('evicts the lowest priority, newest placement once the quota is lowered, with a condition and an Event', async () => {
    const { api, loop, lower } = scenario({ mode: 'Hard' });
    lower('4');
    const report = await loop.runRound();
    expect(report).toEqual({ evicted: ['team-a/new'], marked: [], cleared: [], conflicts: 0, deferred: 0 });
    expect(api.get('team-a/new')?.status.phase).toBe('Evicted');
    expect(conditionOf(api, 'team-a/new', 'Evicted')).toEqual({
      type: 'Evicted',
      status: 'True',
      reason: 'QuotaExceeded',
      message: 'quota team-a/compute: cpu used 6, hard 4; evicting frees 2',
      lastTransitionTime: new Date(NOW).toISOString(),
      observedGeneration: 3,
    });
    expect(api.events).toEqual([
      { namespace: 'team-a', name: 'new', uid: 'uid-new', reason: 'QuotaExceeded', note: 'quota team-a/compute: cpu used 6, hard 4; evicting frees 2', reportingInstance: 'replica-1', eventTimeMs: NOW },
    ]);
    expect(api.get('team-a/old')?.status.phase).toBeUndefined();
  });

  it('writes nothing more once its own writes come back through the watch', async () => {
    const { api, loop, lower } = scenario({ mode: 'Hard' });
    lower('4');
    await loop.runRound();
    expect(await loop.runRound()).toEqual({ evicted: [], marked: [], cleared: [], conflicts: 0, deferred: 0 });
    expect(api.patches).toHaveLength(1);
    expect(api.events).toHaveLength(1);
  });

  it('never evicts twice: a placement already Evicted in the API server (the watch behind, a new leader) is skipped', async () => {
    const { api, loop, lower } = scenario({ mode: 'Hard' });
    lower('4');
    api.watching = false;
    await loop.runRound();
    const again = await loop.runRound();
    expect(again.evicted).toEqual([]);
    expect(api.patches).toHaveLength(1);
    expect(api.events).toHaveLength(1);
  });

  it('a new leader sends the Event a killed leader never sent, and no second one of those it did', async () => {
    const { api, state, loop, lower, clock } = scenario({ mode: 'Hard', settings: {} });
    lower('2'); // two evictions: new, then old
    api.failEvents = true; // the first leader dies between its status writes and their Events
    expect((await loop.runRound()).evicted).toEqual(['team-a/new', 'team-a/old']);
    expect(api.events).toEqual([]);
    api.failEvents = false;
    await clock.advance(5_000);
    const next = createEvictionLoop({ state, settings: settingsWith(), api, isLeader: () => true, ready: () => true, identity: 'replica-2', clock: clock.now, timers: clock.timers(), log: silent });
    expect((await next.runRound()).evicted).toEqual([]);
    expect(api.events.map((event) => [event.name, event.reason, event.eventTimeMs, event.reportingInstance])).toEqual([
      ['new', 'QuotaExceeded', NOW, 'replica-2'],
      ['old', 'QuotaExceeded', NOW, 'replica-2'],
    ]);
    // Leading on, it does not replay them again; a third leader finds them there.
    await next.runRound();
    const third = createEvictionLoop({ state, settings: settingsWith(), api, isLeader: () => true, ready: () => true, identity: 'replica-3', clock: clock.now, timers: clock.timers(), log: silent });
    await third.runRound();
    expect(api.events).toHaveLength(2);
  });

  it('leaves a conflict to the next round, which decides on fresh state', async () => {
    const { api, loop, lower } = scenario({ mode: 'Hard' });
    lower('4');
    api.conflictNext.add('team-a/new');
    expect(await loop.runRound()).toMatchObject({ evicted: [], conflicts: 1 });
    expect(api.events).toHaveLength(0);
    expect((await loop.runRound()).evicted).toEqual(['team-a/new']);
  });

  it('does nothing while not leader or not ready', async () => {
    const { api, control, loop, lower } = scenario({ mode: 'Hard' });
    lower('2');
    control.leader = false;
    expect((await loop.runRound()).evicted).toEqual([]);
    control.leader = true;
    control.ready = false;
    expect((await loop.runRound()).evicted).toEqual([]);
    expect(api.patches).toHaveLength(0);
  });

  it('bounds the writes of a round and leaves the rest, in eviction order, to a round soon after', async () => {
    const { api, clock, loop, lower } = scenario({ mode: 'Hard', settings: { maxWritesPerRound: 1 } });
    loop.start();
    lower('2');
    expect(await loop.runRound()).toMatchObject({ evicted: ['team-a/new'], deferred: 1 });
    await clock.advance(1000);
    expect(api.patches.map((patch) => patch.key)).toEqual(['team-a/new', 'team-a/old']);
    await loop.stop();
  });

  it('stops between two writes when leadership ends mid-round (fencing)', async () => {
    const { api, control, loop, lower } = scenario({ mode: 'Hard' });
    lower('2');
    const realRead = api.read.bind(api);
    api.read = async (namespace, name) => {
      const view = await realRead(namespace, name);
      control.leader = false;
      return view;
    };
    expect((await loop.runRound()).evicted).toEqual(['team-a/new']);
    expect(api.patches).toHaveLength(1);
  });
});

describe('eviction loop, Soft', () => {
  it('marks the placement that would be evicted, evicts nothing, and clears the mark once the quota is raised', async () => {
    const { api, loop, lower } = scenario({ mode: 'Soft' });
    lower('4');
    expect(await loop.runRound()).toMatchObject({ evicted: [], marked: ['team-a/new'] });
    expect(api.get('team-a/new')?.status.phase).toBeUndefined();
    expect(conditionOf(api, 'team-a/new', 'QuotaExceeded')).toMatchObject({ status: 'True', reason: 'QuotaExceeded', message: expect.stringContaining('cpu used 6, hard 4') as unknown });
    expect(api.events).toHaveLength(0);
    expect(await loop.runRound()).toMatchObject({ marked: [], cleared: [] });
    lower('8');
    expect(await loop.runRound()).toMatchObject({ cleared: ['team-a/new'] });
    expect(conditionOf(api, 'team-a/new', 'QuotaExceeded')).toMatchObject({ status: 'False', reason: 'WithinLimits' });
    expect(await loop.runRound()).toMatchObject({ marked: [], cleared: [] });
    expect(api.patches).toHaveLength(2);
  });
});

describe('eviction loop, timing', () => {
  it('runs a round debounceMs after a quota limit changes, and not for a change that cannot matter', async () => {
    const { api, clock, control, loop, lower, state } = scenario({ mode: 'Hard' });
    loop.start();
    const touchQuota = () => loop.touch('WorkspaceQuota', 'team-a/compute', { kind: 'WorkspaceQuota', object: state.quotaObject('team-a/compute')! });
    touchQuota();
    await clock.advance(1000);
    expect(control.rounds).toBe(1);
    touchQuota();
    await clock.advance(5000);
    expect(control.rounds).toBe(1);
    lower('4');
    touchQuota();
    touchQuota();
    await clock.advance(999);
    expect(api.patches).toHaveLength(0);
    await clock.advance(1);
    expect(api.patches.map((patch) => patch.key)).toEqual(['team-a/new']);
    await loop.stop();
  });

  it('starts a round for a SyncTarget whose capacity or Ready condition changed, not for a heartbeat', async () => {
    const { clock, control, loop } = scenario();
    loop.start();
    const touchCluster = (manifest: Manifest) => loop.touch('SyncTarget', 'us-east-1', { kind: 'SyncTarget', object: syncTarget(manifest) });
    touchCluster(aSyncTarget('us-east-1', { heartbeatAgoMs: 5_000 }));
    await clock.advance(1000);
    expect(control.rounds).toBe(1);
    touchCluster(aSyncTarget('us-east-1', { heartbeatAgoMs: 1_000 }));
    await clock.advance(1000);
    expect(control.rounds).toBe(1);
    touchCluster(aSyncTarget('us-east-1', { heartbeatAgoMs: 1_000, capacity: { cpu: '4' } }));
    await clock.advance(1000);
    expect(control.rounds).toBe(2);
    touchCluster(aSyncTarget('us-east-1', { heartbeatAgoMs: 1_000, capacity: { cpu: '4' }, ready: false }));
    await clock.advance(1000);
    expect(control.rounds).toBe(3);
    await loop.stop();
  });

  it('runs every intervalSeconds without any event', async () => {
    const { api, clock, loop, lower } = scenario({ mode: 'Hard' });
    loop.start();
    lower('4');
    await clock.advance(59_999);
    expect(api.patches).toHaveLength(0);
    await clock.advance(1);
    expect(api.patches).toHaveLength(1);
    lower('2');
    await clock.advance(60_000);
    expect(api.patches.map((patch) => patch.key)).toEqual(['team-a/new', 'team-a/old']);
    await loop.stop();
    await clock.advance(600_000);
    expect(api.patches).toHaveLength(2);
  });
});
