/**
 * The CRDs in manifests/crds/ as the real API server enforces them: schemas (the shared table in
 * test/fixtures/crd-cases.ts), defaults, the status subresource, printer columns, short names and the
 * `placement-quota` category.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { crdCases, type CrdCase, type CrdKind } from '../fixtures/crd-cases.js';
import { deleteFreshNamespaces, freshNamespace, kubectl, type KubectlResult } from './support/cluster.js';

jest.setTimeout(30_000);

type Manifest = Record<string, unknown>;

interface Stored {
  metadata: { name: string; generation?: number };
  spec?: Manifest;
  status?: Manifest;
}

const resource: Record<CrdKind, string> = {
  WorkloadPlacement: 'workloadplacements.tmc.kcp.io',
  SyncTarget: 'synctargets.tmc.kcp.io',
  WorkspaceQuota: 'workspacequotas.tmc.kcp.io',
};

let ns = '';
/** SyncTargets are cluster-scoped: the namespace clean-up does not take them away. */
const syncTargetsCreated: string[] = [];

beforeAll(async () => {
  ns = await freshNamespace('crds');
});

afterAll(async () => {
  if (syncTargetsCreated.length > 0) {
    await kubectl(['delete', resource.SyncTarget, '--ignore-not-found', '--wait=false', ...syncTargetsCreated]);
  }
  await deleteFreshNamespaces();
});

const nameOf = (object: Manifest): string => (object.metadata as { name: string }).name;
const scope = (kind: CrdKind): string[] => (kind === 'SyncTarget' ? [] : ['-n', ns]);

function withoutStatus(object: Manifest): Manifest {
  const copy = { ...object };
  delete copy.status;
  return copy;
}

/** Fails with kubectl's stderr in the message, so a refused object says why. */
function expectSuccess(res: KubectlResult): void {
  expect(res.code === 0 ? 'exit 0' : `exit ${res.code}: ${res.stderr}`).toBe('exit 0');
}

/** Fails with kubectl's output in the message when kubectl did not fail. */
function expectRefusal(res: KubectlResult): void {
  expect(res.code === 0 ? `exit 0: ${res.stdout}` : 'refused').toBe('refused');
}

async function apply(kind: CrdKind, object: Manifest): Promise<KubectlResult> {
  if (kind === 'SyncTarget') syncTargetsCreated.push(nameOf(object));
  return kubectl(['apply', ...scope(kind), '-f', '-'], { input: JSON.stringify(object) });
}

async function patch(kind: CrdKind, name: string, body: Manifest, subresource?: 'status'): Promise<KubectlResult> {
  const sub = subresource ? [`--subresource=${subresource}`] : [];
  return kubectl(['patch', resource[kind], name, ...scope(kind), ...sub, '--type=merge', '-p', JSON.stringify(body)]);
}

async function getStored(kind: CrdKind, name: string): Promise<Stored> {
  const res = await kubectl(['get', resource[kind], name, ...scope(kind), '-o', 'json']);
  expectSuccess(res);
  return JSON.parse(res.stdout) as Stored;
}

/** `kubectl get` table output as rows of cells (kubectl pads columns with at least 3 spaces). */
/** The first row of a table as column → cell, cut at the header's column starts: empty cells stay empty. */
function columns(stdout: string): Record<string, string> {
  const [header = '', row = ''] = stdout.trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((match) => [match[0], match.index] as const);
  return Object.fromEntries(starts.map(([name, start], i) => [name, row.slice(start, starts[i + 1]?.[1] ?? row.length).trim()]));
}

function table(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.trim().split(/\s{2,}/));
}

describe('the CRDs are installed', () => {
  it('all three are Established with their names accepted', async () => {
    const res = await kubectl(['get', 'crd', ...Object.values(resource), '-o', 'json']);
    expectSuccess(res);
    const items = (JSON.parse(res.stdout) as { items: { metadata: { name: string }; status: { conditions: { type: string; status: string }[] } }[] }).items;
    const state = Object.fromEntries(
      items.map((crd) => [crd.metadata.name, crd.status.conditions.filter((c) => c.status === 'True').map((c) => c.type).sort()]),
    );
    expect(state).toEqual({
      'workloadplacements.tmc.kcp.io': ['Established', 'NamesAccepted'],
      'synctargets.tmc.kcp.io': ['Established', 'NamesAccepted'],
      'workspacequotas.tmc.kcp.io': ['Established', 'NamesAccepted'],
    });
  });

  it('the placement-quota category holds exactly the three kinds', async () => {
    const res = await kubectl(['api-resources', '--categories=placement-quota', '-o', 'name']);
    expectSuccess(res);
    expect(res.stdout.trim().split('\n').sort()).toEqual(Object.values(resource).sort());
  });
});

