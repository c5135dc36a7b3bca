import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { DEFAULT_OVERCOMMIT } from '../../../src/api/config.js';
import { addLists, amountOf, cmp, listsEqual, type Quantity, type QuantityFormat, type ResourceList } from '../../../src/quantity/index.js';
import { aggregate, type ClusterInput, type GroupFigures, type QuotaInput, type ReportSnapshot } from '../../../src/reporting/aggregate.js';
import { NOW } from '../../builders/objects.js';

const names = ['cpu', 'memory', 'storage', 'gpu'];
const quantity: fc.Arbitrary<Quantity> = fc.record({
  nanos: fc.bigInt({ min: 0n, max: 2n ** 66n }),
  format: fc.constantFrom<QuantityFormat>('DecimalSI', 'BinarySI'),
});
const resourceList: fc.Arbitrary<ResourceList> = fc.dictionary(fc.constantFrom(...names), quantity, { maxKeys: names.length }).map((l) => Object.freeze(l));

const cluster: fc.Arbitrary<ClusterInput> = fc.record({
  name: fc.string({ minLength: 1, maxLength: 6 }),
  location: fc.constantFrom('us-east', 'eu-west', ''),
  capacity: resourceList,
  allocatable: resourceList,
  used: fc.option(resourceList, { nil: undefined }),
  allocated: resourceList,
  readiness: fc.constantFrom('Ready', 'Ready', 'NotReady', 'StaleHeartbeat'),
  unschedulable: fc.boolean(),
  nodes: fc.option(fc.record({ total: fc.nat(10), ready: fc.nat(10) }), { nil: undefined }),
  placementCount: fc.nat(50),
});

const quotaInput: fc.Arbitrary<QuotaInput> = fc.record({
  workspace: fc.constantFrom('a', 'b', 'c'),
  name: fc.string({ minLength: 1, maxLength: 4 }),
  hard: resourceList,
  soft: resourceList,
  used: resourceList,
  scoped: fc.boolean(),
  placementCount: fc.nat(20),
  clusters: fc.array(fc.string({ maxLength: 3 }), { maxLength: 3 }),
}).map((q) => ({ ...q, key: `${q.workspace}/${q.name}` }));

const snapshot: fc.Arbitrary<ReportSnapshot> = fc.record({
  clusters: fc.uniqueArray(cluster, { selector: (c) => c.name, maxLength: 12 }),
  quotas: fc.uniqueArray(quotaInput, { selector: (q) => q.key, maxLength: 8 }),
}).map(({ clusters, quotas }) => ({ nowMs: NOW, overcommit: DEFAULT_OVERCOMMIT, clusters, quotas }));

const EMPTY: ResourceList = {};
const listFields = ['capacity', 'allocatable', 'limit', 'allocated', 'used', 'available'] as const;

describe('aggregate properties', () => {
  it('totals are the sum of their parts: of the Ready clusters, and of the locations', () => {
    fc.assert(
      fc.property(snapshot, (input) => {
        const report = aggregate(input);
        const ready = report.clusters.filter((c) => c.health.ready);
        for (const field of listFields.filter((f) => f !== 'used' && f !== 'available')) {
          expect(listsEqual(report.totals[field], ready.reduce((sum, c) => addLists(sum, c[field]), EMPTY))).toBe(true);
        }
        expect(listsEqual(report.totals.used, ready.reduce((sum, c) => addLists(sum, c.used ?? EMPTY), EMPTY))).toBe(true);
        for (const field of listFields) {
          expect(listsEqual(report.totals[field], report.locations.reduce((sum, l) => addLists(sum, l[field]), EMPTY))).toBe(true);
        }
        const counts = (g: GroupFigures) => [g.clusters, g.readyClusters, g.schedulableClusters, g.placementCount, g.nodes.total, g.nodes.ready];
        const summed = report.locations.map(counts).reduce((a, b) => a.map((x, i) => x + (b[i] ?? 0)), [0, 0, 0, 0, 0, 0]);
        expect(counts(report.totals)).toEqual(summed);
        expect(report.totals.clusters).toBe(input.clusters.length);
      }),
    );
  });

  it("a cluster's available never exceeds its limit, and equals limit - allocated", () => {
    fc.assert(
      fc.property(snapshot, (input) => {
        for (const c of aggregate(input).clusters) {
          for (const name of Object.keys(c.limit)) expect(cmp(amountOf(c.available, name), amountOf(c.limit, name))).toBeLessThanOrEqual(0);
          expect(listsEqual(addLists(c.available, c.allocated), c.limit)).toBe(true);
        }
      }),
    );
  });

  it('a permutation of the input gives the same report', () => {
    const shuffled = snapshot.chain((input) =>
      fc.tuple(
        fc.constant(input),
        fc.shuffledSubarray([...input.clusters], { minLength: input.clusters.length, maxLength: input.clusters.length }),
        fc.shuffledSubarray([...input.quotas], { minLength: input.quotas.length, maxLength: input.quotas.length }),
      ),
    );
    fc.assert(
      fc.property(shuffled, ([input, clusters, quotas]) => {
        expect(aggregate({ ...input, clusters, quotas })).toEqual(aggregate(input));
      }),
    );
  });
});
