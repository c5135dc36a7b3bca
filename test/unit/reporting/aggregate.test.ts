import { describe, expect, it } from '@jest/globals';
import { aggregate, type ClusterInput } from '../../../src/reporting/aggregate.js';
import { aClusterInput, aQuotaInput, aSnapshot, strings } from '../../builders/report-inputs.js';

describe('aggregate: one cluster', () => {
  const cluster = aClusterInput('a', {
    capacity: { cpu: '10', memory: '12Gi' },
    allocatable: { cpu: '8', memory: '10Gi' },
    allocated: { cpu: '10', memory: '3Gi' },
    used: { cpu: '4', memory: '5Gi' },
    nodes: { total: 3, ready: 2 },
    placementCount: 7,
    location: 'eu-west',
  });
  const [figures] = aggregate(aSnapshot([cluster])).clusters;

  it.each([
    { field: 'capacity', expected: { cpu: '10', memory: '12Gi' } },
    { field: 'allocatable', expected: { cpu: '8', memory: '10Gi' } },
    { field: 'limit (allocatable x overcommit: cpu 1.5, memory 1.2)', expected: { cpu: '12', memory: '12Gi' } },
    { field: 'allocated', expected: { cpu: '10', memory: '3Gi' } },
    { field: 'used', expected: { cpu: '4', memory: '5Gi' } },
    { field: 'available (limit - allocated)', expected: { cpu: '2', memory: '9Gi' } },
  ])('$field', ({ field, expected }) => {
    const name = field.split(' ')[0] as 'capacity' | 'allocatable' | 'limit' | 'allocated' | 'used' | 'available';
    expect(strings(figures?.[name] ?? {})).toEqual(expected);
  });

  it('rates: allocation is allocated / limit, utilization is used / allocatable', () => {
    expect(figures?.allocation).toEqual({ cpu: 10 / 12, memory: 3 / 12 });
    expect(figures?.utilization).toEqual({ cpu: 4 / 8, memory: 5 / 10 });
  });

  it('keeps name, location, node and placement counts', () => {
    expect(figures).toMatchObject({ name: 'a', location: 'eu-west', nodes: { total: 3, ready: 2 }, placementCount: 7 });
  });

  it.each([
    { name: 'no usage reported: no utilization', cluster: aClusterInput('x'), utilization: {}, allocation: { cpu: 0, memory: 0 }, gpuAvailable: undefined },
    {
      name: 'a resource without limit has no allocation rate, and a negative available',
      cluster: aClusterInput('x', { capacity: { cpu: '8' }, allocated: { cpu: '1', gpu: '1' } }),
      utilization: {},
      allocation: { cpu: 1 / 12 },
      gpuAvailable: '-1',
    },
  ])('$name', ({ cluster: input, utilization, allocation, gpuAvailable }) => {
    const [c] = aggregate(aSnapshot([input])).clusters;
    expect(c?.utilization).toEqual(utilization);
    expect(c?.allocation).toEqual(allocation);
    expect(strings(c?.available ?? {}).gpu).toBe(gpuAvailable);
  });
});

describe('aggregate: resource names from untrusted objects', () => {
  it('a resource called __proto__ is a resource in every figure, not a prototype', () => {
    // JSON.parse makes `__proto__` an own key, as a parsed object would have it (a literal would set the prototype).
    const own = (value: string): Record<string, string> => JSON.parse(`{"__proto__": "${value}"}`) as Record<string, string>;
    const report = aggregate(aSnapshot([aClusterInput('a', { capacity: own('4'), allocated: own('1') })], [aQuotaInput('t/q', { hard: own('2') })]));
    expect(Object.keys(report.clusters[0]?.allocation ?? {})).toEqual(['__proto__']);
    expect(Object.keys(report.quotas[0]?.percent ?? {})).toEqual(['__proto__']);
    expect(Object.keys(report.findings.failover[0]?.shortfall ?? {})).toEqual(['__proto__']);
  });
});

describe('aggregate: health', () => {
  it.each<{ name: string; input: Partial<ClusterInput>; health: object }>([
    { name: 'Ready', input: {}, health: { status: 'Ready', ready: true, schedulable: true, reason: '' } },
    {
      name: 'NotReady, with the reason',
      input: { readiness: 'NotReady', reason: 'is not Ready: Ready=False (SyncerDown)' },
      health: { status: 'NotReady', ready: false, schedulable: true, reason: 'is not Ready: Ready=False (SyncerDown)' },
    },
    {
      name: 'stale heartbeat',
      input: { readiness: 'StaleHeartbeat', reason: 'is not Ready: last heartbeat is 120s old' },
      health: { status: 'StaleHeartbeat', ready: false, schedulable: true, reason: 'is not Ready: last heartbeat is 120s old' },
    },
    { name: 'Ready but cordoned', input: { unschedulable: true }, health: { status: 'Unschedulable', ready: true, schedulable: false, reason: 'spec.unschedulable is true' } },
    {
      name: 'cordoned and NotReady: NotReady is what matters',
      input: { unschedulable: true, readiness: 'NotReady', reason: 'has no Ready condition' },
      health: { status: 'NotReady', ready: false, schedulable: false, reason: 'has no Ready condition' },
    },
  ])('$name', ({ input, health }) => {
    const [c] = aggregate(aSnapshot([{ ...aClusterInput('a'), ...input }])).clusters;
    expect(c?.health).toEqual(health);
  });
});

