/**
 * The product as its users meet it: kubectl against a real API server that calls the real webhook
 * process. Every expectation is on what kubectl prints and what the API server stored.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { aPlacement, aQuota, aSyncTarget } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

type Manifest = Record<string, unknown>;

let webhook: TestWebhook;
let ns: string;
const clusters: string[] = [];

const apply = (manifest: Manifest, ...flags: string[]) => kubectl(['apply', ...flags, '-f', '-'], { input: JSON.stringify(manifest) });

/** A SyncTarget with its status written through the status subresource, as a syncer would. */
async function addCluster(name: string, options: Parameters<typeof aSyncTarget>[1] & { heartbeat?: Date } = {}): Promise<string> {
  const full = `${ns}-${name}`;
  const manifest = aSyncTarget(full, { heartbeatInterval: '1h', ...options });
  const status = { ...(manifest.status as Manifest), lastHeartbeatTime: (options.heartbeat ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z') };
  const { status: _status, ...spec } = manifest;
  expect((await apply(spec)).code).toBe(0);
  const patched = await kubectl(['patch', 'synctarget', full, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);
  expect(patched.stderr).toBe('');
  clusters.push(full);
  return full;
}

const placement = (name: string, options: Parameters<typeof aPlacement>[1] = {}): Manifest => {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, ...options });
  const metadata = rest.metadata as Manifest;
  return { ...rest, metadata: { name: metadata.name, namespace: ns, labels: metadata.labels } };
};

const exists = async (name: string) => (await kubectl(['get', 'wp', name, '-n', ns, '-o', 'name'])).code === 0;

let east: string;
let west: string;

beforeAll(async () => {
  ns = await freshNamespace('admission');
  webhook = await startTestWebhook(ns);
  await webhook.cover(ns);
  east = await addCluster('east', { capacity: { cpu: '8', memory: '16Gi', storage: '100Gi' } });
  west = await addCluster('west', { capacity: { cpu: '64', memory: '128Gi', storage: '1Ti' } });
  expect((await apply(aQuota('compute', { namespace: ns, hard: { cpu: '10', memory: '40Gi', placements: '20' }, soft: { cpu: '6' } }))).code).toBe(0);
  // The webhook reads only its watch: wait until it has seen the quota (its status writer answers).
  await eventually(async () => {
    const hard = await kubectl(['get', 'wq', 'compute', '-n', ns, '-o', 'jsonpath={.status.hard.cpu}']);
    expect(hard.stdout).toBe('10');
  });
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  if (clusters.length > 0) await kubectl(['delete', 'synctarget', ...clusters, '--ignore-not-found']);
  await deleteFreshNamespaces();
}, 60_000);

describe('kubectl apply through the webhook', () => {
  it('admits a placement that fits, and the quota status shows its usage', async () => {
    const result = await apply(placement('api', { requirements: { cpu: '4', memory: '8Gi' }, clusters: [east] }));
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(await exists('api')).toBe(true);
    await eventually(async () => {
      const wq = await kubectl(['get', 'wq', 'compute', '-n', ns]);
      expect(wq.stdout).toMatch(/CPU\s+MEMORY\s+PLACEMENTS\s+PHASE/);
      expect(wq.stdout).toMatch(/4\/10\s+8Gi\/40Gi\s+1\/20\s+Active/);
    });
  });

  it('refuses a placement over quota with the numbers; nothing is stored', async () => {
    const result = await apply(placement('big', { requirements: { cpu: '7' }, clusters: [west] }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`admission webhook "workloadplacements.placement-quota.tmc.kcp.io" denied the request: exceeded quota ${ns}/compute: cpu requested 7, used 4, hard 10`);
    expect(await exists('big')).toBe(false);
  });

  it('refuses a placement over a cluster\'s capacity, naming clusters with room', async () => {
    const result = await apply(placement('wide', { requirements: { cpu: '1', memory: '12Gi' }, clusters: [east] }));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain(`cluster ${east} lacks memory: requested 12Gi, free 11.2Gi (allocatable 16Gi x 1.2 overcommit, allocated 8Gi); clusters with room: ${west}`);
    expect(await exists('wide')).toBe(false);
  });

  it('admits a soft-limit crossing and kubectl prints the warning', async () => {
    const result = await apply(placement('soft', { requirements: { cpu: '3' }, clusters: [west] }));
    expect(result.code).toBe(0);
    expect(result.stderr).toContain(`Warning: quota ${ns}/compute is over its soft limit: cpu requested 3, used 4, soft 6, hard 10`);
  });

  it('evaluates --dry-run=server the same way and reserves nothing', async () => {
    const denied = await apply(placement('dry-big', { requirements: { cpu: '4' } }), '--dry-run=server');
    expect(denied.stderr).toContain('exceeded quota');
    for (let i = 0; i < 3; i += 1) {
      const fits = await apply(placement('dry-fit', { requirements: { cpu: '3' } }), '--dry-run=server');
      expect(fits.code).toBe(0);
    }
    expect(await exists('dry-fit')).toBe(false);
    const real = await apply(placement('fit', { requirements: { cpu: '3' } }));
    expect(real.code).toBe(0);
  });

  it('refuses an update that raises usage past the quota and allows one that lowers it', async () => {
    const raise = await apply(placement('fit', { requirements: { cpu: '5' } }));
    expect(raise.code).not.toBe(0);
    expect(raise.stderr).toContain(`exceeded quota ${ns}/compute: cpu requested 2, used 10, hard 10`);
    const lower = await apply(placement('fit', { requirements: { cpu: '1' } }));
    expect(lower.code).toBe(0);
    await eventually(async () => {
      expect((await kubectl(['get', 'wq', 'compute', '-n', ns, '-o', 'jsonpath={.status.used.cpu}'])).stdout).toBe('8');
    });
  });

  it('allows a status-only update', async () => {
    const patch = await kubectl(['patch', 'wp', 'api', '-n', ns, '--subresource=status', '--type=merge', '-p', '{"status":{"phase":"Placed"}}']);
    expect(patch.code).toBe(0);
    expect((await kubectl(['get', 'wp', 'api', '-n', ns, '-o', 'jsonpath={.status.phase}'])).stdout).toBe('Placed');
  });

  it('refuses an unknown, a NotReady and an unschedulable cluster, naming each', async () => {
    const stale = await addCluster('stale', { heartbeatInterval: '20s', heartbeat: new Date(Date.now() - 5 * 60_000) });
    const cordoned = await addCluster('cordoned', { unschedulable: true });
    await eventually(async () => {
      const result = await apply(placement('nowhere', { requirements: { cpu: '100m' }, clusters: [`${ns}-missing`, stale, cordoned] }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(`cluster ${ns}-missing does not exist`);
      expect(result.stderr).toMatch(new RegExp(`cluster ${stale} is not Ready: last heartbeat \\S+ is \\d+s old \\(over 3 x 20s\\)`));
      expect(result.stderr).toContain(`cluster ${cordoned} is unschedulable`);
    });
    expect(await exists('nowhere')).toBe(false);
  });

  it('frees room when a placement is deleted', async () => {
    const before = await apply(placement('next', { requirements: { cpu: '5' } }));
    expect(before.stderr).toContain('exceeded quota');
    expect((await kubectl(['delete', 'wp', 'api', '-n', ns])).code).toBe(0);
    await eventually(async () => {
      const after = await apply(placement('next', { requirements: { cpu: '5' } }));
      expect(after.code).toBe(0);
    });
  });
});
