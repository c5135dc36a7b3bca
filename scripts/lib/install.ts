/**
 * kubectl from scripts and benchmarks (synchronous: they run one step after another), and the one
 * install of what the service needs on a control plane: CRDs, namespace, service account, RBAC.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

export interface KubectlRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function kubectl(kubeconfig: string, args: string[], input?: string): KubectlRun {
  const result = spawnSync('kubectl', [`--kubeconfig=${kubeconfig}`, ...args], { input: input ?? '', encoding: 'utf8' });
  return { code: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** kubectl that must succeed: its stdout, or an error with kubectl's stderr. */
export function must(kubeconfig: string, args: string[], input?: string): string {
  const result = kubectl(kubeconfig, args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed:\n${result.stderr}`);
  return result.stdout;
}

const CRDS = ['crds/workloadplacements.yaml', 'crds/synctargets.yaml', 'crds/workspacequotas.yaml'];
const SERVICE = ['namespace.yaml', 'serviceaccount.yaml', 'rbac.yaml', 'reports-reader.yaml'];

/** Applies the CRDs and the service's namespace, identity and RBAC from manifests/; waits until the CRDs are Established. */
export function installService(admin: string): void {
  const fileArgs = (files: string[]) => files.flatMap((file) => ['-f', path.join('manifests', file)]);
  must(admin, ['apply', ...fileArgs([...CRDS, ...SERVICE])]);
  must(admin, ['wait', '--for=condition=Established', '--timeout=60s', ...fileArgs(CRDS)]);
}
