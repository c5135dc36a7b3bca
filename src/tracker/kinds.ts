import { z } from 'zod';
import { describeIssues } from '../api/errors.js';
import { API_VERSION, GROUP, VERSION, type TrackedKind, type TrackedObject } from '../api/resources.js';
import { parseTrackedObject } from '../api/tracked-parse.js';
import { objectKey } from '../core/workspace.js';

/** What the tracker needs to know to list and watch one kind. */
export interface KindInfo {
  readonly kind: TrackedKind;
  readonly plural: string;
}

/** The three kinds, each listed and watched across all namespaces (SyncTargets are cluster-scoped). */
export const TRACKED_KINDS: readonly KindInfo[] = [
  { kind: 'SyncTarget', plural: 'synctargets' },
  { kind: 'WorkspaceQuota', plural: 'workspacequotas' },
  { kind: 'WorkloadPlacement', plural: 'workloadplacements' },
];

/** `/apis/tmc.kcp.io/v1alpha1/<plural>`: the collection across every namespace. */
export const collectionPath = (info: KindInfo): string => `/apis/${GROUP}/${VERSION}/${info.plural}`;

export type ParsedObject =
  | { readonly ok: true; readonly key: string; readonly tracked: TrackedObject }
  | { readonly ok: false; readonly key: string | undefined; readonly issues: string };

// Just enough of the metadata to name an object, read leniently: a DELETED event for an object the
// schema refuses must still remove what the tracker holds under that name.
const namingMetadata = z.object({
  metadata: z.object({
    name: z.string().min(1),
    namespace: z.string().optional(),
    annotations: z.record(z.string(), z.string()).catch({}).default({}),
  }),
});

/** The key the tracker files an object under (see `trackedKey`), from its metadata alone. */
export function keyOf(kind: TrackedKind, raw: unknown): string | undefined {
  const parsed = namingMetadata.safeParse(raw);
  if (!parsed.success) return undefined;
  return kind === 'SyncTarget' ? parsed.data.metadata.name : objectKey(parsed.data.metadata);
}

// List items and watch events of custom resources carry apiVersion and kind; fill them in when a
// server leaves them out so the schemas' literals judge the content, not the envelope.
function withTypeMeta(kind: TrackedKind, raw: unknown): unknown {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) ? { apiVersion: API_VERSION, kind, ...raw } : raw;
}

/** Parses an object of one kind with that kind's schema; a refusal names every field at fault. */
export function parseObject(kind: TrackedKind, raw: unknown): ParsedObject {
  const key = keyOf(kind, raw);
  const result = parseTrackedObject(kind, withTypeMeta(kind, raw));
  if (!result.success) return { ok: false, key, issues: describeIssues(result.error) };
  if (key === undefined) return { ok: false, key, issues: `metadata.name: a ${kind} needs a name` };
  return { ok: true, key, tracked: result.tracked };
}
