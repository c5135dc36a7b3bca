/**
 * The fast path of placement decoding against the schema it stands in for: whatever it accepts the
 * schema accepts, with the same output (keys, their order, frozen requirements); whatever else it
 * leaves to the schema, so refusals keep the schema's words. Inputs are drawn near the shapes it
 * handles, with the values that make the schema refuse (bad quantities, duplicate and overlong
 * names, wrong types, keys present as undefined, a `__proto__` key, symbol keys).
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { parsePlacement, placementFastPath } from '../../../src/api/placement-decoding.js';
import { workloadPlacementSchema } from '../../../src/api/resources.js';
import { arbitraryFor, crdSchema } from '../../support/openapi.js';
import { aPlacement } from '../../builders/objects.js';

const SEED = 20261201;

/** Sometimes absent, rarely present as undefined or as `bad`, mostly `good`: most inputs decode, each field's failures still show up. */
const field = (good: fc.Arbitrary<unknown>, bad: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  fc.oneof({ weight: 60, arbitrary: good }, { weight: 1, arbitrary: fc.constant(undefined) }, { weight: 2, arbitrary: bad });
const record = (fields: Record<string, fc.Arbitrary<unknown>>): fc.Arbitrary<Record<string, unknown>> => fc.oneof(
    { weight: 20, arbitrary: fc.record(fields, { requiredKeys: [], noNullPrototype: true }) },
    { weight: 1, arbitrary: fc.record(fields, { requiredKeys: [] }) },
  );

const odd = fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.boolean(), fc.constant([]), fc.constant({}), fc.string());
const name = field(fc.constantFrom('us-east-1', 'eu-west-2', 'ap-south-1', 'x'.repeat(253)), fc.oneof(fc.constantFrom('', 'x'.repeat(254)), odd));
const quantity = field(
  fc.constantFrom('500m', '1Gi', '2', '0', '+1', '1.5', '1e3', '8Ei', 1, 0, Number.MAX_SAFE_INTEGER, -0),
  fc.oneof(fc.constantFrom('-1', '-0', '9Ei', 'two', '', ' 1', -1, 1.5, NaN, Infinity), odd),
);
const resourceName = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('cpu', 'memory', 'storage', 'example.com/gpu', '1', 'r'.repeat(316)) }, { weight: 1, arbitrary: fc.constantFrom('__proto__', '', 'r'.repeat(317)) });
const requirements = field(fc.dictionary(resourceName, quantity, { maxKeys: 4, noNullPrototype: true }), odd);
const labelKey = fc.oneof({ weight: 20, arbitrary: fc.constantFrom('app', 'tier', 'kcp.io/cluster', 'constructor', '0') }, { weight: 1, arbitrary: fc.constant('__proto__') });
const labels = field(fc.dictionary(labelKey, field(fc.oneof(fc.string(), fc.constant('root')), odd), { maxKeys: 3, noNullPrototype: true }), odd);
const timestamp = field(fc.constantFrom('2026-11-23T11:59:58Z', '2026-11-23t11:59:58,5+24:00', '0001-01-01T00:00:00Z'), fc.oneof(fc.constantFrom('2026-02-30T00:00:00Z', 'yesterday'), odd));
/** Mostly distinct good items (a repeated cluster is refused), sometimes any items. */
const list = (good: fc.Arbitrary<unknown>, any: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> =>
  field(fc.uniqueArray(good, { maxLength: 4, selector: (entry) => (typeof entry === 'object' ? (entry as { name: string }).name : entry) }), fc.oneof(fc.array(any, { maxLength: 4 }), odd));
const clusterNames = fc.constantFrom('us-east-1', 'eu-west-2', 'ap-south-1', 'x'.repeat(253));

const metadata = record({
  name: field(fc.string(), odd),
  namespace: field(fc.string(), odd),
  uid: field(fc.uuid(), odd),
  generation: field(fc.integer(), fc.oneof(fc.constant(2 ** 53), odd)),
  resourceVersion: field(fc.string(), odd),
  creationTimestamp: timestamp,
  labels,
  annotations: labels,
  managedFields: odd,
});
const spec = record({
  resourceRequirements: requirements,
  targetClusters: list(fc.record({ name: clusterNames, extra: odd }, { requiredKeys: ['name'], noNullPrototype: true }), field(record({ name, extra: odd }), odd)),
  priority: field(fc.integer(), odd),
  conflictStrategy: field(fc.constantFrom('UseNewest', 'UseOldest', 'Priority', 'Manual'), fc.oneof(fc.constant('useNewest'), odd)),
  extra: odd,
});
const statusFields = {
  phase: field(fc.constantFrom('Pending', 'Placed', 'Evicted'), fc.oneof(fc.constant('Gone'), odd)),
  selectedClusters: list(clusterNames, name),
  clusterStatuses: field(fc.constant([]), list(record({ cluster: clusterNames, phase: fc.string() }), odd)),
  conditions: field(fc.constant([]), odd),
};
const status = fc.oneof({ weight: 10, arbitrary: record(statusFields) }, { weight: 1, arbitrary: record({ ...statusFields, aggregatedStatus: field(fc.constant({}), odd) }) });
const nearPlacement = field(
  record({
    apiVersion: field(fc.constant('tmc.kcp.io/v1alpha1'), fc.constant('tmc.kcp.io/v1')),
    kind: field(fc.constant('WorkloadPlacement'), fc.constant('SyncTarget')),
    metadata: field(metadata, odd),
    spec: field(spec, odd),
    status: field(status, odd),
  }).map((object) => ({ apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: {}, ...object })),
  odd,
);

/** How many inputs of the current property the fast path took. */
let taken = 0;

function agrees(input: unknown): void {
  const fast = placementFastPath(input);
  if (fast === undefined) return;
  taken += 1;
  const parsed = workloadPlacementSchema.safeParse(input);
  expect(parsed.success).toBe(true);
  expect(fast).toStrictEqual(parsed.data);
  // Same keys in the same order: messages and interned label sets depend on it.
  expect(JSON.stringify(fast, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value))).toBe(
    JSON.stringify(parsed.data, (_key, value: unknown) => (typeof value === 'bigint' ? String(value) : value)),
  );
  expect(Object.isFrozen(fast.spec.resourceRequirements)).toBe(true);
}

