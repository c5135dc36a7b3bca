/**
 * A real Kubernetes control plane (etcd + kube-apiserver) on loopback, for the e2e tests, the quick
 * start and the benchmarks. Neither binary ships prebuilt here: both are built from their Go modules
 * (test/controlplane/*) into a version-keyed cache. See docs/testing.md.
 *
 * Every operation after start works from `<dir>/state.json`, so a jest worker, the CLI or a reaper
 * process can stop or restart what another process started.
 */
import { spawn } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { makeClientCertificate, writeFileAtomic as writeFileDurably } from './certs.js';

/** One line of progress for a person watching. */
export type Log = (line: string) => void;

export interface Binaries {
  etcd: string;
  kubeApiserver: string;
  cacheDir: string;
}

export interface Versions {
  kubernetes: string;
  etcd: string;
}

/**
 * How kube-apiserver authenticates to webhooks: the client certificate its AdmissionConfiguration
 * kubeconfig presents, and the CA that signed it, which the webhook is given as `tls.clientCAFile`.
 */
export interface WebhookClientFiles {
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The certificate's subject CN (for `tls.clientNames`). */
  commonName: string;
  admissionConfigFile: string;
  kubeconfigFile: string;
}

/** What a client needs to talk to a running control plane. */
export interface ControlPlaneInfo {
  dir: string;
  server: string;
  adminKubeconfig: string;
  serviceKubeconfig: string;
  adminToken: string;
  serviceToken: string;
  logs: { etcd: string; apiserver: string };
  webhookClient: WebhookClientFiles;
}

/** Everything about a running control plane, as written to `<dir>/state.json`. */
export interface ControlPlaneState extends ControlPlaneInfo {
  versions: Versions;
  binaries: Binaries;
  /** kube-apiserver's `--etcd-compaction-interval` (a Go duration). */
  compactionInterval: string;
  caFile: string;
  etcd: { pid: number; clientUrl: string; peerUrl: string; dataDir: string; args: string[] };
  apiserver: { pid: number; port: number; certDir: string; args: string[] };
  /** Pid of the process that stops everything when its parent dies; absent for `up`. */
  reaperPid?: number;
}

export interface StartOptions {
  /** Folder for data, certificates, kubeconfigs, logs and state.json (created if missing). */
  dir: string;
  log?: Log;
  /**
   * How often kube-apiserver compacts etcd (Go duration, default `5m` as in Kubernetes). A resourceVersion
   * older than the last compaction is expired (410 Gone) for requests that reach etcd; note that
   * watches served from the watch cache expire by the cache's own window instead.
   */
  compactionInterval?: string;
  /**
   * Stop etcd and kube-apiserver when this process dies, however it dies (default true). `up` passes
   * false so that the control plane outlives the CLI.
   */
  reapWithParent?: boolean;
  /** Appended to kube-apiserver's flags (later ones win), for tests that need a different setting. */
  extraApiServerArgs?: string[];
  /**
   * The address kube-apiserver binds to and advertises (default 127.0.0.1). A real node needs one
   * its pods can reach (scripts/lib/node.ts puts it on a bridge of its own).
   */
  address?: string;
}

/** A started control plane; `stop` and `restartApiServer` act on what it started. */
export interface ControlPlane extends ControlPlaneInfo {
  stateFile: string;
  stop(): Promise<void>;
  restartApiServer(): Promise<void>;
}

export const SERVICE_ACCOUNT_USER = 'system:serviceaccount:placement-quota-system:placement-quota-webhook';
/** The subject CN of the client certificate kube-apiserver presents to webhooks. */
export const WEBHOOK_CLIENT_NAME = 'kube-apiserver-webhook-client';
export const SERVICE_ACCOUNT_GROUPS = [
  'system:serviceaccounts',
  'system:serviceaccounts:placement-quota-system',
  'system:authenticated',
];

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const toolsDir = path.join(repoRoot, 'test', 'controlplane');
const READY_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 15_000;
const PROGRESS_EVERY_MS = 15_000;
const noop: Log = () => undefined;

// ---------------------------------------------------------------------------------------------
// Binaries
// ---------------------------------------------------------------------------------------------

/** Versions pinned by the tools modules' go.mod files: the one place they are written down. */
export function controlPlaneVersions(): Versions {
  return {
    kubernetes: requiredVersion(path.join(toolsDir, 'kube-apiserver', 'go.mod'), 'k8s.io/kubernetes'),
    etcd: requiredVersion(path.join(toolsDir, 'etcd', 'go.mod'), 'go.etcd.io/etcd/server/v3').replace(/^v/, ''),
  };
}