const specCases = crdCases.filter((c) => c.subresource === undefined);
const statusCases = crdCases.filter((c) => c.subresource === 'status');

/** What a create leaves in status: nothing, but for the default a placement's CRD gives its phase. */
const statusAfterCreate = (kind: CrdKind): Manifest | undefined => (kind === 'WorkloadPlacement' ? { phase: 'Pending' } : undefined);

describe('valid objects are stored', () => {
  it.each(specCases.filter((c) => c.valid))('$kind: $name', async (c: CrdCase) => {
    expectSuccess(await apply(c.kind, c.object));
    const stored = await getStored(c.kind, nameOf(c.object));
    // The API server adds defaults; everything given is kept as given.
    expect(stored.spec ?? {}).toMatchObject((c.object.spec as Manifest | undefined) ?? {});
    // With the status subresource on, a create drops status; a placement's default phase is applied on read.
    expect(stored.status).toEqual(statusAfterCreate(c.kind));
  });

  it.each(statusCases.filter((c) => c.valid))('$kind: $name (status subresource)', async (c: CrdCase) => {
    expectSuccess(await apply(c.kind, withoutStatus(c.object)));
    expectSuccess(await patch(c.kind, nameOf(c.object), { status: c.object.status }, 'status'));
    const stored = await getStored(c.kind, nameOf(c.object));
    expect(stored.status).toEqual(c.object.status);
  });
});

describe('invalid objects are refused, naming the field', () => {
  it.each(specCases.filter((c) => !c.valid))('$kind: $name → $field', async (c: CrdCase) => {
    const res = await apply(c.kind, c.object);
    expectRefusal(res);
    expect(res.stderr).toContain(`is invalid: `);
    expect(res.stderr).toContain(`${c.field ?? '<no field in the table>'}: `);
    const after = await kubectl(['get', resource[c.kind], nameOf(c.object), ...scope(c.kind)]);
    expect(after.stderr).toContain('NotFound');
  });

  it.each(statusCases.filter((c) => !c.valid))('$kind: $name → $field (status subresource)', async (c: CrdCase) => {
    expectSuccess(await apply(c.kind, withoutStatus(c.object)));
    const res = await patch(c.kind, nameOf(c.object), { status: c.object.status }, 'status');
    expectRefusal(res);
    expect(res.stderr).toContain(`is invalid: `);
    expect(res.stderr).toContain(`${c.field ?? '<no field in the table>'}: `);
    const stored = await getStored(c.kind, nameOf(c.object));
    expect(stored.status).toEqual(statusAfterCreate(c.kind));
  });

  it('targetClusters names are unique (a list map keyed by name)', async () => {
    const object = {
      apiVersion: 'tmc.kcp.io/v1alpha1',
      kind: 'WorkloadPlacement',
      metadata: { name: 'wp-duplicate-clusters' },
      spec: { targetClusters: [{ name: 'us-east-1' }, { name: 'us-east-1' }] },
    };
    const res = await apply('WorkloadPlacement', object);
    expectRefusal(res);
    expect(res.stderr).toContain('spec.targetClusters[1]: Duplicate value');
  });
});

describe('defaults are applied by the API server', () => {
  it.each<[string, CrdKind, Manifest | undefined, Manifest]>([
    [
      'placement without spec',
      'WorkloadPlacement',
      undefined,
      { priority: 0, conflictStrategy: 'UseNewest', resourceRequirements: { cpu: '100m', memory: '128Mi', storage: '0' } },
    ],
    [
      'placement with a partial spec',
      'WorkloadPlacement',
      { priority: -3 },
      { priority: -3, conflictStrategy: 'UseNewest', resourceRequirements: { cpu: '100m', memory: '128Mi', storage: '0' } },
    ],
    ['sync target without spec', 'SyncTarget', undefined, { unschedulable: false, heartbeatInterval: '20s' }],
    [
      'sync target with a partial spec',
      'SyncTarget',
      { location: 'eu-west', heartbeatInterval: '1m' },
      { location: 'eu-west', unschedulable: false, heartbeatInterval: '1m' },
    ],
  ])('%s', async (title, kind, spec, expected) => {
    const name = `crd-defaults-${title.replace(/ /g, '-')}`;
    const object = { apiVersion: 'tmc.kcp.io/v1alpha1', kind, metadata: { name }, ...(spec ? { spec } : {}) };
    expectSuccess(await apply(kind, object));
    expect((await getStored(kind, name)).spec).toEqual(expected);
  });
});

