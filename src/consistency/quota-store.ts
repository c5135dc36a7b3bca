import { ApiException, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, workspaceQuotaSchema, type WorkspaceQuota } from '../api/resources.js';
import { isOlderVersion } from '../core/quota-agreement.js';
import type { JsonPatchOperation } from '../core/quota-shares.js';
import { withSignal } from '../ops/kube-request.js';
import { BoundedCache } from '../state/bounded-cache.js';

/** The two calls compare-and-swap needs; injectable so tests can drive conflicts. */
/** Which quota object. */
export interface QuotaRef {
  readonly namespace: string;
  readonly name: string;
}

export interface QuotaStatusApi {
  /** The quota as stored now; undefined when it no longer exists. Aborted with `signal`. */
  get(ref: QuotaRef, signal: AbortSignal): Promise<unknown>;
  /** Merge-patches `status`, but only if the object still has `resourceVersion`; a 409 otherwise. Aborted with `signal`. */
  patchStatus(ref: QuotaRef, resourceVersion: string, status: object, signal: AbortSignal): Promise<unknown>;
  /**
   * Applies an RFC 6902 patch to the newest object, without a resourceVersion precondition: its own
   * `test` operations guard it (422 when one fails, and nothing is written). Aborted with `signal`.
   */
  jsonPatchStatus(ref: QuotaRef, operations: readonly JsonPatchOperation[], signal: AbortSignal): Promise<unknown>;
}

/** What to write given the quota as it is now; undefined when nothing needs writing. */
export type StatusChange = (quota: WorkspaceQuota) => object | undefined;

const CONFLICT = Symbol('conflict');
/** A guarded patch whose `test` failed: the object is not what the patch was decided from; nothing was written. */
export const STALE = Symbol('stale');
const refOf = (quota: WorkspaceQuota): QuotaRef => ({ namespace: quota.metadata.namespace ?? 'default', name: quota.metadata.name });
const isConflict = (error: unknown): boolean => error instanceof ApiException && error.code === 409;
const isNotFound = (error: unknown): boolean => error instanceof ApiException && error.code === 404;
const isUnprocessable = (error: unknown): boolean => error instanceof ApiException && error.code === 422;

