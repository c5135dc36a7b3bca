import { describe, expect, it } from '@jest/globals';
import { aggregate, type ClusterInput, type QuotaInput } from '../../../src/reporting/aggregate.js';
import { aClusterInput, aQuotaInput, aSnapshot, strings } from '../../builders/report-inputs.js';

/** A cluster of `cpu` allocatable (limit × 1.5) with `allocated` cpu on it. */
const cpuCluster = (name: string, cpu: string, allocated: string, more: Partial<ClusterInput> = {}): ClusterInput => ({
  ...aClusterInput(name, { capacity: { cpu }, allocated: allocated === '0' ? {} : { cpu: allocated } }),
  ...more,
});

describe('oversubscription', () => {
  const oversubscriptionOf = (quotas: QuotaInput[], clusters: ClusterInput[] = [cpuCluster('a', '50', '0')]) =>
    aggregate(aSnapshot(clusters, quotas)).findings.oversubscription.map((f) => ({ ...f, promised: strings({ x: f.promised }).x, capacity: strings({ x: f.capacity }).x }));

  it.each([
    {
      // Ready capacity: 50 cpu x 1.5 = 75; two workspaces promised 120 each.
      name: 'two workspaces: quotas promise 3.2x the cpu that exists',
      quotas: [aQuotaInput('a/compute', { hard: { cpu: '120' } }), aQuotaInput('b/compute', { hard: { cpu: '120' } })],
      expected: [{ resource: 'cpu', promised: '240', capacity: '75', ratio: 3.2, oversubscribed: true }],
    },
    {
      name: 'a scoped quota nested in an unscoped one adds nothing: the unscoped limit bounds the workspace',
      quotas: [aQuotaInput('a/compute', { hard: { cpu: '30' } }), aQuotaInput('a/batch', { hard: { cpu: '20' }, scoped: true })],
      expected: [{ resource: 'cpu', promised: '30', capacity: '75', ratio: 0.4, oversubscribed: false }],
    },
    {
      name: 'two unscoped quotas in a workspace: the smaller limit',
      quotas: [aQuotaInput('a/one', { hard: { cpu: '30' } }), aQuotaInput('a/two', { hard: { cpu: '45' } })],
      expected: [{ resource: 'cpu', promised: '30', capacity: '75', ratio: 0.4, oversubscribed: false }],
    },
    {
      name: 'scoped quotas alone add up',
      quotas: [aQuotaInput('a/web', { hard: { cpu: '30' }, scoped: true }), aQuotaInput('a/batch', { hard: { cpu: '45' }, scoped: true })],
      expected: [{ resource: 'cpu', promised: '75', capacity: '75', ratio: 1, oversubscribed: false }],
    },
    {
      name: 'placements are not a cluster resource; a resource no Ready cluster has has no ratio',
      quotas: [aQuotaInput('a/compute', { hard: { placements: '10', 'nvidia.com/gpu': '4' } })],
      expected: [{ resource: 'nvidia.com/gpu', promised: '4', capacity: '0', ratio: null, oversubscribed: true }],
    },
    { name: 'no quotas: no finding', quotas: [], expected: [] },
  ])('$name', ({ quotas, expected }) => {
    expect(oversubscriptionOf(quotas)).toEqual(expected);
  });

  it('only Ready clusters count as capacity', () => {
    const clusters = [cpuCluster('a', '50', '0'), cpuCluster('b', '50', '0', { readiness: 'StaleHeartbeat' })];
    expect(oversubscriptionOf([aQuotaInput('a/compute', { hard: { cpu: '150' } })], clusters)).toEqual([{ resource: 'cpu', promised: '150', capacity: '75', ratio: 2, oversubscribed: true }]);
  });
});

describe('failover headroom', () => {
  const failoverOf = (clusters: ClusterInput[]) =>
    aggregate(aSnapshot(clusters)).findings.failover.map((f) => ({ cluster: f.cluster, peers: f.peers, absorbed: f.absorbed, room: strings(f.room), shortfall: strings(f.shortfall) }));

  it.each([
    {
      // Limits: 6 cpu x 1.5 = 9 each. a needs 6; b has 9 - 4 = 5 left, c 9 - 2 = 7: a's 6 fits in 12.
      name: 'three clusters, every loss absorbed',
      clusters: [cpuCluster('a', '6', '6'), cpuCluster('b', '6', '4'), cpuCluster('c', '6', '2')],
      expected: [
        { cluster: 'a', peers: 2, absorbed: true, room: { cpu: '12' }, shortfall: {} },
        { cluster: 'b', peers: 2, absorbed: true, room: { cpu: '10' }, shortfall: {} },
        { cluster: 'c', peers: 2, absorbed: true, room: { cpu: '8' }, shortfall: {} },
      ],
    },
    {
      name: "a loss that cannot be absorbed says by how much",
      clusters: [cpuCluster('a', '6', '8'), cpuCluster('b', '6', '6')],
      expected: [
        { cluster: 'a', peers: 1, absorbed: false, room: { cpu: '3' }, shortfall: { cpu: '5' } },
        { cluster: 'b', peers: 1, absorbed: false, room: { cpu: '1' }, shortfall: { cpu: '5' } },
      ],
    },
    {
      name: 'NotReady and unschedulable clusters give no room; a NotReady cluster still needs a home',
      clusters: [cpuCluster('a', '6', '3'), cpuCluster('b', '60', '0', { unschedulable: true }), cpuCluster('c', '60', '2', { readiness: 'NotReady' })],
      expected: [
        { cluster: 'a', peers: 0, absorbed: false, room: { cpu: '0' }, shortfall: { cpu: '3' } },
        { cluster: 'b', peers: 1, absorbed: true, room: {}, shortfall: {} },
        { cluster: 'c', peers: 1, absorbed: true, room: { cpu: '6' }, shortfall: {} },
      ],
    },
    {
      name: 'an overcommitted peer gives no room rather than negative room',
      clusters: [cpuCluster('a', '6', '2'), cpuCluster('b', '6', '12'), cpuCluster('c', '6', '7')],
      expected: [
        { cluster: 'a', peers: 2, absorbed: true, room: { cpu: '2' }, shortfall: {} },
        { cluster: 'b', peers: 2, absorbed: false, room: { cpu: '9' }, shortfall: { cpu: '3' } },
        { cluster: 'c', peers: 2, absorbed: true, room: { cpu: '7' }, shortfall: {} },
      ],
    },
    {
      name: 'peers are of the same location only',
      clusters: [cpuCluster('a', '6', '3'), cpuCluster('b', '60', '0', { location: 'eu-west' })],
      expected: [
        { cluster: 'a', peers: 0, absorbed: false, room: { cpu: '0' }, shortfall: { cpu: '3' } },
        { cluster: 'b', peers: 0, absorbed: true, room: {}, shortfall: {} },
      ],
    },
  ])('$name', ({ clusters, expected }) => {
    expect(failoverOf(clusters)).toEqual(expected);
  });

  it('a resource the peers do not have is short by all of it', () => {
    const clusters = [aClusterInput('a', { capacity: { cpu: '8', gpu: '2' }, allocated: { gpu: '1' } }), aClusterInput('b', { capacity: { cpu: '8' } })];
    expect(failoverOf(clusters)[0]).toEqual({ cluster: 'a', peers: 1, absorbed: false, room: { gpu: '0' }, shortfall: { gpu: '1' } });
  });
});
