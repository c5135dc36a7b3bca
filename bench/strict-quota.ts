/**
 * Strict quota under load (SPEC §12, docs/consistency.md): admissions per second against one hot
 * quota with 2 webhook replicas behind the forwarder, through a real kube-apiserver + etcd. Creates
 * go through the API server, which calls the webhook; the quota fits exactly K and K + EXTRA are
 * sent, so the admitted count is checked exactly.
 *
 * Floor, same run, same API server: compare-and-swap updates of one object's status, one after the
 * other, each carrying the resourceVersion the previous one returned (no conflicts): the rate a
 * design that writes once per admission could reach at best. Goal: ratio >= 1.0 (batching must beat
 * it). Also printed: API writes on quota status per admitted request (goal <= 1, settle writes
 * included) and the admitted creates' p50/p99 as the client sees them.
 *
 *   BENCH_STRICT_K            placements the quota fits (default 300)
 *   BENCH_STRICT_CONCURRENCY  concurrent creates (default 16)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { ApiException, CustomObjectsApi, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { writeCertificates } from '../scripts/lib/certs.js';
import { syncTarget, syncTargetStatus } from '../scripts/lib/demo.js';
import { installService, must } from '../scripts/lib/install.js';
import { ensureBinaries, readState, startControlPlane, stopControlPlane, type ControlPlaneState } from '../scripts/lib/control-plane.js';
import { startWebhooks, stopWebhooks, waitReady } from '../scripts/lib/webhook-processes.js';
import { VALIDATE_PATH, webhookConfiguration } from '../scripts/lib/webhook-registration.js';
import { fmt, summarize, table, type Result } from './lib/report.js';

export const name = 'strict-quota';

const GOAL_RATIO = 1.0;
const EXTRA = 30;
const FLOOR_SECONDS = 5;
const NS = 'bench-strict';
/** A namespace without WorkspaceQuota: the same creates through the same webhook, nothing to reserve. */
const FREE_NS = 'bench-free';
const GROUP = { group: 'tmc.kcp.io', version: 'v1alpha1' };

const envNumber = (env: string | undefined, fallback: number): number => (env && Number(env) > 0 ? Number(env) : fallback);
const say = (line: string): void => void process.stderr.write(`[strict-quota] ${line}\n`);

