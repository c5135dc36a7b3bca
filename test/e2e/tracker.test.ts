/**
 * The tracker against the real API server, as the service identity: first sync, live events, a
 * malformed object, a silently dead connection (watchdog), an API server restart, and a
 * resourceVersion that expired while the tracker was cut off (410 → relist).
 *
 * Network trouble is made with a TCP proxy between the tracker and the API server
 * (support/tcp-proxy.ts), never by faking the API: every answer comes from kube-apiserver.
 */
import { on, once } from 'node:events';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { TrackedState } from '../../src/state/tracked-state.js';
import { formatList } from '../../src/quantity/index.js';
import { createTracker, kubeSource, type KubeSource, type Tracker, type TrackerEvents, type TrackerOptions } from '../../src/tracker/tracker.js';
import { aPlacement, aQuota, aSyncTarget } from '../builders/objects.js';
import { observed } from '../support/observed-source.js';
import { until } from '../support/until.js';
import { clusterInfo, deleteFreshNamespaces, freshNamespace, kubectl, restartApiServer, type KubectlResult } from './support/cluster.js';
import { compactEtcd } from './support/etcd.js';
import { startTcpProxy, type TcpProxy } from './support/tcp-proxy.js';

jest.setTimeout(60_000);

type Manifest = Record<string, unknown>;

const manifests = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../manifests');
const PLACEMENTS = '/apis/tmc.kcp.io/v1alpha1/workloadplacements';

/** Quick to notice trouble and to retry, so the tests take seconds; the shapes are the production ones. */
const quick: TrackerOptions = {
  resumeGraceMs: 1_000,
  establishMs: 300,
  connectTimeoutMs: 5_000,
  backoff: { baseMs: 100, capMs: 1_000 },
};

let ns = '';
const syncTargetsCreated = new Set<string>();
const running: Tracker[] = [];
const proxies: TcpProxy[] = [];

// Logs go next to the control plane's, kept after a red run (see docs/testing.md).
const log = pino({ level: 'debug' }, pino.destination({ dest: path.join(clusterInfo().dir, 'tracker-e2e.log'), sync: true }));

beforeAll(async () => {
  // The tracker runs as the service account: it needs the RBAC from manifests/ (idempotent apply).
  const files = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml'].flatMap((f) => ['-f', path.join(manifests, f)]);
  expectSuccess(await kubectl(['apply', ...files]));
  ns = await freshNamespace('tracker');
});

afterEach(async () => {
  await Promise.all(running.splice(0).map((tracker) => tracker.stop()));
  await Promise.all(proxies.splice(0).map((proxy) => proxy.close()));
});

afterAll(async () => {
  if (syncTargetsCreated.size > 0) await kubectl(['delete', 'synctargets.tmc.kcp.io', '--ignore-not-found', '--wait=false', ...syncTargetsCreated]);
  await deleteFreshNamespaces();
});

// ---- helpers ---------------------------------------------------------------------------------

function expectSuccess(res: KubectlResult): void {
  expect(res.code === 0 ? 'exit 0' : `exit ${res.code}: ${res.stderr}`).toBe('exit 0');
}

/** The service account's kubeconfig, optionally pointed at a proxy instead of the API server. */
function serviceKubeConfig(server?: string): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(clusterInfo().serviceKubeconfig);
  const cluster = kubeConfig.getCurrentCluster();
  if (!server || !cluster) return kubeConfig;
  const proxied = new KubeConfig();
  proxied.loadFromOptions({
    clusters: [{ ...cluster, server }],
    users: kubeConfig.getUsers(),
    contexts: kubeConfig.getContexts(),
    currentContext: kubeConfig.getCurrentContext(),
  });
  return proxied;
}

async function proxyToApiServer(): Promise<TcpProxy> {
  const { hostname, port } = new URL(clusterInfo().server);
  const proxy = await startTcpProxy({ host: hostname, port: Number(port) });
  proxies.push(proxy);
  return proxy;
}

