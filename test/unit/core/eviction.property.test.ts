/**
 * Properties of the eviction choice (SPEC §6), on random states whose used and allocated are the sums
 * of their placements' charges (as the tracker keeps them). Limits are checked here by a recount of
 * the placements left, written apart from the implementation.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { EnforcementMode } from '../../../src/api/resources.js';
import { chooseEvictions, type ClusterUsage, type EvictionCandidate, type EvictionChoice, type EvictionInput, type QuotaUsage } from '../../../src/core/eviction.js';
import { addLists, amountOf, cmp, type ResourceList } from '../../../src/quantity/index.js';
import { aCandidate, aClusterUsage, aQuotaUsage, list, summary } from '../../builders/eviction.js';

const GRACE = 300_000;
const CLUSTERS = ['c0', 'c1', 'c2'];
const NAMESPACES = ['team-a', 'team-b'];
const QUOTAS = NAMESPACES.flatMap((namespace) => [`${namespace}/q0`, `${namespace}/q1`]);

const modeArb: fc.Arbitrary<EnforcementMode> = fc.constantFrom('Soft', 'Hard');

const candidateArb = fc
  .record({
    name: fc.constantFrom('p0', 'p1', 'p2', 'p3', 'p4', 'p5'),
    namespace: fc.constantFrom(...NAMESPACES),
    priority: fc.integer({ min: -1, max: 1 }),
    created: fc.integer({ min: 0, max: 2 }),
    clusters: fc.subarray(CLUSTERS),
    cpu: fc.integer({ min: 0, max: 4 }),
    memory: fc.integer({ min: 0, max: 3 }),
    quotas: fc.subarray(['q0', 'q1']),
  })
  .map((p) =>
    aCandidate(p.name, {
      namespace: p.namespace,
      priority: p.priority,
      created: p.created,
      clusters: p.clusters,
      requests: { cpu: `${p.cpu}`, memory: `${p.memory}Gi` },
      quotas: p.quotas.map((quota) => `${p.namespace}/${quota}`),
    }),
  );

const cpuLimitArb = fc.integer({ min: 0, max: 12 });
const memoryLimitArb = fc.integer({ min: 0, max: 8 });

const sum = (lists: readonly ResourceList[]): ResourceList => lists.reduce(addLists, list());

const chargesOn = (placements: readonly EvictionCandidate[], quota: string) => sum(placements.filter((p) => p.quotas.includes(quota)).map((p) => p.quotaCharge));
const loadOn = (placements: readonly EvictionCandidate[], cluster: string) => sum(placements.filter((p) => p.clusters.includes(cluster)).map((p) => p.perCluster));

interface Shape {
  placements: EvictionCandidate[];
  quotaLimits: { cpu: number; memory: number; placements: number; mode: EnforcementMode; limitsPlacements: boolean }[];
  clusterLimits: { cpu: number; memory: number; mode: EnforcementMode; notReadyForMs: number | undefined }[];
}

/** used and allocated are what the placements charge; limits are random, so some are over. */
function inputOf(shape: Shape): EvictionInput {
  const quotas = QUOTAS.map((key, i): QuotaUsage => {
    const { cpu, memory, placements, mode, limitsPlacements } = shape.quotaLimits[i % shape.quotaLimits.length]!;
    const hard = { cpu: `${cpu}`, memory: `${memory}Gi`, ...(limitsPlacements ? { placements: `${placements}` } : {}) };
    return { ...aQuotaUsage(key, {}, hard, mode), used: chargesOn(shape.placements, key) };
  });
  const clusters = CLUSTERS.map((name, i): ClusterUsage => {
    const { cpu, memory, mode, notReadyForMs } = shape.clusterLimits[i % shape.clusterLimits.length]!;
    return { ...aClusterUsage(name, {}, { cpu: `${cpu}`, memory: `${memory}Gi` }, { mode, ...(notReadyForMs === undefined ? {} : { notReadyForMs }) }), allocated: loadOn(shape.placements, name) };
  });
  return { placements: shape.placements, quotas, clusters, notReadyGraceMs: GRACE };
}

