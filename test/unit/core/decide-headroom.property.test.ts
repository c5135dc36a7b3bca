import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { decide, type Review } from '../../../src/core/decide.js';
import type { StateView } from '../../../src/core/view.js';
import { ReservationLedger, withReservations } from '../../../src/state/reservations.js';
import { mustParse } from '../../../src/quantity/index.js';
import { addManifest, aPlacement, aQuota, aSyncTarget, NOW, stateOf, type Manifest } from '../../builders/objects.js';

/** The same view with no room kept: every check exact, as decide() worked before rooms were kept. */
const exactOnly = (view: StateView): StateView => ({
  clusterRecord: (name) => view.clusterRecord(name),
  clusterRecords: () => view.clusterRecords(),
  version: () => view.version(),
  roomRankings: () => view.roomRankings(),
  quotas: (workspace) => view.quotas(workspace),
  allocated: (cluster) => view.allocated(cluster),
  used: (key) => view.used(key),
  clusterHeadroom: () => undefined,
  quotaHeadroom: () => undefined,
});

const CLUSTERS = ['a', 'b', 'c'];
// Amounts in a few units of nanos, so that sums land on the limits exactly as often as around them.
const cpu = fc.integer({ min: 0, max: 12 }).map((n) => `${n}`);
const memory = fc.constantFrom('0', '1Gi', '2Gi', '1073741825', '3Gi');

const placementArb = (name: string) =>
  fc
    .record({ cpu, memory, clusters: fc.subarray(CLUSTERS), tier: fc.constantFrom('batch', 'web') })
    .map((p) => aPlacement(name, { requirements: { cpu: p.cpu, memory: p.memory }, clusters: p.clusters, labels: { tier: p.tier } }));

const worldArb = fc.record({
  clusters: fc.array(fc.record({ cpu: fc.integer({ min: 0, max: 16 }), memory: fc.constantFrom('2Gi', '4Gi', '8Gi') }), { minLength: 3, maxLength: 3 }),
  quotas: fc.array(
    fc.record({ hard: fc.integer({ min: 0, max: 30 }), soft: fc.integer({ min: 0, max: 30 }), pods: fc.integer({ min: 0, max: 4 }), scoped: fc.boolean() }),
    { maxLength: 2 },
  ),
  existing: fc.array(fc.integer({ min: 0, max: 99 }), { maxLength: 4 }).chain((ids) => fc.tuple(...[...new Set(ids)].map((id) => placementArb(`old-${id}`)))),
  review: placementArb('web'),
  update: fc.boolean(),
  reserveOn: fc.option(fc.constantFrom(...CLUSTERS, 'team-a/q0', 'team-a/q1')),
  overcommit: fc.constantFrom({}, { cpu: '1.5' }),
  defaultQuota: fc.boolean(),
});

describe('decide with the room the state keeps', () => {
  it('answers exactly as decide with every check exact (message, warnings, demand), reservations or not', () => {
    fc.assert(
      fc.property(worldArb, (world) => {
        const manifests: Manifest[] = [
          ...world.clusters.map((c, i) => aSyncTarget(CLUSTERS[i] as string, { capacity: { cpu: `${c.cpu}`, memory: c.memory } })),
          ...world.quotas.map((q, i) =>
            aQuota(`q${i}`, { hard: { cpu: `${q.hard}`, placements: `${q.pods}` }, soft: { cpu: `${q.soft}` }, ...(q.scoped ? { scope: { matchLabels: { tier: 'batch' } } } : {}) }),
          ),
          ...world.existing,
        ];
        const state = stateOf(...manifests);
        const ledger = new ReservationLedger();
        if (world.reserveOn) {
          const quotaHold = world.reserveOn.includes('/');
          const requested = { cpu: mustParse('1') };
          ledger.reserve({
            requestUid: 'held',
            key: 'team-a/held',
            minGeneration: 1,
            expiresAtMs: NOW + 1000,
            demand: { key: 'team-a/held', minGeneration: 1, quotas: quotaHold ? [{ key: world.reserveOn, requested }] : [], clusters: quotaHold ? [] : [{ cluster: world.reserveOn, requested }] },
          });
        }
        const config = decisionConfigSchema.parse({ overcommit: world.overcommit, defaultQuota: { enabled: world.defaultQuota, hard: { cpu: '10' }, soft: { cpu: '5' } } });
        const old = world.existing[0];
        const review: Review = world.update && old ? { operation: 'UPDATE', object: { ...world.review, metadata: old.metadata }, oldObject: old } : { operation: 'CREATE', object: world.review };
        const views = [state, withReservations(state, ledger)];
        for (const view of views) {
          // Twice: the second decision reads the room the first one made the state keep.
          const first = decide(review, view, config, NOW);
          expect([first, decide(review, view, config, NOW)]).toEqual([decide(review, exactOnly(view), config, NOW), first]);
        }
        // A kept room is worked out again once a placement changes what is used and allocated.
        addManifest(state, { ...world.review, metadata: { ...(world.review.metadata as object), name: 'twin', uid: 'uid-twin' } });
        for (const view of views) expect(decide(review, view, config, NOW)).toEqual(decide(review, exactOnly(view), config, NOW));
      }),
      { numRuns: 300 },
    );
  });
});
