/**
 * Strict quota under load, side by side (SPEC §12, docs/consistency.md, issue 18), through one real
 * kube-apiserver + etcd with one client: the same K, N = K + EXTRA creates and concurrency for each
 * path, several rounds, the paths alternating order from round to round (the machine is shared):
 *
 * - raw: a namespace no webhook selects, no quota: the API server's create path alone;
 * - builtin: a namespace no webhook selects with a ResourceQuota `count/workloadplacements.tmc.kcp.io: K`
 *   (Kubernetes' own quota admission, exact by optimistic concurrency on the quota's status). No
 *   kube-controller-manager runs here, so the benchmark writes its status (hard, used 0) itself;
 * - noop: a bare node:https webhook answering `allowed: true` (bench/lib/noop-webhook.ts), 2 processes
 *   behind the same forwarder, registered the same way, requiring the same client certificate;
 * - free: this webhook (2 replicas) in a namespace with no quota to charge;
 * - strict: this webhook (2 replicas) against a WorkspaceQuota `placements: K`.
 *
 * The quota paths must admit exactly K and refuse N - K every round (the run fails otherwise).
 * Goal 1: strict >= 0.7 x builtin, >= 0.9 x free, <= 0.2 WorkspaceQuota status writes per admitted
 * create (kube-apiserver's own request counter, 409s and the status writer's settling included).
 * Goal 2: free >= 0.9 x noop (a second RESULT line, `webhook-cost`).
 *
 *   BENCH_STRICT_K            placements a quota fits (default 200)
 *   BENCH_STRICT_CONCURRENCY  concurrent creates (default 16)
 *   BENCH_STRICT_ROUNDS       rounds (default 3)
 *   BENCH_STRICT_SIDES        a comma-separated subset of the paths, for quick runs (default all; a ratio to a path left out prints as NaN)
 *   BENCH_STRICT_LOG_DIR      keep the replicas' logs here (with BENCH_STRICT_LOG_LEVEL=debug: every round and record)
 *   BENCH_STRICT_PROFILE_DIR  each replica writes a CPU profile (node --cpu-prof) here when it stops
 *   BENCH_STRICT_REQUESTS     set: print every kind of request the API server was asked during each burst
 *   BENCH_STRICT_CLIENT       per-request: the client opens a connection per create, as client-node does (default: kept open)
 */
import { spawn } from 'node:child_process';
import { closeSync, cpSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ApiException, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { writeCertificates } from '../scripts/lib/certs.js';
import { syncTarget, syncTargetStatus } from '../scripts/lib/demo.js';
import { installService, must } from '../scripts/lib/install.js';
import { ensureBinaries, readState, startControlPlane, stopControlPlane, type ControlPlaneState } from '../scripts/lib/control-plane.js';
import { freePort, startWebhooks, stopWebhooks, terminate, waitReady } from '../scripts/lib/webhook-processes.js';
import { VALIDATE_PATH, webhookConfiguration } from '../scripts/lib/webhook-registration.js';
import { withPooledConnections } from '../src/ops/kube-request.js';
import { fmt, resultLine, summarize, table, type Result } from './lib/report.js';

export const name = 'strict-quota';

const GOAL_BUILTIN = 0.7;
const GOAL_FREE = 0.9;
const GOAL_WRITES = 0.2;
const GOAL_NOOP = 0.9;
const EXTRA = 40;
const GROUP = { group: 'tmc.kcp.io', version: 'v1alpha1' };
const COUNT_RESOURCE = 'count/workloadplacements.tmc.kcp.io';
const SELECTOR = 'placement-quota.bench/webhook';
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

const ALL_SIDES = ['raw', 'builtin', 'noop', 'free', 'strict'] as const;
type Side = (typeof ALL_SIDES)[number];
const SIDES: readonly Side[] = process.env.BENCH_STRICT_SIDES ? ALL_SIDES.filter((side) => process.env.BENCH_STRICT_SIDES?.split(',').includes(side)) : ALL_SIDES;
const DESCRIPTION: Record<Side, string> = {
  raw: 'raw creates, no webhook, no quota',
  builtin: `Kubernetes' ResourceQuota (${COUNT_RESOURCE}), exact`,
  noop: 'no-op webhook (bare node:https, allowed: true), 2 processes',
  free: 'this webhook, no quota to charge',
  strict: 'this webhook, WorkspaceQuota, exact (2 replicas)',
};

const envNumber = (env: string | undefined, fallback: number): number => (env && Number(env) > 0 ? Number(env) : fallback);
const say = (line: string): void => void process.stderr.write(`[strict-quota] ${line}\n`);
const median = (values: readonly number[]): number => summarize(values).p50;
const spread = (values: readonly number[]): string => `${fmt(Math.min(...values))}–${fmt(Math.max(...values))}`;

/** The labels a request is counted by, each with the pattern that reads it off a metric line. */
const REQUEST_LABELS = ['verb', 'resource', 'subresource', 'code'].map((label) => new RegExp(`[{,]${label}="([^"]*)"`));

/** kube-apiserver's `apiserver_request_total`, summed by verb, resource, subresource and code (`PATCH workspacequotas status 409`). */
function requestCounts(state: ControlPlaneState): Promise<Map<string, number>> {
  return new Promise((resolve, reject) => {
    const url = new URL('/metrics', state.server);
    const req = request(url, { ca: readFileSync(state.caFile), headers: { authorization: `Bearer ${state.adminToken}` } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => {
        const counts = new Map<string, number>();
        for (const line of text.split('\n')) {
          if (!line.startsWith('apiserver_request_total{')) continue;
          const key = REQUEST_LABELS.map((label) => label.exec(line)?.[1] || '-').join(' ');
          counts.set(key, (counts.get(key) ?? 0) + Number(line.slice(line.lastIndexOf(' ') + 1)));
        }
        resolve(counts);
      });
    });
    req.on('error', reject);
    req.end();
  });
}

