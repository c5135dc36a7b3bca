import { ApiException } from '@kubernetes/client-node';
import type { QuotaRef, QuotaStatusApi } from '../../src/consistency/quota-store.js';
import type { JsonPatchOperation } from '../../src/core/quota-shares.js';
import type { Manifest } from './objects.js';

/**
 * One WorkspaceQuota held as the API server holds it: a resourceVersion that moves on every write,
 * merge patches (RFC 7386) of status applied only when their resourceVersion matches (409
 * otherwise), JSON patches (RFC 6902) applied to the newest object unless a `test` fails (422).
 * `beforeWrite` runs before each patch is judged: a test uses it to act as a competing writer.
 */
export class FakeQuotaApi implements QuotaStatusApi {
  object: Manifest & { metadata: Record<string, unknown>; status?: Record<string, unknown> };
  version = 1;
  patches = 0;
  conflicts = 0;
  /** JSON patches applied, and those refused because a `test` failed. */
  jsonPatches = 0;
  failedTests = 0;
  beforeWrite: ((api: FakeQuotaApi) => void) | undefined;
  /**
   * The next write hangs until its signal aborts, as a stopped API server: `unapplied` never lands,
   * `applied` lands but its answer never comes back. Then writes answer normally again.
   */
  stallNext: 'unapplied' | 'applied' | undefined;
  /** Every call, reads included, hangs until its signal aborts while this is set, as a SIGSTOPped API server; nothing lands. */
  stopped = false;
  /** Watchers: each gets a copy of the object after every change, on a later turn, as a watch delivers it. */
  readonly watchers: ((object: unknown) => void)[] = [];

  constructor(manifest: Manifest) {
    this.object = structuredClone(manifest) as FakeQuotaApi['object'];
    this.object.metadata.resourceVersion = String(this.version);
    this.object.metadata.generation ??= 1; // as the API server sets it on create
  }

  /** A write from elsewhere (another replica, a person): status merge-patched, version moved. */
  write(status: Record<string, unknown>): void {
    this.object.status = mergePatch(this.object.status ?? {}, structuredClone(status)) as Record<string, unknown>;
    this.bump();
  }

  private bump(): void {
    this.version += 1;
    this.object.metadata.resourceVersion = String(this.version);
    const copy = structuredClone(this.object);
    for (const watcher of this.watchers) setImmediate(() => watcher(copy));
  }

  get(_ref: QuotaRef, signal: AbortSignal): Promise<unknown> {
    if (this.stopped) return aborted(signal);
    return Promise.resolve(structuredClone(this.object));
  }

  async patchStatus(_ref: QuotaRef, resourceVersion: string, status: object, signal: AbortSignal): Promise<unknown> {
    await Promise.resolve(); // answers on a later turn, as a network call would
    if (this.stopped) return aborted(signal);
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

  async jsonPatchStatus(_ref: QuotaRef, operations: readonly JsonPatchOperation[], signal: AbortSignal): Promise<unknown> {
    await Promise.resolve();
    if (this.stopped) return aborted(signal);
    this.beforeWrite?.(this);
    const stall = this.stallNext;
    this.stallNext = undefined;
    if (stall === 'unapplied') return aborted(signal);
    const patched = structuredClone(this.object) as unknown;
    for (const operation of operations) {
      if (!applyOperation(patched, operation)) {
        this.failedTests += 1;
        throw new ApiException(422, 'Unprocessable Entity', { reason: 'Invalid', message: `test of ${operation.path} failed` }, {});
      }
    }
    this.jsonPatches += 1;
    this.object = patched as FakeQuotaApi['object'];
    this.bump();
    if (stall === 'applied') return aborted(signal);
    return structuredClone(this.object);
  }

  /** Every reservation the object holds: the shared list's and each share's. */
  allReservations(): { request: string; charge: Record<string, string> }[] {
    const shares = (this.object.status?.shares ?? {}) as Record<string, { reservations: { request: string; charge: Record<string, string> }[] }>;
    return [...this.reservations(), ...Object.values(shares).flatMap((share) => share.reservations)];
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

/** RFC 7386: objects merge key by key, null removes, anything else replaces. */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== 'object' || patch === null || Array.isArray(patch)) return patch;
  const merged: Record<string, unknown> = typeof target === 'object' && target !== null && !Array.isArray(target) ? { ...(target as Record<string, unknown>) } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete merged[key];
    else merged[key] = mergePatch(merged[key], value);
  }
  return merged;
}

/** One RFC 6902 operation on `document` in place (test, replace, add, remove; `-` appends); false when it cannot apply. */
function applyOperation(document: unknown, { op, path, value }: JsonPatchOperation): boolean {
  const segments = path.split('/').slice(1).map((segment) => segment.replaceAll('~1', '/').replaceAll('~0', '~'));
  const last = segments.pop()!;
  let parent = document as Record<string, unknown>;
  for (const segment of segments) {
    const next = parent?.[segment];
    if (typeof next !== 'object' || next === null) return false;
    parent = next as Record<string, unknown>;
  }
  if (Array.isArray(parent) && op === 'add') {
    if (last === '-') parent.push(structuredClone(value));
    else parent.splice(Number(last), 0, structuredClone(value));
    return true;
  }
  if (Array.isArray(parent) && op === 'remove') {
    if (!/^\d+$/.test(last) || Number(last) >= parent.length) return false;
    parent.splice(Number(last), 1);
    return true;
  }
  if (op === 'remove') {
    if (!Object.hasOwn(parent, last)) return false;
    delete parent[last];
    return true;
  }
  if (op === 'test') return Object.hasOwn(parent, last) && canonical(parent[last]) === canonical(value);
  if (op === 'replace' && !Object.hasOwn(parent, last)) return false;
  parent[last] = structuredClone(value);
  return true;
}

/** JSON with keys sorted: RFC 6902 `test` compares values, not key order (nor which realm built them). */
function canonical(value: unknown): string {
  if (typeof value !== 'object' || value === null) return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, item]) => `${JSON.stringify(key)}:${canonical(item)}`).join(',')}}`;
}
