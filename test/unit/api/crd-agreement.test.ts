/**
 * The service's zod schemas judge the shared table of test/fixtures/crd-cases.ts as the API server
 * judges it through the CRDs (test/e2e/crds.test.ts): what one refuses the other refuses, naming the
 * same field. A disagreement either way is a bug: stricter zod makes the tracker drop objects the
 * API server stored; looser zod lets `placement-quota check` pass what `kubectl apply` refuses.
 */
import { describe, expect, it } from '@jest/globals';
import { describeIssues } from '../../../src/api/errors.js';
import { durationNs, quantityField } from '../../../src/api/fields.js';
import { syncTargetSchema, trackedKinds, workloadPlacementSchema, workspaceQuotaSchema } from '../../../src/api/resources.js';
import { formatQuantity, type Quantity } from '../../../src/quantity/index.js';
import { crdCases, fieldSegments, type CrdCase } from '../../fixtures/crd-cases.js';

const apiVersion = 'tmc.kcp.io/v1alpha1';
const at = '2026-11-23T12:00:00Z';

function parse(kind: CrdCase['kind'], object: unknown) {
  return trackedKinds[kind].safeParse(object);
}

/** "valid", or every issue with its field, so a failing row says why. */
function verdict(kind: CrdCase['kind'], object: unknown): string {
  const result = parse(kind, object);
  return result.success ? 'valid' : describeIssues(result.error);
}

/** The issues' paths cut to `length` segments: an issue inside the named field counts as naming it. */
function issuePrefixes(kind: CrdCase['kind'], object: unknown, length: number): PropertyKey[][] {
  const result = parse(kind, object);
  return result.success ? [] : result.error.issues.map((issue) => issue.path.slice(0, length));
}

describe('zod agrees with the CRDs on the shared table', () => {
  // Status rows are parsed whole: the tracker sees the object with its status, as a watch delivers it.
  it.each(crdCases.filter((c) => c.valid))('valid $kind: $name', (c: CrdCase) => {
    expect(verdict(c.kind, c.object)).toBe('valid');
  });

  it.each(crdCases.filter((c) => !c.valid))('invalid $kind: $name → $field', (c: CrdCase) => {
    const field = c.field ?? '<no field in the table>';
    const segments = fieldSegments(field);
    expect(issuePrefixes(c.kind, c.object, segments.length)).toContainEqual(segments);
    expect(verdict(c.kind, c.object)).toContain(field);
  });
});

describe('rules the table does not hold', () => {
  const placement = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
    apiVersion,
    kind: 'WorkloadPlacement',
    metadata: { name: 'p' },
    spec,
    ...(status ? { status } : {}),
  });
  const syncTarget = (spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
    apiVersion,
    kind: 'SyncTarget',
    metadata: { name: 's' },
    spec,
    ...(status ? { status } : {}),
  });
  const ready = { type: 'Ready', status: 'True', reason: 'HeartbeatFresh', message: '', lastTransitionTime: at };

  it.each<[string, CrdCase['kind'], Record<string, unknown>, string]>([
    // The API server: `spec.targetClusters[1]: Duplicate value: map[string]interface {}{"name":"us-east-1"}`.
    ['duplicate targetClusters', 'WorkloadPlacement', placement({ targetClusters: [{ name: 'a' }, { name: 'b' }, { name: 'a' }] }), 'spec.targetClusters[2]: Duplicate value'],
    ['duplicate selectedClusters', 'WorkloadPlacement', placement({}, { selectedClusters: ['a', 'a'] }), 'status.selectedClusters[1]: Duplicate value'],
    [
      'duplicate clusterStatuses',
      'WorkloadPlacement',
      placement({}, { clusterStatuses: [{ cluster: 'a' }, { cluster: 'a' }] }),
      'status.clusterStatuses[1]: Duplicate value',
    ],
    ['duplicate condition types', 'SyncTarget', syncTarget({}, { conditions: [ready, { ...ready, status: 'False' }] }), 'status.conditions[1]: Duplicate value'],
    ['condition without reason', 'SyncTarget', syncTarget({}, { conditions: [{ ...ready, reason: undefined }] }), 'status.conditions[0].reason'],
    ['condition with an empty reason', 'SyncTarget', syncTarget({}, { conditions: [{ ...ready, reason: '' }] }), 'status.conditions[0].reason'],
    ['condition reason with spaces', 'SyncTarget', syncTarget({}, { conditions: [{ ...ready, reason: 'all good' }] }), 'status.conditions[0].reason'],
    ['condition without message', 'SyncTarget', syncTarget({}, { conditions: [{ ...ready, message: undefined }] }), 'status.conditions[0].message'],
    ['condition type with spaces', 'SyncTarget', syncTarget({}, { conditions: [{ ...ready, type: 'Is Ready' }] }), 'status.conditions[0].type'],
    ['heartbeatInterval 0.1ns rounds to 0 ns', 'SyncTarget', syncTarget({ heartbeatInterval: '0.1ns' }), 'spec.heartbeatInterval: invalid duration'],
    ['heartbeatInterval 0h0m0.0000000009s', 'SyncTarget', syncTarget({ heartbeatInterval: '0h0m0.0000000009s' }), 'spec.heartbeatInterval'],
    ['heartbeatInterval beyond Go int64 nanoseconds', 'SyncTarget', syncTarget({ heartbeatInterval: '2562048h' }), 'spec.heartbeatInterval'],
    ['heartbeatInterval longer than 64 characters', 'SyncTarget', syncTarget({ heartbeatInterval: `${'0'.repeat(63)}1s` }), 'spec.heartbeatInterval'],
  ])('%s is refused', (_title, kind, object, expected) => {
    expect(verdict(kind, object)).toContain(expected);
  });

  it('a fractional JSON number quantity is refused with a hint to quote it', () => {
    expect(verdict('WorkloadPlacement', placement({ resourceRequirements: { cpu: 1.5 } }))).toBe(
      'spec.resourceRequirements.cpu: invalid quantity 1.5: a fractional quantity must be a string ("1.5")',
    );
  });

  it.each<[string | number, string]>([
    [2, '2'],
    [1e3, '1k'],
    [0, '0'],
    ['1.5', '1500m'],
    ['0.5', '500m'],
  ])('quantity %p is accepted as %s', (input, expected) => {
    const parsed = quantityField.parse(input);
    expect(formatQuantity(parsed)).toBe(expected);
  });

  it.each<[string, bigint | undefined]>([
    ['20s', 20_000_000_000n],
    ['1m30s', 90_000_000_000n],
    ['1.5h', 5_400_000_000_000n],
    ['1.5ns', 1n],
    ['0.1ns', 0n],
    ['1µs', 1_000n],
    ['2562047h47m16.854775807s', 2n ** 63n - 1n],
    ['2562047h47m16.854775808s', undefined],
    ['20', undefined],
    ['-1s', undefined],
  ])('durationNs(%p) is %p, as Go time.ParseDuration', (text, expected) => {
    expect(durationNs(text)).toBe(expected);
  });

  it('a sub-nanosecond fraction that Go truncates still counts when the whole is positive', () => {
    expect(verdict('SyncTarget', syncTarget({ heartbeatInterval: '1.5ns' }))).toBe('valid');
  });
});

