/**
 * A real single-node Kubernetes cluster on this machine (docs/testing.md, "A real node"): the
 * project's etcd and kube-apiserver (scripts/lib/control-plane.ts) bound to a node address on a bridge
 * of its own, containerd + runc + CNI plugins from Debian, and kubelet, kube-controller-manager,
 * kube-scheduler and kube-proxy built from Go modules. The images it runs are built here
 * (scripts/lib/image.ts) and imported into containerd: no registry.
 *
 * One such cluster per machine: its state lives in NODE_ROOT, whose `state.json` records every host
 * change before it is made, so `stopNode` undoes all of it, also after a crash of the run that
 * started it. A start while one runs refuses; a start after a dead run cleans that one up first.
 */
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { stringify } from 'yaml';
import {
  ensureNodeBinaries,
  freePorts,
  readState as readControlPlaneState,
  startControlPlane,
  stopControlPlane,
  type Log,
} from './control-plane.js';
import { buildPauseImage, buildWebhookImage, imageCacheDir, PAUSE_IMAGE, type BuiltImage } from './image.js';
import { kubectl } from './install.js';
import {
  addEgressGuard,
  cgroupProcesses,
  cgroupsNamed,
  createNodeNetwork,
  deleteNodeNetwork,
  deleteOurIptables,
  type HostProcess,
  killAll,
  linkExists,
  mountsUnder,
  must,
  NODE_NETWORK,
  ourIptables,
  processes,
  readSysctls,
  removeCgroups,
  restoreSysctls,
  run,
  unmountAll,
  withDescendants,
} from './node-host.js';

/** Where the node keeps everything it writes (one per machine; removed by `stopNode`). */
export const NODE_ROOT = process.env.PLACEMENT_QUOTA_NODE_DIR ?? '/var/lib/placement-quota-node';
export const NODE_NAME = 'pq-node';

/** Debian packages the node needs, and a command each installs. */
const HOST_PACKAGES: Record<string, string> = {
  containerd: 'containerd',
  runc: 'runc',
  'containernetworking-plugins': '/usr/lib/cni/bridge',
  conntrack: 'conntrack',
  iptables: 'iptables',
  buildah: 'buildah',
  'busybox-static': 'busybox',
  // install.md's verify block reads the registered CA with it.
  openssl: 'openssl',
};

// Host folders outside NODE_ROOT that the node's components create when missing (kubelet's legacy
// log symlinks, libcni's result cache, containerd's shim sockets, network namespaces). Removed on
// stop only when they did not exist before the start.
const WATCHED_PATHS = ['/var/log/containers', '/var/log/pods', '/var/lib/cni', '/run/containerd', '/run/netns', '/var/lib/kubelet', '/etc/cni', '/opt/cni', '/opt/containerd'];

interface RecordedProcess {
  name: string;
  pid: number;
  binary: string;
}

/** `<NODE_ROOT>/state.json`: what the node changed, written before each change is made. */
export interface NodeState {
  startedBy: number;
  startedAt: string;
  sysctls: Record<string, string>;
  createdPaths: string[];
  processes: RecordedProcess[];
  containerdSocket: string;
  controlPlaneDir: string;
  /** Set once the cluster is up. */
  kubeconfig?: string;
}

export interface NodeCluster {
  kubeconfig: string;
  /** The control plane's folder (its state.json has the server, the admin token and the CA file). */
  controlPlaneDir: string;
  nodeName: string;
  images: BuiltImage[];
}

export interface StartNodeOptions {
  log?: Log;
}

const noop: Log = () => undefined;
const stateFile = (): string => path.join(NODE_ROOT, 'state.json');
const at = (...parts: string[]): string => path.join(NODE_ROOT, ...parts);

