import { ApiException } from '@kubernetes/client-node';
import type { QuotaStatusApi } from '../../src/consistency/quota-store.js';
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

  async patchStatus(_namespace: string, _name: string, resourceVersion: string, status: object): Promise<unknown> {
    await Promise.resolve(); // answers on a later turn, as a network call would
    this.patches += 1;
    this.beforeWrite?.(this);
    if (resourceVersion !== this.object.metadata.resourceVersion) {
      this.conflicts += 1;
      throw new ApiException(409, 'Conflict', { reason: 'Conflict' }, {});
    }
    this.write(status as Record<string, unknown>);
    return structuredClone(this.object);
  }

  reservations(): { request: string; charge: Record<string, string> }[] {
    return (this.object.status?.reservations ?? []) as { request: string; charge: Record<string, string> }[];
  }
}