/** Sum of kube-apiserver's request counter for writes of WorkspaceQuota status (every code, 409s included). */
function quotaStatusWrites(state: ControlPlaneState): Promise<{ total: number; conflicts: number }> {
  return new Promise((resolve, reject) => {
    const url = new URL('/metrics', state.server);
    const req = request(url, { ca: readFileSync(state.caFile), headers: { authorization: `Bearer ${state.adminToken}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const lines = text.split('\n').filter((line) => line.startsWith('apiserver_request_total{') && line.includes('resource="workspacequotas"') && line.includes('subresource="status"') && /verb="(PATCH|UPDATE|APPLY)"/.test(line));
        const count = (selected: string[]) => selected.reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
        resolve({ total: count(lines), conflicts: count(lines.filter((line) => line.includes('code="409"'))) });
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** Clusters with room for everything: the bench measures the quota, not capacity. */
const benchCluster = (name: string) => ({ name, location: 'bench', capacity: { cpu: '100000', memory: '100Ti' } });

/** Sequential CAS on one SyncTarget's status for `seconds`: successful writes per second and their latencies. */
async function casFloor(api: CustomObjectsApi, seconds: number): Promise<{ rate: number; p50: number; p99: number }> {
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const target = { ...GROUP, plural: 'synctargets', name: 'bench-floor' };
  let current = (await api.getClusterCustomObject(target)) as { metadata: { resourceVersion: string } };
  const latencies: number[] = [];
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  for (let i = 0; performance.now() < end; i++) {
    const began = performance.now();
    const body = { metadata: { resourceVersion: current.metadata.resourceVersion }, status: { nodeSummary: { total: i, ready: i } } };
    current = (await api.patchClusterCustomObjectStatus({ ...target, body }, mergePatch)) as typeof current;
    latencies.push(performance.now() - began);
  }
  const s = summarize(latencies);
  return { rate: latencies.length / ((performance.now() - start) / 1000), p50: s.p50, p99: s.p99 };
}

const placement = (namespace: string, name: string) => ({
  apiVersion: 'tmc.kcp.io/v1alpha1',
  kind: 'WorkloadPlacement',
  metadata: { name, namespace },
  spec: { resourceRequirements: { cpu: '10m', memory: '1Mi' }, targetClusters: [{ name: 'bench-target' }] },
});

interface Burst {
  admitted: number;
  refused: number;
  other: string[];
  seconds: number;
  latencies: number[];
}

/** `total` creates by `concurrency` workers; the clock stops at the last admitted answer. */
async function burst(api: CustomObjectsApi, namespace: string, total: number, concurrency: number): Promise<Burst> {
  const result: Burst = { admitted: 0, refused: 0, other: [], seconds: 0, latencies: [] };
  let next = 0;
  let lastAdmitted = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const began = performance.now();
      try {
        await api.createNamespacedCustomObject({ ...GROUP, plural: 'workloadplacements', namespace, body: placement(namespace, `p-${i}`) });
        result.admitted += 1;
        lastAdmitted = performance.now();
        result.latencies.push(lastAdmitted - began);
      } catch (error) {
        if (error instanceof ApiException && error.code === 403 && String(error.body).includes('exceeded quota')) result.refused += 1;
        else result.other.push(error instanceof ApiException ? `${error.code}: ${String(error.body).slice(0, 200)}` : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.seconds = (lastAdmitted - start) / 1000;
  return result;
}

async function settled(api: CustomObjectsApi, k: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const quota = (await api.getNamespacedCustomObject({ ...GROUP, plural: 'workspacequotas', namespace: NS, name: 'hot' })) as { status?: { used?: { placements?: string }; reservations?: unknown[] } };
    if (quota.status?.used?.placements === String(k) && (quota.status.reservations ?? []).length === 0) return;
    if (Date.now() > deadline) throw new Error(`quota status never settled: ${JSON.stringify(quota.status)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

async function setUp(dir: string): Promise<{ state: ControlPlaneState; api: CustomObjectsApi }> {
  say('control plane: building or reusing binaries, starting etcd and kube-apiserver…');
  await ensureBinaries(say);
  await startControlPlane({ dir: path.join(dir, 'cp'), log: say });
  const state = readState(path.join(dir, 'cp'));
  const admin = state.adminKubeconfig;
  installService(admin);
  must(admin, ['create', 'namespace', NS]);
  must(admin, ['create', 'namespace', FREE_NS]);
  const clusters = ['bench-target', 'bench-floor'].map(benchCluster);
  must(admin, ['apply', '-f', '-'], clusters.map((cluster) => JSON.stringify(syncTarget(cluster))).join('\n'));
  for (const cluster of clusters) must(admin, ['patch', 'synctarget', cluster.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(syncTargetStatus(cluster, new Date()))]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(admin);
  return { state, api: kubeConfig.makeApiClient(CustomObjectsApi) };
}

async function startReplicas(dir: string, state: ControlPlaneState, k: number): Promise<void> {
  const certDir = path.join(dir, 'certs');
  writeCertificates(certDir, {});
  say('starting 2 webhook replicas behind the forwarder…');
  // Caller authentication on, as in production: the API server presents its client certificate.
  const set = await startWebhooks({ dir, kubeconfig: state.serviceKubeconfig, certDir, replicas: 2, env: { PLACEMENT_QUOTA_LOG_LEVEL: 'warn' }, clientCAFile: state.webhookClient.caFile });
  await waitReady(set);
  const registration = webhookConfiguration(readFileSync(path.join(certDir, 'ca.crt'), 'utf8'), { url: `https://127.0.0.1:${set.port}${VALIDATE_PATH}` });
  must(state.adminKubeconfig, ['apply', '-f', '-'], JSON.stringify(registration));
  const quota = { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkspaceQuota', metadata: { name: 'hot', namespace: NS }, spec: { hard: { placements: String(k) } } };
  must(state.adminKubeconfig, ['apply', '-f', '-'], JSON.stringify(quota));
  // Both replicas' watches deliver the quota within milliseconds; the status writer's first write shows one has.
  for (let tries = 0; must(state.adminKubeconfig, ['get', 'wq', 'hot', '-n', NS, '-o', 'jsonpath={.status.hard.placements}']) !== String(k); tries++) {
    if (tries > 100) throw new Error('the webhook never wrote the quota status');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

export async function run(): Promise<Result> {
  const k = envNumber(process.env.BENCH_STRICT_K, 300);
  const concurrency = envNumber(process.env.BENCH_STRICT_CONCURRENCY, 16);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-strict-'));
  try {
    const { state, api } = await setUp(dir);
    await startReplicas(dir, state, k);

    say(`floor: sequential compare-and-swap status updates of one object for ${FLOOR_SECONDS}s…`);
    const floor = await casFloor(api, FLOOR_SECONDS);

    say(`reference: ${k} creates through the webhook in a namespace without quota…`);
    const free = await burst(api, FREE_NS, k, concurrency);
    say(`load: ${k + EXTRA} creates, ${concurrency} at a time, quota fits ${k}…`);
    const writesBefore = await quotaStatusWrites(state);
    const result = await burst(api, NS, k + EXTRA, concurrency);
    if (result.other.length > 0) throw new Error(`unexpected answers: ${result.other.slice(0, 3).join(' | ')}`);
    if (result.admitted !== k || result.refused !== EXTRA) throw new Error(`admitted ${result.admitted} and refused ${result.refused}; the quota fits exactly ${k}`);
    await settled(api, k);
    const writesAfter = await quotaStatusWrites(state);
    const writes = writesAfter.total - writesBefore.total;
    const conflicts = writesAfter.conflicts - writesBefore.conflicts;

    const rate = result.admitted / result.seconds;
    const latency = summarize(result.latencies);
    const freeLatency = summarize(free.latencies);
    console.log(`machine: 2 replicas + kube-apiserver + etcd + this client on the same cores; concurrency ${concurrency}`);
    console.log(
      table(
        ['measure', 'per second', 'p50 ms', 'p99 ms', 'notes'],
        [
          ['admitted creates (2 replicas)', fmt(rate), fmt(latency.p50), fmt(latency.p99), `${result.admitted} admitted, ${result.refused} refused: exact`],
          ['reference: same creates, no quota', fmt(free.admitted / free.seconds), fmt(freeLatency.p50), fmt(freeLatency.p99), 'the API server + webhook create path alone'],
          ['floor: sequential CAS of one status', fmt(floor.rate), fmt(floor.p50), fmt(floor.p99), 'one write per admission at best'],
        ],
      ),
    );
    console.log(`API writes on quota status per admitted request: ${fmt(writes / k)} (${writes} writes, ${conflicts} of them refused with 409, settling included; goal <= 1)`);
    console.log(`admit-path p99 (client-observed create, through the API server and the webhook): ${fmt(latency.p99)} ms`);
    const ratio = rate / floor.rate;
    return { value: rate, floor: floor.rate, ratio, goal: `>=${GOAL_RATIO.toFixed(1)}`, pass: ratio >= GOAL_RATIO };
  } finally {
    await stopWebhooks(dir);
    await stopControlPlane(path.join(dir, 'cp')).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}