describe('defaults (SPEC §2)', () => {
  const q = (value: Quantity | undefined): string => (value === undefined ? 'absent' : formatQuantity(value));

  it('a placement without spec asks for 100m cpu, 128Mi memory, no storage, priority 0, UseNewest', () => {
    const parsed = workloadPlacementSchema.parse({ apiVersion, kind: 'WorkloadPlacement', metadata: { name: 'p' } });
    expect({
      cpu: q(parsed.spec.resourceRequirements.cpu),
      memory: q(parsed.spec.resourceRequirements.memory),
      storage: q(parsed.spec.resourceRequirements.storage),
      targetClusters: parsed.spec.targetClusters,
      priority: parsed.spec.priority,
      conflictStrategy: parsed.spec.conflictStrategy,
    }).toEqual({ cpu: '100m', memory: '128Mi', storage: '0', targetClusters: [], priority: 0, conflictStrategy: 'UseNewest' });
  });

  it('a partial resourceRequirements keeps the defaults of the resources it does not name', () => {
    const parsed = workloadPlacementSchema.parse({
      apiVersion,
      kind: 'WorkloadPlacement',
      metadata: { name: 'p' },
      spec: { resourceRequirements: { cpu: '2', 'nvidia.com/gpu': 1 } },
    });
    const list = parsed.spec.resourceRequirements;
    expect(Object.fromEntries(Object.entries(list).map(([name, value]) => [name, q(value)]))).toEqual({
      cpu: '2',
      memory: '128Mi',
      storage: '0',
      'nvidia.com/gpu': '1',
    });
  });

  it('a sync target without spec has a 20s heartbeat and is schedulable', () => {
    const parsed = syncTargetSchema.parse({ apiVersion, kind: 'SyncTarget', metadata: { name: 's' } });
    expect(parsed.spec).toEqual({ location: '', unschedulable: false, heartbeatInterval: { text: '20s', ms: 20_000 } });
  });

  it('allocatable defaults to capacity, and is kept when given', () => {
    const capacity = { cpu: '8', memory: '16Gi' };
    const without = syncTargetSchema.parse({ apiVersion, kind: 'SyncTarget', metadata: { name: 's' }, status: { capacity } });
    expect(without.status.allocatable).toEqual(without.status.capacity);
    const given = syncTargetSchema.parse({
      apiVersion,
      kind: 'SyncTarget',
      metadata: { name: 's' },
      status: { capacity, allocatable: { cpu: '7' } },
    });
    expect(q(given.status.allocatable.cpu)).toBe('7');
    expect(given.status.allocatable.memory).toBeUndefined();
  });

  it('a quota without spec has empty hard and soft and no selector', () => {
    const parsed = workspaceQuotaSchema.parse({ apiVersion, kind: 'WorkspaceQuota', metadata: { name: 'q' } });
    expect(parsed.spec).toEqual({ hard: {}, soft: {} });
  });
});
