// The harness itself: a real kube-apiserver on etcd, reachable with kubectl, with RBAC applied to
// the service's own identity.
import { afterAll, describe, expect, it } from '@jest/globals';
import { controlPlaneVersions, SERVICE_ACCOUNT_USER } from '../../scripts/lib/control-plane.js';
import { clusterInfo, deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';

afterAll(deleteFreshNamespaces);

describe('control plane', () => {
  it('is ready: /readyz passes every check for the admin', async () => {
    const res = await kubectl(['get', '--raw', '/readyz?verbose']);

    expect(res.code).toBe(0);
    expect(res.stdout).toContain('[+]etcd ok');
    expect(res.stdout).toContain('readyz check passed');
  });

  it('answers kubectl version with the Kubernetes version pinned in the tools module', async () => {
    const res = await kubectl(['version', '-o', 'json']);

    expect(res.code).toBe(0);
    const version = JSON.parse(res.stdout) as { serverVersion: { gitVersion: string } };
    expect(version.serverVersion.gitVersion).toBe(controlPlaneVersions().kubernetes);
  });

  it('authenticates the service token as the service account, in its groups', async () => {
    const res = await kubectl(['auth', 'whoami', '-o', 'json'], { kubeconfig: clusterInfo().serviceKubeconfig });

    expect(res.code).toBe(0);
    const review = JSON.parse(res.stdout) as { status: { userInfo: { username: string; groups: string[] } } };
    expect(review.status.userInfo.username).toBe(SERVICE_ACCOUNT_USER);
    expect(review.status.userInfo.groups).toEqual(
      expect.arrayContaining(['system:serviceaccounts', 'system:serviceaccounts:placement-quota-system']),
    );
  });

  it('enforces RBAC: the admin may create namespaces, the unbound service account may not', async () => {
    const asAdmin = await kubectl(['auth', 'can-i', 'create', 'namespaces']);
    const asService = await kubectl(['auth', 'can-i', 'create', 'namespaces'], {
      kubeconfig: clusterInfo().serviceKubeconfig,
    });

    expect([asAdmin.code, asAdmin.stdout.trim()]).toEqual([0, 'yes']);
    expect([asService.code, asService.stdout.trim()]).toEqual([1, 'no']);
  });

  it('creates a fresh namespace that is Active', async () => {
    const ns = await freshNamespace('smoke');
    const res = await kubectl(['get', 'namespace', ns, '-o', 'jsonpath={.status.phase}']);

    expect(ns).toMatch(/^smoke-[0-9a-f]{8}$/);
    expect(res).toEqual({ code: 0, stdout: 'Active', stderr: '' });
  });
});