/** Why this host cannot run a node, or undefined when it can. */
export function nodeUnsupportedReason(): string | undefined {
  if (process.platform !== 'linux') return `a node needs Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'a node needs root (containerd, bridges, iptables, mounts)';
  if (!fs.existsSync('/sys/fs/cgroup')) return 'no cgroup filesystem at /sys/fs/cgroup';
  if (run('ip', ['-V']).code !== 0) return 'no `ip` command (iproute2)';
  const missing = Object.entries(HOST_PACKAGES).filter(([, cmd]) => !hasCommand(cmd));
  if (missing.length > 0 && !hasCommand('apt-get')) return `missing ${missing.map(([pkg]) => pkg).join(', ')} and no apt-get to install them`;
  return undefined;
}

function hasCommand(cmd: string): boolean {
  if (cmd.startsWith('/')) return fs.existsSync(cmd);
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin']).some((dir) => fs.existsSync(path.join(dir, cmd)));
}

/** Installs the Debian packages the node needs when one is missing (as .ci/run does). */
export function ensureHostPackages(log: Log = noop): void {
  const missing = Object.entries(HOST_PACKAGES).filter(([, cmd]) => !hasCommand(cmd)).map(([pkg]) => pkg);
  if (missing.length === 0) return;
  log(`installing Debian packages: ${missing.join(' ')}`);
  must('apt-get', ['update', '-qq']);
  const res = run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  if (res.code !== 0) throw new Error(`apt-get install ${missing.join(' ')} failed:\n${res.stderr}`);
}

/** Starts the whole cluster and returns once the node is Ready with both images loaded. */
export async function startNode(options: StartNodeOptions = {}): Promise<NodeCluster> {
  const log = options.log ?? noop;
  const unsupported = nodeUnsupportedReason();
  if (unsupported) throw new Error(unsupported);
  ensureHostPackages(log);
  const state = await claim(log);
  try {
    return await bringUp(state, log);
  } catch (err) {
    const tails = componentLogTails();
    await stopNode({ log });
    throw new Error(`${(err as Error).message}\n${tails}`, { cause: err });
  }
}

// Creating state.json with O_EXCL is the machine-wide lock: two starts never both get it.
async function claim(log: Log): Promise<NodeState> {
  fs.mkdirSync(NODE_ROOT, { recursive: true });
  const state: NodeState = {
    startedBy: process.pid,
    startedAt: new Date().toISOString(),
    sysctls: readSysctls(),
    createdPaths: WATCHED_PATHS.filter((p) => !fs.existsSync(p)),
    processes: [],
    containerdSocket: at('containerd', 'containerd.sock'),
    controlPlaneDir: at('control-plane'),
  };
  try {
    fs.writeFileSync(stateFile(), JSON.stringify(state, null, 2), { flag: 'wx' });
    return state;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const previous = readNodeState();
  const alive = previous ? liveProcesses(previous) : [];
  if (previous && alive.length > 0) {
    throw new Error(
      `a node cluster is already running on this machine (started ${previous.startedAt} by pid ${previous.startedBy}; ` +
        `${alive.map((p) => `${p.name} ${p.pid}`).join(', ')}${previous.kubeconfig ? `; KUBECONFIG=${previous.kubeconfig}` : ''}). ` +
        'Stop it with `npm run down` first.',
    );
  }
  log('cleaning up after a previous node run that did not stop');
  await stopNode({ log });
  return claim(log);
}

function writeNodeState(state: NodeState): void {
  fs.writeFileSync(`${stateFile()}.tmp`, JSON.stringify(state, null, 2));
  fs.renameSync(`${stateFile()}.tmp`, stateFile());
}

export function readNodeState(): NodeState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stateFile(), 'utf8')) as NodeState;
  } catch {
    return undefined;
  }
}

async function bringUp(state: NodeState, log: Log): Promise<NodeCluster> {
  const started = Date.now();
  const binaries = await ensureNodeBinaries(log);
  const webhook = buildWebhookImage(at('images', 'webhook.tar'), log);
  const pause = buildPauseImage(binaries.pause, at('images', 'pause.tar'));
  log(`images ready (${((Date.now() - started) / 1000).toFixed(1)}s): ${webhook.name}, ${pause.name}`);

  log(`node network: ${NODE_NETWORK.nodeBridge} ${NODE_NETWORK.nodeIp}, pods ${NODE_NETWORK.podCidr} on ${NODE_NETWORK.podBridge}`);
  createNodeNetwork();
  addEgressGuard();
  const cp = await startControlPlane({
    dir: state.controlPlaneDir,
    log,
    address: NODE_NETWORK.nodeIp,
    reapWithParent: false,
    extraApiServerArgs: [
      // Publish the node address as the `kubernetes` Service's endpoint: pods reach the API server there.
      '--endpoint-reconciler-type=lease',
      // `kubectl logs/exec` dial the kubelet by the node's address; its name does not resolve.
      '--kubelet-preferred-address-types=InternalIP,Hostname',
      // Webhook Services are reached through their endpoints (pod IPs), not a ClusterIP.
      '--enable-aggregator-routing=true',
    ],
  });
  const cpState = readControlPlaneState(state.controlPlaneDir);

  writeCni();
  startProcess(state, 'containerd', 'containerd', ['--config', writeContainerdConfig(state)]);
  await waitFor(state, 'containerd', 30_000, () => ctr(state, ['version']).code === 0);
  for (const image of [pause, webhook]) must('ctr', ['--address', state.containerdSocket, '-n', 'k8s.io', 'images', 'import', image.archive]);

  const ports = await freePorts(3);
  startProcess(state, 'kubelet', binaries.kubelet, kubeletArgs(state, cp.adminKubeconfig, ports[0]!));
  startProcess(state, 'kube-controller-manager', binaries.kubeControllerManager, [
    `--kubeconfig=${cp.adminKubeconfig}`,
    '--leader-elect=false',
    '--secure-port=0',
    `--service-account-private-key-file=${path.join(cp.dir, 'service-account.key')}`,
    // Published as each namespace's kube-root-ca.crt, the CA pods trust the API server with.
    `--root-ca-file=${cpState.caFile}`,
    '--cluster-name=placement-quota-node',
  ]);
  startProcess(state, 'kube-scheduler', binaries.kubeScheduler, [`--kubeconfig=${cp.adminKubeconfig}`, '--leader-elect=false', '--secure-port=0']);
  startProcess(state, 'kube-proxy', binaries.kubeProxy, ['--config', writeKubeProxyConfig(cp.adminKubeconfig, ports[1]!, ports[2]!)]);

  await waitFor(state, 'node Ready', 120_000, () => nodeReady(cp.adminKubeconfig));
  state.kubeconfig = cp.adminKubeconfig;
  writeNodeState(state);
  log(`node ${NODE_NAME} Ready in ${((Date.now() - started) / 1000).toFixed(1)}s (images, network, control plane, containerd, kubelet)`);
  return { kubeconfig: cp.adminKubeconfig, controlPlaneDir: state.controlPlaneDir, nodeName: NODE_NAME, images: [webhook, pause] };
}

function ctr(state: NodeState, args: string[]): ReturnType<typeof run> {
  return run('ctr', ['--address', state.containerdSocket, ...args]);
}

function nodeReady(kubeconfig: string): boolean {
  const res = kubectl(kubeconfig, ['get', 'node', NODE_NAME, '-o', 'jsonpath={.status.conditions[?(@.type=="Ready")].status}']);
  return res.code === 0 && res.stdout.trim() === 'True';
}

const COMPONENTS = ['containerd', 'kubelet', 'kube-controller-manager', 'kube-scheduler', 'kube-proxy'];

function componentLogs(): Record<string, string> {
  return Object.fromEntries(COMPONENTS.map((name) => [name, at('logs', `${name}.log`)]));
}

/** The last lines of every component's log, for a failure message. */
export function componentLogTails(lines = 20): string {
  return Object.entries(componentLogs())
    .filter(([, file]) => fs.existsSync(file))
    .map(([name, file]) => `--- last ${lines} lines of ${name} (${file}) ---\n${fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')}`)
    .join('\n');
}

function startProcess(state: NodeState, name: string, binary: string, args: string[]): void {
  fs.mkdirSync(at('logs'), { recursive: true });
  const fd = fs.openSync(at('logs', `${name}.log`), 'a');
  try {
    const child = spawn(binary, args, { detached: true, stdio: ['ignore', fd, fd] });
    child.unref();
    if (!child.pid) throw new Error(`could not start ${name}`);
    state.processes.push({ name, pid: child.pid, binary });
    writeNodeState(state);
  } finally {
    fs.closeSync(fd);
  }
}

function isOurs(p: RecordedProcess): boolean {
  try {
    return fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes(p.binary);
  } catch {
    return false;
  }
}

function liveProcesses(state: NodeState): RecordedProcess[] {
  const recorded = state.processes.filter(isOurs);
  const cp = readControlPlaneIfAny(state.controlPlaneDir);
  const controlPlane = cp
    ? [
        { name: 'etcd', pid: cp.etcd.pid, binary: cp.binaries.etcd },
        { name: 'kube-apiserver', pid: cp.apiserver.pid, binary: cp.binaries.kubeApiserver },
      ].filter(isOurs)
    : [];
  return [...recorded, ...controlPlane];
}

function readControlPlaneIfAny(dir: string): ReturnType<typeof readControlPlaneState> | undefined {
  try {
    return readControlPlaneState(dir);
  } catch {
    return undefined;
  }
}

// Polls `check`; a component that exited meanwhile (bad flag, port taken) fails the wait at once,
// with its name, instead of a timeout later.
async function waitFor(state: NodeState, what: string, timeoutMs: number, check: () => boolean): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    const dead = state.processes.find((p) => !isOurs(p));
    if (dead) throw new Error(`${dead.name} exited while waiting for ${what}`);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000}s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