/** CustomObjectsApi through the service's identity; the resourceVersion in the patch is the precondition. */
export function kubernetesQuotaStatusApi(kubeConfig: KubeConfig): QuotaStatusApi {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
  const target = ({ namespace, name }: QuotaRef) => ({ group: GROUP, version: VERSION, plural: 'workspacequotas', namespace, name });
  return {
    get: async (ref, signal) => {
      try {
        return (await api.getNamespacedCustomObject(target(ref), withSignal(signal))) as unknown;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    patchStatus: async (ref, resourceVersion, status, signal) =>
      (await api.patchNamespacedCustomObjectStatus(
        { ...target(ref), body: { metadata: { resourceVersion }, status } },
        withSignal(signal, mergePatch),
      )) as unknown,
    jsonPatchStatus: async (ref, operations, signal) =>
      (await api.patchNamespacedCustomObjectStatus({ ...target(ref), body: operations }, withSignal(signal, jsonPatch))) as unknown,
  };
}

export interface QuotaStoreOptions {
  readonly api: QuotaStatusApi;
  /** The tracker's copy of a quota. */
  readonly tracked: (key: string) => WorkspaceQuota | undefined;
  /** Conflicts in a row before giving up (each one means another writer got in first). */
  readonly maxAttempts?: number;
  /** Quotas whose own last write or read is remembered (the least recently used are forgotten). */
  readonly remembered?: number;
}

/**
 * Compare-and-swap on WorkspaceQuota status. It starts from the newest copy it knows (the tracker's,
 * or the one its own last write or read returned, whichever is newer) and, on a conflict, reads the
 * object again and asks the change afresh: the change sees every attempt's state and decides anew.
 */
export class QuotaStore {
  /** Status writes that succeeded, 409s (and 422s of guarded patches) met, and attempts made again after a 409 (for metrics). */
  readonly counters = { writes: 0, conflicts: 0, retries: 0 };
  // Bounded: only hot quotas benefit (a forgotten one starts from the tracker's copy, at worst one
  // conflict more), and memory must not grow with every quota ever written.
  private readonly newest: BoundedCache<WorkspaceQuota>;
  private readonly maxAttempts: number;

  constructor(private readonly options: QuotaStoreOptions) {
    this.maxAttempts = options.maxAttempts ?? 16;
    this.newest = new BoundedCache(options.remembered ?? 1024);
  }

  /** The newest copy known without asking the API server; undefined once the tracker lost the quota. */
  latest(key: string): WorkspaceQuota | undefined {
    const tracked = this.options.tracked(key);
    const own = this.newest.get(key);
    if (!tracked) {
      this.newest.delete(key);
      return undefined;
    }
    return own && isOlderVersion(tracked.metadata.resourceVersion, own.metadata.resourceVersion) ? own : tracked;
  }

  /**
   * Applies `change` until a write succeeds or `change` has nothing to write, starting from the
   * newest copy known (or, with `fresh`, the API server's). Resolves to the quota as
   * last seen, or undefined when it no longer exists. Rejects on API errors, after `maxAttempts`
   * conflicts in a row, and when `signal` aborts (every call is bounded by it: a write that outlives
   * the admission it serves must not be made).
   */
  async update(key: string, change: StatusChange, signal: AbortSignal, { fresh = false } = {}): Promise<WorkspaceQuota | undefined> {
    // `fresh`: start from the API server's copy, when a write of ours may have landed unseen.
    const known = this.latest(key);
    let quota = fresh && known ? await this.refetch(key, known, signal) : known;
    for (let attempt = 1; quota; attempt += 1) {
      signal.throwIfAborted();
      const status = change(quota);
      if (!status) return quota;
      const written = await this.write(key, quota, status, signal);
      if (written !== CONFLICT) return written;
      if (attempt >= this.maxAttempts) throw new Error(`quota ${key}: ${attempt} write conflicts in a row; giving up`);
      this.counters.retries += 1;
      quota = await this.refetch(key, quota, signal);
    }
    return undefined;
  }

  /**
   * One guarded JSON patch (a share spent by its owner, docs/consistency.md): the quota as written,
   * undefined when it no longer exists, STALE when a `test` failed (422: nothing was written; the
   * copies this store held are forgotten, they no longer tell the truth). Rejects on other errors,
   * after which the patch may or may not have been applied.
   */
  async patch(key: string, quota: WorkspaceQuota, operations: readonly JsonPatchOperation[], signal: AbortSignal): Promise<WorkspaceQuota | undefined | typeof STALE> {
    try {
      const written = await this.options.api.jsonPatchStatus(refOf(quota), operations, signal);
      this.counters.writes += 1;
      return this.remember(key, written);
    } catch (error) {
      if (isNotFound(error)) return this.remember(key, undefined);
      if (!isUnprocessable(error)) throw error;
      this.counters.conflicts += 1;
      this.newest.delete(key);
      return STALE;
    }
  }

  /** One compare-and-swap write; CONFLICT when the object moved on since `quota`. */
  private async write(key: string, quota: WorkspaceQuota, status: object, signal: AbortSignal): Promise<WorkspaceQuota | undefined | typeof CONFLICT> {
    const { resourceVersion } = quota.metadata;
    // Without a resourceVersion the patch would carry no precondition and overwrite whatever is
    // stored: fail closed instead (the caller denies, or retries on the next touch).
    if (!resourceVersion) throw new Error(`quota ${key} has no resourceVersion to compare-and-swap on; not writing`);
    try {
      const written = await this.options.api.patchStatus(refOf(quota), resourceVersion, status, signal);
      this.counters.writes += 1;
      return this.remember(key, written);
    } catch (error) {
      if (!isConflict(error)) throw error;
      this.counters.conflicts += 1;
      return CONFLICT;
    }
  }

  private async refetch(key: string, quota: WorkspaceQuota, signal: AbortSignal): Promise<WorkspaceQuota | undefined> {
    return this.remember(key, await this.options.api.get(refOf(quota), signal));
  }

  private remember(key: string, raw: unknown): WorkspaceQuota | undefined {
    if (raw === undefined) {
      this.newest.delete(key);
      return undefined;
    }
    const quota = workspaceQuotaSchema.parse(raw);
    this.newest.set(key, quota);
    return quota;
  }
}
