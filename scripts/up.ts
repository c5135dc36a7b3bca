/**
 * `npm run up [-- --replicas N]`: a real kube-apiserver + etcd on loopback, the CRDs and RBAC, the
 * webhook (`placement-quota serve`, N replicas) registered through a ValidatingWebhookConfiguration,
 * a small demo, and a rejection as kubectl prints it. Everything keeps running until `npm run down`.
 *
 * `npm run up -- --node`: the install as users do it instead: a real node (scripts/lib/node.ts), the
 * image built from the Dockerfile and loaded into it, then docs/install.md's commands as written
 * (certificates, Secret, CA bundle, `kubectl apply -k manifests/`, the rollout), the same demo and
 * rejection, now through the in-cluster webhook.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { writeCertificates } from './lib/certs.js';
import { controlPlaneStatus, ensureBinaries, readState, startControlPlane } from './lib/control-plane.js';
import { installService, kubectl, must } from './lib/install.js';
import { prepareInstallDir, runDocBlocks } from './lib/install-doc.js';
import { NODE_ROOT, startNode } from './lib/node.js';
import { demoClusters, demoPlacements, demoQuota, DEMO_NAMESPACE, rejectedPlacement, syncTarget, syncTargetStatus } from './lib/demo.js';
import { VALIDATE_PATH, webhookConfiguration } from './lib/webhook-registration.js';
import { startWebhooks, waitReady } from './lib/webhook-processes.js';

const RUN_DIR = path.resolve('.run');
const started = Date.now();
const say = (line: string): void => void process.stderr.write(`[up +${((Date.now() - started) / 1000).toFixed(1)}s] ${line}\n`);

const asInput = (objects: readonly object[]): string => objects.map((o) => JSON.stringify(o)).join('\n');

async function controlPlane(): Promise<{ admin: string; service: string; clientCAFile: string }> {
  const dir = path.join(RUN_DIR, 'control-plane');
  if (existsSync(path.join(dir, 'state.json')) && (await controlPlaneStatus(dir)).ready) {
    say('control plane already running');
  } else {
    say('control plane: building or reusing etcd and kube-apiserver binaries…');
    await ensureBinaries(say);
    say('control plane: starting etcd and kube-apiserver on 127.0.0.1…');
    await startControlPlane({ dir, log: say, reapWithParent: false });
  }
  const state = readState(dir);
  if (!state.webhookClient) throw new Error(`the control plane in ${dir} predates caller authentication: run npm run down, then npm run up`);
  return { admin: state.adminKubeconfig, service: state.serviceKubeconfig, clientCAFile: state.webhookClient.caFile };
}

function install(admin: string): void {
  say('installing CRDs, namespace, service account and RBAC…');
  installService(admin);
}

/** A service account that may read the observability port, for the dashboard's login form and curl. */
const READER = { namespace: 'placement-quota-system', name: 'reports-reader' };

function addReader(admin: string): void {
  const sa = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: READER };
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'placement-quota-reports-reader-demo' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'placement-quota-reports-reader' },
    subjects: [{ kind: 'ServiceAccount', ...READER }],
  };
  must(admin, ['apply', '-f', '-'], asInput([sa, binding]));
}

function applyDemo(admin: string): void {
  say('applying the demo: 3 clusters, quota team-a/compute, 2 placements…');
  must(admin, ['apply', '-f', '-'], asInput([...demoClusters.map(syncTarget), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: DEMO_NAMESPACE } }, demoQuota]));
  const now = new Date();
  for (const cluster of demoClusters) {
    must(admin, ['patch', 'synctarget', cluster.name, '--subresource=status', '--type=merge', '-p', JSON.stringify(syncTargetStatus(cluster, now))]);
  }
  must(admin, ['apply', '-f', '-'], asInput(demoPlacements));
}