function trackerFor(name: string, source: KubeSource, options: TrackerOptions = quick): { tracker: Tracker; state: TrackedState } {
  const state = new TrackedState();
  const tracker = createTracker({ source, state, log: log.child({ tracker: name }), options });
  running.push(tracker);
  return { tracker, state };
}

/** Placements and quotas in this file's namespace; no uid (the API server assigns it). */
function inNs(manifest: Manifest): Manifest {
  const metadata = { ...(manifest.metadata as Record<string, unknown>) };
  delete metadata.uid;
  return manifest.kind === 'SyncTarget' ? { ...manifest, metadata } : { ...manifest, metadata: { ...metadata, namespace: ns } };
}

async function apply(...objects: Manifest[]): Promise<void> {
  for (const object of objects) if (object.kind === 'SyncTarget') syncTargetsCreated.add((object.metadata as { name: string }).name);
  const list = { apiVersion: 'v1', kind: 'List', items: objects.map(inNs) };
  expectSuccess(await kubectl(['apply', '-f', '-'], { input: JSON.stringify(list) }));
}

/** A SyncTarget's status goes through the status subresource (kubectl apply drops it). */
async function setStatus(name: string, status: Manifest): Promise<void> {
  expectSuccess(await kubectl(['patch', 'synctargets.tmc.kcp.io', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status })]));
}

async function deletePlacement(name: string): Promise<void> {
  expectSuccess(await kubectl(['delete', 'workloadplacements.tmc.kcp.io', '-n', ns, name]));
}

const placement = (name: string, cpu: string, cluster: string, extra: Record<string, unknown> = {}): Manifest =>
  aPlacement(name, { requirements: { cpu, memory: '1Gi' }, clusters: [cluster], ...extra });

/**
 * Resolves with the first `event` whose arguments match; listens from the moment it is called, so
 * call it before causing the event. Fails with `what` when nothing matches in time.
 */
async function nextEvent<E extends 'change' | 'invalid' | 'synced'>(
  tracker: Tracker,
  event: E,
  match: (...args: TrackerEvents[E]) => boolean,
  what: string,
  timeoutMs = 20_000,
): Promise<TrackerEvents[E]> {
  try {
    for await (const args of on(tracker, event, { signal: AbortSignal.timeout(timeoutMs) })) {
      if (match(...(args as TrackerEvents[E]))) return args as TrackerEvents[E];
    }
  } catch (error) {
    throw new Error(`no ${event} event within ${timeoutMs} ms: ${what}; stats ${JSON.stringify(tracker.stats())}`, { cause: error });
  }
  throw new Error(`the ${event} events ended before ${what}`);
}

const changeOf =
  (kind: TrackerEvents['change'][0], key: string, present = true) =>
  (...[k, changedKey, object]: TrackerEvents['change']): boolean =>
    k === kind && changedKey === key && (object !== undefined) === present;

const allocatedCpu = (state: TrackedState, cluster: string): string | undefined => formatList(state.allocated(cluster)).cpu;

/**
 * Whether the API server still serves a watch from `resourceVersion`, asked with kubectl as admin:
 * an expired one is answered with an ERROR event carrying code 410.
 */
async function watchExpired(resourceVersion: string): Promise<boolean> {
  const res = await kubectl(['get', '--raw', `${PLACEMENTS}?watch=1&resourceVersion=${resourceVersion}&timeoutSeconds=1`]);
  expectSuccess(res);
  return res.stdout.split('\n').some((line) => line.includes('"type":"ERROR"') && line.includes('"code":410'));
}

/**
 * Moves the placements' watch cache past `resourceVersion`. kube-apiserver serves watches from its
 * cache, which keeps at least 75 s of events (cacher.DefaultEventFreshDuration) and grows while full
 * of younger ones; so: wait out the window, then write until the server itself says the version is
 * gone. Compacting etcd (the brief's way) does not expire a cached watch — verified — but it makes
 * sure the version is gone from storage too.
 */
