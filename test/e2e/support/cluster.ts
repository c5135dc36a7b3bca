/**
 * What e2e test files use to reach the run's control plane, which test/e2e/global-setup.ts started
 * once for all test files (workers included). Each test file works in its own namespace.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import {
  logTails,
  readState,
  restartApiServer as restartApiServerIn,
  type ControlPlaneInfo,
} from '../../../scripts/lib/control-plane.js';
import { aSyncTarget } from '../../builders/objects.js';

/** Set by the global setup to `<dir>/state.json` of the run's control plane. */
export const STATE_ENV = 'E2E_CONTROL_PLANE_STATE';

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface KubectlOptions {
  input?: string;
  /** Defaults to the admin kubeconfig. */
  kubeconfig?: string;
}

function controlPlaneDir(): string {
  const stateFile = process.env[STATE_ENV];
  if (!stateFile) throw new Error(`${STATE_ENV} is not set: run e2e tests through jest's e2e project (global setup)`);
  return path.dirname(stateFile);
}

/** Connection details of the run's control plane. */
export function clusterInfo(): ControlPlaneInfo & { compactionInterval: string } {
  const { dir, server, adminKubeconfig, serviceKubeconfig, adminToken, serviceToken, logs, compactionInterval, webhookClient } =
    readState(controlPlaneDir());
  return { dir, server, adminKubeconfig, serviceKubeconfig, adminToken, serviceToken, logs, compactionInterval, webhookClient };
}

/** The last lines of the etcd and kube-apiserver logs, for a failure message. */
export function clusterLogTails(lines = 30): string {
  return logTails(clusterInfo(), lines);
}

/**
 * Restarts kube-apiserver (same port, same etcd) and resolves once it is ready again. Every test file
 * running at the same time sees the outage too: use it only in a file that expects that.
 */
export function restartApiServer(): Promise<void> {
  return restartApiServerIn(controlPlaneDir());
}

/**
 * The running kube-apiserver: its pid (to SIGSTOP it: a test that does must SIGCONT it, also on
 * failure) and what a client needs to ask its /readyz directly.
 */
export function apiServerProcess(): { pid: number; server: string; ca: string; adminToken: string } {
  const state = readState(controlPlaneDir());
  return { pid: state.apiserver.pid, server: state.server, ca: readFileSync(state.caFile, 'utf8'), adminToken: state.adminToken };
}

/** Runs kubectl against the run's control plane. Resolves with the exit code; never throws on non-zero. */
export async function kubectl(args: string[], opts: KubectlOptions = {}): Promise<KubectlResult> {
  const kubeconfig = opts.kubeconfig ?? clusterInfo().adminKubeconfig;
  const child = spawn(process.env.KUBECTL ?? 'kubectl', [`--kubeconfig=${kubeconfig}`, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdin.end(opts.input ?? '');
  const [code] = (await once(child, 'close')) as [number | null];
  return { code: code ?? -1, stdout, stderr };
}

const created: string[] = [];

/**
 * Creates a namespace with a unique name (`<prefix>-<random>`) and returns the name. Pair it with
 * `afterAll(deleteFreshNamespaces)` in the same test file.
 */
export async function freshNamespace(prefix = 'e2e'): Promise<string> {
  const clean = prefix.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 50).replace(/^-+|-+$/g, '') || 'e2e';
  const name = `${clean}-${randomBytes(4).toString('hex')}`;
  const res = await kubectl(['create', 'namespace', name]);
  if (res.code !== 0) throw new Error(`kubectl create namespace ${name} failed (exit ${res.code}): ${res.stderr}`);
  created.push(name);
  return name;
}

/**
 * Deletes the namespaces this test file created. There is no kube-controller-manager, so a deleted
 * namespace stays `Terminating` with its objects in place; it no longer accepts new objects.
 */
export async function deleteFreshNamespaces(): Promise<void> {
  const names = created.splice(0);
  if (names.length === 0) return;
  await kubectl(['delete', 'namespace', '--wait=false', '--ignore-not-found', ...names]);
}

/**
 * Creates a Ready, schedulable SyncTarget named `<prefix>-<time>` with room for `capacity` and a
 * heartbeat that stays fresh for the run (interval 1 h); resolves with its name. Delete it in afterAll.
 */
export async function readySyncTarget(prefix: string, capacity: Record<string, string>): Promise<string> {
  const name = `${prefix}-${Date.now()}`;
  const { status, ...spec } = aSyncTarget(name, { heartbeatInterval: '1h', capacity });
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(spec) });
  if (applied.code !== 0) throw new Error(`kubectl apply synctarget ${name} failed: ${applied.stderr}`);
  const heartbeat = { ...(status as Record<string, unknown>), lastHeartbeatTime: new Date().toISOString().replace(/\.\d+Z$/, 'Z') };
  const patched = await kubectl(['patch', 'synctarget', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: heartbeat })]);
  if (patched.code !== 0) throw new Error(`kubectl patch synctarget ${name} status failed: ${patched.stderr}`);
  return name;
}

/**
 * The request uids quota `name` in `ns` holds reservations for, as the API server stores them: the
 * shared list's and every replica's share's (docs/consistency.md).
 */
export async function quotaReservations(ns: string, name = 'limit'): Promise<string[]> {
  const listed = await kubectl(['get', 'wq', name, '-n', ns, '-o', 'json']);
  if (listed.code !== 0) throw new Error(`kubectl get wq failed: ${listed.stderr}`);
  type Held = { reservations?: { request: string }[] };
  const { status } = JSON.parse(listed.stdout) as { status?: Held & { shares?: Record<string, Held> } };
  const lists = [status?.reservations ?? [], ...Object.values(status?.shares ?? {}).map((share) => share.reservations ?? [])];
  return lists.flat().map((reservation) => reservation.request);
}

/** How many placements `ns` stores, as the API server lists them. */
export async function storedPlacements(ns: string): Promise<number> {
  const listed = await kubectl(['get', 'wp', '-n', ns, '-o', 'name']);
  if (listed.code !== 0) throw new Error(`kubectl get wp failed: ${listed.stderr}`);
  return listed.stdout.split('\n').filter(Boolean).length;
}