describe('aggregate: totals and locations', () => {
  const report = aggregate(
    aSnapshot([
      aClusterInput('a', { allocated: { cpu: '2' }, placementCount: 2, nodes: { total: 3, ready: 3 }, used: { cpu: '1' } }),
      aClusterInput('b', { allocated: { cpu: '4', memory: '1Gi' }, placementCount: 1, location: 'eu-west', nodes: { total: 2, ready: 1 } }),
      aClusterInput('c', { allocated: { cpu: '6' }, placementCount: 5, readiness: 'NotReady', reason: 'has no Ready condition' }),
      aClusterInput('d', { allocated: { cpu: '1' }, unschedulable: true, location: 'eu-west', used: { cpu: '3' } }),
    ]),
  );

  it('totals are sums over the Ready clusters (c is not Ready); counts say how many', () => {
    const { totals } = report;
    expect({ clusters: totals.clusters, ready: totals.readyClusters, schedulable: totals.schedulableClusters }).toEqual({ clusters: 4, ready: 3, schedulable: 2 });
    expect(strings(totals.capacity)).toEqual({ cpu: '24', memory: '48Gi' });
    // 3 x 16Gi x 1.2 = 61847529062.4 bytes, exact: not a whole number of bytes, so printed in milli-units.
    expect(strings(totals.limit)).toEqual({ cpu: '36', memory: '61847529062400m' });
    expect(strings(totals.allocated)).toEqual({ cpu: '7', memory: '1Gi' });
    expect(totals.nodes).toEqual({ total: 5, ready: 4 });
    expect(totals.placementCount).toBe(3);
  });

  it('utilization of a group counts only the clusters that report usage, on both sides of the division', () => {
    expect(strings(report.totals.used)).toEqual({ cpu: '4' });
    // Nobody reports memory usage: no memory utilization, rather than a false 0.
    expect(report.totals.utilization).toEqual({ cpu: 4 / 16 });
    expect(report.totals.allocation.cpu).toBeCloseTo(7 / 36, 12);
  });

  it('one group per location, in name order, each summing its own Ready clusters', () => {
    expect(report.locations.map((l) => [l.location, l.clusters, l.readyClusters, strings(l.allocated)])).toEqual([
      ['eu-west', 2, 2, { cpu: '5', memory: '1Gi' }],
      ['us-east', 2, 1, { cpu: '2' }],
    ]);
  });
});

describe('aggregate: spread of rates across clusters', () => {
  const withCpu = (name: string, allocated: string): ClusterInput => aClusterInput(name, { capacity: { cpu: '10' }, allocatable: { cpu: '10' }, allocated: { cpu: allocated } });

  it.each([
    // Limits are 15 cpu (10 x 1.5); nearest rank: p50 is the 2nd of 4, p95 the 4th.
    { name: 'four clusters', clusters: [withCpu('a', '1.5'), withCpu('b', '3'), withCpu('c', '4.5'), withCpu('d', '13.5')], spread: { clusters: 4, p50: 0.2, p95: 0.9, max: 0.9 } },
    { name: 'one cluster', clusters: [withCpu('a', '3')], spread: { clusters: 1, p50: 0.2, p95: 0.2, max: 0.2 } },
    {
      name: 'NotReady clusters count: a spread describes every cluster',
      clusters: [withCpu('a', '1.5'), { ...withCpu('b', '15'), readiness: 'NotReady' as const }],
      spread: { clusters: 2, p50: 0.1, p95: 1, max: 1 },
    },
  ])('$name', ({ clusters, spread }) => {
    const cpu = aggregate(aSnapshot(clusters)).spread.allocation.cpu;
    expect(cpu?.clusters).toBe(spread.clusters);
    expect(cpu?.p50).toBeCloseTo(spread.p50, 12);
    expect(cpu?.p95).toBeCloseTo(spread.p95, 12);
    expect(cpu?.max).toBeCloseTo(spread.max, 12);
  });

  it('no clusters: no spread', () => {
    expect(aggregate(aSnapshot([])).spread).toEqual({ allocation: {}, utilization: {} });
  });
});

describe('aggregate: quotas', () => {
  it.each([
    {
      name: 'within hard, over soft',
      quota: aQuotaInput('team-a/compute', { hard: { cpu: '10', placements: '20' }, soft: { cpu: '6' }, used: { cpu: '8', memory: '4Gi', placements: '5' } }),
      expected: { phase: 'Active', exceeded: [], overSoft: ['cpu'], remaining: { cpu: '2', placements: '15' }, percent: { cpu: 80, placements: 25 } },
    },
    {
      name: 'over hard: Exceeded, remaining negative, percent above 100',
      quota: aQuotaInput('team-a/compute', { hard: { cpu: '10' }, used: { cpu: '12' } }),
      expected: { phase: 'Exceeded', exceeded: ['cpu'], overSoft: [], remaining: { cpu: '-2' }, percent: { cpu: 120 } },
    },
    {
      name: 'a hard limit of zero has no percentage',
      quota: aQuotaInput('team-a/none', { hard: { cpu: '0' }, used: {} }),
      expected: { phase: 'Active', exceeded: [], overSoft: [], remaining: { cpu: '0' }, percent: {} },
    },
  ])('$name', ({ quota, expected }) => {
    const [q] = aggregate(aSnapshot([], [quota])).quotas;
    expect({ phase: q?.phase, exceeded: q?.exceeded, overSoft: q?.overSoft, remaining: strings(q?.remaining ?? {}), percent: q?.percent }).toEqual(expected);
  });

  it('keeps placement count, clusters and the input, quotas in key order', () => {
    const report = aggregate(aSnapshot([], [aQuotaInput('team-b/x', { placementCount: 3, clusters: ['a', 'z'] }), aQuotaInput('team-a/y', { scoped: true })]));
    expect(report.quotas.map((q) => [q.key, q.workspace, q.name, q.scoped, q.placementCount, q.clusters])).toEqual([
      ['team-a/y', 'team-a', 'y', true, 0, []],
      ['team-b/x', 'team-b', 'x', false, 3, ['a', 'z']],
    ]);
  });
});