function requiredVersion(goMod: string, module: string): string {
  const text = fs.readFileSync(goMod, 'utf8');
  const match = new RegExp(`^\\s*(?:require\\s+)?${module.replace(/\./g, '\\.')}\\s+(v\\S+)`, 'm').exec(text);
  if (!match?.[1]) throw new Error(`${goMod} does not require ${module}`);
  return match[1];
}

/**
 * `<cache>/controlplane/<k8s-version>-etcd<etcd-version>/`: a new pin gets a new folder. The cache is
 * per user, outside the checkout (`$PLACEMENT_QUOTA_CACHE_DIR`, else `$XDG_CACHE_HOME` or `~/.cache`,
 * then `placement-quota-webhook/`), so every clone on the machine (CI clones afresh each run) finds the
 * binaries another clone built; a cold build happens once per machine and version.
 */
export function binaryCacheDir(versions = controlPlaneVersions()): string {
  const root =
    process.env.PLACEMENT_QUOTA_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'placement-quota-webhook');
  return path.join(root, 'controlplane', `${versions.kubernetes}-etcd${versions.etcd}`);
}

interface BuildTarget {
  name: string;
  moduleDir: string;
  pkg: string;
  ldflags: string;
  /** Extra environment for `go build` (the pause binary is static: CGO_ENABLED=0). */
  env?: Record<string, string>;
}

function buildTargets(versions: Versions): BuildTarget[] {
  return [
    { name: 'etcd', moduleDir: path.join(toolsDir, 'etcd'), pkg: '.', ldflags: '-s -w' },
    {
      name: 'kube-apiserver',
      moduleDir: path.join(toolsDir, 'kube-apiserver'),
      pkg: 'k8s.io/kubernetes/cmd/kube-apiserver',
      ldflags: ['-s -w', ...versionStamp(versions.kubernetes)].join(' '),
    },
  ];
}

// Kubernetes' own build stamps its version with -X; without it /version says v0.0.0-master and
// kubectl (and the version-dispatching kubectl on this machine) cannot tell which server it talks to.
function versionStamp(version: string): string[] {
  const [major, minor] = version.replace(/^v/, '').split('.');
  const vars = { gitVersion: version, gitMajor: major, gitMinor: minor, gitTreeState: 'clean' };
  return ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version'].flatMap((pkg) =>
    Object.entries(vars).map(([name, value]) => `-X ${pkg}.${name}=${value ?? ''}`),
  );
}

/** Builds whichever binary is missing from the cache (minutes when cold), then returns their paths. */
export async function ensureBinaries(log: Log = noop): Promise<Binaries> {
  const versions = controlPlaneVersions();
  const cacheDir = await buildMissing(binaryCacheDir(versions), buildTargets(versions), log);
  return { etcd: path.join(cacheDir, 'etcd'), kubeApiserver: path.join(cacheDir, 'kube-apiserver'), cacheDir };
}

/** The binaries of a real node (scripts/lib/node.ts), built from test/controlplane/node and pause. */
export interface NodeBinaries {
  kubelet: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  /** The sandbox process of every pod (test/controlplane/pause), static, for the local pause image. */
  pause: string;
}

const NODE_COMMANDS = ['kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'] as const;

/**
 * Builds the node's binaries into the same version-keyed folder as kube-apiserver's, when missing:
 * about 1.5-2.5 min with kube-apiserver's Go build cache warm (they share most packages), 7.5 min cold.
 */
export async function ensureNodeBinaries(log: Log = noop): Promise<NodeBinaries> {
  const versions = controlPlaneVersions();
  const moduleDir = path.join(toolsDir, 'node');
  const pinned = requiredVersion(path.join(moduleDir, 'go.mod'), 'k8s.io/kubernetes');
  // One version for the whole cluster: a kubelet newer than its API server is unsupported.
  if (pinned !== versions.kubernetes) throw new Error(`${moduleDir}/go.mod pins k8s.io/kubernetes ${pinned}, kube-apiserver's ${versions.kubernetes}`);
  const ldflags = ['-s -w', ...versionStamp(versions.kubernetes)].join(' ');
  const targets: BuildTarget[] = [
    ...NODE_COMMANDS.map((name) => ({ name, moduleDir, pkg: `k8s.io/kubernetes/cmd/${name}`, ldflags })),
    { name: 'pause', moduleDir: path.join(toolsDir, 'pause'), pkg: '.', ldflags: '-s -w', env: { CGO_ENABLED: '0' } },
  ];
  const dir = await buildMissing(binaryCacheDir(versions), targets, log);
  const at = (name: string): string => path.join(dir, name);
  return { kubelet: at('kubelet'), kubeControllerManager: at('kube-controller-manager'), kubeScheduler: at('kube-scheduler'), kubeProxy: at('kube-proxy'), pause: at('pause') };
}

