/**
 * manifests/rbac.yaml grants the service what it needs and nothing more, checked as the service's own
 * identity (the service kubeconfig) against the real authorizer: the whole list of what it may do
 * (`kubectl auth can-i --list`) against the manifest's rules, named questions, and real calls.
 */
import { randomBytes } from 'node:crypto';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { PlacementConflictError } from '../../src/enforcement/eviction-loop.js';
import { kubernetesPlacementStatusApi } from '../../src/enforcement/placement-status-api.js';
import { clusterInfo, deleteFreshNamespaces, freshNamespace, kubectl, type KubectlResult } from './support/cluster.js';
import { BASELINE_ACCOUNT, canList, grantsBeyond, SYSTEM_NS } from './support/rbac.js';

jest.setTimeout(30_000);

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../manifests');
const SERVICE_USER = 'system:serviceaccount:placement-quota-system:placement-quota-webhook';

let appNs = '';
let otherNs = '';

const asService = (args: string[]): Promise<KubectlResult> => kubectl(args, { kubeconfig: clusterInfo().serviceKubeconfig });

function expectSuccess(res: KubectlResult): void {
  expect(res.code === 0 ? 'exit 0' : `exit ${res.code}: ${res.stderr}`).toBe('exit 0');
}

function expectForbidden(res: KubectlResult, verb: string, resource: string): void {
  expect(res.code === 0 ? `exit 0: ${res.stdout}` : res.stderr).toContain(`Forbidden`);
  expect(res.stderr).toContain(`User "${SERVICE_USER}" cannot ${verb} resource "${resource}"`);
}

beforeAll(async () => {
  // Only the identity and permission files: the CRDs are installed by the global setup, and the
  // rest of the kustomization (Deployment, webhook) is not for this test.
  const files = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml'].flatMap((f) => ['-f', path.join(manifests, f)]);
  expectSuccess(await kubectl(['apply', ...files]));
  [appNs, otherNs] = await Promise.all([freshNamespace('rbac-app'), freshNamespace('rbac-other')]);
});

afterAll(deleteFreshNamespaces);

it('the service kubeconfig authenticates as the service account', async () => {
  const res = await asService(['auth', 'whoami', '-o', 'jsonpath={.status.userInfo.username}']);
  expectSuccess(res);
  expect(res.stdout).toBe(SERVICE_USER);
});

describe('kubectl auth can-i --list, as the service', () => {
  // Beside an account of the same groups and no bindings: what every account gets (discovery, self
  // reviews) is not the manifest's to grant. The service's side is its own kubeconfig, not an
  // impersonation, so the identity the replicas run with is the one judged.
  it.each([
    ['its own namespace', (): string => SYSTEM_NS],
    ['a placement namespace', (): string => appNs],
  ])('may do in %s exactly what manifests/rbac.yaml grants there, and nothing else', async (_where, namespace) => {
    const [granted, baseline] = await Promise.all([canList(asService, namespace()), canList(kubectl, namespace(), BASELINE_ACCOUNT)]);
    const { granted: rules, expected } = grantsBeyond(granted, baseline, namespace());
    expect(rules).toEqual(expected);
    // Not an empty comparison: the ClusterRole's reads are in both lists.
    expect(rules).toContain('workloadplacements.tmc.kcp.io list');
  });
});

/** Where a question is asked: a placement namespace, all namespaces, the service's own, or another. */
type Where = 'app' | 'all' | 'system' | 'kube-system' | 'cluster';
type Question = [verb: string, resource: string, where: Where];

const allowed: Question[] = [
  ['list', 'workloadplacements.tmc.kcp.io', 'all'],
  ['watch', 'workloadplacements.tmc.kcp.io', 'all'],
  ['get', 'workloadplacements.tmc.kcp.io', 'app'],
  ['list', 'synctargets.tmc.kcp.io', 'cluster'],
  ['watch', 'synctargets.tmc.kcp.io', 'cluster'],
  ['get', 'synctargets.tmc.kcp.io', 'cluster'],
  ['list', 'workspacequotas.tmc.kcp.io', 'all'],
  ['watch', 'workspacequotas.tmc.kcp.io', 'all'],
  ['get', 'workspacequotas.tmc.kcp.io', 'app'],
  ['patch', 'workloadplacements.tmc.kcp.io/status', 'app'],
  ['patch', 'workspacequotas.tmc.kcp.io/status', 'app'],
  ['get', 'leases.coordination.k8s.io', 'system'],
  ['create', 'leases.coordination.k8s.io', 'system'],
  ['update', 'leases.coordination.k8s.io', 'system'],
  ['create', 'events.events.k8s.io', 'app'],
  // The observability port's TokenReview and SubjectAccessReview.
  ['create', 'tokenreviews.authentication.k8s.io', 'cluster'],
  ['create', 'subjectaccessreviews.authorization.k8s.io', 'cluster'],
];