async function local(replicas: number): Promise<{ admin: string; logs: string; reports: string[] }> {
  const { admin, service, clientCAFile } = await controlPlane();
  install(admin);

  const certDir = path.join(RUN_DIR, 'certs');
  writeCertificates(certDir, {});
  say(`starting ${replicas} webhook replica(s) (placement-quota serve)…`);
  // Only the API server's client certificate is answered on the admission path (SPEC §8).
  const webhooks = await startWebhooks({ dir: RUN_DIR, kubeconfig: service, certDir, replicas, clientCAFile });
  await waitReady(webhooks);
  const url = `https://127.0.0.1:${webhooks.port}${VALIDATE_PATH}`;
  must(admin, ['apply', '-f', '-'], JSON.stringify(webhookConfiguration(readFileSync(path.join(certDir, 'ca.crt'), 'utf8'), { url })));
  say(`webhook registered: ${url}`);
  const reports = [
    `Dashboard, metrics and reports (every 30 s, on each replica's own port), behind Kubernetes authentication:`,
    ...webhooks.replicas.map((r) => `  https://localhost:${r.observabilityPort}/dashboard   (CA: ${path.join(certDir, 'ca.crt')})`),
    `A token for them (service account ${READER.namespace}/${READER.name}, bound to the ClusterRole placement-quota-reports-reader):`,
    `  TOKEN=$(kubectl --kubeconfig=${admin} -n ${READER.namespace} create token ${READER.name})`,
    "  paste it into the dashboard's login form, or:",
    ...webhooks.replicas.map((r) => `  curl -s --cacert ${path.join(certDir, 'ca.crt')} -H "Authorization: Bearer $TOKEN" https://localhost:${r.observabilityPort}/reports/summary`),
    '  (also /metrics, /reports/latest.json, clusters.csv, trends, history?since=1h)',
  ];
  return { admin, logs: `Webhook logs: ${webhooks.replicas.map((r) => r.log).join(', ')}`, reports };
}

async function onNode(): Promise<{ admin: string; logs: string; reports: string[] }> {
  say('node: building or reusing its binaries and images, then starting it…');
  const node = await startNode({ log: say });
  const installDir = path.join(NODE_ROOT, 'install');
  prepareInstallDir(installDir);
  say(`docs/install.md, step by step, in ${installDir}:`);
  await runDocBlocks(['install', 'verify'], {
    cwd: installDir,
    kubeconfig: node.kubeconfig,
    onCommand: (command, run) => process.stderr.write(`$ ${command.text}\n${run.stdout}${run.stderr}\n`),
  });
  return {
    admin: node.kubeconfig,
    logs: `Logs: kubectl -n placement-quota-system logs deployment/placement-quota-webhook; node components in ${path.join(NODE_ROOT, 'logs')}`,
    reports: [
      'Dashboard, metrics and reports: kubectl -n placement-quota-system port-forward deployment/placement-quota-webhook 8444, then https://localhost:8444/dashboard',
      `  with a token: kubectl -n ${READER.namespace} create token ${READER.name}`,
    ],
  };
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { replicas: { type: 'string', default: '1' }, node: { type: 'boolean', default: false } }, strict: true });
  const replicas = Number(values.replicas);
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > 5) throw new Error('--replicas must be 1..5');
  mkdirSync(RUN_DIR, { recursive: true });
  const { admin, logs, reports } = values.node ? await onNode() : await local(replicas);

  applyDemo(admin);
  addReader(admin);
  say('trying a placement over quota and over us-east-1\'s memory:');
  const webYaml = path.join(RUN_DIR, 'web.yaml');
  writeFileSync(webYaml, stringify(rejectedPlacement));
  const rejected = kubectl(admin, ['apply', '-f', webYaml]);
  process.stdout.write(`\n$ kubectl apply -f ${path.relative(process.cwd(), webYaml)}\n${rejected.stdout}${rejected.stderr}\n`);
  for (const kind of ['wp', 'wq']) {
    process.stdout.write(`$ kubectl get ${kind} -n ${DEMO_NAMESPACE}\n${must(admin, ['get', kind, '-n', DEMO_NAMESPACE])}\n`);
  }
  writeFileSync(path.join(RUN_DIR, 'kubeconfig.path'), `${admin}\n`);
  process.stdout.write(
    [
      `Up in ${((Date.now() - started) / 1000).toFixed(1)}s. ${logs}`,
      'Go on with kubectl:',
      `  export KUBECONFIG=${admin}`,
      ...reports,
      // The eviction loop runs on the Lease holder (docs/enforcement.md; the README shows how to try it).
      'The enforcing replica: kubectl get lease -n placement-quota-system',
      'Stop everything with: npm run down',
      '',
    ].join('\n'),
  );
  return rejected.code === 0 ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`up failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