// --- configuration files ---------------------------------------------------------------------

function writeCni(): void {
  const conf = {
    cniVersion: '1.0.0',
    name: 'placement-quota-node',
    plugins: [
      {
        type: 'bridge',
        bridge: NODE_NETWORK.podBridge,
        isGateway: true,
        // No masquerade: pods talk to the node and to each other only (addEgressGuard drops the rest).
        ipMasq: false,
        hairpinMode: true,
        ipam: {
          type: 'host-local',
          ranges: [[{ subnet: NODE_NETWORK.podCidr, gateway: NODE_NETWORK.podGateway }]],
          routes: [{ dst: '0.0.0.0/0' }],
          dataDir: at('cni', 'ipam'),
        },
      },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  };
  fs.mkdirSync(at('cni', 'net.d'), { recursive: true });
  fs.writeFileSync(at('cni', 'net.d', '10-placement-quota.conflist'), JSON.stringify(conf, null, 2));
}

function writeContainerdConfig(state: NodeState): string {
  const file = at('containerd', 'config.toml');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  fs.writeFileSync(
    file,
    [
      'version = 2',
      `root = "${at('containerd', 'root')}"`,
      `state = "${at('containerd', 'state')}"`,
      // opt would create /opt/containerd; the others only log that they cannot work here.
      'disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp"]',
      '[grpc]',
      `  address = "${state.containerdSocket}"`,
      `[${cri}]`,
      `  sandbox_image = "${PAUSE_IMAGE}"`,
      // The kubelet asks for an oom_score_adj this root may not set (no CAP_SYS_RESOURCE): without
      // this every sandbox fails with "can't get final child's PID from pipe: EOF".
      '  restrict_oom_score_adj = true',
      '  stream_server_address = "127.0.0.1"',
      '  stream_server_port = "0"',
      `[${cri}.containerd]`,
      '  snapshotter = "overlayfs"',
      '  default_runtime_name = "runc"',
      `[${cri}.containerd.runtimes.runc]`,
      '  runtime_type = "io.containerd.runc.v2"',
      `[${cri}.cni]`,
      '  bin_dir = "/usr/lib/cni"',
      `  conf_dir = "${at('cni', 'net.d')}"`,
      '',
    ].join('\n'),
  );
  return file;
}

function kubeletArgs(state: NodeState, kubeconfig: string, port: number): string[] {
  const config = {
    apiVersion: 'kubelet.config.k8s.io/v1beta1',
    kind: 'KubeletConfiguration',
    address: NODE_NETWORK.nodeIp,
    port,
    readOnlyPort: 0,
    healthzPort: 0,
    // Only the API server reaches this address (a bridge of our own); it presents no client cert.
    authentication: { anonymous: { enabled: true }, webhook: { enabled: false } },
    authorization: { mode: 'AlwaysAllow' },
    cgroupDriver: 'cgroupfs',
    containerRuntimeEndpoint: `unix://${state.containerdSocket}`,
    failSwapOn: false,
    // No cluster DNS and no host resolver inside pods: nothing of theirs resolves names off the machine.
    resolvConf: writeFile(at('resolv.conf'), ''),
    podLogsDir: at('pod-logs'),
    volumePluginDir: at('volume-plugins'),
    // Secret volumes refresh on the pod's periodic sync: 5 s instead of 1 min, so a rotated
    // certificate reaches the pods quickly (what the certificate-rotation test waits for).
    syncFrequency: '5s',
    // These images cannot be pulled again: never garbage-collect them for disk space.
    imageGCHighThresholdPercent: 100,
    imageGCLowThresholdPercent: 99,
    evictionHard: { 'memory.available': '100Mi', 'nodefs.available': '2%', 'imagefs.available': '2%' },
    oomScoreAdj: 0,
    serializeImagePulls: false,
  };
  return [
    `--config=${writeFile(at('kubelet-config.yaml'), stringify(config))}`,
    `--kubeconfig=${kubeconfig}`,
    `--node-ip=${NODE_NETWORK.nodeIp}`,
    `--hostname-override=${NODE_NAME}`,
    `--root-dir=${at('kubelet')}`,
    `--cert-dir=${at('kubelet', 'pki')}`,
  ];
}

function writeKubeProxyConfig(kubeconfig: string, healthzPort: number, metricsPort: number): string {
  const config = {
    apiVersion: 'kubeproxy.config.k8s.io/v1alpha1',
    kind: 'KubeProxyConfiguration',
    clientConnection: { kubeconfig },
    hostnameOverride: NODE_NAME,
    mode: 'iptables',
    clusterCIDR: NODE_NETWORK.podCidr,
    healthzBindAddress: `127.0.0.1:${healthzPort}`,
    metricsBindAddress: `127.0.0.1:${metricsPort}`,
    // 0: leave the host's conntrack settings alone.
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: '0s', tcpCloseWaitTimeout: '0s' },
    // true would set net.ipv4.conf.all.route_localnet, a host-wide change nothing here needs.
    iptables: { localhostNodePorts: false },
  };
  return writeFile(at('kube-proxy-config.yaml'), stringify(config));
}

