import { ApiException } from '@kubernetes/client-node';
import type { QuotaRef, QuotaStatusApi } from '../../src/consistency/quota-store.js';
import type { Manifest } from './objects.js';

/**
 * One WorkspaceQuota held as the API server holds it: a resourceVersion that moves on every write,
 * merge patches of status applied only when their resourceVersion matches (409 otherwise).
 * `beforeWrite` runs before each patch is judged: a test uses it to act as a competing writer.
 */
export class FakeQuotaApi implements QuotaStatusApi {
  object: Manifest & { metadata: Record<string, unknown>; status?: Record<string, unknown> };
  version = 1;
  patches = 0;
  conflicts = 0;
  beforeWrite: ((api: FakeQuotaApi) => void) | undefined;
  /**
   * The next write hangs until its signal aborts, as a stopped API server: `unapplied` never lands,
   * `applied` lands but its answer never comes back. Then writes answer normally again.
   */
  stallNext: 'unapplied' | 'applied' | undefined;

  constructor(manifest: Manifest) {
    this.object = structuredClone(manifest) as FakeQuotaApi['object'];
    this.object.metadata.resourceVersion = String(this.version);
  }

  /** A write from elsewhere (another replica, a person): status keys replaced, version moved. */
  write(status: Record<string, unknown>): void {
    this.object.status = { ...this.object.status, ...structuredClone(status) };
    this.version += 1;
    this.object.metadata.resourceVersion = String(this.version);
  }

  get(): Promise<unknown> {
    return Promise.resolve(structuredClone(this.object));
  }

  async patchStatus(_ref: QuotaRef, resourceVersion: string, status: object, signal: AbortSignal): Promise<unknown> {
    await Promise.resolve(); // answers on a later turn, as a network call would
    this.patches += 1;
    this.beforeWrite?.(this);
    const stall = this.stallNext;
    this.stallNext = undefined;
    if (stall === 'unapplied') return aborted(signal);
    if (resourceVersion !== this.object.metadata.resourceVersion) {
      this.conflicts += 1;
      throw new ApiException(409, 'Conflict', { reason: 'Conflict' }, {});
    }
    this.write(status as Record<string, unknown>);
    if (stall === 'applied') return aborted(signal);
    return structuredClone(this.object);
  }

  reservations(): { request: string; charge: Record<string, string> }[] {
    return (this.object.status?.reservations ?? []) as { request: string; charge: Record<string, string> }[];
  }
}

/** Rejects when `signal` aborts, as a request cut off by its timeout. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason as Error);
    signal.addEventListener('abort', () => reject(signal.reason as Error), { once: true });
  });
}
