import { CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { GROUP, VERSION, type WorkspaceQuota } from '../api/resources.js';
import { desiredQuotaStatus, quotaStatusCurrent, type QuotaStatus } from '../core/quota-status.js';
import type { TrackedState } from '../core/state.js';

/** Writes one quota's status; the only IO of the writer, injectable for tests. */
export type PatchQuotaStatus = (quota: WorkspaceQuota, status: QuotaStatus) => Promise<void>;

export interface StatusWriterLog {
  debug(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface QuotaStatusWriterOptions {
  readonly state: TrackedState;
  readonly patch: PatchQuotaStatus;
  readonly clock: () => number;
  readonly log: StatusWriterLog;
  /** Changes within this window are written together: a burst of admissions costs one write per quota. */
  readonly debounceMs?: number;
}

export interface QuotaStatusWriter {
  /** A quota or one of its workspace's placements changed. */
  touch(quotaKey: string): void;
  /** Every quota of the workspace may have changed. */
  touchWorkspace(workspace: string): void;
  /** Re-checks every quota (after a sync; also repairs drift from before a restart). */
  touchAll(): void;
  /** Writes what is pending now; resolves when done. */
  flush(): Promise<void>;
  stop(): void;
}

/** A merge patch of the status subresource through the service's own identity. */
export function kubernetesQuotaStatusPatcher(kubeConfig: KubeConfig): PatchQuotaStatus {
  const api = kubeConfig.makeApiClient(CustomObjectsApi);
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  return async (quota, status) => {
    await api.patchNamespacedCustomObjectStatus(
      { group: GROUP, version: VERSION, plural: 'workspacequotas', namespace: quota.metadata.namespace ?? 'default', name: quota.metadata.name, body: { status } },
      mergePatch,
    );
  };
}

/**
 * Keeps `WorkspaceQuota.status` (hard, used, summary, phase, QuotaExceeded) equal to what the tracked
 * placements charge. Usage is never read back from status: status is an output, recomputed from the
 * watch, so drift (restarts, missed writes, hand edits) is repaired on the next touch.
 */
export function createQuotaStatusWriter(options: QuotaStatusWriterOptions): QuotaStatusWriter {
  const { state, patch, clock, log } = options;
  const debounceMs = options.debounceMs ?? 200;
  const dirty = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const writeOne = async (key: string): Promise<void> => {
    const quota = state.quotaObject(key);
    if (!quota) return;
    const desired = desiredQuotaStatus(quota, state.used(key), new Date(clock()).toISOString());
    if (quotaStatusCurrent(quota, desired)) return;
    try {
      await patch(quota, desired);
      log.debug({ quota: key, used: desired.used, phase: desired.phase }, 'quota status written');
    } catch (error) {
      // The next event or resync touches it again; a deleted quota simply stops being tracked.
      log.warn({ quota: key, err: error }, 'quota status write failed');
    }
  };

  const flush = (): Promise<void> => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    const keys = [...dirty];
    dirty.clear();
    running = running.then(async () => {
      for (const key of keys) await writeOne(key);
    });
    return running;
  };

  const schedule = (): void => {
    timer ??= setTimeout(() => void flush(), debounceMs);
  };

  const touch = (key: string): void => {
    dirty.add(key);
    schedule();
  };

  return {
    touch,
    touchWorkspace: (workspace) => {
      for (const quota of state.quotas(workspace)) touch(quota.key);
    },
    touchAll: () => {
      for (const key of state.keys('WorkspaceQuota')) touch(key);
    },
    flush,
    stop: () => {
      if (timer) clearTimeout(timer);
      timer = undefined;
      dirty.clear();
    },
  };
}