async function buildMissing(cacheDir: string, targets: BuildTarget[], log: Log): Promise<string> {
  fs.mkdirSync(cacheDir, { recursive: true });
  for (const target of targets) {
    const out = path.join(cacheDir, target.name);
    if (fs.existsSync(out)) continue;
    await goBuild(target, out, log);
  }
  return cacheDir;
}

async function goBuild(target: BuildTarget, out: string, log: Log): Promise<void> {
  const started = Date.now();
  const seconds = (): number => Math.round((Date.now() - started) / 1000);
  log(`building ${target.name} into ${out} (cold: several minutes on 2 cores; cached afterwards)`);
  // Build next to the target and rename: an interrupted build never leaves a binary that looks cached.
  const tmp = `${out}.tmp-${process.pid}`;
  const args = ['build', '-v', '-mod=mod', '-buildvcs=false', '-trimpath', `-ldflags=${target.ldflags}`, '-o', tmp, target.pkg];
  const child = spawn(goCommand(), args, { cwd: target.moduleDir, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...target.env } });
  const progress = { packages: 0, downloads: 0, tail: [] as string[] };
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => countBuildOutput(chunk, progress));
  const timer = setInterval(() => {
    log(`still building ${target.name}… ${seconds()}s, ${progress.packages} packages compiled, ${progress.downloads} modules downloaded`);
  }, PROGRESS_EVERY_MS);
  try {
    const [code] = (await once(child, 'close')) as [number | null];
    if (code !== 0) throw new Error(`go build of ${target.name} failed (exit ${code}):\n${progress.tail.join('\n')}`);
    fs.renameSync(tmp, out);
  } finally {
    clearInterval(timer);
    fs.rmSync(tmp, { force: true });
  }
  log(`built ${target.name} in ${seconds()}s`);
}

// `go build -v` names each package it compiles: the only progress signal a long build gives.
function countBuildOutput(chunk: string, progress: { packages: number; downloads: number; tail: string[] }): void {
  for (const line of chunk.split('\n').filter(Boolean)) {
    if (line.startsWith('go: downloading')) progress.downloads++;
    else progress.packages++;
    progress.tail.push(line);
  }
  progress.tail.splice(0, Math.max(0, progress.tail.length - 40));
}

function goCommand(): string {
  const bundled = '/usr/local/go/bin/go';
  const onPath = (process.env.PATH ?? '').split(path.delimiter).some((p) => fs.existsSync(path.join(p, 'go')));
  return onPath || !fs.existsSync(bundled) ? 'go' : bundled;
}

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

/** Starts etcd and kube-apiserver on free loopback ports and returns once `/readyz` answers 200. */
export async function startControlPlane(options: StartOptions): Promise<ControlPlane> {
  const log = options.log ?? noop;
  const started = Date.now();
  const dir = path.resolve(options.dir);
  fs.mkdirSync(dir, { recursive: true });
  refuseIfRunning(dir);
  const binaries = await ensureBinaries(log);
  const state = await prepare(dir, binaries, options);
  writeState(state);
  if (options.reapWithParent !== false) state.reaperPid = spawnReaper(process.pid, stateFileOf(dir));
  try {
    log(`starting etcd on ${state.etcd.clientUrl} (log: ${state.logs.etcd})`);
    state.etcd.pid = spawnDetached(binaries.etcd, state.etcd.args, state.logs.etcd);
    writeState(state);
    await waitForEtcd(state);
    log(`starting kube-apiserver on ${state.server} (log: ${state.logs.apiserver})`);
    await launchApiServer(state);
  } catch (err) {
    await stopControlPlane(dir);
    throw err;
  }
  log(`control plane ready in ${((Date.now() - started) / 1000).toFixed(1)}s: ${state.server}, kubeconfig ${state.adminKubeconfig}`);
  return handle(state);
}

