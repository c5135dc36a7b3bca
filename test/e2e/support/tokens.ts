/**
 * Bearer tokens of real service accounts, as a person or Prometheus gets them: a ServiceAccount,
 * optionally bound to a ClusterRole, and `kubectl create token`. The API server validates them in
 * the webhook's TokenReview like any other service-account token.
 */
import { kubectl } from './cluster.js';

/** The ClusterRole of manifests/reports-reader.yaml. */
export const READER_ROLE = 'placement-quota-reports-reader';

const bindings: string[] = [];

async function must(args: string[]): Promise<string> {
  const res = await kubectl(args);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr}`);
  return res.stdout;
}

/** A token of service account `name` in `namespace` (created here), bound to `clusterRole` when given. */
export async function serviceAccountToken(namespace: string, name: string, clusterRole?: string): Promise<string> {
  await must(['create', 'serviceaccount', name, '-n', namespace]);
  if (clusterRole) {
    const binding = `${namespace}-${name}`;
    await must(['create', 'clusterrolebinding', binding, `--clusterrole=${clusterRole}`, `--serviceaccount=${namespace}:${name}`]);
    bindings.push(binding);
  }
  return (await must(['create', 'token', name, '-n', namespace, '--duration=1h'])).trim();
}

/** Deletes the ClusterRoleBindings this file made (deleting a namespace leaves cluster-scoped objects). */
export async function deleteTokenBindings(): Promise<void> {
  const names = bindings.splice(0);
  if (names.length > 0) await kubectl(['delete', 'clusterrolebinding', '--ignore-not-found', ...names]);
}
