/**
 * What a real node changes on the host, and how each change is undone (scripts/lib/node.ts records
 * them in its state file before making them, so a later `down` undoes them after a crash too):
 * links (two bridges, the pods' veths), a blackhole route, iptables rules (kube-proxy's, the
 * kubelet's, our own), sysctls, mounts (container rootfs, network namespaces, pod volumes), cgroups,
 * folders, processes. Everything here acts only on names this project owns or that only its node
 * creates on this machine (KUBE-* / CNI-* chains: one node cluster per machine).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Names and addresses of the node's network, all on links it creates itself. */
export const NODE_NETWORK = {
  /** An empty bridge that carries only the node's address (the kubelet refuses a loopback node IP). */
  nodeBridge: 'pqnode0',
  nodeIp: '10.200.0.1',
  /** The pods' bridge (CNI bridge plugin); the host is its gateway. */
  podBridge: 'pqcni0',
  podCidr: '10.244.0.0/24',
  podGateway: '10.244.0.1',
  /** Service ClusterIPs; blackholed so that one kube-proxy has not rewritten never leaves the machine. */
  serviceCidr: '10.96.0.0/24',
} as const;

/** The comment on this project's own iptables rules. */
export const RULE_COMMENT = 'placement-quota-node';
const OUR_RULES = /KUBE-|CNI-|placement-quota-node/;

/** Sysctls the node may change (the CNI bridge plugin sets ip_forward; the kubelet its kernel tunables). */
export const RECORDED_SYSCTLS = [
  'net/ipv4/ip_forward',
  'net/ipv4/conf/all/route_localnet',
  'net/bridge/bridge-nf-call-iptables',
  'vm/overcommit_memory',
  'vm/panic_on_oom',
  'kernel/panic',
  'kernel/panic_on_oops',
  'kernel/keys/root_maxkeys',
  'kernel/keys/root_maxbytes',
] as const;

export function run(cmd: string, args: string[], input?: string): { code: number; stdout: string; stderr: string } {
  const res = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  return { code: res.status ?? -1, stdout: res.stdout ?? '', stderr: res.stderr ?? String(res.error ?? '') };
}

