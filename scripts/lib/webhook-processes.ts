/**
 * Runs `placement-quota serve` replicas as background processes on loopback, for `npm run up` and the
 * end-to-end tests: one port per replica, logs in files, pids in `<dir>/webhook.json`, and, for more
 * than one replica, a round-robin forwarder in front (the API server calls a single URL).
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface WebhookReplica {
  pid: number;
  port: number;
  /** Where its `/metrics`, `/reports/*` and `/dashboard` are served (each replica aggregates its own tracker). */
  observabilityPort: number;
  log: string;
}

export interface WebhookSet {
  dir: string;
  /** Where the API server should call: the forwarder for 2+ replicas, else the replica. */
  port: number;
  replicas: WebhookReplica[];
  forwarderPid?: number;
  caFile: string;
}

export interface StartWebhookOptions {
  dir: string;
  kubeconfig: string;
  certDir: string;
  replicas?: number;
  /** Extra PLACEMENT_QUOTA_* settings. */
  env?: Record<string, string>;
  /** A config file for every replica. */
  configFile?: string;
  /**
   * `tls.clientCAFile` of every replica: the CA of the API server's client certificate
   * (`ControlPlaneInfo.webhookClient.caFile`). Set, only callers with such a certificate are answered
   * on the admission path.
   */
  clientCAFile?: string;
  /** Node's own flags for every replica (NODE_OPTIONS refuses some, such as `--cpu-prof`). */
  nodeArgs?: string[];
}

/** A port the OS says is free now (closed again before returning; good enough on loopback). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

function spawnLogged(command: string, args: string[], log: string, env: NodeJS.ProcessEnv): number {
  const out = openSync(log, 'a');
  const child = spawn(command, args, { cwd: repoRoot, env, detached: true, stdio: ['ignore', out, out] });
  closeSync(out);
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return child.pid;
}

/** Starts replica `index`, on `port` when given (a restart keeps its place behind the forwarder). */
export async function startReplica(options: StartWebhookOptions, index: number, port?: number): Promise<WebhookReplica> {
  port ??= await freePort();
  const observabilityPort = await freePort();
  const log = path.join(options.dir, `webhook-${index}.log`);
  const env = {
    ...process.env,
    PLACEMENT_QUOTA_HOST: '127.0.0.1',
    PLACEMENT_QUOTA_PORT: String(port),
    PLACEMENT_QUOTA_OBSERVABILITY_HOST: '127.0.0.1',
    PLACEMENT_QUOTA_OBSERVABILITY_PORT: String(observabilityPort),
    PLACEMENT_QUOTA_KUBECONFIG: options.kubeconfig,
    PLACEMENT_QUOTA_TLS_CERT_FILE: path.join(options.certDir, 'tls.crt'),
    PLACEMENT_QUOTA_TLS_KEY_FILE: path.join(options.certDir, 'tls.key'),
    // The leader-election identity, as a Deployment's downward API gives each pod its name:
    // `kubectl get lease -n placement-quota-system` then names the replica that leads.
    POD_NAME: `webhook-${index}`,
    ...(options.clientCAFile ? { PLACEMENT_QUOTA_TLS_CLIENT_CA_FILE: options.clientCAFile } : {}),
    ...(options.configFile ? { PLACEMENT_QUOTA_CONFIG: options.configFile } : {}),
    ...options.env,
  };
  const pid = spawnLogged(process.execPath, [...(options.nodeArgs ?? []), path.join(repoRoot, 'bin', 'placement-quota'), 'serve'], log, env);
  return { pid, port, observabilityPort, log };
}

/** GET a path over TLS trusting only the given CA; resolves with the status code (0 when unreachable). */
export function probe(port: number, urlPath: string, ca: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: urlPath, ca, servername: 'localhost', timeout: 2000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function tail(file: string, lines = 20): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
}

/** Waits until every replica answers /readyz 200 (its tracker synced); fails with the log tail if one dies. */
export async function waitReady(set: WebhookSet, timeoutMs = 60_000): Promise<void> {
  const ca = readFileSync(set.caFile, 'utf8');
  const deadline = Date.now() + timeoutMs;
  for (const replica of set.replicas) {
    while ((await probe(replica.port, '/readyz', ca)) !== 200) {
      if (!alive(replica.pid)) throw new Error(`webhook replica on port ${replica.port} exited:\n${tail(replica.log)}`);
      if (Date.now() > deadline) throw new Error(`webhook replica on port ${replica.port} not ready after ${timeoutMs} ms:\n${tail(replica.log)}`);
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export function webhookStateFile(dir: string): string {
  return path.join(dir, 'webhook.json');
}

/** Starts the replicas (and the forwarder for 2+) in the background; state goes to `<dir>/webhook.json`. */
export async function startWebhooks(options: StartWebhookOptions): Promise<WebhookSet> {
  const count = options.replicas ?? 1;
  const replicas: WebhookReplica[] = [];
  for (let i = 0; i < count; i += 1) replicas.push(await startReplica(options, i));
  const set: WebhookSet = { dir: options.dir, port: replicas[0]?.port ?? 0, replicas, caFile: path.join(options.certDir, 'ca.crt') };
  if (count > 1) {
    set.port = await freePort();
    const tsx = path.join(repoRoot, 'node_modules', '.bin', 'tsx');
    const args = [path.join(repoRoot, 'scripts', 'forwarder.ts'), String(set.port), ...replicas.map((r) => String(r.port))];
    set.forwarderPid = spawnLogged(tsx, args, path.join(options.dir, 'forwarder.log'), process.env);
  }
  writeFileSync(webhookStateFile(options.dir), `${JSON.stringify(set, null, 2)}\n`);
  return set;
}

/** Stops a process: SIGTERM (graceful) and, after 15 s, SIGKILL; `kill` sends SIGKILL at once. */
export async function terminate(pid: number, kill = false): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, kill ? 'SIGKILL' : 'SIGTERM');
  const deadline = Date.now() + 15_000;
  while (alive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (alive(pid)) process.kill(pid, 'SIGKILL');
}

/** Stops what startWebhooks started (SIGTERM: graceful shutdown), per the state file. */
export async function stopWebhooks(dir: string): Promise<void> {
  const file = webhookStateFile(dir);
  if (!existsSync(file)) return;
  const set = JSON.parse(readFileSync(file, 'utf8')) as WebhookSet;
  await Promise.all([...set.replicas.map((r) => terminate(r.pid)), ...(set.forwarderPid ? [terminate(set.forwarderPid)] : [])]);
}
