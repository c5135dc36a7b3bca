/**
 * SPEC §6's enforcement loop on the real API server: a lowered Hard quota evicts exactly the
 * placements the rules choose (phase, condition, Event, quota Active again); Soft mode only marks
 * them and raising the quota clears the marks; a SyncTarget whose capacity drops marks its
 * placements ClusterCapacityExceeded; with two replicas one holds the Lease and a SIGTERM hands it
 * over within seconds. Intervals are shortened through the config file; every wait polls what
 * kubectl shows.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { terminate } from '../../scripts/lib/webhook-processes.js';
import { aPlacement, aQuota, aSyncTarget } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { eventually, startTestWebhook, testLeaseName, type TestWebhook } from './support/webhook.js';

jest.setTimeout(120_000);

type Manifest = Record<string, unknown>;

const SYSTEM_NS = 'placement-quota-system';
const FAST = { enforcement: { intervalSeconds: 2, debounceMs: 200 } };

const must = async (args: string[], input?: string): Promise<string> => {
  const result = await kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};
const apply = (manifest: Manifest) => must(['apply', '-f', '-'], JSON.stringify(manifest));
const heartbeatNow = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/** A Ready SyncTarget (heartbeat now, every hour) with this much cpu; its status set as a syncer would. */
async function addCluster(name: string, cpu: string): Promise<void> {
  const { status, ...spec } = aSyncTarget(name, { heartbeatInterval: '1h', capacity: { cpu, memory: '1Ti' } });
  await apply(spec);
  await setClusterStatus(name, { ...(status as Manifest), lastHeartbeatTime: heartbeatNow() });
}

const setClusterStatus = (name: string, status: Manifest) => must(['patch', 'synctarget', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]);

const placementOn = (ns: string, cluster: string, name: string, priority: number): Manifest => {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, requirements: { cpu: '2' }, clusters: [cluster], priority });
  return { ...rest, metadata: { name, namespace: ns } };
};

const quotaOf = (ns: string, cpu: string, mode?: 'Hard' | 'Soft'): Manifest => {
  const manifest = aQuota('compute', { namespace: ns, hard: { cpu } });
  return { ...manifest, spec: { ...(manifest.spec as Manifest), ...(mode ? { enforcementMode: mode } : {}) } };
};

/** `name=value` of a jsonpath over every placement of the namespace, sorted by name. */
async function perPlacement(ns: string, jsonpath: string): Promise<Record<string, string>> {
  const out = await must(['get', 'wp', '-n', ns, '-o', `jsonpath={range .items[*]}{.metadata.name}={${jsonpath}}{"\\n"}{end}`]);
  return Object.fromEntries(
    out
      .split('\n')
      .filter(Boolean)
      .map((line) => line.split('=') as [string, string]),
  );
}

const quotaField = (ns: string, jsonpath: string) => must(['get', 'wq', 'compute', '-n', ns, '-o', `jsonpath={${jsonpath}}`]);

let webhook: TestWebhook;
let cluster: string;

/**
 * A covered namespace with four 2-cpu placements on the test cluster, priorities a=3, b=1, c=2,
 * d=5, under a quota of 10 cpu the replica has counted (used 8).
 */
async function fourPlacements(prefix: string, mode?: 'Hard' | 'Soft', on = cluster, via = webhook): Promise<string> {
  const ns = await freshNamespace(prefix);
  await via.cover(ns);
  await apply(quotaOf(ns, '10', mode));
  for (const [name, priority] of [['a', 3], ['b', 1], ['c', 2], ['d', 5]] as const) await apply(placementOn(ns, on, name, priority));
  await eventually(async () => expect(await quotaField(ns, '.status.used.cpu')).toBe('8'));
  return ns;
}

beforeAll(async () => {
  webhook = await startTestWebhook('enforcement', { config: FAST });
  cluster = `enforcement-${Date.now()}`;
  await addCluster(cluster, '1000');
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  await kubectl(['delete', 'synctarget', cluster, '--ignore-not-found']);
  await deleteFreshNamespaces();
}, 60_000);