async function expireInWatchCache(resourceVersion: string, churnNs: string): Promise<number> {
  const started = Date.now();
  let round = 0;
  const churnedUntilExpired = async (): Promise<boolean> => {
    // Writes inside the window cannot expire the version; they would only load the machine.
    if (Date.now() - started < 70_000) return false;
    round++;
    const items = Array.from({ length: 100 }, (_, i) => ({ ...aPlacement(`churn-${i}`, { priority: round }), metadata: { name: `churn-${i}`, namespace: churnNs } }));
    expectSuccess(await kubectl(['apply', '-f', '-'], { input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }) }));
    return watchExpired(resourceVersion);
  };
  await until(churnedUntilExpired, `the API server answering 410 for resourceVersion ${resourceVersion}`, { timeoutMs: 200_000, everyMs: 2_000 });
  return Date.now() - started;
}

// ---- tests -----------------------------------------------------------------------------------

describe('a tracker on a healthy API server', () => {
  let tracker: Tracker;
  let state: TrackedState;
  let cluster = '';

  beforeAll(async () => {
    cluster = `${ns}-c1`;
    await apply(aSyncTarget(cluster), aQuota('compute', { hard: { cpu: '10' } }), placement('p1', '2', cluster), placement('p2', '1', cluster));
    await setStatus(cluster, { capacity: { cpu: '8', memory: '16Gi' }, conditions: [{ type: 'Ready', status: 'True', reason: 'Ready', message: '', lastTransitionTime: '2026-11-23T12:00:00Z' }] });
    // Short watches: each closes cleanly every 2-4 s, so every test below also runs across resumes.
    // This one lives for the whole describe (not stopped after each test), so it is made here.
    state = new TrackedState();
    const options = { ...quick, watchTimeoutSeconds: { min: 2, max: 4 } };
    tracker = createTracker({ source: kubeSource(serviceKubeConfig()), state, log: log.child({ tracker: 'steady' }), options });
    await tracker.start();
  });

  afterAll(() => tracker.stop());

  it('holds every object created before start() once start() resolves, and is ready', () => {
    expect(tracker.ready()).toBe(true);
    expect(state.clusterRecord(cluster)?.capacity).toBeDefined();
    expect(formatList(state.clusterRecord(cluster)?.allocatable ?? {})).toEqual({ cpu: '8', memory: '16Gi' });
    expect(allocatedCpu(state, cluster)).toBe('3');
    expect(state.quotas(ns).map((quota) => quota.key)).toEqual([`${ns}/compute`]);
    expect(formatList(state.used(`${ns}/compute`))).toMatchObject({ cpu: '3', placements: '2' });
    const stats = tracker.stats();
    expect([stats.lists, stats.relists]).toEqual([3, 0]);
    expect(Object.values(stats.resourceVersions).every((rv) => rv !== '')).toBe(true);
  });

  it('reflects a create, an update and a delete made with kubectl', async () => {
    const created = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/p3`), 'p3 created');
    await apply(placement('p3', '500m', cluster));
    await created;
    expect(allocatedCpu(state, cluster)).toBe('3500m');

    const updated = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/p1`), 'p1 updated');
    await apply(placement('p1', '4', cluster));
    await updated;
    expect(allocatedCpu(state, cluster)).toBe('5500m');
    expect(formatList(state.used(`${ns}/compute`)).cpu).toBe('5500m');

    const deleted = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/p2`, false), 'p2 deleted');
    await deletePlacement('p2');
    await deleted;
    expect(allocatedCpu(state, cluster)).toBe('4500m');
    expect(state.hasPlacement(`${ns}/p2`)).toBe(false);
  });

  it('reflects a SyncTarget status change and a quota change', async () => {
    const grown = nextEvent(tracker, 'change', changeOf('SyncTarget', cluster), 'cluster status');
    await setStatus(cluster, { capacity: { cpu: '16', memory: '32Gi' } });
    await grown;
    expect(formatList(state.clusterRecord(cluster)?.allocatable ?? {})).toEqual({ cpu: '16', memory: '32Gi' });

    const raised = nextEvent(tracker, 'change', changeOf('WorkspaceQuota', `${ns}/compute`), 'quota raised');
    await apply(aQuota('compute', { hard: { cpu: '20' } }));
    await raised;
    expect(state.quotas(ns).map((quota) => formatList(quota.hard))).toEqual([{ cpu: '20' }]);
  });

  it('tracks an object in every form the API server stores, with no parse error', async () => {
    const odd = `${ns}-odd`;
    // The API server's date-time format takes a lowercase "t"/"z" and a comma fraction.
    const oddStatus = { capacity: { cpu: '1' }, lastHeartbeatTime: '2026-11-23t12:00:00,5z' };
    const before = tracker.stats().parseErrors;
    await apply(aSyncTarget(odd));
    const tracked = nextEvent(tracker, 'change', (kind, key, object) => kind === 'SyncTarget' && key === odd && object?.kind === 'SyncTarget' && object.object.status.lastHeartbeatTime !== undefined, 'odd SyncTarget with its status');
    await setStatus(odd, oddStatus);
    await tracked;
    expect(state.clusterRecord(odd)?.heartbeatMs).toBe(Date.UTC(2026, 10, 23, 12, 0, 0, 500));
    expect(tracker.stats().parseErrors).toBe(before);
    expect(tracker.ready()).toBe(true);
  });

  it('resumes its short watches from the last resourceVersion: no relist, no restart', async () => {
    // Each watch asks to be closed after 2-4 s: two more per kind means every kind resumed twice.
    const watchesBefore = tracker.stats().watches;
    await until(() => tracker.stats().watches >= watchesBefore + 6, 'two more watches per kind', { timeoutMs: 20_000 });
    const seen = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/p5`), 'p5 after the resumes');
    await apply(placement('p5', '1', cluster));
    await seen;
    const stats = tracker.stats();
    expect([stats.relists, stats.restarts, stats.expirations, stats.watchdogAborts]).toEqual([0, 0, 0, 0]);
    expect(tracker.ready()).toBe(true);
  });
});