function refuseIfRunning(dir: string): void {
  const state = readStateIfAny(dir);
  if (state && (isRunning(state.etcd.pid, state.binaries.etcd) || isRunning(state.apiserver.pid, state.binaries.kubeApiserver))) {
    throw new Error(`a control plane is already running from ${dir} (${state.server}); stop it first`);
  }
}

async function prepare(dir: string, binaries: Binaries, options: StartOptions): Promise<ControlPlaneState> {
  const [etcdClient, etcdPeer, apiserverPort] = (await freePorts(3)) as [number, number, number];
  const address = options.address ?? '127.0.0.1';
  const clientUrl = `http://127.0.0.1:${etcdClient}`;
  const peerUrl = `http://127.0.0.1:${etcdPeer}`;
  const dataDir = path.join(dir, 'etcd-data');
  const certDir = path.join(dir, 'apiserver-certs');
  const compactionInterval = options.compactionInterval ?? '5m';
  const tokens = { admin: randomToken(), service: randomToken() };
  const files = writeCredentials(dir, tokens);
  const webhookClient = writeWebhookClient(dir);
  return {
    dir,
    server: `https://${address}:${apiserverPort}`,
    adminKubeconfig: path.join(dir, 'admin.kubeconfig'),
    serviceKubeconfig: path.join(dir, 'service.kubeconfig'),
    adminToken: tokens.admin,
    serviceToken: tokens.service,
    logs: { etcd: path.join(dir, 'etcd.log'), apiserver: path.join(dir, 'kube-apiserver.log') },
    webhookClient,
    versions: controlPlaneVersions(),
    binaries,
    compactionInterval,
    caFile: path.join(certDir, 'apiserver.crt'),
    etcd: { pid: 0, clientUrl, peerUrl, dataDir, args: etcdArgs(dataDir, clientUrl, peerUrl) },
    apiserver: {
      pid: 0,
      port: apiserverPort,
      certDir,
      args: [
        ...apiServerArgs({ address, port: apiserverPort, etcd: clientUrl, certDir, compactionInterval, ...files, admissionConfigFile: webhookClient.admissionConfigFile }),
        ...(options.extraApiServerArgs ?? []),
      ],
    },
  };
}

function etcdArgs(dataDir: string, clientUrl: string, peerUrl: string): string[] {
  return [
    '--name=e2e',
    `--data-dir=${dataDir}`,
    `--listen-client-urls=${clientUrl}`,
    `--advertise-client-urls=${clientUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=e2e=${peerUrl}`,
    // Throwaway data: skipping fsync makes writes (and the 100k-object benchmark load) much cheaper.
    '--unsafe-no-fsync',
  ];
}

interface ApiServerSettings {
  address: string;
  port: number;
  etcd: string;
  certDir: string;
  compactionInterval: string;
  tokenFile: string;
  serviceAccountKey: string;
  admissionConfigFile: string;
}

