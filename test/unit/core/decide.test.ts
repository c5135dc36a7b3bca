import { describe, expect, it } from '@jest/globals';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { decide, type Review } from '../../../src/core/decide.js';
import { aPlacement, aQuota, aSyncTarget, NOW, stateOf } from '../../builders/objects.js';

type Manifest = Record<string, unknown>;

interface Row {
  name: string;
  state: Manifest[];
  review: Review;
  config?: Record<string, unknown>;
  allowed: boolean;
  /** Exact denial message. */
  message?: string;
  code?: number;
  warnings?: string[];
}

const create = (object: Manifest): Review => ({ operation: 'CREATE', object });
const update = (object: Manifest, oldObject: Manifest): Review => ({ operation: 'UPDATE', object, oldObject });
const usEast = aSyncTarget('us-east-1');
const zero = { cpu: '0', memory: '0', storage: '0' };

const rows: Row[] = [
  {
    name: 'quota: exact fit is allowed',
    state: [usEast, aQuota('compute', { hard: { cpu: '2' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'quota: one nanocore over is denied',
    state: [usEast, aQuota('compute', { hard: { cpu: '2' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2000000001n' }, clusters: ['us-east-1'] })),
    allowed: false,
    message: 'exceeded quota team-a/compute: cpu requested 2000000001n, used 0, hard 2',
  },
  {
    name: 'quota: existing usage counts',
    state: [usEast, aQuota('compute', { hard: { cpu: '10' } }), aPlacement('old', { requirements: { cpu: '9' }, clusters: ['us-east-1'] })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })),
    config: { overcommit: { cpu: '3' } },
    allowed: false,
    message: 'exceeded quota team-a/compute: cpu requested 2, used 9, hard 10',
  },
  {
    name: 'quota: charge is multiplied by the number of clusters',
    state: [usEast, aSyncTarget('us-east-2'), aSyncTarget('eu-west-1'), aQuota('compute', { hard: { cpu: '5' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1', 'us-east-2', 'eu-west-1'] })),
    allowed: false,
    message: 'exceeded quota team-a/compute: cpu requested 6, used 0, hard 5',
  },
  {
    name: 'quota: selectedClusters join targetClusters in C (a cluster in both counts once)',
    state: [usEast, aSyncTarget('us-east-2'), aQuota('compute', { hard: { cpu: '3' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'], selected: ['us-east-1', 'us-east-2'] })),
    allowed: false,
    message: 'exceeded quota team-a/compute: cpu requested 4, used 0, hard 3',
  },
  {
    name: 'quota: a placement with no cluster is charged once',
    state: [aQuota('compute', { hard: { cpu: '2' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' } })),
    allowed: true,
  },
  {
    name: 'quota: the placements count is charged',
    state: [aQuota('count', { hard: { placements: '1' } }), aPlacement('old')],
    review: create(aPlacement('web')),
    allowed: false,
    message: 'exceeded quota team-a/count: placements requested 1, used 1, hard 1',
  },
  {
    name: 'quota: evicted placements charge nothing',
    state: [usEast, aQuota('compute', { hard: { cpu: '4', placements: '1' } }), aPlacement('gone', { requirements: { cpu: '4' }, clusters: ['us-east-1'], phase: 'Evicted' })],
    review: create(aPlacement('web', { requirements: { cpu: '4' }, clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'quota: scope matches, so the quota applies',
    state: [aQuota('batch', { hard: { cpu: '1' }, scope: { matchLabels: { tier: 'batch' } } })],
    review: create(aPlacement('job', { requirements: { cpu: '2' }, labels: { tier: 'batch' } })),
    allowed: false,
    message: 'exceeded quota team-a/batch: cpu requested 2, used 0, hard 1',
  },
  {
    name: 'quota: scope does not match, so the quota does not apply',
    state: [aQuota('batch', { hard: { cpu: '1' }, scope: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['batch'] }] } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, labels: { tier: 'web' } })),
    allowed: true,
  },
  {
    name: 'quota: several quotas violated at once are all named',
    state: [
      aQuota('compute', { hard: { cpu: '1', memory: '1Gi' } }),
      aQuota('batch', { hard: { placements: '0' }, scope: { matchExpressions: [{ key: 'tier', operator: 'Exists' }] } }),
    ],
    review: create(aPlacement('job', { requirements: { cpu: '2', memory: '2Gi' }, labels: { tier: 'batch' } })),
    allowed: false,
    message:
      'exceeded quota team-a/batch: placements requested 1, used 0, hard 0; ' +
      'exceeded quota team-a/compute: cpu requested 2, used 0, hard 1; ' +
      'exceeded quota team-a/compute: memory requested 2Gi, used 0, hard 1Gi',
  },
  {
    name: 'quota: the default quota applies to a workspace without quotas',
    state: [aPlacement('old')],
    review: create(aPlacement('web')),
    config: { defaultQuota: { enabled: true, hard: { placements: '1' } } },
    allowed: false,
    message: 'exceeded default quota of workspace team-a: placements requested 1, used 1, hard 1',
  },
  {
    name: 'quota: the default quota does not apply when the workspace has its own',
    state: [aQuota('big', { hard: { placements: '5' } }), aPlacement('old')],
    review: create(aPlacement('web')),
    config: { defaultQuota: { enabled: true, hard: { placements: '1' } } },
    allowed: true,
  },
  {
    name: 'quota: no quota and the default disabled admits anything',
    state: [],
    review: create(aPlacement('web', { requirements: { cpu: '1000' } })),
    allowed: true,
  },
  {
    name: 'quota: kcp workspaces with the same namespace are separate',
    state: [aQuota('compute', { hard: { cpu: '1' }, annotations: { 'kcp.io/cluster': 'root:org' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' } })),
    allowed: true,
  },
  {
    name: 'quota: kcp workspace key names the logical cluster',
    state: [aQuota('compute', { hard: { cpu: '1' }, annotations: { 'kcp.io/cluster': 'root:org' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, annotations: { 'kcp.io/cluster': 'root:org' } })),
    allowed: false,
    message: 'exceeded quota root:org:team-a/compute: cpu requested 2, used 0, hard 1',
  },
  {
    name: 'quota: crossing a soft limit is allowed with a warning',
    state: [aQuota('compute', { hard: { cpu: '10' }, soft: { cpu: '8' } }), aPlacement('old', { requirements: { cpu: '7' } })],
    review: create(aPlacement('web', { requirements: { cpu: '2' } })),
    allowed: true,
    warnings: ['quota team-a/compute is over its soft limit: cpu requested 2, used 7, soft 8, hard 10'],
  },
  {
    name: 'cluster: exact fit of cpu with 1.5 overcommit is allowed',
    state: [usEast, aPlacement('old', { namespace: 'other', requirements: { cpu: '10' }, clusters: ['us-east-1'] })],
    review: create(aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'cluster: one byte of memory over 1.2 overcommit is denied',
    state: [aSyncTarget('small', { capacity: { cpu: '8', memory: '1Gi' } }), aSyncTarget('big', { capacity: { cpu: '8', memory: '4Gi' } })],
    review: create(aPlacement('web', { requirements: { cpu: '1', memory: '1288490189' }, clusters: ['small'] })),
    allowed: false,
    message:
      'cluster small lacks memory: requested 1288490189, free 1.2Gi (allocatable 1Gi x 1.2 overcommit, allocated 0); ' +
      'clusters with room: big',
  },
  {
    name: 'cluster: the same memory less one byte fits',
    state: [aSyncTarget('small', { capacity: { cpu: '8', memory: '1Gi' } })],
    review: create(aPlacement('web', { requirements: { cpu: '1', memory: '1288490188' }, clusters: ['small'] })),
    allowed: true,
  },
  {
    name: 'cluster: allocatable, not capacity, is the base',
    state: [aSyncTarget('us-east-1', { capacity: { cpu: '8' }, allocatable: { cpu: '2' } })],
    review: create(aPlacement('web', { requirements: { cpu: '4', memory: '0' }, clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 lacks cpu: requested 4, free 3 (allocatable 2 x 1.5 overcommit, allocated 0); clusters with room: none',
  },
  {
    name: 'cluster: unknown cluster is named',
    state: [usEast],
    review: create(aPlacement('web', { clusters: ['us-east-9'] })),
    allowed: false,
    message: 'cluster us-east-9 does not exist; clusters with room: us-east-1',
  },
  {
    name: 'cluster: a stale heartbeat makes it NotReady',
    state: [aSyncTarget('us-east-1', { heartbeatAgoMs: 61_000 })],
    review: create(aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 is not Ready: last heartbeat 2026-11-23T11:58:59.000Z is 61s old (over 3 x 20s); clusters with room: none',
  },
  {
    name: 'cluster: a heartbeat of exactly 3 intervals is still fresh',
    state: [aSyncTarget('us-east-1', { heartbeatAgoMs: 60_000 })],
    review: create(aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'cluster: Ready=False is NotReady',
    state: [aSyncTarget('us-east-1', { ready: false })],
    review: create(aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 is not Ready: Ready=False (SyncerDown); clusters with room: none',
  },
  {
    name: 'cluster: no heartbeat ever is NotReady',
    state: [aSyncTarget('us-east-1', { heartbeatAgoMs: null })],
    review: create(aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 is not Ready: has never sent a heartbeat; clusters with room: none',
  },
  {
    name: 'cluster: unschedulable admits no new placement',
    state: [aSyncTarget('us-east-1', { unschedulable: true }), aSyncTarget('eu-west-1')],
    review: create(aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 is unschedulable (spec.unschedulable: true); clusters with room: eu-west-1',
  },
  {
    name: 'cluster: a resource named like an Object.prototype member is a resource like any other',
    state: [usEast],
    review: create(aPlacement('web', { requirements: { constructor: '1' }, clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster us-east-1 lacks constructor: requested 1, free 0 (allocatable 0 x 1 overcommit, allocated 0); clusters with room: none',
  },
  {
    name: 'update: lowering usage is allowed even over quota and on a lost cluster',
    state: [aQuota('compute', { hard: { cpu: '1' } }), aPlacement('web', { requirements: { cpu: '4' }, clusters: ['gone'] })],
    review: update(aPlacement('web', { requirements: { cpu: '3' }, clusters: ['gone'] }), aPlacement('web', { requirements: { cpu: '4' }, clusters: ['gone'] })),
    allowed: true,
  },
  {
    name: 'update: raising usage is charged the difference only',
    state: [usEast, aQuota('compute', { hard: { cpu: '4' } }), aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })],
    review: update(aPlacement('web', { requirements: { cpu: '3' }, clusters: ['us-east-1'] }), aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'update: raising usage past the quota is denied with the difference',
    state: [usEast, aQuota('compute', { hard: { cpu: '4' } }), aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })],
    review: update(aPlacement('web', { requirements: { cpu: '5' }, clusters: ['us-east-1'] }), aPlacement('web', { requirements: { cpu: '2' }, clusters: ['us-east-1'] })),
    allowed: false,
    message: 'exceeded quota team-a/compute: cpu requested 3, used 2, hard 4',
  },
  {
    name: 'update: adding a cluster checks that cluster',
    state: [usEast, aPlacement('web', { clusters: ['us-east-1'] })],
    review: update(aPlacement('web', { clusters: ['us-east-1', 'nowhere'] }), aPlacement('web', { clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster nowhere does not exist; clusters with room: none',
  },
  {
    name: 'zero requirements: an unknown cluster is still refused',
    state: [usEast],
    review: create(aPlacement('web', { requirements: zero, clusters: ['us-east-9'] })),
    allowed: false,
    message: 'cluster us-east-9 does not exist; clusters with room: us-east-1',
  },
  {
    name: 'zero requirements: a NotReady cluster is still refused',
    state: [usEast, aSyncTarget('us-east-2', { ready: false })],
    review: create(aPlacement('web', { requirements: zero, clusters: ['us-east-2'] })),
    allowed: false,
    message: 'cluster us-east-2 is not Ready: Ready=False (SyncerDown); clusters with room: us-east-1',
  },
  {
    name: 'zero requirements: an unschedulable cluster is still refused',
    state: [usEast, aSyncTarget('us-east-2', { unschedulable: true })],
    review: create(aPlacement('web', { requirements: zero, clusters: ['us-east-2'] })),
    allowed: false,
    message: 'cluster us-east-2 is unschedulable (spec.unschedulable: true); clusters with room: us-east-1',
  },
  {
    name: 'zero requirements: an update that adds an unknown cluster is refused',
    state: [usEast, aPlacement('web', { requirements: zero, clusters: ['us-east-1'] })],
    review: update(aPlacement('web', { requirements: zero, clusters: ['us-east-1', 'nowhere'] }), aPlacement('web', { requirements: zero, clusters: ['us-east-1'] })),
    allowed: false,
    message: 'cluster nowhere does not exist; clusters with room: none',
  },
  {
    name: 'zero requirements on a Ready cluster are allowed',
    state: [usEast],
    review: create(aPlacement('web', { requirements: zero, clusters: ['us-east-1'] })),
    allowed: true,
  },
  {
    name: 'huge: 100k resources are refused by counting them, before any is parsed',
    state: [usEast],
    review: create(aPlacement('web', { requirements: Object.fromEntries(Array.from({ length: 100_000 }, (_, i) => [`r${i}`, 'bad'])), clusters: ['us-east-1'] })),
    allowed: false,
    code: 422,
    message: 'invalid WorkloadPlacement: spec.resourceRequirements: at most 64 resources',
  },
  {
    name: 'huge: a message names the first 10 problems and counts the rest',
    state: [usEast],
    review: create(aPlacement('web', { requirements: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`r${String(i).padStart(2, '0')}`, 'bad'])) })),
    allowed: false,
    code: 422,
    message: `invalid WorkloadPlacement: ${Array.from({ length: 10 }, (_, i) => `spec.resourceRequirements.r${String(i).padStart(2, '0')}: invalid quantity "bad": expected a number`).join('; ')}; and 20 more`,
  },
  {
    name: 'huge: 300 unknown clusters are named 10 at a time',
    state: [usEast],
    review: create(aPlacement('web', { clusters: Array.from({ length: 200 }, (_, i) => `gone-${String(i).padStart(3, '0')}`) })),
    allowed: false,
    message: `${Array.from({ length: 10 }, (_, i) => `cluster gone-${String(i).padStart(3, '0')} does not exist`).join('; ')}; and 190 more; clusters with room: us-east-1`,
  },
  {
    name: 'update: a status subresource write is allowed untouched',
    state: [aQuota('compute', { hard: { cpu: '1' } })],
    review: { operation: 'UPDATE', subResource: 'status', object: aPlacement('web', { requirements: { cpu: '9' } }), oldObject: aPlacement('web') },
    allowed: true,
  },
  {
    name: 'delete is allowed untouched',
    state: [],
    review: { operation: 'DELETE', oldObject: aPlacement('web') },
    allowed: true,
  },
  {
    name: 'other kinds are allowed untouched',
    state: [],
    review: { operation: 'CREATE', kind: { group: '', kind: 'ConfigMap' }, object: { kind: 'ConfigMap' } },
    allowed: true,
  },
  {
    name: 'malformed: a bad quantity is refused with 422 naming the field',
    state: [],
    review: create(aPlacement('web', { requirements: { cpu: '2 cores' } })),
    allowed: false,
    code: 422,
    message: expect.stringMatching(/^invalid WorkloadPlacement: spec\.resourceRequirements\.cpu: invalid quantity "2 cores"/) as unknown as string,
  },
  {
    name: 'malformed: a negative quantity is refused with 422 naming the field',
    state: [],
    review: create(aPlacement('web', { requirements: { memory: '-1Gi' } })),
    allowed: false,
    code: 422,
    message: 'invalid WorkloadPlacement: spec.resourceRequirements.memory: invalid quantity "-1Gi": must not be negative',
  },
  {
    name: 'the full picture: quota, capacity and clusters with room, most room first, at most 3',
    state: [
      aSyncTarget('us-east-1', { capacity: { cpu: '64', memory: '16Gi' } }),
      aSyncTarget('eu-west-1', { capacity: { cpu: '64', memory: '8Gi' } }),
      aSyncTarget('eu-west-2', { capacity: { cpu: '64', memory: '64Gi' } }),
      aSyncTarget('ap-south-1', { capacity: { cpu: '64', memory: '32Gi' } }),
      aSyncTarget('ap-east-1', { capacity: { cpu: '64', memory: '32Gi' } }),
      aSyncTarget('sa-east-1', { capacity: { cpu: '64', memory: '2Gi' } }),
      aQuota('compute', { hard: { cpu: '10' } }),
      aPlacement('old', { requirements: { cpu: '9', memory: '18.2Gi' }, clusters: ['us-east-1'] }),
    ],
    review: create(aPlacement('web', { requirements: { cpu: '2', memory: '4Gi' }, clusters: ['us-east-1'] })),
    allowed: false,
    message:
      'exceeded quota team-a/compute: cpu requested 2, used 9, hard 10; ' +
      'cluster us-east-1 lacks memory: requested 4Gi, free 1Gi (allocatable 16Gi x 1.2 overcommit, allocated 18.2Gi); ' +
      'clusters with room: eu-west-2, ap-east-1, ap-south-1',
  },
];

describe('decide', () => {
  it.each(rows)('$name', (row) => {
    const config = decisionConfigSchema.parse(row.config ?? {});
    const decision = decide(row.review, stateOf(...row.state), config, NOW);
    expect(decision.allowed).toBe(row.allowed);
    if (decision.allowed) {
      expect(decision.warnings).toEqual(row.warnings ?? []);
    } else {
      expect(decision).toMatchObject({ code: row.code ?? 403, message: row.message });
    }
  });
});

describe('decide: the cause of a denial, for metrics', () => {
  const tooBig = (clusters: string[]) => create(aPlacement('web', { requirements: { cpu: '100' }, clusters }));
  it.each([
    ['quota', [usEast, aQuota('compute', { hard: { cpu: '2' } })], create(aPlacement('web', { requirements: { cpu: '3' }, clusters: ['us-east-1'] }))],
    ['capacity', [usEast], tooBig(['us-east-1'])],
    ['unknown_cluster', [], tooBig(['nowhere'])],
    ['cluster_not_ready', [aSyncTarget('us-east-1', { ready: false })], tooBig(['us-east-1'])],
    ['cluster_unschedulable', [aSyncTarget('us-east-1', { unschedulable: true })], create(aPlacement('web', { clusters: ['us-east-1'] }))],
    ['invalid', [], create(aPlacement('web', { requirements: { cpu: '2 cores' } }))],
    // Several violations: the first one a person would fix (the quota) names the cause.
    ['quota', [usEast, aQuota('compute', { hard: { cpu: '2' } })], tooBig(['us-east-1'])],
  ])('%s', (cause, state, review) => {
    expect(decide(review, stateOf(...state), decisionConfigSchema.parse({}), NOW)).toMatchObject({ allowed: false, cause });
  });
});