describe('status is written only through the status subresource', () => {
  const name = 'wp-status-writes';
  const placement = {
    apiVersion: 'tmc.kcp.io/v1alpha1',
    kind: 'WorkloadPlacement',
    metadata: { name },
    spec: { resourceRequirements: { cpu: '1' }, targetClusters: [{ name: 'us-east-1' }] },
  };

  beforeAll(async () => {
    expectSuccess(await apply('WorkloadPlacement', placement));
    expectSuccess(await patch('WorkloadPlacement', name, { status: { phase: 'Placed' } }, 'status'));
  });

  it('kubectl apply of status changes the spec but leaves status as it was', async () => {
    const res = await apply('WorkloadPlacement', { ...placement, spec: { ...placement.spec, priority: 7 }, status: { phase: 'Evicted' } });
    expectSuccess(res);
    const stored = await getStored('WorkloadPlacement', name);
    expect({ priority: stored.spec?.priority, phase: stored.status?.phase }).toEqual({ priority: 7, phase: 'Placed' });
  });

  it('kubectl patch of status without --subresource leaves it unchanged', async () => {
    const res = await patch('WorkloadPlacement', name, { status: { phase: 'Evicted' } });
    expectSuccess(res);
    expect((await getStored('WorkloadPlacement', name)).status?.phase).toBe('Placed');
  });

  it('kubectl patch --subresource=status changes status, and only status', async () => {
    const before = await getStored('WorkloadPlacement', name);
    const res = await patch('WorkloadPlacement', name, { spec: { priority: 99 }, status: { phase: 'Evicted' } }, 'status');
    expectSuccess(res);
    const after = await getStored('WorkloadPlacement', name);
    expect({ phase: after.status?.phase, priority: after.spec?.priority, generation: after.metadata.generation }).toEqual({
      phase: 'Evicted',
      priority: before.spec?.priority,
      generation: before.metadata.generation,
    });
  });
});

