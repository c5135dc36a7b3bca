/**
 * The install as users do it, on a real node (docs/testing.md, "A real node"): the image built from
 * the Dockerfile, docs/install.md's own commands, the webhook as two pods behind its Service, called
 * by the API server. Then what only real pods can show: a rolling restart and a certificate rotation
 * under a stream of creates, the container's security context read from inside, the service
 * account's permissions, and a stop that leaves nothing on the host.
 *
 * This file starts its own control plane (bound to the node's address, so pods reach it) and node;
 * the global setup's loopback control plane is not used. Skipped, saying why, only where the host
 * cannot run a node (not Linux, not root, no cgroups, no iproute2, packages missing without apt-get).
 */
import { X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readState } from '../../scripts/lib/control-plane.js';
import { docCommands, expectationOf, judge, prepareInstallDir, runDocBlocks, runDocCommand, type DocRun } from '../../scripts/lib/install-doc.js';
import { componentLogTails, isClean, nodeUnsupportedReason, NODE_ROOT, startNode, stopNode, type NodeCluster } from '../../scripts/lib/node.js';
import { kubectl as kubectlAt, type KubectlResult } from './support/cluster.js';
import { BASELINE_ACCOUNT, canList, grantsBeyond, SYSTEM_NS } from './support/rbac.js';
import { servedFingerprint, startCreateLoad, type CreateLoad } from './support/create-load.js';

const DEPLOYMENT = 'deployment/placement-quota-webhook';
const SELECTOR = 'app.kubernetes.io/name=placement-quota-webhook';
const SERVICE_ACCOUNT = `system:serviceaccount:${SYSTEM_NS}:placement-quota-webhook`;
const say = (line: string): void => void process.stderr.write(`[e2e node] ${line}\n`);

const unsupported = nodeUnsupportedReason();
if (unsupported) say(`SKIPPED: this host cannot run a node: ${unsupported}`);
const describeNode = unsupported ? describe.skip : describe;

let node: NodeCluster;
const installDir = path.join(NODE_ROOT, 'install');
const kubectl = (args: string[], input?: string): Promise<KubectlResult> => kubectlAt(args, { kubeconfig: node.kubeconfig, input });