describe('placementFastPath', () => {
  it('accepts only what the schema accepts, and answers as it does', () => {
    taken = 0;
    fc.assert(fc.property(nearPlacement, agrees), { seed: SEED, numRuns: 10_000 });
    // Not vacuous: a good share of the inputs are ones it takes.
    expect(taken).toBeGreaterThan(2_500);
  });

  it('agrees on every object the CRD accepts', () => {
    const objects = arbitraryFor(crdSchema('manifests/crds/workloadplacements.yaml')).map((object) => ({ ...(object as object), apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement' }));
    taken = 0;
    fc.assert(fc.property(objects, agrees), { seed: SEED, numRuns: 1_000 });
  });

  it('leaves symbol keys to the schema, which refuses them', () => {
    const object = aPlacement('web', { requirements: { cpu: '1' } }) as { metadata: Record<PropertyKey, unknown> };
    object.metadata.labels = { app: 'web', [Symbol('tier')]: 'batch' };
    expect(placementFastPath(object)).toBeUndefined();
    expect(parsePlacement(object).success).toBe(false);
  });

  it.each([
    ['a new placement', aPlacement('web', { requirements: { cpu: '500m', memory: '1Gi' }, clusters: ['us-east-1', 'eu-west-2'] })],
    ['one with defaults only', { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: { name: 'p' } }],
    ['one with selected clusters', { ...aPlacement('web', {}), status: { phase: 'Placed', selectedClusters: ['us-east-1'] } }],
  ])('takes %s', (_what, object) => {
    expect(placementFastPath(object)).toStrictEqual(workloadPlacementSchema.parse(object));
  });
});