const denied: Question[] = [
  ['create', 'workloadplacements.tmc.kcp.io', 'app'],
  ['delete', 'workloadplacements.tmc.kcp.io', 'app'],
  ['deletecollection', 'workloadplacements.tmc.kcp.io', 'app'],
  ['update', 'workloadplacements.tmc.kcp.io', 'app'],
  ['patch', 'workloadplacements.tmc.kcp.io', 'app'],
  ['create', 'synctargets.tmc.kcp.io', 'cluster'],
  ['delete', 'synctargets.tmc.kcp.io', 'cluster'],
  ['patch', 'synctargets.tmc.kcp.io/status', 'cluster'],
  ['create', 'workspacequotas.tmc.kcp.io', 'app'],
  ['update', 'workspacequotas.tmc.kcp.io', 'app'],
  ['delete', 'workspacequotas.tmc.kcp.io', 'app'],
  ['get', 'secrets', 'system'],
  ['get', 'secrets', 'app'],
  ['list', 'secrets', 'all'],
  ['update', 'leases.coordination.k8s.io', 'app'],
  ['create', 'leases.coordination.k8s.io', 'kube-system'],
  ['delete', 'leases.coordination.k8s.io', 'system'],
  // Only what the code calls: status is merge-patched, never replaced nor read through /status;
  // Events are events.k8s.io/v1 and created once.
  ['update', 'workloadplacements.tmc.kcp.io/status', 'app'],
  ['get', 'workloadplacements.tmc.kcp.io/status', 'app'],
  ['update', 'workspacequotas.tmc.kcp.io/status', 'app'],
  ['create', 'events', 'app'],
  ['patch', 'events', 'app'],
  ['patch', 'events.events.k8s.io', 'app'],
  ['list', 'events', 'app'],
  ['delete', 'events', 'app'],
  ['get', 'configmaps', 'system'],
  ['create', 'pods', 'app'],
  ['update', 'customresourcedefinitions.apiextensions.k8s.io', 'cluster'],
  ['create', 'validatingwebhookconfigurations.admissionregistration.k8s.io', 'cluster'],
  ['bind', 'clusterroles.rbac.authorization.k8s.io', 'cluster'],
  ['get', 'tokenreviews.authentication.k8s.io', 'cluster'],
  ['create', 'localsubjectaccessreviews.authorization.k8s.io', 'app'],
  ['create', 'serviceaccounts/token', 'app'],
];

function whereArgs(where: Where): string[] {
  switch (where) {
    case 'app':
      return ['-n', appNs];
    case 'all':
      return ['--all-namespaces'];
    case 'system':
      return ['-n', SYSTEM_NS];
    case 'kube-system':
      return ['-n', 'kube-system'];
    case 'cluster':
      return [];
  }
}

/** `kubectl auth can-i` as the service: prints yes/no and exits 0/1. */
async function canI(verb: string, resource: string, where: Where): Promise<{ answer: string; code: number }> {
  const [plural = resource, sub] = resource.split('/');
  const res = await asService(['auth', 'can-i', verb, plural, ...(sub ? [`--subresource=${sub}`] : []), ...whereArgs(where)]);
  return { answer: res.stdout.trim(), code: res.code };
}

describe('kubectl auth can-i, as the service', () => {
  it.each(allowed)('yes: %s %s (%s)', async (verb, resource, where) => {
    expect(await canI(verb, resource, where)).toEqual({ answer: 'yes', code: 0 });
  });

  it.each(denied)('no: %s %s (%s)', async (verb, resource, where) => {
    expect(await canI(verb, resource, where)).toEqual({ answer: 'no', code: 1 });
  });
});

describe('the reports reader role (manifests/reports-reader.yaml)', () => {
  const reader = 'system:serviceaccount:rbac-reader:prometheus';
  const binding = `rbac-reader-${randomBytes(4).toString('hex')}`;

  beforeAll(async () => {
    expectSuccess(await kubectl(['apply', '-f', path.join(manifests, 'reports-reader.yaml')]));
    expectSuccess(await kubectl(['create', 'clusterrolebinding', binding, '--clusterrole=placement-quota-reports-reader', `--user=${reader}`]));
  });

  afterAll(async () => {
    await kubectl(['delete', 'clusterrolebinding', binding, '--ignore-not-found']);
  });

  /** `kubectl auth can-i get <url>` as `user` (impersonated by the admin). */
  const canGet = async (url: string, user: string) => (await kubectl(['auth', 'can-i', 'get', url, `--as=${user}`])).stdout.trim();

  it.each(['/metrics', '/reports/summary', '/reports/history', '/dashboard'])('a user bound to it may get %s', async (url) => {
    expect(await canGet(url, reader)).toBe('yes');
  });

  it.each(['/logs', '/reports', '/dashboard/other', '/metricsx'])('it grants nothing else: not %s', async (url) => {
    expect(await canGet(url, reader)).toBe('no');
  });

  it('the service itself is not a reader', async () => {
    expect(await canGet('/metrics', SERVICE_USER)).toBe('no');
  });
});