describe('Hard quota lowered below usage', () => {
  let ns = '';
  let latencyMs = 0;

  beforeAll(async () => {
    ns = await fourPlacements('hard', 'Hard');
    const lowered = Date.now();
    // 8 used, 5 allowed: b (priority 1) frees 2, still over; c (priority 2) too; then 4 is within.
    await apply(quotaOf(ns, '5', 'Hard'));
    await eventually(async () => expect(await perPlacement(ns, '.status.phase')).toEqual({ a: 'Pending', b: 'Evicted', c: 'Evicted', d: 'Pending' }), 10_000);
    latencyMs = Date.now() - lowered;
    process.stderr.write(`[enforcement] quota lowered -> both evictions visible in ${latencyMs} ms\n`);
  });

  it('evicts exactly the placements the rules choose, within 10 s', () => {
    expect(latencyMs).toBeLessThan(10_000);
  });

  it('shows the reason with kubectl jsonpath', async () => {
    expect(await perPlacement(ns, '.status.conditions[?(@.type=="Evicted")].reason')).toEqual({ a: '', b: 'QuotaExceeded', c: 'QuotaExceeded', d: '' });
    const message = await must(['get', 'wp', 'b', '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="Evicted")].message}']);
    expect(message).toMatch(new RegExp(`^quota ${ns}/compute: cpu used 8, hard 5; evicting frees 2$`));
  });

  it('emits one Warning Event per eviction, regarding the placement', async () => {
    const out = await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={range .items[*]}{.regarding.name} {.type} {.reason} {.action} {.reportingController}{"\\n"}{end}']);
    expect(out.split('\n').filter(Boolean).sort()).toEqual([
      'b Warning QuotaExceeded Evict placement-quota-webhook',
      'c Warning QuotaExceeded Evict placement-quota-webhook',
    ]);
    const printed = await must(['get', 'events', '-n', ns]);
    expect(printed).toContain('QuotaExceeded');
    expect(printed).toContain('workloadplacement/b');
  });

  it('shows the quota Active again once the evictions are counted', async () => {
    await eventually(async () => expect([await quotaField(ns, '.status.phase'), await quotaField(ns, '.status.used.cpu')]).toEqual(['Active', '4']));
  });

  it('does not evict again in later rounds', async () => {
    // Three more rounds (2 s apart) with nothing over: the Evicted conditions keep their time.
    const before = await perPlacement(ns, '.status.conditions[?(@.type=="Evicted")].lastTransitionTime');
    await eventually(async () => {
      const events = await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'name']);
      expect(events.split('\n').filter(Boolean)).toHaveLength(2);
      expect(await perPlacement(ns, '.status.conditions[?(@.type=="Evicted")].lastTransitionTime')).toEqual(before);
    });
  });
});

describe('Soft quota lowered below usage', () => {
  let ns = '';

  beforeAll(async () => {
    ns = await fourPlacements('soft');
    await apply(quotaOf(ns, '5'));
  });

  it('marks the placements that would be evicted and evicts nothing', async () => {
    await eventually(async () => expect(await perPlacement(ns, '.status.conditions[?(@.type=="QuotaExceeded")].status')).toEqual({ a: '', b: 'True', c: 'True', d: '' }), 10_000);
    expect(await perPlacement(ns, '.status.phase')).toEqual({ a: 'Pending', b: 'Pending', c: 'Pending', d: 'Pending' });
    expect(await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'name'])).toBe('');
    expect(await quotaField(ns, '.status.phase')).toBe('Exceeded');
  });

  it('clears the marks when the quota is raised again', async () => {
    await apply(quotaOf(ns, '10'));
    await eventually(async () => {
      expect(await perPlacement(ns, '.status.conditions[?(@.type=="QuotaExceeded")].status')).toEqual({ a: '', b: 'False', c: 'False', d: '' });
      expect(await perPlacement(ns, '.status.conditions[?(@.type=="QuotaExceeded")].reason')).toEqual({ a: '', b: 'WithinLimits', c: 'WithinLimits', d: '' });
    }, 10_000);
    expect(await quotaField(ns, '.status.phase')).toBe('Active');
  });
});

describe('a SyncTarget whose capacity is lowered (clusterMode Soft)', () => {
  it('marks the placements the rules choose ClusterCapacityExceeded', async () => {
    const small = `enforcement-small-${Date.now()}`;
    await addCluster(small, '8');
    try {
      const ns = await fourPlacements('capacity', undefined, small);
      // allocatable 5 x 1.5 overcommit = 7500m cpu for 8 allocated: b alone (priority 1) frees enough.
      const { status } = aSyncTarget(small, { capacity: { cpu: '5', memory: '1Ti' } });
      await setClusterStatus(small, { ...(status as Manifest), lastHeartbeatTime: heartbeatNow() });
      await eventually(async () => expect(await perPlacement(ns, '.status.conditions[?(@.type=="ClusterCapacityExceeded")].status')).toEqual({ a: '', b: 'True', c: '', d: '' }), 10_000);
      const message = await must(['get', 'wp', 'b', '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="ClusterCapacityExceeded")].message}']);
      expect(message).toContain(`cluster ${small}: cpu allocated 8, limit 7500m; evicting frees 2`);
      expect(await perPlacement(ns, '.status.phase')).toEqual({ a: 'Pending', b: 'Pending', c: 'Pending', d: 'Pending' });
    } finally {
      await kubectl(['delete', 'synctarget', small, '--ignore-not-found']);
    }
  });
});