function apiServerArgs(s: ApiServerSettings): string[] {
  return [
    `--bind-address=${s.address}`,
    `--advertise-address=${s.address}`,
    `--secure-port=${s.port}`,
    `--etcd-servers=${s.etcd}`,
    `--etcd-compaction-interval=${s.compactionInterval}`,
    `--cert-dir=${s.certDir}`,
    `--token-auth-file=${s.tokenFile}`,
    // The API server authenticates to webhooks with a client certificate (writeWebhookClient), so
    // every test and `npm run up` run with the webhook's caller authentication on.
    `--admission-control-config-file=${s.admissionConfigFile}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${s.serviceAccountKey}`,
    `--service-account-signing-key-file=${s.serviceAccountKey}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.96.0.0/24',
    // The lease reconciler would publish 127.0.0.1 as the `kubernetes` Service endpoint, which
    // validation rejects (loopback), and log that error forever; there is no cluster network anyway.
    '--endpoint-reconciler-type=none',
    // Without it a graceful stop waits for open watches to end on their own (up to the 60 s shutdown
    // timeout); with it the server closes them, as a rolling restart would, and exits in seconds.
    '--shutdown-watch-termination-grace-period=2s',
    // KUBE_APISERVER_PROFILING=1 serves /debug/pprof to the admin (benchmarks: where the API server's CPU goes).
    `--profiling=${process.env.KUBE_APISERVER_PROFILING === '1'}`,
  ];
}

function writeCredentials(dir: string, tokens: { admin: string; service: string }): { tokenFile: string; serviceAccountKey: string } {
  const tokenFile = path.join(dir, 'tokens.csv');
  const quote = (groups: string[]): string => `"${groups.join(',')}"`;
  fs.writeFileSync(
    tokenFile,
    [
      `${tokens.admin},admin,admin,${quote(['system:masters'])}`,
      `${tokens.service},${SERVICE_ACCOUNT_USER},placement-quota-webhook,${quote(SERVICE_ACCOUNT_GROUPS)}`,
      '',
    ].join('\n'),
    { mode: 0o600 },
  );
  const serviceAccountKey = path.join(dir, 'service-account.key');
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  fs.writeFileSync(serviceAccountKey, privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return { tokenFile, serviceAccountKey };
}

/**
 * A CA made for this control plane alone, the client certificate it signs, and the two files that
 * make kube-apiserver present it: an AdmissionConfiguration whose ValidatingAdmissionWebhook plugin
 * points at a kubeconfig, and that kubeconfig. kube-apiserver picks the kubeconfig user by the
 * webhook's `host:port` (exact, then `*.`-prefixed suffixes, then without `:443`, then `*`); local
 * webhooks are URLs on loopback with a new port per test file, so the user is `*`, every webhook.
 * (In a cluster it is the Service's name, docs/install.md.) About half a second, mostly forge signing.
 */
function writeWebhookClient(dir: string): WebhookClientFiles {
  const folder = path.join(dir, 'webhook-client');
  fs.mkdirSync(folder, { recursive: true });
  const set = makeClientCertificate({ commonName: WEBHOOK_CLIENT_NAME });
  const files: WebhookClientFiles = {
    caFile: path.join(folder, 'ca.crt'),
    certFile: path.join(folder, 'client.crt'),
    keyFile: path.join(folder, 'client.key'),
    commonName: WEBHOOK_CLIENT_NAME,
    admissionConfigFile: path.join(folder, 'admission-config.yaml'),
    kubeconfigFile: path.join(folder, 'webhook-client.kubeconfig'),
  };
  writeFileDurably(files.caFile, set.caCert, 0o644);
  writeFileDurably(files.certFile, set.cert, 0o644);
  writeFileDurably(files.keyFile, set.key, 0o600);
  // The CA key signed one certificate and is not needed again: it is not kept.
  const base64 = (pem: string): string => Buffer.from(pem).toString('base64');
  writeFileDurably(
    files.kubeconfigFile,
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      users: [{ name: '*', user: { 'client-certificate-data': base64(set.cert), 'client-key-data': base64(set.key) } }],
    }),
    0o600,
  );
  writeFileDurably(
    files.admissionConfigFile,
    stringify({
      apiVersion: 'apiserver.config.k8s.io/v1',
      kind: 'AdmissionConfiguration',
      plugins: [
        {
          name: 'ValidatingAdmissionWebhook',
          configuration: { apiVersion: 'apiserver.config.k8s.io/v1', kind: 'WebhookAdmissionConfiguration', kubeConfigFile: files.kubeconfigFile },
        },
      ],
    }),
    0o644,
  );
  return files;
}

function randomToken(): string {
  return randomBytes(24).toString('hex');
}

/** `count` distinct free ports on loopback. */
export async function freePorts(count: number): Promise<number[]> {
  // Hold every listener until all are picked, so the same port is never handed out twice.
  const servers = await Promise.all(
    Array.from({ length: count }, async () => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      return server;
    }),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map(async (s) => { s.close(); await once(s, 'close'); }));
  return ports;
}

function spawnDetached(binary: string, args: string[], logFile: string): number {
  const fd = fs.openSync(logFile, 'a');
  try {
    // Own process group: a Ctrl-C meant for the test runner does not reach it mid-teardown, and
    // `up` leaves it running after the CLI exits.
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (child.pid === undefined) throw new Error(`could not start ${binary}`);
    return child.pid;
  } finally {
    fs.closeSync(fd);
  }
}

// A detached watchdog: when `parentPid` is gone (exited, crashed, SIGKILLed, Ctrl-C), it stops the
// processes listed in state.json — read at that moment, so a restarted kube-apiserver is covered —
// and drops etcd's data (the large part), keeping logs for a look. It exits when state.json goes away.
const REAPER_SOURCE = `
const fs = require('node:fs');
const [parentPid, stateFile] = [Number(process.argv[1]), process.argv[2]];
const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };
const ours = (pid, binary) => { try { return fs.readFileSync('/proc/' + pid + '/cmdline', 'utf8').includes(binary); } catch { return alive(pid); } };
const timer = setInterval(() => {
  if (!fs.existsSync(stateFile)) process.exit(0);
  if (alive(parentPid)) return;
  clearInterval(timer);
  const state = JSON.parse(fs.readFileSync(stateFile, 'utf8'));
  const procs = [[state.apiserver.pid, state.binaries.kubeApiserver], [state.etcd.pid, state.binaries.etcd]].filter(([pid, bin]) => pid > 0 && ours(pid, bin));
  const kill = (signal) => procs.forEach(([pid]) => { try { process.kill(pid, signal); } catch {} });
  kill('SIGTERM');
  setTimeout(() => { kill('SIGKILL'); fs.rmSync(state.etcd.dataDir, { recursive: true, force: true }); process.exit(0); }, 5000);
}, 500);
`;

function spawnReaper(parentPid: number, stateFile: string): number {
  const child = spawn(process.execPath, ['-e', REAPER_SOURCE, String(parentPid), stateFile], { detached: true, stdio: 'ignore' });
  child.unref();
  return child.pid ?? 0;
}

async function waitForEtcd(state: ControlPlaneState): Promise<void> {
  await waitUntil(state, 'etcd', async () => {
    const res = await get(`${state.etcd.clientUrl}/health`, {});
    return res.status === 200 && res.body.includes('"health":"true"');
  });
}

async function launchApiServer(state: ControlPlaneState): Promise<void> {
  state.apiserver.pid = spawnDetached(state.binaries.kubeApiserver, state.apiserver.args, state.logs.apiserver);
  writeState(state);
  // kube-apiserver writes its self-signed serving certificate (and CA) into --cert-dir on start.
  await waitUntil(state, 'kube-apiserver serving certificate', () => Promise.resolve(fs.existsSync(state.caFile)));
  writeKubeconfigs(state);
  await waitUntil(state, 'kube-apiserver /readyz', async () => (await readyz(state)) === 200);
}

async function readyz(state: ControlPlaneState): Promise<number> {
  const res = await get(`${state.server}/readyz`, { ca: fs.readFileSync(state.caFile), token: state.adminToken });
  return res.status;
}

async function waitUntil(state: ControlPlaneState, what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    assertAlive(state);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${READY_TIMEOUT_MS / 1000}s\n${logTails(state)}`);
    await sleep(250);
  }
}