/** What the API server was asked between two readings of its counters, largest first. */
function requestsBetween(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): [string, number][] {
  return [...after]
    .map(([key, n]): [string, number] => [key, n - (before.get(key) ?? 0)])
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
}

/** Writes of a resource's status (every code; 409s apart) among what the API server was asked. */
function statusWrites(requests: readonly [string, number][], resource: string): { total: number; conflicts: number } {
  const writes = requests.filter(([key]) => /^(PATCH|PUT|APPLY) /.test(key) && key.includes(` ${resource} status `));
  const count = (selected: [string, number][]) => selected.reduce((sum, [, n]) => sum + n, 0);
  return { total: count(writes), conflicts: count(writes.filter(([key]) => key.endsWith(' 409'))) };
}

/** Clusters with room for everything: the bench measures the quota, not capacity. */
const benchCluster = (name: string) => ({ name, location: 'bench', capacity: { cpu: '100000', memory: '100Ti' } });

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

/** The message of a Status body (the API server's answer), else the body's start. */
function messageOf(body: unknown): string {
  try {
    const status = JSON.parse(String(body)) as { message?: unknown };
    if (typeof status.message === 'string') return status.message;
  } catch {
    // not JSON: shown as it is
  }
  return String(body).slice(0, 300);
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
        else result.other.push(error instanceof ApiException ? `${error.code}: ${messageOf(error.body)}` : String(error));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  result.seconds = (lastAdmitted - start) / 1000;
  return result;
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Clients {
  state: ControlPlaneState;
  api: CustomObjectsApi;
  core: CoreV1Api;
}

async function setUp(dir: string): Promise<Clients> {
  say('control plane: building or reusing binaries, starting etcd and kube-apiserver…');
  await ensureBinaries(say);
  await startControlPlane({ dir: path.join(dir, 'cp'), log: say });
  const state = readState(path.join(dir, 'cp'));
  installService(state.adminKubeconfig);
  const clusters = ['bench-target'].map(benchCluster);
  must(state.adminKubeconfig, ['apply', '-f', '-'], clusters.map((cluster) => JSON.stringify(syncTarget(cluster))).join('\n'));
  for (const cluster of clusters) must(state.adminKubeconfig, ['patch', 'synctarget', cluster.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(syncTargetStatus(cluster, new Date()))]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(state.adminKubeconfig);
  // Connections kept open, as client-go keeps them: client-node alone opens one per request, and the
  // API server's TLS handshake for each create (~1 ms of its CPU) would be measured on every path.
  // BENCH_STRICT_CLIENT=per-request measures that client instead.
  if (process.env.BENCH_STRICT_CLIENT !== 'per-request') withPooledConnections(kubeConfig);
  return { state, api: kubeConfig.makeApiClient(CustomObjectsApi), core: kubeConfig.makeApiClient(CoreV1Api) };
}

/** Registers a webhook at `port` for namespaces labelled `SELECTOR=<value>` only. */
function register(state: ControlPlaneState, caPem: string, port: number, value: string): void {
  const registration = webhookConfiguration(caPem, { url: `https://127.0.0.1:${port}${VALIDATE_PATH}` }, { name: `bench-${value}`, namespaceLabels: { [SELECTOR]: value } });
  must(state.adminKubeconfig, ['apply', '-f', '-'], JSON.stringify(registration));
}

/** 2 no-op webhook processes behind the forwarder, as the real replicas are; resolves with their pids. */
async function startNoop(dir: string, certDir: string, clientCaFile: string): Promise<{ port: number; pids: number[] }> {
  const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
  const log = openSync(path.join(dir, 'noop.log'), 'a');
  const launch = (args: string[]): number => {
    const child = spawn(tsx, args, { cwd: repoRoot, detached: true, stdio: ['ignore', log, log] });
    child.unref();
    if (child.pid === undefined) throw new Error('could not start the no-op webhook');
    return child.pid;
  };
  const ports = [await freePort(), await freePort()];
  const pids = ports.map((port) => launch([path.join(repoRoot, 'bench', 'lib', 'noop-webhook.ts'), String(port), certDir, clientCaFile]));
  const port = await freePort();
  pids.push(launch([path.join(repoRoot, 'scripts', 'forwarder.ts'), String(port), ...ports.map(String)]));
  closeSync(log);
  for (const replica of ports) await until(`no-op webhook on ${replica}`, () => tlsListening(replica));
  return { port, pids };
}

/** Whether something accepts TLS connections on the port (the no-op refuses callers without a certificate). */
function tlsListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: '/', rejectUnauthorized: false, timeout: 1000 }, () => resolve(true));
    req.on('error', (error: NodeJS.ErrnoException) => resolve(error.code !== 'ECONNREFUSED'));
    req.end();
  });
}