const seconds = (ms: number) => new Date(ms).toISOString().replace(/\.\d+Z$/, 'Z');

/** Makes a cluster NotReady for 10 minutes: Ready=False since then, or (heartbeat) its last heartbeat then, at 20 s intervals. */
async function downSince10Minutes(name: string, how: 'condition' | 'heartbeat'): Promise<void> {
  const now = Date.now();
  const ready = how === 'heartbeat';
  await must(['patch', 'synctarget', name, '--type=merge', '-p', JSON.stringify({ spec: { heartbeatInterval: '20s' } })]);
  await setClusterStatus(name, {
    lastHeartbeatTime: seconds(ready ? now - 600_000 : now),
    conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', reason: ready ? 'HeartbeatOK' : 'SyncerDown', message: '', lastTransitionTime: seconds(now - (ready ? 3_600_000 : 600_000)) }],
  });
}

describe('a SyncTarget NotReady past the grace (clusterMode Soft)', () => {
  it.each([
    ['its Ready condition False for 10 minutes', 'condition'],
    ['its heartbeat stopped 10 minutes ago (20 s interval)', 'heartbeat'],
  ] as const)('marks every placement on it ClusterNotReady when %s', async (_, how) => {
    const down = `enforcement-down-${Date.now()}`;
    await addCluster(down, '1000');
    try {
      const ns = await fourPlacements('notready', undefined, down);
      await downSince10Minutes(down, how);
      await eventually(async () => expect(await perPlacement(ns, '.status.conditions[?(@.type=="ClusterNotReady")].status')).toEqual({ a: 'True', b: 'True', c: 'True', d: 'True' }), 10_000);
      const message = await must(['get', 'wp', 'a', '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="ClusterNotReady")].message}']);
      expect(message).toMatch(new RegExp(`cluster ${down} is not Ready: .*, for \\d+s \\(grace 300s\\)`));
      expect(await perPlacement(ns, '.status.phase')).toEqual({ a: 'Pending', b: 'Pending', c: 'Pending', d: 'Pending' });
    } finally {
      await kubectl(['delete', 'synctarget', down, '--ignore-not-found']);
    }
  });
});