function assertAlive(state: ControlPlaneState): void {
  if (state.etcd.pid && !isRunning(state.etcd.pid, state.binaries.etcd)) {
    throw new Error(`etcd exited during start\n${logTail(state.logs.etcd)}`);
  }
  if (state.apiserver.pid && !isRunning(state.apiserver.pid, state.binaries.kubeApiserver)) {
    throw new Error(`kube-apiserver exited during start\n${logTail(state.logs.apiserver)}`);
  }
}

function writeKubeconfigs(state: ControlPlaneState): void {
  const ca = fs.readFileSync(state.caFile).toString('base64');
  const kubeconfig = (user: string, token: string): string =>
    stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'e2e', cluster: { server: state.server, 'certificate-authority-data': ca } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: `${user}@e2e`, context: { cluster: 'e2e', user } }],
      'current-context': `${user}@e2e`,
    });
  writeFileAtomic(state.adminKubeconfig, kubeconfig('admin', state.adminToken));
  writeFileAtomic(state.serviceKubeconfig, kubeconfig('placement-quota-webhook', state.serviceToken));
}

function handle(state: ControlPlaneState): ControlPlane {
  return {
    ...info(state),
    stateFile: stateFileOf(state.dir),
    stop: () => stopControlPlane(state.dir),
    restartApiServer: () => restartApiServer(state.dir),
  };
}

function info(state: ControlPlaneState): ControlPlaneInfo {
  const { dir, server, adminKubeconfig, serviceKubeconfig, adminToken, serviceToken, logs, webhookClient } = state;
  return { dir, server, adminKubeconfig, serviceKubeconfig, adminToken, serviceToken, logs, webhookClient };
}

// ---------------------------------------------------------------------------------------------
// Operations on a running control plane (from state.json)
// ---------------------------------------------------------------------------------------------

