import { describe, expect, it } from '@jest/globals';
import { decisionConfigSchema, type DecisionConfig } from '../../../src/api/config.js';
import type { Demand } from '../../../src/core/decide.js';
import { ReservationLedger, withReservations } from '../../../src/state/reservations.js';
import { clustersWithRoom } from '../../../src/core/room.js';
import type { StateView } from '../../../src/core/view.js';
import type { TrackedState } from '../../../src/state/tracked-state.js';
import { mustParse, type ResourceList } from '../../../src/quantity/index.js';
import { addManifest, aPlacement, aQuota, aSyncTarget, NOW, placement, stateOf } from '../../builders/objects.js';

const config = decisionConfigSchema.parse({});
const cpu = (amount: string): ResourceList => ({ cpu: mustParse(amount) });

/** Four clusters of 8 cpu (12 with the 1.5 overcommit), `a` to `d`, all Ready and schedulable. */
const fourClusters = () => stateOf(aSyncTarget('a'), aSyncTarget('b'), aSyncTarget('c'), aSyncTarget('d'));

interface World {
  state: TrackedState;
  ledger: ReservationLedger;
  view: StateView;
  config: DecisionConfig;
  nowMs: number;
}

const world = (state: TrackedState): World => {
  const ledger = new ReservationLedger();
  return { state, ledger, view: withReservations(state, ledger), config, nowMs: NOW };
};

const ask = (w: World, requested: ResourceList, exclude: string[] = []): string[] =>
  clustersWithRoom({ view: w.view, config: w.config, nowMs: w.nowMs }, requested, new Set(exclude));

const holdOn = (cluster: string, amount: string): Demand => ({ key: 'team-a/held', minGeneration: 1, quotas: [], clusters: [{ cluster, requested: cpu(amount) }] });

describe('clustersWithRoom', () => {
  it.each([
    { name: 'most copies first, then by name, at most roomSuggestions', requested: cpu('4'), exclude: [], room: ['a', 'b', 'c'] },
    { name: 'excluded clusters are left out, the next ones move up', requested: cpu('4'), exclude: ['a', 'c'], room: ['b', 'd'] },
    { name: 'a shape that fits nowhere', requested: cpu('13'), exclude: [], room: [] },
    { name: 'nothing positive requested fits on every Ready, schedulable cluster, by name', requested: cpu('0'), exclude: [], room: ['a', 'b', 'c'] },
  ])('$name', ({ requested, exclude, room }) => {
    expect(ask(world(fourClusters()), requested, exclude)).toEqual(room);
  });

  // Each step changes the world after a first answer; the second answer must see the change, not a kept ranking.
  it.each<{ name: string; change: (w: World) => void; room: string[] }>([
    { name: 'nothing changes: the same answer', change: () => undefined, room: ['a', 'b', 'c'] },
    {
      name: 'a placement fills a cluster',
      change: (w) => w.state.upsertPlacement(placement(aPlacement('big', { requirements: { cpu: '10' }, clusters: ['a'] }))),
      room: ['b', 'c', 'd'],
    },
    {
      name: 'a placement leaves a cluster',
      change: (w) => {
        w.state.upsertPlacement(placement(aPlacement('big', { requirements: { cpu: '10' }, clusters: ['a'] })));
        ask(w, cpu('4'));
        w.state.deletePlacement('team-a/big');
      },
      room: ['a', 'b', 'c'],
    },
    { name: 'a cluster becomes unschedulable', change: (w) => addManifest(w.state, aSyncTarget('b', { unschedulable: true })), room: ['a', 'c', 'd'] },
    { name: 'a cluster is deleted', change: (w) => w.state.deleteSyncTarget('a'), room: ['b', 'c', 'd'] },
    { name: 'a bigger cluster appears', change: (w) => addManifest(w.state, aSyncTarget('z', { capacity: { cpu: '64' } })), room: ['z', 'a', 'b'] },
    { name: 'a reservation holds room on a cluster', change: (w) => w.ledger.reserve({ requestUid: 'r1', key: 'team-a/held', minGeneration: 1, demand: holdOn('a', '10'), expiresAtMs: NOW + 1000 }), room: ['b', 'c', 'd'] },
    {
      name: 'a released reservation gives the room back',
      change: (w) => {
        w.ledger.reserve({ requestUid: 'r1', key: 'team-a/held', minGeneration: 1, demand: holdOn('a', '10'), expiresAtMs: NOW + 1000 });
        ask(w, cpu('4'));
        w.ledger.release('r1');
      },
      room: ['a', 'b', 'c'],
    },
    { name: 'the configuration changes', change: (w) => (w.config = decisionConfigSchema.parse({ roomSuggestions: 1 })), room: ['a'] },
    // A quota says nothing about clusters: the kept ranking stays valid.
    { name: 'a quota changes', change: (w) => addManifest(w.state, aQuota('compute', { hard: { cpu: '1' } })), room: ['a', 'b', 'c'] },
  ])('$name', ({ change, room }) => {
    const w = world(fourClusters());
    expect(ask(w, cpu('4'))).toEqual(['a', 'b', 'c']);
    change(w);
    expect(ask(w, cpu('4'))).toEqual(room);
  });

  it('a kept ranking answers other exclusions of the same shape', () => {
    const w = world(fourClusters());
    expect([ask(w, cpu('4'), ['a']), ask(w, cpu('4'), ['b', 'c']), ask(w, cpu('4'))]).toEqual([['b', 'c', 'd'], ['a', 'd'], ['a', 'b', 'c']]);
  });

  it('a cluster whose heartbeat goes stale as the clock moves on drops out of a kept ranking', () => {
    // `a` last beat 50 s before NOW; 3 x 20s makes it stale 10 s after NOW. The others beat 5 s before NOW.
    const w = world(stateOf(aSyncTarget('a', { heartbeatAgoMs: 50_000 }), aSyncTarget('b'), aSyncTarget('c'), aSyncTarget('d')));
    expect(ask(w, cpu('4'))).toEqual(['a', 'b', 'c']);
    w.nowMs = NOW + 10_001;
    expect(ask(w, cpu('4'))).toEqual(['b', 'c', 'd']);
  });

  it('a clock that goes back finds a cluster fresh again that was stale', () => {
    const w = world(stateOf(aSyncTarget('a', { heartbeatAgoMs: 50_000 }), aSyncTarget('b')));
    w.nowMs = NOW + 10_001;
    expect(ask(w, cpu('4'))).toEqual(['b']);
    w.nowMs = NOW;
    expect(ask(w, cpu('4'))).toEqual(['a', 'b']);
  });

  it('different shapes are ranked apart', () => {
    const w = world(stateOf(aSyncTarget('a', { capacity: { cpu: '8', memory: '1Gi' } }), aSyncTarget('b', { capacity: { cpu: '4', memory: '64Gi' } })));
    expect([ask(w, cpu('1')), ask(w, { memory: mustParse('1Gi') }), ask(w, cpu('1'))]).toEqual([['a', 'b'], ['b', 'a'], ['a', 'b']]);
  });
});