describe('kubectl get shows the printer columns', () => {
  const placement = {
    apiVersion: 'tmc.kcp.io/v1alpha1',
    kind: 'WorkloadPlacement',
    metadata: { name: 'wp-columns' },
    spec: { resourceRequirements: { cpu: '2', memory: '4Gi' }, targetClusters: [{ name: 'us-east-1' }, { name: 'eu-west-2' }] },
  };
  const syncTarget = {
    apiVersion: 'tmc.kcp.io/v1alpha1',
    kind: 'SyncTarget',
    metadata: { name: 'crd-columns-us-east-1' },
    spec: { location: 'us-east' },
  };
  const syncTargetStatus = {
    capacity: { cpu: '64', memory: '256Gi' },
    conditions: [{ type: 'Ready', status: 'True', reason: 'HeartbeatFresh', message: '', lastTransitionTime: '2026-11-23T12:00:00Z' }],
  };
  const quota = {
    apiVersion: 'tmc.kcp.io/v1alpha1',
    kind: 'WorkspaceQuota',
    metadata: { name: 'wq-columns' },
    spec: { hard: { cpu: '10', memory: '40Gi', placements: '20' } },
  };
  const quotaStatus = {
    hard: { cpu: '10', memory: '40Gi', placements: '20' },
    used: { cpu: '9', memory: '18Gi', placements: '2' },
    summary: { cpu: '9/10', memory: '18Gi/40Gi', placements: '2/20' },
    phase: 'Active',
  };

  beforeAll(async () => {
    expectSuccess(await apply('WorkloadPlacement', placement));
    // As the service's leader writes it (src/core/status-aggregation.ts); no webhook runs in this file.
    const aggregatedStatus = { phase: 'Running', ready: '2/2', clusterNames: 'eu-west-2,us-east-1', strategy: 'UseNewest', observedGeneration: 1, why: 'all 2 clusters report Running', conflicts: [] };
    expectSuccess(await patch('WorkloadPlacement', 'wp-columns', { status: { phase: 'Placed', aggregatedStatus } }, 'status'));
    expectSuccess(await apply('SyncTarget', syncTarget));
    expectSuccess(await patch('SyncTarget', 'crd-columns-us-east-1', { status: syncTargetStatus }, 'status'));
    expectSuccess(await apply('WorkspaceQuota', quota));
    expectSuccess(await patch('WorkspaceQuota', 'wq-columns', { status: quotaStatus }, 'status'));
  });

  it('kubectl get wp: a new placement reads Pending, with its defaulted requirements', async () => {
    const fresh = { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: { name: 'wp-columns-fresh' }, spec: { targetClusters: [{ name: 'us-east-1' }] } };
    expectSuccess(await apply('WorkloadPlacement', fresh));
    const res = await kubectl(['get', 'wp', 'wp-columns-fresh', '-n', ns]);
    expectSuccess(res);
    // STATUS and READY wait for the leader's first aggregation (no webhook runs here): empty cells.
    expect(columns(res.stdout)).toMatchObject({ NAME: 'wp-columns-fresh', PHASE: 'Pending', STATUS: '', READY: '', CPU: '100m', MEMORY: '128Mi', CLUSTERS: '' });
  });

  it('kubectl get wp: PHASE, STATUS, READY, CPU, MEMORY, CLUSTERS (names joined by commas), AGE', async () => {
    const res = await kubectl(['get', 'wp', 'wp-columns', '-n', ns]);
    expectSuccess(res);
    const [header, row] = table(res.stdout);
    expect(header).toEqual(['NAME', 'PHASE', 'STATUS', 'READY', 'CPU', 'MEMORY', 'CLUSTERS', 'AGE']);
    expect(row?.slice(0, 7)).toEqual(['wp-columns', 'Placed', 'Running', '2/2', '2', '4Gi', 'eu-west-2,us-east-1']);
    expect(row?.[7]).toMatch(/^\d+[smhd]/);
  });

  it('kubectl get wp -o wide adds STRATEGY, WINNER, CONFLICT, GENERATION, SELECTED', async () => {
    const res = await kubectl(['get', 'wp', 'wp-columns', '-n', ns, '-o', 'wide']);
    expectSuccess(res);
    const [header, row] = table(res.stdout);
    expect(header).toEqual(['NAME', 'PHASE', 'STATUS', 'READY', 'CPU', 'MEMORY', 'CLUSTERS', 'AGE', 'STRATEGY', 'WINNER', 'CONFLICT', 'GENERATION', 'SELECTED']);
    expect(row?.slice(8)).toEqual(['UseNewest', '1']);
    expect(columns(res.stdout)).toMatchObject({ STRATEGY: 'UseNewest', WINNER: '', CONFLICT: '', GENERATION: '1', SELECTED: '' });
  });

  it('kubectl get synctargets: READY, LOCATION, CPU, MEMORY, AGE', async () => {
    const res = await kubectl(['get', 'synctargets', 'crd-columns-us-east-1']);
    expectSuccess(res);
    const [header, row] = table(res.stdout);
    expect(header).toEqual(['NAME', 'READY', 'LOCATION', 'CPU', 'MEMORY', 'AGE']);
    expect(row?.slice(0, 5)).toEqual(['crd-columns-us-east-1', 'True', 'us-east', '64', '256Gi']);
  });

  it('kubectl get wq: CPU, MEMORY, PLACEMENTS as used/hard, PHASE, AGE', async () => {
    const res = await kubectl(['get', 'wq', 'wq-columns', '-n', ns]);
    expectSuccess(res);
    const [header, row] = table(res.stdout);
    expect(header).toEqual(['NAME', 'CPU', 'MEMORY', 'PLACEMENTS', 'PHASE', 'AGE']);
    expect(row?.slice(0, 5)).toEqual(['wq-columns', '9/10', '18Gi/40Gi', '2/20', 'Active']);
  });

  it('kubectl get wq -o wide adds the raw used and hard amounts', async () => {
    const res = await kubectl(['get', 'wq', 'wq-columns', '-n', ns, '-o', 'wide']);
    expectSuccess(res);
    const [header, row] = table(res.stdout);
    expect(header?.slice(6)).toEqual(['CPU USED', 'CPU HARD', 'MEMORY USED', 'MEMORY HARD', 'PLACEMENTS USED', 'PLACEMENTS HARD']);
    expect(row?.slice(6)).toEqual(['9', '10', '18Gi', '40Gi', '2', '20']);
  });

  it('long names and short names list the same objects', async () => {
    const [wp, workloadplacements, wq, workspacequotas] = await Promise.all([
      kubectl(['get', 'wp', '-n', ns, '-o', 'name']),
      kubectl(['get', 'workloadplacements', '-n', ns, '-o', 'name']),
      kubectl(['get', 'wq', '-n', ns, '-o', 'name']),
      kubectl(['get', 'workspacequotas', '-n', ns, '-o', 'name']),
    ]);
    expect(wp.stdout).toContain('workloadplacement.tmc.kcp.io/wp-columns\n');
    expect(wp).toEqual(workloadplacements);
    expect(wq.stdout).toContain('workspacequota.tmc.kcp.io/wq-columns\n');
    expect(wq).toEqual(workspacequotas);
  });

  it('kubectl get placement-quota lists all three kinds', async () => {
    const res = await kubectl(['get', 'placement-quota', '-n', ns, '-o', 'name']);
    expectSuccess(res);
    expect(res.stdout.split('\n')).toEqual(
      expect.arrayContaining([
        'workloadplacement.tmc.kcp.io/wp-columns',
        'synctarget.tmc.kcp.io/crd-columns-us-east-1',
        'workspacequota.tmc.kcp.io/wq-columns',
      ]),
    );
  });
});