/** A fresh namespace for one side of one round, with what that side needs in it; resolves when it is in force. */
async function prepare(clients: Clients, side: Side, namespace: string, k: number): Promise<void> {
  const { state, api, core } = clients;
  const labels: Record<string, string> = side === 'noop' ? { [SELECTOR]: 'noop' } : side === 'free' || side === 'strict' ? { [SELECTOR]: 'real' } : {};
  await core.createNamespace({ body: { metadata: { name: namespace, labels } } });
  if (side === 'builtin') {
    const hard = { [COUNT_RESOURCE]: String(k) };
    await core.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'count' }, spec: { hard } } });
    // No kube-controller-manager here: without status.hard and status.used the plugin refuses every create.
    must(state.adminKubeconfig, ['patch', 'resourcequota', 'count', '-n', namespace, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { hard, used: { [COUNT_RESOURCE]: '0' } } })]);
  }
  if (side === 'strict') {
    await api.createNamespacedCustomObject({ ...GROUP, plural: 'workspacequotas', namespace, body: { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkspaceQuota', metadata: { name: 'hot', namespace }, spec: { hard: { placements: String(k) } } } });
    // The status writer's first write shows the leader's watch has the quota; the other replica's follows within milliseconds.
    await until('the webhook writes the quota status', async () => {
      const quota = (await api.getNamespacedCustomObject({ ...GROUP, plural: 'workspacequotas', namespace, name: 'hot' })) as { status?: { hard?: { placements?: string } } };
      return quota.status?.hard?.placements === String(k);
    });
  }
  // Namespace labels reach the API server's webhook matcher through its informer: give it a moment.
  await new Promise((resolve) => setTimeout(resolve, 1000));
}

async function settled(api: CustomObjectsApi, namespace: string, k: number): Promise<void> {
  await until('quota status settles', async () => {
    const quota = (await api.getNamespacedCustomObject({ ...GROUP, plural: 'workspacequotas', namespace, name: 'hot' })) as { status?: { used?: { placements?: string }; reservations?: unknown[] } };
    return quota.status?.used?.placements === String(k) && (quota.status.reservations ?? []).length === 0;
  });
}

/** CPU time a process has used so far, ms (user + system, from /proc: the machine is shared, so time is not enough). */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

interface Measured {
  rate: number;
  /** kube-apiserver CPU per admitted create, burst and settling included (ms). */
  apiserverCpu: number;
  p50: number;
  p99: number;
  /** strict: WorkspaceQuota status writes per admitted create (kube-apiserver's counter, 409s included). */
  writesPerAdmitted?: number;
  conflicts?: number;
}

async function measure(clients: Clients, side: Side, namespace: string, k: number, concurrency: number): Promise<Measured> {
  const quota = side === 'builtin' || side === 'strict';
  const total = k + EXTRA;
  const before = await requestCounts(clients.state);
  const cpuBefore = cpuMs(clients.state.apiserver.pid);
  const result = await burst(clients.api, namespace, total, concurrency);
  if (result.other.length > 0) throw new Error(`${side}: ${result.other.length} unexpected answers (${result.admitted} admitted, ${result.refused} refused for the quota): ${[...new Set(result.other)].slice(0, 3).join(' | ')}`);
  const expected = quota ? k : total;
  if (result.admitted !== expected || result.refused !== total - expected) throw new Error(`${side}: admitted ${result.admitted} and refused ${result.refused} of ${total}; expected exactly ${expected} admitted`);
  if (side === 'strict') await settled(clients.api, namespace, k);
  const apiserverCpu = (cpuMs(clients.state.apiserver.pid) - cpuBefore) / result.admitted;
  const requests = requestsBetween(before, await requestCounts(clients.state));
  if (process.env.BENCH_STRICT_REQUESTS) say(`${side}: the API server was asked ${requests.map(([key, n]) => `${n}× ${key}`).join(', ')}`);
  const latency = summarize(result.latencies);
  const measured: Measured = { rate: result.admitted / result.seconds, apiserverCpu, p50: latency.p50, p99: latency.p99 };
  if (quota) {
    // Kubernetes' quota admission updates the ResourceQuota's status through its loopback client: counted too.
    const writes = statusWrites(requests, side === 'strict' ? 'workspacequotas' : 'resourcequotas');
    measured.writesPerAdmitted = writes.total / result.admitted;
    measured.conflicts = writes.conflicts;
  }
  return measured;
}

export async function run(): Promise<Result> {
  const k = envNumber(process.env.BENCH_STRICT_K, 200);
  const concurrency = envNumber(process.env.BENCH_STRICT_CONCURRENCY, 16);
  const rounds = envNumber(process.env.BENCH_STRICT_ROUNDS, 3);
  const dir = mkdtempSync(path.join(tmpdir(), 'bench-strict-'));
  const profileDir = process.env.BENCH_STRICT_PROFILE_DIR;
  let noopPids: number[] = [];
  try {
    const clients = await setUp(dir);
    const { state } = clients;
    const certDir = path.join(dir, 'certs');
    writeCertificates(certDir, {});
    const caPem = readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
    say('starting 2 webhook replicas behind the forwarder and 2 no-op webhooks behind another…');
    // Caller authentication on, as in production: the API server presents its client certificate.
    const set = await startWebhooks({ dir, kubeconfig: state.serviceKubeconfig, certDir, replicas: 2, env: { PLACEMENT_QUOTA_LOG_LEVEL: process.env.BENCH_STRICT_LOG_LEVEL ?? 'warn' }, clientCAFile: state.webhookClient.caFile, nodeArgs: profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [] });
    const noop = await startNoop(dir, certDir, state.webhookClient.caFile);
    noopPids = noop.pids;
    await waitReady(set);
    register(state, caPem, set.port, 'real');
    register(state, caPem, noop.port, 'noop');

    say('warm-up: one small unmeasured burst per path…');
    for (const side of SIDES) {
      await prepare(clients, side, `warm-${side}`, 20);
      await measure(clients, side, `warm-${side}`, 20, concurrency);
    }
    const figures = new Map<Side, Measured[]>(SIDES.map((side) => [side, []]));
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so that no path always runs first (or last) on a machine others share.
      const order = round % 2 === 1 ? [...SIDES] : [...SIDES].reverse();
      for (const side of order) {
        const namespace = `r${round}-${side}`;
        await prepare(clients, side, namespace, k);
        say(`round ${round}: ${side}: ${k + EXTRA} creates, ${concurrency} at a time…`);
        const measured = await measure(clients, side, namespace, k, concurrency);
        say(`round ${round}: ${side}: ${fmt(measured.rate)}/s`);
        figures.get(side)?.push(measured);
      }
    }

    const of = (side: Side): Measured[] => figures.get(side) ?? [];
    const rates = (side: Side) => of(side).map((m) => m.rate);
    // Ratios per round (each round's sides ran back to back), then their median.
    const perRound = (a: Side, b: Side) => of(a).map((m, i) => m.rate / (of(b)[i]?.rate ?? NaN));
    const strictWrites = of('strict').map((m) => m.writesPerAdmitted ?? NaN);
    console.log(`machine: kube-apiserver + etcd + 2 replicas + 2 no-op webhooks + this client on the same cores; K ${k}, N ${k + EXTRA}, concurrency ${concurrency}, ${rounds} rounds (order alternating)`);
    console.log(
      table(
        ['path', 'created/s median', 'spread', 'p50 ms', 'p99 ms', 'apiserver CPU ms/admitted', 'per round', 'notes'],
        SIDES.map((side) => {
          const quota = side === 'builtin' || side === 'strict';
          const writes = of(side).map((m) => m.writesPerAdmitted ?? NaN);
          const conflicts = of(side).map((m) => m.conflicts ?? 0);
          const exact = `exactly ${k} of ${k + EXTRA} every round`;
          const notes = quota ? `${exact}; status writes per admitted ${fmt(median(writes))} (${spread(writes)}), 409s ${conflicts.join('/')}` : `${k + EXTRA} of ${k + EXTRA}`;
          return [DESCRIPTION[side], fmt(median(rates(side))), spread(rates(side)), fmt(median(of(side).map((m) => m.p50))), fmt(median(of(side).map((m) => m.p99))), fmt(median(of(side).map((m) => m.apiserverCpu))), rates(side).map(fmt).join(' '), notes];
        }),
      ),
    );
    const vsBuiltin = median(perRound('strict', 'builtin'));
    const vsFree = median(perRound('strict', 'free'));
    const writes = median(strictWrites);
    const vsNoop = median(perRound('free', 'noop'));
    console.log(`ratios, median of per-round ratios (spread): strict/builtin ${fmt(vsBuiltin)} (${spread(perRound('strict', 'builtin'))}), strict/free ${fmt(vsFree)} (${spread(perRound('strict', 'free'))}), free/noop ${fmt(vsNoop)} (${spread(perRound('free', 'noop'))}), builtin/raw ${fmt(median(perRound('builtin', 'raw')))}, kube-apiserver CPU per admitted strict/free ${fmt(median(of('strict').map((m, i) => m.apiserverCpu / (of('free')[i]?.apiserverCpu ?? NaN))))}, noop/raw ${fmt(median(perRound('noop', 'raw')))}`);
    const cost: Result = { value: median(rates('free')), floor: median(rates('noop')), ratio: vsNoop, goal: `free>=${GOAL_NOOP}xnoop`, pass: vsNoop >= GOAL_NOOP };
    console.log(resultLine('webhook-cost', cost));
    const pass = vsBuiltin >= GOAL_BUILTIN && vsFree >= GOAL_FREE && writes <= GOAL_WRITES;
    return { value: median(rates('strict')), floor: median(rates('builtin')), ratio: vsBuiltin, goal: `>=${GOAL_BUILTIN}xbuiltin,>=${GOAL_FREE}xfree(${fmt(vsFree)}),writes<=${GOAL_WRITES}(${fmt(writes)}),exact`, pass };
  } finally {
    await Promise.all(noopPids.map((pid) => terminate(pid)));
    await stopWebhooks(dir);
    await stopControlPlane(path.join(dir, 'cp')).catch(() => undefined);
    const keep = process.env.BENCH_STRICT_LOG_DIR;
    if (keep) for (const log of readdirSync(dir).filter((file) => file.endsWith('.log'))) cpSync(path.join(dir, log), path.join(keep, log));
    rmSync(dir, { recursive: true, force: true });
  }
}