describe('StateView.version', () => {
  it.each<{ name: string; change: (state: TrackedState) => void; moves: boolean }>([
    { name: 'a SyncTarget upserted', change: (s) => addManifest(s, aSyncTarget('b')), moves: true },
    { name: 'a SyncTarget deleted', change: (s) => s.deleteSyncTarget('a'), moves: true },
    { name: 'an unknown SyncTarget deleted', change: (s) => s.deleteSyncTarget('nowhere'), moves: false },
    { name: 'a placement on a cluster', change: (s) => addManifest(s, aPlacement('p', { clusters: ['a'] })), moves: true },
    { name: 'a placement on no cluster', change: (s) => addManifest(s, aPlacement('p')), moves: false },
    { name: 'a quota', change: (s) => addManifest(s, aQuota('compute', { hard: { cpu: '1' } })), moves: false },
  ])('$name: moves on = $moves', ({ change, moves }) => {
    const state = stateOf(aSyncTarget('a'));
    const before = state.version();
    change(state);
    expect(state.version() !== before).toBe(moves);
  });

  it.each<{ name: string; demand: Demand; moves: boolean }>([
    { name: 'a reservation on a cluster', demand: holdOn('a', '1'), moves: true },
    { name: 'a reservation on quotas only', demand: { key: 'team-a/p', minGeneration: 1, quotas: [{ key: 'team-a/compute', requested: cpu('1') }], clusters: [] }, moves: false },
  ])('with reservations, $name: moves on = $moves', ({ demand, moves }) => {
    const w = world(stateOf(aSyncTarget('a')));
    const before = w.view.version();
    w.ledger.reserve({ requestUid: 'r1', key: demand.key, minGeneration: 1, demand, expiresAtMs: NOW });
    expect(w.view.version() !== before).toBe(moves);
  });
});
