/**
 * Starts one real control plane (etcd + kube-apiserver, see docs/testing.md) for the whole e2e run,
 * installs the CRDs from manifests/crds/, and hands the connection to test files through
 * `E2E_CONTROL_PLANE_STATE` (jest workers inherit this process's environment).
 */
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { require as tsxRequire } from 'tsx/cjs/api';

type Lib = typeof import('../../scripts/lib/control-plane.js');
type Cluster = typeof import('./support/cluster.js');

const log = (line: string): void => void process.stderr.write(`[e2e] ${line}\n`);

export default async function globalSetup(_globalConfig: unknown, project: { rootDir: string }): Promise<void> {
  // Prometheus (scrape test) and Chromium (dashboard test) come from Debian's packages, like .ci/run installs them.
  const tools = spawnSync('bash', [path.join(project.rootDir, 'scripts', 'ensure-tools.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
  if (tools.status !== 0) throw new Error('scripts/ensure-tools.sh failed: prometheus or chromium could not be installed');
  const { lib, cluster } = loadHarness(project.rootDir);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'placement-quota-e2e-'));
  const cp = await lib.startControlPlane({
    dir,
    log,
    // Short enough that a test can wait for a resourceVersion to expire; E2E_COMPACTION_INTERVAL overrides.
    compactionInterval: process.env.E2E_COMPACTION_INTERVAL ?? '30s',
  });
  process.env[cluster.STATE_ENV] = cp.stateFile;
  try {
    await installCrds(path.join(project.rootDir, 'manifests', 'crds'), cluster);
  } catch (err) {
    await cp.stop();
    throw err;
  }
}

// Jest compiles global hooks to CommonJS and loads them without the project's moduleNameMapper:
// there `./x.js` does not find `x.ts` and `import.meta` does not exist. tsx's scoped require handles
// both. (tsx 4.23's `tsImport` is broken when called from CommonJS: it resolves its own loader wrong.)
function loadHarness(rootDir: string): { lib: Lib; cluster: Cluster } {
  const from = path.join(rootDir, 'test', 'e2e', 'global-setup.ts');
  return {
    lib: tsxRequire('../../scripts/lib/control-plane.ts', from) as Lib,
    cluster: tsxRequire('./support/cluster.ts', from) as Cluster,
  };
}

async function installCrds(crdDir: string, cluster: Cluster): Promise<void> {
  const files = crdFiles(crdDir);
  if (files.length === 0) return;
  const fileArgs = files.flatMap((f) => ['-f', f]);
  await must(cluster, ['apply', ...fileArgs]);
  // A CRD's kinds are usable only once it is Established.
  await must(cluster, ['wait', '--for=condition=Established', '--timeout=60s', ...fileArgs]);
  log(`installed CRDs: ${files.map((f) => path.basename(f)).join(', ')}`);
}

function crdFiles(crdDir: string): string[] {
  if (!fs.existsSync(crdDir)) return [];
  return fs
    .readdirSync(crdDir)
    .filter((f) => /\.ya?ml$/.test(f) && f !== 'kustomization.yaml')
    .sort()
    .map((f) => path.join(crdDir, f));
}

async function must(cluster: Cluster, args: string[]): Promise<void> {
  const res = await cluster.kubectl(args);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${res.code}):\n${res.stderr}`);
}