describe('two replicas', () => {
  let pair: TestWebhook;
  const lease = testLeaseName('enforcement-pair');
  const holder = () => must(['get', 'lease', lease, '-n', SYSTEM_NS, '-o', 'jsonpath={.spec.holderIdentity}']);

  beforeAll(async () => {
    // Only the pair enforces from here on: the single replica above would finish its rounds for it.
    await webhook.stop();
    // A 1 s retry: a released Lease is taken at the other replica's next attempt, at most 2.2 s later.
    // One write per round: a violation takes several rounds, so a kill lands in the middle of it.
    const enforcement = { ...FAST.enforcement, maxWritesPerRound: 1 };
    pair = await startTestWebhook('enforcement-pair', { replicas: 2, config: { enforcement } });
  }, 120_000);

  afterAll(async () => {
    await pair?.stop();
  }, 60_000);

  it('exactly one holds the Lease, and kubectl get lease names it; SIGTERM hands it over in under 3 s', async () => {
    const first = await eventually(async () => {
      const name = await holder();
      expect(['webhook-0', 'webhook-1']).toContain(name);
      return name;
    });
    expect(await must(['get', 'lease', '-n', SYSTEM_NS])).toContain(first);
    const leader = Number(first.slice('webhook-'.length));
    const stopped = Date.now();
    await terminate(pair.set.replicas[leader]!.pid);
    const next = await eventually(async () => {
      const name = await holder();
      expect(name).toBe(`webhook-${1 - leader}`);
      return name;
    }, 10_000);
    const handoverMs = Date.now() - stopped;
    process.stderr.write(`[enforcement] SIGTERM of ${first} -> ${next} holds the Lease after ${handoverMs} ms\n`);
    expect(handoverMs).toBeLessThan(3_000);
  });

  it('SIGKILL of the leader mid-violation: the other takes over within the lease, finishes, and evicts nobody twice', async () => {
    await pair.restart();
    const ns = await freshNamespace('failover');
    await apply(quotaOf(ns, '12', 'Hard'));
    const names = ['p1', 'p2', 'p3', 'p4', 'p5', 'p6'];
    for (const [i, name] of names.entries()) await apply(placementOn(ns, cluster, name, i + 1));
    await eventually(async () => expect(await quotaField(ns, '.status.used.cpu')).toBe('12'));
    const first = await holder();
    // 12 used, 2 allowed: the five lowest priorities go, p6 stays.
    await apply(quotaOf(ns, '2', 'Hard'));
    await eventually(async () => expect(Object.values(await perPlacement(ns, '.status.phase'))).toContain('Evicted'), 10_000);
    const killed = Date.now();
    await pair.kill(Number(first.slice('webhook-'.length)));
    const evictedBefore = Object.values(await perPlacement(ns, '.status.phase')).filter((phase) => phase === 'Evicted').length;
    await eventually(async () => expect(await perPlacement(ns, '.status.phase')).toEqual({ p1: 'Evicted', p2: 'Evicted', p3: 'Evicted', p4: 'Evicted', p5: 'Evicted', p6: 'Pending' }), 30_000);
    const takeoverMs = Date.now() - killed;
    expect(await holder()).not.toBe(first);
    process.stderr.write(`[enforcement] SIGKILL of ${first} after ${evictedBefore}/5 evictions -> the rest done by ${await holder()} ${takeoverMs} ms later\n`);
    expect(evictedBefore).toBeLessThan(5);
    expect(takeoverMs).toBeLessThan(15_000 + 2_200 + 5_000);
    const lines = await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={range .items[*]}{.regarding.name} {.reportingInstance}{"\\n"}{end}']);
    const events = lines.split('\n').filter(Boolean).map((line) => line.split(' ') as [string, string]);
    const regarding = events.map(([name]) => name);
    // Exactly one Event per eviction: the new leader replays the Events of recent evictions, and each
    // is named by its placement and eviction time, so one the killed leader sent is not doubled and
    // one it never sent (killed between the status write and the Event) is sent now.
    expect(regarding.sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    // Only the Lease holder of the moment acts: the new leader wrote the evictions after the kill.
    const byNew = events.filter(([, instance]) => instance !== first).length;
    expect(events.every(([, instance]) => instance === first || instance === `webhook-${1 - Number(first.slice('webhook-'.length))}`)).toBe(true);
    expect(byNew).toBeGreaterThanOrEqual(5 - evictedBefore);
    expect(byNew).toBeLessThanOrEqual(5 - evictedBefore + 1);
  });
});

describe('clusterMode Hard', () => {
  let hard: TestWebhook;
  const clusters: string[] = [];
  const newCluster = async (prefix: string, cpu: string) => {
    const name = `${prefix}-${Date.now()}`;
    clusters.push(name);
    await addCluster(name, cpu);
    return name;
  };

  // Runs last: the single replica and the pair are stopped by then, so only this one enforces.
  beforeAll(async () => {
    hard = await startTestWebhook('enforcement-hard-clusters', { config: { enforcement: { ...FAST.enforcement, clusterMode: 'Hard' } } });
  }, 120_000);

  afterAll(async () => {
    await hard?.stop();
    await kubectl(['delete', 'synctarget', ...clusters, '--ignore-not-found']);
  }, 60_000);

  it('evicts what the rules choose when a SyncTarget capacity is lowered (ClusterCapacityExceeded)', async () => {
    const small = await newCluster('enforcement-shrink', '8');
    const ns = await fourPlacements('shrink', undefined, small, hard);
    const lowered = Date.now();
    const { status } = aSyncTarget(small, { capacity: { cpu: '5', memory: '1Ti' } });
    await setClusterStatus(small, { ...(status as Manifest), lastHeartbeatTime: heartbeatNow() });
    await eventually(async () => expect(await perPlacement(ns, '.status.conditions[?(@.type=="Evicted")].reason')).toEqual({ a: '', b: 'ClusterCapacityExceeded', c: '', d: '' }), 10_000);
    process.stderr.write(`[enforcement] capacity lowered -> eviction visible in ${Date.now() - lowered} ms\n`);
    expect(await perPlacement(ns, '.status.phase')).toEqual({ a: 'Pending', b: 'Evicted', c: 'Pending', d: 'Pending' });
    expect(await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={.items[*].reason}'])).toBe('ClusterCapacityExceeded');
  });

  it('evicts every placement on a SyncTarget whose heartbeat stopped past the grace (ClusterNotReady)', async () => {
    const down = await newCluster('enforcement-silent', '1000');
    const ns = await fourPlacements('silent', undefined, down, hard);
    await downSince10Minutes(down, 'heartbeat');
    await eventually(async () => expect(await perPlacement(ns, '.status.conditions[?(@.type=="Evicted")].reason')).toEqual({ a: 'ClusterNotReady', b: 'ClusterNotReady', c: 'ClusterNotReady', d: 'ClusterNotReady' }), 10_000);
    const events = await must(['get', 'events.events.k8s.io', '-n', ns, '-o', 'jsonpath={range .items[*]}{.regarding.name}{"\\n"}{end}']);
    expect(events.split('\n').filter(Boolean).sort()).toEqual(['a', 'b', 'c', 'd']);
  });
});