function writeFile(file: string, content: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

// --- stop --------------------------------------------------------------------------------------

/** What is left on the host after a stop: empty when everything was undone. */
export type NodeResidue = Record<'processes' | 'links' | 'iptables' | 'mounts' | 'paths', string[]>;

const STOP_ORDER = ['kubelet', 'kube-proxy', 'kube-scheduler', 'kube-controller-manager', 'containerd'];

/**
 * Undoes everything the node did, from its state file (idempotent; also after a crash): processes,
 * containers, the control plane, mounts, iptables rules, links, cgroups, sysctls, folders. Returns
 * what could not be undone (empty on success).
 */
export async function stopNode(options: { log?: Log } = {}): Promise<NodeResidue> {
  const log = options.log ?? noop;
  const state = readNodeState();
  if (state) {
    const ordered = [...state.processes].sort((a, b) => STOP_ORDER.indexOf(a.name) - STOP_ORDER.indexOf(b.name));
    for (const p of ordered.filter((q) => q.name === 'kubelet')) await stopRecorded(p);
    killContainers(state.containerdSocket);
    for (const p of ordered.filter((q) => q.name !== 'kubelet')) await stopRecorded(p);
    await stopControlPlane(state.controlPlaneDir);
  }
  killContainers(at('containerd', 'containerd.sock'));
  // Whatever still names NODE_ROOT (a state file lost or from an older layout): by that name only.
  killAll(nodeProcesses().map((p) => p.pid), 'SIGKILL');
  await killPods();
  unmountAll(mountPrefixes());
  deleteOurIptables();
  deleteNodeNetwork();
  removeCgroups(cgroupsNamed('kubepods'));
  if (state) {
    restoreSysctls(state.sysctls);
    for (const p of state.createdPaths) fs.rmSync(p, { recursive: true, force: true });
  }
  fs.rmSync(NODE_ROOT, { recursive: true, force: true });
  const residue = nodeResidue(state?.createdPaths);
  if (state) log(`node stopped${isClean(residue) ? ', host clean' : `; left behind: ${JSON.stringify(residue)}`}`);
  return residue;
}

async function stopRecorded(p: RecordedProcess): Promise<void> {
  if (!isOurs(p)) return;
  killAll([p.pid], 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (isOurs(p) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  if (isOurs(p)) killAll([p.pid], 'SIGKILL');
  while (isOurs(p)) await new Promise((resolve) => setTimeout(resolve, 50));
}

// The shims of our containerd (they name its socket) and everything they run: pods are throwaway,
// so SIGKILL, leaves first.
function killContainers(socket: string): void {
  const all = processes();
  const shims = all.filter((p) => p.cmdline.includes('containerd-shim') && p.cmdline.includes(socket)).map((p) => p.pid);
  if (shims.length === 0) return;
  const tree = withDescendants(all, shims);
  killAll(tree.filter((pid) => !shims.includes(pid)), 'SIGKILL');
  killAll(shims, 'SIGKILL');
}

// Whatever still runs in the pods' cgroups (the kubelet's kubepods tree): a shim killed before its
// containers leaves them reparented, out of reach of a walk down from the shims.
async function killPods(): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (let pids = cgroupProcesses(cgroupsNamed('kubepods')); pids.length > 0 && Date.now() < deadline; pids = cgroupProcesses(cgroupsNamed('kubepods'))) {
    killAll(pids, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function mountPrefixes(): string[] {
  return [NODE_ROOT, '/run/containerd', '/run/netns/cni-', '/var/lib/kubelet', path.join(imageCacheDir(), 'storage', 'overlay')];
}

/**
 * Processes, links, rules, mounts and folders of a node still on the host (empty lists when none).
 * `createdPaths`: the host folders the node created (from its state file, which a stop removes).
 */
export function nodeResidue(createdPaths = readNodeState()?.createdPaths ?? []): NodeResidue {
  return {
    processes: [
      ...nodeProcesses().map((p) => `${p.pid} ${p.cmdline.slice(0, 120)}`),
      ...cgroupProcesses(cgroupsNamed('kubepods')).map((pid) => `${pid} (in kubepods)`),
    ],
    links: [NODE_NETWORK.nodeBridge, NODE_NETWORK.podBridge].filter(linkExists),
    iptables: ourIptables(),
    mounts: mountsUnder(mountPrefixes()),
    paths: [NODE_ROOT, ...createdPaths, ...cgroupsNamed('kubepods')].filter((p) => fs.existsSync(p)),
  };
}

// Every component names NODE_ROOT in its arguments (configs, sockets, data); containers run below
// the shims, which name our containerd's socket.
function nodeProcesses(): HostProcess[] {
  const all = processes();
  const roots = all.filter((p) => p.pid !== process.pid && p.cmdline.includes(NODE_ROOT) && !p.cmdline.startsWith('kubectl')).map((p) => p.pid);
  const below = new Set(withDescendants(all, roots));
  return all.filter((p) => below.has(p.pid));
}

export function isClean(residue: NodeResidue): boolean {
  return Object.values(residue).every((list) => list.length === 0);
}
