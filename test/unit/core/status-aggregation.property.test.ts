/**
 * Properties of status aggregation (issue 17): the result does not depend on the order of the
 * entries or of C; entries that agree (one phase, one generation, all of C) give no conflict;
 * Manual never picks; every other strategy picks exactly when the phases differ, and picks a
 * reported cluster of C whose phase becomes the aggregated phase.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { conflictStrategies } from '../../../src/api/resources.js';
import { aggregateClusterStatuses, type AggregationInput, type ClusterStatusEntry } from '../../../src/core/status-aggregation.js';

const NOW = Date.parse('2026-11-23T12:00:00Z');
const NAMES = ['a', 'b', 'c', 'd', 'e'];
const SETTINGS = { staleAfterMs: 60_000, clusterPriority: ['c', 'a'] };

const entryArb = (cluster: string): fc.Arbitrary<ClusterStatusEntry> =>
  fc.record({
    cluster: fc.constant(cluster),
    phase: fc.constantFrom('Running', 'Pending', 'Failed'),
    observedGeneration: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
    // Coarse times so that ties happen.
    lastUpdated: fc.option(fc.integer({ min: 0, max: 4 }).map((s) => new Date(NOW - s * 30_000).toISOString()), { nil: undefined }),
  });

const inputArb: fc.Arbitrary<AggregationInput> = fc
  .record({
    clusters: fc.subarray(NAMES, { minLength: 1 }),
    reporting: fc.subarray([...NAMES, 'x', 'y']),
    strategy: fc.constantFrom(...conflictStrategies),
    generation: fc.integer({ min: 1, max: 3 }),
  })
  .chain(({ clusters, reporting, strategy, generation }) =>
    fc.tuple(...reporting.map(entryArb)).map((entries): AggregationInput => ({ clusters, entries, strategy, generation })),
  );

const shuffledArb = inputArb.chain((input) =>
  fc.tuple(fc.shuffledSubarray([...input.entries], { minLength: input.entries.length }), fc.shuffledSubarray([...input.clusters], { minLength: input.clusters.length })).map(
    ([entries, clusters]) => [input, { ...input, entries, clusters }] as const,
  ),
);

describe('status aggregation properties', () => {
  it('does not depend on the order of the entries or of the clusters', () => {
    fc.assert(
      fc.property(shuffledArb, ([input, shuffled]) => {
        expect(aggregateClusterStatuses(shuffled, SETTINGS, NOW)).toEqual(aggregateClusterStatuses(input, SETTINGS, NOW));
      }),
    );
  });

  it('agreeing entries from every cluster of C give no conflict and no pick', () => {
    const agreeing = fc
      .record({ clusters: fc.subarray(NAMES, { minLength: 1 }), phase: fc.constantFrom('Running', 'Failed'), strategy: fc.constantFrom(...conflictStrategies), times: fc.array(fc.integer({ min: 0, max: 120 }), { minLength: 5, maxLength: 5 }) })
      .map(({ clusters, phase, strategy, times }): AggregationInput => ({
        generation: 2,
        clusters,
        strategy,
        entries: clusters.map((cluster, i) => ({ cluster, phase, observedGeneration: 2, lastUpdated: new Date(NOW - (times[i] ?? 0) * 1000).toISOString() })),
      }));
    fc.assert(
      fc.property(agreeing, (input) => {
        const result = aggregateClusterStatuses(input, SETTINGS, NOW);
        expect(result.conflicts).toEqual([]);
        expect(result.status.winner).toBeUndefined();
        expect(result.condition.status).toBe('False');
        expect(result.status.phase).toBe(input.entries[0]?.phase);
      }),
    );
  });

  it('Manual never picks; the others pick a reported cluster of C exactly when the phases differ', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = aggregateClusterStatuses(input, SETTINGS, NOW);
        const inC = input.entries.filter((entry) => input.clusters.includes(entry.cluster));
        const disagree = new Set(inC.map((entry) => entry.phase)).size > 1;
        if (input.strategy === 'Manual') {
          expect(result.status.winner).toBeUndefined();
          expect(result.condition.status).toBe(disagree ? 'True' : 'False');
          if (disagree) expect(result.status.phase).toBe('Unknown');
          return;
        }
        expect(result.condition.status).toBe('False');
        if (!disagree) {
          expect(result.status.winner).toBeUndefined();
          return;
        }
        const winner = inC.find((entry) => entry.cluster === result.status.winner);
        expect(winner).toBeDefined();
        expect(result.status.phase).toBe(winner?.phase);
      }),
    );
  });

  it('counts stay within their bounds: running <= current <= reported <= total', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const { total, reported, current, running, stale } = aggregateClusterStatuses(input, SETTINGS, NOW).status.clusters;
        expect(total).toBe(new Set(input.clusters).size);
        expect(running).toBeLessThanOrEqual(current);
        expect(current).toBeLessThanOrEqual(reported);
        expect(stale).toBeLessThanOrEqual(reported);
        expect(reported).toBeLessThanOrEqual(total);
      }),
    );
  });
});
