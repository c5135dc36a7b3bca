/** Objects for the e2e files, made with kubectl as a person would: SyncTargets with a fresh heartbeat, placements, quotas. */
import { expect } from '@jest/globals';
import { aPlacement, aQuota, aSyncTarget } from '../../builders/objects.js';
import { kubectl } from './cluster.js';

type Manifest = Record<string, unknown>;

export async function apply(manifest: Manifest): Promise<void> {
  const res = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  expect(res.stderr).toBe('');
}

/** A SyncTarget in `location`, its status patched with a heartbeat of now (interval 1 h: it stays fresh for the test). */
export async function addCluster(name: string, options: { capacity: Record<string, string>; location: string; ready?: boolean }): Promise<string> {
  const { status, ...spec } = aSyncTarget(name, { heartbeatInterval: '1h', capacity: options.capacity, location: options.location, ready: options.ready ?? true });
  await apply(spec);
  const patch = { status: { ...(status as Manifest), lastHeartbeatTime: new Date().toISOString() } };
  expect((await kubectl(['patch', 'synctarget', name, '--subresource=status', '--type=merge', '-p', JSON.stringify(patch)])).stderr).toBe('');
  return name;
}

/** A WorkloadPlacement `name` in `namespace` on one cluster (through admission). */
export async function place(namespace: string, name: string, requirements: Record<string, string>, cluster: string): Promise<void> {
  const { status: _status, ...placement } = aPlacement(name, { namespace, requirements, clusters: [cluster] });
  await apply({ ...placement, metadata: { name, namespace } });
}

/** WorkspaceQuota `compute` in `namespace`. */
export async function addQuota(namespace: string, limits: { hard: Record<string, string>; soft?: Record<string, string> }): Promise<void> {
  const quota = aQuota('compute', limits);
  await apply({ ...quota, metadata: { ...(quota.metadata as Manifest), namespace } });
}