async function must(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${res.code}): ${res.stderr}`);
  return res.stdout;
}

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; serviceAccountName?: string };
  status: { podIP?: string; conditions?: { type: string; status: string }[]; containerStatuses?: { restartCount: number; image: string }[] };
}

async function webhookPods(): Promise<Pod[]> {
  return (JSON.parse(await must(['-n', SYSTEM_NS, 'get', 'pods', '-l', SELECTOR, '-o', 'json'])) as { items: Pod[] }).items;
}

const isReady = (pod: Pod): boolean => pod.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not after ${timeoutMs / 1000}s\n${componentLogTails()}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

// No WorkspaceQuota there (and the default quota is off in manifests/configmap.yaml): every create is
// still reviewed by a pod, but none waits on a compare-and-swap of a quota's status, so a refusal can
// only mean a review that no pod answered. (One hot quota under 3 pods is its own matter: see
// docs/testing.md.)
async function loadNamespace(name: string): Promise<string> {
  await must(['create', 'namespace', name]);
  return name;
}

function loadOn(namespace: string): CreateLoad {
  const cp = readState(node.controlPlaneDir);
  return startCreateLoad({ server: cp.server, ca: fs.readFileSync(cp.caFile, 'utf8'), token: cp.adminToken, namespace });
}

describeNode('the service installed on a real node', () => {
  beforeAll(async () => {
    // Cold, the node's binaries are built first (minutes); warm, this takes about 20 s.
    node = await startNode({ log: say });
  }, 900_000);

  afterAll(async () => {
    // Normally a no-op: the last test stops the node and checks the host. This covers a failure before it.
    await stopNode({ log: say });
  }, 120_000);

  it('installs with docs/install.md as written: both replicas Ready on the node, serving as the service account', async () => {
    prepareInstallDir(installDir);
    await runDocBlocks(['install', 'verify'], { cwd: installDir, kubeconfig: node.kubeconfig });
    const pods = await webhookPods();
    expect(pods.map((p) => ({ node: p.spec.nodeName, ready: isReady(p), account: p.spec.serviceAccountName }))).toEqual([
      { node: node.nodeName, ready: true, account: 'placement-quota-webhook' },
      { node: node.nodeName, ready: true, account: 'placement-quota-webhook' },
    ]);
    expect(pods.map((p) => p.status.containerStatuses?.[0]?.image)).toEqual([node.images[0]?.name, node.images[0]?.name].map((n) => `docker.io/library/${n}`));
  }, 240_000);

  it("runs docs/install.md's smoke test: the placement over quota is denied, the one within it admitted", async () => {
    const outcomes: { command: string; problem?: string }[] = [];
    for (const command of docCommands('smoke')) {
      const run: DocRun = await runDocCommand(command, { cwd: installDir, kubeconfig: node.kubeconfig });
      outcomes.push({ command: command.text, problem: judge(command, run) });
    }
    expect(outcomes.filter((o) => o.problem)).toEqual([]);
    // The doc quotes a denial and an admission, so both were checked above.
    expect(docCommands('smoke').map((c) => expectationOf(c))).toEqual(
      expect.arrayContaining([{ fails: true, output: expect.stringContaining('denied the request') }, { fails: false, output: expect.stringContaining('created (server dry run)') }]),
    );
  }, 120_000);

  it('refuses no create for want of a pod while `kubectl rollout restart` replaces both (but the known keep-alive shutdown race)', async () => {
    const before = (await webhookPods()).map((p) => p.metadata.uid);
    const load = loadOn(await loadNamespace('load-rollout'));
    await until('first creates admitted', 30_000, () => Promise.resolve(load.created() >= 20 ? true : undefined));
    await must(['-n', SYSTEM_NS, 'rollout', 'restart', DEPLOYMENT]);
    await must(['-n', SYSTEM_NS, 'rollout', 'status', DEPLOYMENT, '--timeout=180s']);
    // Rolled out is not over: the old pods are still draining (preStop, graceful shutdown).
    await until('only the new pods, both Ready', 120_000, async () => {
      const pods = await webhookPods();
      return pods.length === 2 && pods.every((p) => isReady(p) && !p.metadata.deletionTimestamp && !before.includes(p.metadata.uid)) ? true : undefined;
    });
    const atEnd = load.created();
    await until('creates admitted by the new pods', 30_000, () => Promise.resolve(load.created() >= atEnd + 20 ? true : undefined));
    const result = await load.stop();
    say(`rollout restart: ${result.created} creates in ${result.seconds.toFixed(1)}s, ${result.refused.length} refused`);
    // A stopping pod keeps its connections and answers with Connection: close (https-server.ts,
    // idleDrainMs), so no review the API server sends onto one is lost.
    expect(result.refused).toEqual([]);
  }, 300_000);

  it('serves a replaced serving certificate from the same pods, without a restart, failing no request', async () => {
    const pods = await webhookPods();
    const load = loadOn(await loadNamespace('load-rotation'));
    const rotate = docCommands('rotate-serving-certificate');
    for (const command of rotate) expect(judge(command, await runDocCommand(command, { cwd: installDir, kubeconfig: node.kubeconfig }))).toBeUndefined();
    const fresh = new X509Certificate(fs.readFileSync(path.join(installDir, 'certs', 'tls.crt'))).fingerprint256;
    const started = Date.now();
    for (const pod of pods) {
      await until(`${pod.metadata.name} serving the new certificate`, 150_000, async () =>
        (await servedFingerprint(pod.status.podIP ?? '', 8443).catch(() => '')) === fresh ? true : undefined,
      );
    }
    const result = await load.stop();
    say(`certificate rotation: both pods served it ${((Date.now() - started) / 1000).toFixed(1)}s after the Secret; ${result.created} creates, ${result.refused.length} refused`);
    expect(result.refused).toEqual([]);
    const after = await webhookPods();
    expect(after.map((p) => [p.metadata.uid, p.status.containerStatuses?.[0]?.restartCount])).toEqual(pods.map((p) => [p.metadata.uid, 0]));
  }, 300_000);

  it('runs as uid 1000 with a read-only root filesystem and no capabilities, as read from inside the pod', async () => {
    // Read by the container's own node binary (no shell tools assumed): PID 1 is the service.
    const probe = [
      "const fs = require('fs');",
      "const status = Object.fromEntries(fs.readFileSync('/proc/1/status', 'utf8').split('\\n').filter(Boolean).map((l) => l.split(':\\t')));",
      "const write = (f) => { try { fs.writeFileSync(f, 'x'); return 'written'; } catch (e) { return e.code; } };",
      "const caps = ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => k + '=' + status[k]);",
      "console.log(JSON.stringify({ uid: status.Uid, gid: status.Gid, caps, noNewPrivs: status.NoNewPrivs, seccomp: status.Seccomp, root: write('/app/probe'), tmp: write('/tmp/probe') }));",
    ].join(' ');
    for (const pod of await webhookPods()) {
      const seen = JSON.parse(await must(['-n', SYSTEM_NS, 'exec', pod.metadata.name, '--', 'node', '-e', probe])) as unknown;
      expect(seen).toEqual({
        uid: '1000\t1000\t1000\t1000',
        gid: '1000\t1000\t1000\t1000',
        caps: ['CapInh', 'CapPrm', 'CapEff', 'CapBnd', 'CapAmb'].map((k) => `${k}=0000000000000000`),
        noNewPrivs: '1',
        // 2: a seccomp filter (RuntimeDefault).
        seccomp: '2',
        root: 'EROFS',
        tmp: 'written',
      });
    }
  }, 60_000);

  it('gives the service account exactly what manifests/rbac.yaml grants, and nothing more', async () => {
    // Compared with an account of the same groups and no bindings: what every account gets
    // (discovery, self reviews) is not the manifest's to grant.
    for (const namespace of [SYSTEM_NS, 'default']) {
      const [granted, base] = await Promise.all([canList(kubectl, namespace, SERVICE_ACCOUNT), canList(kubectl, namespace, BASELINE_ACCOUNT)]);
      const { granted: rules, expected } = grantsBeyond(granted, base, namespace);
      expect({ namespace, rules }).toEqual({ namespace, rules: expected });
    }
  }, 60_000);

  it('moves the enforcement Lease to the other pod when the leader pod is deleted, and the new leader evicts', async () => {
    const holder = async (): Promise<string> => (await must(['-n', SYSTEM_NS, 'get', 'lease', 'placement-quota-webhook', '-o', 'jsonpath={.spec.holderIdentity}'])).trim();
    const first = await until('a pod holds the Lease', 60_000, async () => ((await holder()) || undefined));
    expect((await webhookPods()).map((pod) => pod.metadata.name)).toContain(first);
    await must(['-n', SYSTEM_NS, 'delete', 'pod', first, '--wait=false']);
    const next = await until('another pod holds the Lease', 60_000, async () => {
      const now = await holder();
      return now && now !== first ? now : undefined;
    });
    say(`Lease moved from ${first} to ${next}`);
    // The new leader acts: a Hard quota lowered below what its placement uses is enforced.
    const ns = await loadNamespace('failover');
    const quota = { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkspaceQuota', metadata: { name: 'compute', namespace: ns }, spec: { enforcementMode: 'Hard', hard: { cpu: '2' } } };
    const placement = { apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: { name: 'web', namespace: ns }, spec: { resourceRequirements: { cpu: '1' } } };
    await must(['apply', '-f', '-'], JSON.stringify(quota));
    await must(['apply', '-f', '-'], JSON.stringify(placement));
    await must(['-n', ns, 'patch', 'wq', 'compute', '--type=merge', '-p', JSON.stringify({ spec: { hard: { cpu: '500m' } } })]);
    const reason = await until('the placement evicted by the new leader', 60_000, async () => {
      const got = (await must(['-n', ns, 'get', 'wp', 'web', '-o', 'jsonpath={.status.phase}/{.status.conditions[?(@.type=="Evicted")].reason}'])).trim();
      return got === 'Evicted/QuotaExceeded' ? got : undefined;
    });
    expect(reason).toBe('Evicted/QuotaExceeded');
    const events = await must(['-n', ns, 'get', 'events', '--field-selector', 'involvedObject.name=web', '-o', 'jsonpath={.items[*].reportingInstance}']);
    expect(events.trim().split(/\s+/)).toEqual([next]);
  }, 180_000);

  it('stops, leaving no process, link, iptables rule, mount or folder of the node on the host', async () => {
    const residue = await stopNode({ log: say });
    expect(isClean(residue) ? 'clean' : residue).toBe('clean');
  }, 120_000);
});