/** Stops kube-apiserver and starts it again on the same port and etcd; returns once it is ready. */
export async function restartApiServer(dir: string): Promise<void> {
  const state = readState(dir);
  await stopProcess(state.apiserver.pid, state.binaries.kubeApiserver);
  fs.appendFileSync(state.logs.apiserver, `\n===== restarted at ${new Date().toISOString()} =====\n`);
  await launchApiServer(state);
}

/** Stops everything started from `dir` (reaper first, then kube-apiserver, then etcd). Idempotent. */
export async function stopControlPlane(dir: string): Promise<void> {
  const state = readStateIfAny(dir);
  if (!state) return;
  if (state.reaperPid) await stopProcess(state.reaperPid, 'node');
  await stopProcess(state.apiserver.pid, state.binaries.kubeApiserver);
  await stopProcess(state.etcd.pid, state.binaries.etcd);
  fs.rmSync(stateFileOf(dir), { force: true });
}

export interface ControlPlaneStatus {
  dir: string;
  server?: string;
  etcd: boolean;
  apiserver: boolean;
  ready: boolean;
}

/** Which processes from `dir` are alive, and whether `/readyz` says 200. */
export async function controlPlaneStatus(dir: string): Promise<ControlPlaneStatus> {
  const state = readStateIfAny(dir);
  if (!state) return { dir, etcd: false, apiserver: false, ready: false };
  const etcd = isRunning(state.etcd.pid, state.binaries.etcd);
  const apiserver = isRunning(state.apiserver.pid, state.binaries.kubeApiserver);
  const ready = apiserver && (await readyz(state).catch(() => 0)) === 200;
  return { dir: state.dir, server: state.server, etcd, apiserver, ready };
}

export function stateFileOf(dir: string): string {
  return path.join(path.resolve(dir), 'state.json');
}

export function readState(dir: string): ControlPlaneState {
  const state = readStateIfAny(dir);
  if (!state) throw new Error(`no control plane state in ${dir} (state.json missing)`);
  return state;
}

function readStateIfAny(dir: string): ControlPlaneState | undefined {
  const file = stateFileOf(dir);
  if (!fs.existsSync(file)) return undefined;
  return JSON.parse(fs.readFileSync(file, 'utf8')) as ControlPlaneState;
}

function writeState(state: ControlPlaneState): void {
  writeFileAtomic(stateFileOf(state.dir), `${JSON.stringify(state, null, 2)}\n`);
}

// Written whole and renamed: the reaper, kubectl and jest workers read these files while a restart
// rewrites them, and must never see half of one.
function writeFileAtomic(file: string, content: string): void {
  fs.writeFileSync(`${file}.tmp`, content, { mode: 0o600 });
  fs.renameSync(`${file}.tmp`, file);
}

/** The last lines of both logs, headed by their paths: what a failure message should show. */
export function logTails(state: ControlPlaneInfo, lines = 30): string {
  return [logTail(state.logs.etcd, lines), logTail(state.logs.apiserver, lines)].join('\n');
}

function logTail(file: string, lines = 30): string {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '(no log)';
  return `--- last ${lines} lines of ${file} ---\n${text.trimEnd().split('\n').slice(-lines).join('\n')}`;
}

// ---------------------------------------------------------------------------------------------
// Processes and HTTP
// ---------------------------------------------------------------------------------------------

// A pid from an old state.json may belong to someone else by now: only a process whose command line
// names our binary counts. A zombie has an empty command line, so it counts as gone.
function isRunning(pid: number, binary: string): boolean {
  if (!pid) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(binary);
  } catch {
    if (fs.existsSync('/proc/self')) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }
}

async function stopProcess(pid: number, binary: string): Promise<void> {
  if (!isRunning(pid, binary)) return;
  signal(pid, 'SIGTERM');
  if (await exited(pid, binary, STOP_GRACE_MS)) return;
  signal(pid, 'SIGKILL');
  if (!(await exited(pid, binary, 5_000))) throw new Error(`${binary} (pid ${pid}) did not exit after SIGKILL`);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone between the check and the signal.
  }
}

async function exited(pid: number, binary: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isRunning(pid, binary)) return true;
    await sleep(100);
  }
  return !isRunning(pid, binary);
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function get(url: string, opts: { ca?: Buffer; token?: string }): Promise<{ status: number; body: string }> {
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : {};
  const client = url.startsWith('https:') ? https : http;
  const req = client.get(url, { headers, ca: opts.ca, timeout: 3_000, agent: false });
  req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
  const [res] = (await once(req, 'response')) as [http.IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body };
}
