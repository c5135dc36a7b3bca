import type { TrackedObject } from '../api/resources.js';

/** kcp marks every object with the logical cluster it lives in. */
export const KCP_CLUSTER_ANNOTATION = 'kcp.io/cluster';

/** Namespace of an object that names none, as kubectl assumes. */
export const DEFAULT_NAMESPACE = 'default';

interface NamespacedMeta {
  readonly namespace?: string | undefined;
  readonly annotations: Readonly<Record<string, string>>;
}

/**
 * The workspace an object belongs to: its namespace on plain Kubernetes, `<logical cluster>:<namespace>`
 * on kcp, where namespaces of different logical clusters share names.
 */
export function workspaceKey(meta: NamespacedMeta): string {
  const namespace = meta.namespace || DEFAULT_NAMESPACE;
  const logicalCluster = meta.annotations[KCP_CLUSTER_ANNOTATION];
  return logicalCluster ? `${logicalCluster}:${namespace}` : namespace;
}

/** Key of a namespaced object within the tracker: `<workspace>/<name>`. */
export function objectKey(meta: NamespacedMeta & { readonly name: string }): string {
  return `${workspaceKey(meta)}/${meta.name}`;
}

/** The key an object is tracked under: the name of a SyncTarget, `<workspace>/<name>` otherwise. */
export function trackedKey(tracked: TrackedObject): string {
  return tracked.kind === 'SyncTarget' ? tracked.object.metadata.name : objectKey(tracked.object.metadata);
}