describe('a tracker whose connection dies silently', () => {
  it('the watchdog aborts the silent watch and resumes; a change made meanwhile arrives', async () => {
    const proxy = await proxyToApiServer();
    const { tracker, state } = trackerFor('watchdog', kubeSource(serviceKubeConfig(proxy.url)), { ...quick, watchdogMs: 4_000, resumeGraceMs: 3_000 });
    const cluster = `${ns}-wd`;
    await apply(placement('wd-1', '1', cluster));
    await tracker.start();
    expect(allocatedCpu(state, cluster)).toBe('1');

    // Once the three watches are open (lists use short-lived connections of their own), freeze
    // every open connection: no FIN, no RST, no bytes.
    await until(() => proxy.openFor(1_000) >= 3, 'three watches open through the proxy');
    const stalled = proxy.stallOpen();
    expect(stalled).toBeGreaterThanOrEqual(3);
    const abortsBefore = tracker.stats().watchdogAborts;

    const arrived = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/wd-3`), 'wd-3 through a new watch', 20_000);
    await apply(placement('wd-3', '2', cluster));
    await arrived;
    expect(allocatedCpu(state, cluster)).toBe('3');
    expect(tracker.stats().watchdogAborts).toBeGreaterThan(abortsBefore);
    expect(tracker.ready()).toBe(true);
  });
});

describe('a tracker across an API server restart', () => {
  it('goes unready, comes back ready with objects deleted and changed during the outage, and follows changes after it', async () => {
    const proxy = await proxyToApiServer();
    const { tracker, state } = trackerFor('restart', kubeSource(serviceKubeConfig(proxy.url)));
    const cluster = `${ns}-rs`;
    await apply(placement('rs-gone', '1', cluster), placement('rs-kept', '2', cluster));
    await tracker.start();
    expect(allocatedCpu(state, cluster)).toBe('3');

    // The restart breaks the open watches; refusing new connections keeps the tracker away until
    // the changes below are made, so they happen while it cannot see them.
    await until(() => proxy.openFor(1_000) >= 3, 'three watches open through the proxy');
    const unready = once(tracker, 'unready');
    proxy.refuseNew();
    await restartApiServer();
    const [why] = (await unready) as TrackerEvents['unready'];
    expect(why.kind).toBeDefined();
    expect(tracker.ready()).toBe(false);
    await deletePlacement('rs-gone');
    await apply(placement('rs-kept', '5', cluster));

    const ready = once(tracker, 'ready');
    proxy.heal();
    await ready;
    expect(state.hasPlacement(`${ns}/rs-gone`)).toBe(false);
    expect(allocatedCpu(state, cluster)).toBe('5');

    const after = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/rs-new`), 'a change after the restart');
    await apply(placement('rs-new', '1', cluster));
    await after;
    expect(allocatedCpu(state, cluster)).toBe('6');
    expect(tracker.ready()).toBe(true);
  }, 120_000);
});