const shapeArb: fc.Arbitrary<Shape> = fc.record({
  placements: fc.uniqueArray(candidateArb, { maxLength: 10, selector: (p) => p.key }),
  quotaLimits: fc.array(
    fc.record({ cpu: cpuLimitArb, memory: memoryLimitArb, placements: fc.integer({ min: 0, max: 4 }), mode: modeArb, limitsPlacements: fc.boolean() }),
    { minLength: 1, maxLength: 4 },
  ),
  clusterLimits: fc.array(
    fc.record({
      cpu: cpuLimitArb,
      memory: memoryLimitArb,
      mode: modeArb,
      notReadyForMs: fc.constantFrom(undefined, undefined, GRACE, GRACE + 1),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});

const inputArb = shapeArb.map(inputOf);

/** Quotas and clusters of `mode` (or any) over their limits once `evicted` are gone, by a recount. */
function overAfter(input: EvictionInput, evicted: ReadonlySet<string>, mode?: EnforcementMode): string[] {
  const left = input.placements.filter((p) => !evicted.has(p.key));
  const over = (usage: ResourceList, limit: ResourceList, names: readonly string[]) => names.some((name) => cmp(amountOf(usage, name), amountOf(limit, name)) > 0);
  const quotas = input.quotas.filter((q) => (mode ?? q.mode) === q.mode && over(chargesOn(left, q.key), q.hard, Object.keys(q.hard))).map((q) => q.key);
  const clusters = input.clusters
    .filter((c) => (mode ?? c.mode) === c.mode)
    .filter((c) => {
      const usage = loadOn(left, c.name);
      const stillOn = c.notReady !== undefined && c.notReady.forMs > GRACE && left.some((p) => p.clusters.includes(c.name));
      return stillOn || over(usage, c.limit, [...Object.keys(usage), ...Object.keys(c.limit)]);
    })
    .map((c) => c.name);
  return [...quotas, ...clusters];
}

const keys = (choice: EvictionChoice, which: 'evict' | 'wouldEvict') => new Set(choice[which].map((victim) => victim.key));
const without = (set: ReadonlySet<string>, key: string) => new Set([...set].filter((k) => k !== key));

/** A reordering of the same objects. */
const permutedArb = inputArb.chain((input) =>
  fc.record({
    input: fc.constant(input),
    permuted: fc.record({
      placements: fc.shuffledSubarray([...input.placements], { minLength: input.placements.length }),
      quotas: fc.shuffledSubarray([...input.quotas], { minLength: input.quotas.length }),
      clusters: fc.shuffledSubarray([...input.clusters], { minLength: input.clusters.length }),
      notReadyGraceMs: fc.constant(GRACE),
    }),
  }),
);

describe('chooseEvictions, on any state', () => {
  it('leaves every quota and cluster within its limits once the evictions and the marked ones are gone', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const choice = chooseEvictions(input);
        expect(overAfter(input, new Set([...keys(choice, 'evict'), ...keys(choice, 'wouldEvict')]))).toEqual([]);
      }),
    );
  });

  it('cures every Hard violation with the Hard evictions alone', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        expect(overAfter(input, keys(chooseEvictions(input), 'evict'), 'Hard')).toEqual([]);
      }),
    );
  });

  it('is minimal: sparing any one victim leaves a violation of its stage uncured (NotReady victims aside)', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const choice = chooseEvictions(input);
        const evict = keys(choice, 'evict');
        const all = new Set([...evict, ...keys(choice, 'wouldEvict')]);
        for (const victim of choice.evict.filter((v) => v.reason !== 'ClusterNotReady')) {
          expect(overAfter(input, without(evict, victim.key), 'Hard')).not.toEqual([]);
        }
        for (const victim of choice.wouldEvict.filter((v) => v.reason !== 'ClusterNotReady')) {
          expect(overAfter(input, without(all, victim.key), 'Soft')).not.toEqual([]);
        }
      }),
    );
  });

  it('chooses nothing when nothing is over', () => {
    const withinArb = shapeArb.map((shape) => {
      const input = inputOf(shape);
      return {
        ...input,
        quotas: input.quotas.map((q) => ({ ...q, hard: addLists(q.hard, q.used) })),
        clusters: input.clusters.map((c) => ({ ...c, limit: addLists(c.limit, c.allocated), notReady: undefined })),
      };
    });
    fc.assert(
      fc.property(withinArb, (input) => {
        const choice = chooseEvictions(input);
        expect({ violations: choice.violations, evict: choice.evict, wouldEvict: choice.wouldEvict }).toEqual({ violations: [], evict: [], wouldEvict: [] });
        expect(choice.quotasWithinLimits).toHaveLength(input.quotas.length);
        expect(choice.clustersWithinLimits).toHaveLength(input.clusters.length);
      }),
    );
  });

  it('gives the same choice for any order of the same input', () => {
    fc.assert(
      fc.property(permutedArb, ({ input, permuted }) => {
        expect(summary(chooseEvictions(permuted))).toEqual(summary(chooseEvictions(input)));
      }),
    );
  });

  it('gives the same choice for the same state, every time: a copy of it, or itself again (nothing is mutated)', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const first = chooseEvictions(input);
        expect(chooseEvictions(structuredClone(input))).toEqual(first);
        expect(chooseEvictions(input)).toEqual(first);
      }),
    );
  });
});