describe('real calls, as the service', () => {
  const name = 'rbac-probe';

  beforeAll(async () => {
    const placement = {
      apiVersion: 'tmc.kcp.io/v1alpha1',
      kind: 'WorkloadPlacement',
      metadata: { name, namespace: appNs },
      spec: { targetClusters: [{ name: 'us-east-1' }] },
    };
    expectSuccess(await kubectl(['apply', '-f', '-'], { input: JSON.stringify(placement) }));
  });

  it('lists placements in every namespace', async () => {
    const res = await asService(['get', 'workloadplacements.tmc.kcp.io', '--all-namespaces', '-o', 'name']);
    expectSuccess(res);
    expect(res.stdout.split('\n')).toContain(`workloadplacement.tmc.kcp.io/${name}`);
  });

  it('reads a placement, merge-patches its status with the resourceVersion and creates its Event, as the eviction loop does', async () => {
    // The loop's own adapter, not kubectl: kubectl patch reads through /status first, which the
    // service never does and is not allowed to.
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(clusterInfo().serviceKubeconfig);
    const api = kubernetesPlacementStatusApi(kubeConfig);
    const stored = await api.read(appNs, name);
    expect(stored?.resourceVersion).toMatch(/^\d+$/);
    const condition = { type: 'QuotaExceeded', status: 'False' as const, reason: 'WithinLimits', message: 'rbac probe', lastTransitionTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
    await api.patchStatus(appNs, name, stored!.resourceVersion, { conditions: [condition] });
    const reason = await kubectl(['get', 'workloadplacements.tmc.kcp.io', name, '-n', appNs, '-o', 'jsonpath={.status.conditions[?(@.type=="QuotaExceeded")].reason}']);
    expect(reason.stdout).toBe('WithinLimits');
    await expect(api.patchStatus(appNs, name, stored!.resourceVersion, { conditions: [] })).rejects.toThrow(PlacementConflictError);
    await api.createEvent({ namespace: appNs, name, uid: stored!.uid, reason: 'QuotaExceeded', note: 'rbac probe', reportingInstance: 'rbac-test', eventTimeMs: Date.now() });
    const events = await kubectl(['get', 'events.events.k8s.io', '-n', appNs, '-o', 'jsonpath={.items[*].note}']);
    expect(events.stdout).toBe('rbac probe');
  });

  it('cannot delete a placement, and the placement stays', async () => {
    const res = await asService(['delete', 'workloadplacements.tmc.kcp.io', name, '-n', appNs, '--wait=false']);
    expectForbidden(res, 'delete', 'workloadplacements');
    expectSuccess(await kubectl(['get', 'workloadplacements.tmc.kcp.io', name, '-n', appNs]));
  });

  it('cannot change a placement spec', async () => {
    const res = await asService(['patch', 'workloadplacements.tmc.kcp.io', name, '-n', appNs, '--type=merge', '-p', '{"spec":{"priority":100}}']);
    expectForbidden(res, 'patch', 'workloadplacements');
  });

  it('cannot read secrets', async () => {
    const res = await asService(['get', 'secrets', '-n', SYSTEM_NS]);
    expectForbidden(res, 'list', 'secrets');
  });

  it('creates a lease in its own namespace, and in no other', async () => {
    const lease = (namespace: string): string =>
      JSON.stringify({
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: `rbac-probe-${randomBytes(4).toString('hex')}`, namespace },
        spec: { holderIdentity: 'rbac-test', leaseDurationSeconds: 15 },
      });
    const serviceKubeconfig = clusterInfo().serviceKubeconfig;
    expectSuccess(await kubectl(['create', '-f', '-'], { input: lease(SYSTEM_NS), kubeconfig: serviceKubeconfig }));
    const elsewhere = await kubectl(['create', '-f', '-'], { input: lease(otherNs), kubeconfig: serviceKubeconfig });
    expectForbidden(elsewhere, 'create', 'leases');
  });
});