describe('a tracker whose resourceVersion expired while it was cut off', () => {
  it('gets 410 on resume, relists, and ends with the API server state', async () => {
    const proxy = await proxyToApiServer();
    const { tracker, state } = trackerFor('expired', kubeSource(serviceKubeConfig(proxy.url)));
    const cluster = `${ns}-ex`;
    const churnNs = await freshNamespace('tracker-churn');
    await apply(placement('ex-gone', '1', cluster), placement('ex-kept', '2', cluster));
    await tracker.start();
    expect(allocatedCpu(state, cluster)).toBe('3');

    const unready = once(tracker, 'unready');
    proxy.partition();
    await unready;
    const stale = tracker.stats();
    const resourceVersion = stale.resourceVersions.WorkloadPlacement;
    await deletePlacement('ex-gone');
    await apply(placement('ex-kept', '4', cluster), placement('ex-new', '8', cluster));
    await expireInWatchCache(resourceVersion, churnNs);
    await compactEtcd();
    expect(await watchExpired(resourceVersion)).toBe(true);

    const relisted = nextEvent(tracker, 'synced', (kind, info) => kind === 'WorkloadPlacement' && info.relist, 'the placements relist', 30_000);
    const ready = once(tracker, 'ready');
    proxy.heal();
    const [, info] = await relisted;
    await ready;
    const stats = tracker.stats();
    expect(stats.expirations).toBeGreaterThan(stale.expirations);
    expect(stats.relists).toBeGreaterThan(stale.relists);
    expect(info.resourceVersion).not.toBe(resourceVersion);
    expect(state.hasPlacement(`${ns}/ex-gone`)).toBe(false);
    expect([state.hasPlacement(`${ns}/ex-kept`), state.hasPlacement(`${ns}/ex-new`)]).toEqual([true, true]);
    expect(allocatedCpu(state, cluster)).toBe('12');

    // Not a stuck watch: the next change flows through the new watch.
    const after = nextEvent(tracker, 'change', changeOf('WorkloadPlacement', `${ns}/ex-after`), 'a change after the relist');
    await apply(placement('ex-after', '1', cluster));
    await after;
    expect(allocatedCpu(state, cluster)).toBe('13');
  }, 300_000);
});

describe('a tracker that cannot reach the API server', () => {
  it('stays unready, and stop() ends it promptly (start() rejects)', async () => {
    const proxy = await proxyToApiServer();
    proxy.refuseNew();
    const source = observed(kubeSource(serviceKubeConfig(proxy.url)));
    const { tracker } = trackerFor('unreachable', source);
    const started = tracker.start();
    const outcome = started.then(
      () => 'started',
      (error: unknown) => String(error),
    );
    // Every kind's list refused and retried with backoff, and still no view.
    await until(() => source.failedLists >= 6, 'lists refused twice per kind');
    expect([tracker.ready(), tracker.stats().lists]).toEqual([false, 0]);
    const t0 = Date.now();
    await tracker.stop();
    expect(Date.now() - t0).toBeLessThan(2_000);
    expect(await outcome).toContain('stopped before its first full sync');
  });
});
