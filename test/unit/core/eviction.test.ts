/**
 * The eviction choice of SPEC §6, one named case per rule and edge (as Kueue's preemption tests):
 * each row gives the state and the exact violations and victims, messages included.
 */
import { describe, expect, it } from '@jest/globals';
import { workloadPlacementSchema } from '../../../src/api/resources.js';
import { chooseEvictions, evictionCandidate, type EvictionInput } from '../../../src/core/eviction.js';
import { formatList } from '../../../src/quantity/index.js';
import { aCandidate, aClusterUsage, aQuotaUsage, summary } from '../../builders/eviction.js';

interface Row {
  name: string;
  input: Partial<EvictionInput>;
  violations?: string[];
  evict?: string[];
  wouldEvict?: string[];
}

const GRACE = 300_000;
const compute = (used: Record<string, string>, hard: Record<string, string>, mode: 'Soft' | 'Hard' = 'Hard') => aQuotaUsage('team-a/compute', used, hard, mode);

const rows: Row[] = [
  {
    name: 'nothing over: nothing chosen',
    input: {
      placements: [aCandidate('a', { requests: { cpu: '2' }, clusters: ['us-east-1'] })],
      quotas: [compute({ cpu: '2', placements: '1' }, { cpu: '2', placements: '1' })],
      clusters: [aClusterUsage('us-east-1', { cpu: '2' }, { cpu: '2' })],
    },
  },
  {
    name: 'quota over: lowest priority first, even when older',
    input: {
      placements: [aCandidate('new-high', { priority: 10, created: 9, requests: { cpu: '4' } }), aCandidate('old-low', { priority: -1, created: 1, requests: { cpu: '4' } })],
      quotas: [compute({ cpu: '12' }, { cpu: '8' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    evict: ['team-a/old-low QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 4'],
  },
  {
    name: 'same priority: the newest first',
    input: {
      placements: [aCandidate('older', { created: 1, requests: { cpu: '4' } }), aCandidate('newer', { created: 2, requests: { cpu: '4' } })],
      quotas: [compute({ cpu: '12' }, { cpu: '8' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    evict: ['team-a/newer QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 4'],
  },
  {
    name: 'equal priority and timestamp: by name',
    input: {
      placements: [aCandidate('b', { requests: { cpu: '4' } }), aCandidate('a', { requests: { cpu: '4' } })],
      quotas: [compute({ cpu: '12' }, { cpu: '8' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    evict: ['team-a/a QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 4'],
  },
  {
    name: 'equal name in two workspaces on one cluster: by key',
    input: {
      placements: [aCandidate('web', { namespace: 'team-b', clusters: ['us-east-1'], requests: { cpu: '2' } }), aCandidate('web', { clusters: ['us-east-1'], requests: { cpu: '2' } })],
      clusters: [aClusterUsage('us-east-1', { cpu: '4' }, { cpu: '3' })],
    },
    violations: ['cluster us-east-1: cpu allocated 4, limit 3'],
    evict: ['team-a/web ClusterCapacityExceeded: cluster us-east-1: cpu allocated 4, limit 3; evicting frees 2'],
  },
  {
    name: 'minimal: walking back drops the small victims the last one made unnecessary',
    input: {
      placements: [
        aCandidate('small-1', { priority: 0, requests: { cpu: '1' } }),
        aCandidate('small-2', { priority: 1, requests: { cpu: '1' } }),
        aCandidate('big', { priority: 2, requests: { cpu: '4' } }),
      ],
      quotas: [compute({ cpu: '12' }, { cpu: '8' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    evict: ['team-a/big QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 4'],
  },
  {
    name: 'minimal: walking back keeps what the later victims still need',
    input: {
      placements: [
        aCandidate('small-1', { priority: 0, requests: { cpu: '1' } }),
        aCandidate('small-2', { priority: 1, requests: { cpu: '1' } }),
        aCandidate('big', { priority: 2, requests: { cpu: '3' } }),
      ],
      quotas: [compute({ cpu: '12' }, { cpu: '8' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    evict: ['team-a/small-1 QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 1', 'team-a/big QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 3'],
  },
  {
    name: 'one eviction cures two violations, and spares the placement that only one needed',
    input: {
      placements: [
        aCandidate('other', { namespace: 'team-b', priority: -1, clusters: ['us-east-1'], requests: { cpu: '2' } }),
        aCandidate('both', { clusters: ['us-east-1'], requests: { cpu: '2' } }),
      ],
      quotas: [compute({ cpu: '10' }, { cpu: '8' })],
      clusters: [aClusterUsage('us-east-1', { cpu: '14' }, { cpu: '12' })],
    },
    violations: ['quota team-a/compute: cpu used 10, hard 8', 'cluster us-east-1: cpu allocated 14, limit 12'],
    evict: ['team-a/both QuotaExceeded: quota team-a/compute: cpu used 10, hard 8; evicting frees 2; cluster us-east-1: cpu allocated 14, limit 12; evicting frees 2'],
  },
  {
    name: 'a placement that frees nothing an overage is on is never chosen (zero charge)',
    input: {
      placements: [aCandidate('idle', { priority: -5, clusters: ['us-east-1'], requests: { cpu: '0', memory: '1Gi' } }), aCandidate('busy', { clusters: ['us-east-1'], requests: { cpu: '2' } })],
      clusters: [aClusterUsage('us-east-1', { cpu: '2', memory: '1Gi' }, { cpu: '1', memory: '2Gi' })],
    },
    violations: ['cluster us-east-1: cpu allocated 2, limit 1'],
    evict: ['team-a/busy ClusterCapacityExceeded: cluster us-east-1: cpu allocated 2, limit 1; evicting frees 2'],
  },
  {
    name: 'several resources over: the message names what the victim frees of each',
    input: {
      placements: [aCandidate('a', { requests: { cpu: '4', memory: '8Gi' }, charge: { cpu: '4', memory: '8Gi', placements: 1 } })],
      quotas: [compute({ cpu: '12', memory: '40Gi' }, { cpu: '8', memory: '32Gi' })],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8, memory used 40Gi, hard 32Gi'],
    evict: ['team-a/a QuotaExceeded: quota team-a/compute: cpu used 12, hard 8, memory used 40Gi, hard 32Gi; evicting frees 4 cpu, 8Gi memory'],
  },
  {
    name: 'the placements count is a resource like any other',
    input: {
      placements: [aCandidate('a', { created: 1 }), aCandidate('b', { created: 2 })],
      quotas: [compute({ placements: '2' }, { placements: '1' })],
    },
    violations: ['quota team-a/compute: placements used 2, hard 1'],
    evict: ['team-a/b QuotaExceeded: quota team-a/compute: placements used 2, hard 1; evicting frees 1'],
  },
  {
    name: 'a cluster resource its limit does not name has no room, as in admission',
    input: {
      placements: [aCandidate('gpu', { clusters: ['us-east-1'], requests: { 'nvidia.com/gpu': '1' } }), aCandidate('cpu', { priority: -1, clusters: ['us-east-1'], requests: { cpu: '1' } })],
      clusters: [aClusterUsage('us-east-1', { cpu: '1', 'nvidia.com/gpu': '1' }, { cpu: '8' })],
    },
    violations: ['cluster us-east-1: nvidia.com/gpu allocated 1, limit 0'],
    evict: ['team-a/gpu ClusterCapacityExceeded: cluster us-east-1: nvidia.com/gpu allocated 1, limit 0; evicting frees 1'],
  },
  {
    name: 'a resource a quota does not limit is not checked',
    input: {
      placements: [aCandidate('a', { requests: { memory: '64Gi' } })],
      quotas: [compute({ cpu: '1', memory: '64Gi' }, { cpu: '1' })],
    },
  },
  {
    name: 'NotReady past the grace: every placement on it, whatever it charges, and their charge is freed elsewhere',
    input: {
      placements: [
        aCandidate('on-down', { priority: 5, clusters: ['down'], requests: { cpu: '4' } }),
        aCandidate('idle-on-down', { namespace: 'team-b', clusters: ['down'], requests: { cpu: '0' } }),
        aCandidate('elsewhere', { priority: -5, clusters: ['up'], requests: { cpu: '4' } }),
      ],
      quotas: [compute({ cpu: '8' }, { cpu: '4' })],
      clusters: [aClusterUsage('down', { cpu: '4' }, { cpu: '8' }, { notReadyForMs: 301_500 }), aClusterUsage('up', { cpu: '4' }, { cpu: '8' })],
    },
    violations: ['cluster down is not Ready: Ready=False (SyncerDown), for 301s (grace 300s)', 'quota team-a/compute: cpu used 8, hard 4'],
    evict: [
      'team-b/idle-on-down ClusterNotReady: cluster down is not Ready: Ready=False (SyncerDown), for 301s (grace 300s)',
      'team-a/on-down ClusterNotReady: cluster down is not Ready: Ready=False (SyncerDown), for 301s (grace 300s)',
    ],
  },
  {
    name: 'NotReady within the grace: nothing chosen',
    input: {
      placements: [aCandidate('a', { clusters: ['down'] })],
      clusters: [aClusterUsage('down', {}, {}, { notReadyForMs: GRACE })],
    },
  },
  {
    name: 'Soft quota: the same choice, marked instead of evicted',
    input: {
      placements: [aCandidate('older', { created: 1, requests: { cpu: '4' } }), aCandidate('newer', { created: 2, requests: { cpu: '4' } })],
      quotas: [compute({ cpu: '12' }, { cpu: '8' }, 'Soft')],
    },
    violations: ['quota team-a/compute: cpu used 12, hard 8'],
    wouldEvict: ['team-a/newer QuotaExceeded: quota team-a/compute: cpu used 12, hard 8; evicting frees 4'],
  },
  {
    name: 'Soft NotReady cluster: its placements are marked, not evicted',
    input: {
      placements: [aCandidate('a', { clusters: ['down'] })],
      clusters: [aClusterUsage('down', {}, {}, { mode: 'Soft', notReadyForMs: GRACE + 1, why: 'is not Ready: has never sent a heartbeat' })],
    },
    violations: ['cluster down is not Ready: has never sent a heartbeat, for 300s (grace 300s)'],
    wouldEvict: ['team-a/a ClusterNotReady: cluster down is not Ready: has never sent a heartbeat, for 300s (grace 300s)'],
  },
  {
    name: 'Hard and Soft share a victim: the Hard eviction cures the Soft quota too, nothing is left to mark',
    input: {
      placements: [aCandidate('both', { clusters: ['us-east-1'], requests: { cpu: '2' } })],
      quotas: [compute({ cpu: '10' }, { cpu: '8' }, 'Soft')],
      clusters: [aClusterUsage('us-east-1', { cpu: '14' }, { cpu: '12' })],
    },
    violations: ['quota team-a/compute: cpu used 10, hard 8', 'cluster us-east-1: cpu allocated 14, limit 12'],
    evict: ['team-a/both ClusterCapacityExceeded: cluster us-east-1: cpu allocated 14, limit 12; evicting frees 2'],
  },
  {
    name: 'a Hard violation is cured by Hard evictions alone, not by victims that Soft quotas only mark',
    input: {
      placements: [
        aCandidate('x', { quotas: ['team-a/soft-1'], clusters: ['us-east-1'], requests: { cpu: '1' } }),
        aCandidate('y', { quotas: ['team-a/soft-2'], clusters: ['us-east-1'], requests: { cpu: '1' } }),
      ],
      quotas: [aQuotaUsage('team-a/soft-1', { cpu: '1' }, { cpu: '0' }, 'Soft'), aQuotaUsage('team-a/soft-2', { cpu: '1' }, { cpu: '0' }, 'Soft')],
      clusters: [aClusterUsage('us-east-1', { cpu: '2' }, { cpu: '1' })],
    },
    violations: ['quota team-a/soft-1: cpu used 1, hard 0', 'quota team-a/soft-2: cpu used 1, hard 0', 'cluster us-east-1: cpu allocated 2, limit 1'],
    evict: ['team-a/x ClusterCapacityExceeded: cluster us-east-1: cpu allocated 2, limit 1; evicting frees 1'],
    wouldEvict: ['team-a/y QuotaExceeded: quota team-a/soft-2: cpu used 1, hard 0; evicting frees 1'],
  },
  {
    name: 'a violation that evicting every candidate cannot cure chooses nobody; the others are still cured',
    input: {
      placements: [aCandidate('a', { requests: { cpu: '1' } }), aCandidate('b', { namespace: 'team-b', quotas: ['team-b/compute'], requests: { cpu: '4' } })],
      quotas: [compute({ cpu: '6' }, { cpu: '4' }), aQuotaUsage('team-b/compute', { cpu: '4' }, { cpu: '2' })],
    },
    violations: ['quota team-a/compute: cpu used 6, hard 4 (incurable)', 'quota team-b/compute: cpu used 4, hard 2'],
    evict: ['team-b/b QuotaExceeded: quota team-b/compute: cpu used 4, hard 2; evicting frees 4'],
  },
  {
    name: 'clusters and quotas not in the input limit nothing',
    input: {
      placements: [aCandidate('a', { quotas: ['team-a/gone'], clusters: ['unknown'], requests: { cpu: '100' } })],
    },
  },
  {
    name: 'the default quota is named as the state labels it',
    input: {
      placements: [aCandidate('a', { quotas: ['team-a/'] })],
      quotas: [{ ...aQuotaUsage('team-a/', { placements: '1' }, { placements: '0' }), label: 'default quota of workspace team-a' }],
    },
    violations: ['default quota of workspace team-a: placements used 1, hard 0'],
    evict: ['team-a/a QuotaExceeded: default quota of workspace team-a: placements used 1, hard 0; evicting frees 1'],
  },
];

const inputOf = (partial: Partial<EvictionInput>): EvictionInput => ({ placements: [], quotas: [], clusters: [], notReadyGraceMs: GRACE, ...partial });

describe('chooseEvictions', () => {
  it.each(rows)('$name', (row) => {
    expect(summary(chooseEvictions(inputOf(row.input)))).toEqual({ violations: row.violations ?? [], evict: row.evict ?? [], wouldEvict: row.wouldEvict ?? [] });
  });

  it('reports the quotas and clusters within their limits, so their conditions can be cleared', () => {
    const choice = chooseEvictions(
      inputOf({
        placements: [aCandidate('a', { clusters: ['full'], requests: { cpu: '2' } })],
        quotas: [compute({ cpu: '2' }, { cpu: '1' }), aQuotaUsage('team-b/compute', {}, { cpu: '1' })],
        clusters: [aClusterUsage('full', { cpu: '2' }, { cpu: '1' }), aClusterUsage('fine', {}, { cpu: '1' }), aClusterUsage('down', {}, {}, { notReadyForMs: GRACE + 1 })],
      }),
    );
    expect({ quotas: choice.quotasWithinLimits, clusters: choice.clustersWithinLimits }).toEqual({ quotas: ['team-b/compute'], clusters: ['fine'] });
  });

  it('lists with each victim the violations it is needed for, the reason from the first', () => {
    const choice = chooseEvictions(
      inputOf({
        placements: [aCandidate('a', { clusters: ['us-east-1'], requests: { cpu: '2' } })],
        quotas: [compute({ cpu: '2' }, { cpu: '1' })],
        clusters: [aClusterUsage('us-east-1', { cpu: '2' }, { cpu: '1' })],
      }),
    );
    expect(choice.evict.map((victim) => ({ reason: victim.reason, needed: victim.violations.map((violation) => `${violation.reason} ${violation.subject}`) }))).toEqual([
      { reason: 'QuotaExceeded', needed: ['QuotaExceeded team-a/compute', 'ClusterCapacityExceeded us-east-1'] },
    ]);
  });
});

describe('evictionCandidate', () => {
  it('charges a tracked placement as SPEC §3 does', () => {
    const placement = workloadPlacementSchema.parse({
      apiVersion: 'tmc.kcp.io/v1alpha1',
      kind: 'WorkloadPlacement',
      metadata: { name: 'web', namespace: 'team-a', creationTimestamp: '2026-11-23T12:00:00Z' },
      spec: { resourceRequirements: { cpu: '2' }, targetClusters: [{ name: 'b' }], priority: 3 },
      status: { selectedClusters: ['a', 'b'] },
    });
    const candidate = evictionCandidate(placement, ['team-a/compute']);
    expect({ ...candidate, perCluster: formatList(candidate.perCluster), quotaCharge: formatList(candidate.quotaCharge) }).toEqual({
      key: 'team-a/web',
      name: 'web',
      priority: 3,
      createdMs: Date.parse('2026-11-23T12:00:00Z'),
      clusters: ['a', 'b'],
      perCluster: { cpu: '2', memory: '128Mi', storage: '0' },
      quotas: ['team-a/compute'],
      quotaCharge: { cpu: '4', memory: '256Mi', placements: '1', storage: '0' },
    });
  });
});