export function must(cmd: string, args: string[], input?: string): string {
  const res = run(cmd, args, input);
  if (res.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (exit ${res.code}): ${res.stderr.trim()}`);
  return res.stdout;
}

// --- sysctls -------------------------------------------------------------------------------

export function readSysctls(): Record<string, string> {
  const values: Record<string, string> = {};
  for (const key of RECORDED_SYSCTLS) {
    const file = `/proc/sys/${key}`;
    if (fs.existsSync(file)) values[key] = fs.readFileSync(file, 'utf8').trim();
  }
  return values;
}

export function restoreSysctls(saved: Record<string, string>): void {
  for (const [key, value] of Object.entries(saved)) {
    const file = `/proc/sys/${key}`;
    if (fs.existsSync(file) && fs.readFileSync(file, 'utf8').trim() !== value) fs.writeFileSync(file, `${value}\n`);
  }
}

// --- links and routes -------------------------------------------------------------------------

export function linkExists(name: string): boolean {
  return fs.existsSync(`/sys/class/net/${name}`);
}

export function createNodeNetwork(): void {
  const n = NODE_NETWORK;
  must('ip', ['link', 'add', n.nodeBridge, 'type', 'bridge']);
  must('ip', ['addr', 'add', `${n.nodeIp}/32`, 'dev', n.nodeBridge]);
  must('ip', ['link', 'set', n.nodeBridge, 'up']);
  must('ip', ['route', 'add', 'blackhole', n.serviceCidr]);
}

/** Deletes the pods' veths still on our bridge, both bridges and the blackhole route. */
export function deleteNodeNetwork(): void {
  const n = NODE_NETWORK;
  for (const bridge of [n.podBridge, n.nodeBridge]) {
    const ports = `/sys/class/net/${bridge}/brif`;
    for (const port of fs.existsSync(ports) ? fs.readdirSync(ports) : []) run('ip', ['link', 'delete', port]);
    if (linkExists(bridge)) must('ip', ['link', 'delete', bridge]);
  }
  if (routeExists()) must('ip', ['route', 'delete', 'blackhole', n.serviceCidr]);
}

function routeExists(): boolean {
  return run('ip', ['route', 'show', 'type', 'blackhole', NODE_NETWORK.serviceCidr]).stdout.trim() !== '';
}

/** Pods egress nowhere but the pod network and the host: forwarding off the machine is dropped. */
export function addEgressGuard(): void {
  const n = NODE_NETWORK;
  must('iptables', ['-I', 'FORWARD', '1', '-s', n.podCidr, '!', '-d', n.podCidr, '-m', 'comment', '--comment', RULE_COMMENT, '-j', 'DROP']);
}

// --- iptables -------------------------------------------------------------------------------

const IPTABLES = ['iptables', 'ip6tables'] as const;

interface Table {
  name: string;
  chains: string[];
  rules: string[];
}

function parseSave(text: string): Table[] {
  const tables: Table[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) tables.push({ name: line.slice(1), chains: [], rules: [] });
    const table = tables[tables.length - 1];
    if (!table) continue;
    if (line.startsWith(':')) table.chains.push(line.slice(1).split(' ')[0] ?? '');
    if (line.startsWith('-A ')) table.rules.push(line);
  }
  return tables;
}

/** Our rules and chains still in the host's tables, as `iptables-save` lines (empty when clean). */
export function ourIptables(): string[] {
  return IPTABLES.flatMap((cmd) => {
    const save = run(`${cmd}-save`, []);
    if (save.code !== 0) return [];
    return parseSave(save.stdout).flatMap((t) => [
      ...t.chains.filter((c) => OUR_RULES.test(c)).map((c) => `${cmd} -t ${t.name} chain ${c}`),
      ...t.rules.filter((r) => OUR_RULES.test(r)).map((r) => `${cmd} -t ${t.name} ${r}`),
    ]);
  });
}

/**
 * Deletes every rule that mentions our chains or comment, then flushes and deletes our chains, in one
 * `iptables-restore --noflush` per family (atomic; other rules untouched).
 */
export function deleteOurIptables(): void {
  for (const cmd of IPTABLES) {
    const save = run(`${cmd}-save`, []);
    if (save.code !== 0) continue;
    const script = parseSave(save.stdout).flatMap((t) => {
      const ours = t.chains.filter((c) => OUR_RULES.test(c));
      const foreignRules = t.rules.filter((r) => OUR_RULES.test(r) && !ours.includes(r.split(' ')[1] ?? ''));
      if (ours.length === 0 && foreignRules.length === 0) return [];
      return [`*${t.name}`, ...foreignRules.map((r) => `-D${r.slice(2)}`), ...ours.map((c) => `-F ${c}`), ...ours.map((c) => `-X ${c}`), 'COMMIT'];
    });
    if (script.length > 0) must(`${cmd}-restore`, ['--noflush'], `${script.join('\n')}\n`);
  }
}

// --- mounts, cgroups, folders ------------------------------------------------------------------

/** Mount points under any of `prefixes` (one ending in `-` matches names that start with it), deepest first. */
export function mountsUnder(prefixes: readonly string[]): string[] {
  const points = fs
    .readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((p) => p.replace(/\\040/g, ' '))
    .filter((p) => prefixes.some((prefix) => p === prefix || p.startsWith(prefix.endsWith('-') ? prefix : `${prefix}/`)));
  return [...new Set(points)].sort((a, b) => b.length - a.length);
}

export function unmountAll(prefixes: readonly string[]): void {
  // A mount point can be stacked (a bind of /run/netns onto itself): repeat until none is left.
  for (let round = 0; round < 5; round++) {
    const points = mountsUnder(prefixes);
    if (points.length === 0) return;
    for (const point of points) {
      if (run('umount', [point]).code !== 0) run('umount', ['-l', point]);
    }
  }
}

/** cgroup folders named `name` under each v1 controller (the kubelet's `kubepods`, cgroupfs driver). */
export function cgroupsNamed(name: string): string[] {
  const root = '/sys/fs/cgroup';
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((controller) => path.join(root, controller, name))
    .filter((dir) => fs.existsSync(dir));
}

/** The pids in cgroup trees: a pod's processes, also once their shim is gone and they were reparented. */
export function cgroupProcesses(dirs: readonly string[]): number[] {
  const pids = new Set<number>();
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(path.join(dir, entry.name));
      else if (entry.name === 'cgroup.procs') for (const pid of fs.readFileSync(path.join(dir, entry.name), 'utf8').split('\n').filter(Boolean)) pids.add(Number(pid));
    }
  };
  for (const dir of dirs) if (fs.existsSync(dir)) walk(dir);
  return [...pids];
}

/** Removes cgroup folders bottom-up (a cgroup folder is removed with rmdir, its files are virtual). */
export function removeCgroups(dirs: readonly string[]): void {
  const rmTree = (dir: string): void => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) rmTree(path.join(dir, entry.name));
    try {
      fs.rmdirSync(dir);
    } catch {
      // Still holds a process (the caller reports what is left) or is gone already.
    }
  };
  for (const dir of dirs) if (fs.existsSync(dir)) rmTree(dir);
}

// --- processes -------------------------------------------------------------------------------

export interface HostProcess {
  pid: number;
  ppid: number;
  cmdline: string;
}

export function processes(): HostProcess[] {
  return fs
    .readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((entry) => {
      try {
        const cmdline = fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').join(' ').trim();
        const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
        return cmdline ? [{ pid: Number(entry), ppid, cmdline }] : [];
      } catch {
        return [];
      }
    });
}

/** `roots` and every process below them. */
export function withDescendants(all: readonly HostProcess[], roots: readonly number[]): number[] {
  const found = new Set(roots);
  for (let grew = true; grew; ) {
    grew = false;
    for (const p of all) {
      if (!found.has(p.pid) && found.has(p.ppid)) {
        found.add(p.pid);
        grew = true;
      }
    }
  }
  return [...found];
}

export function killAll(pids: readonly number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Gone already.
    }
  }
}
