import { admissionReviewSchema, type AdmissionRequest } from '../api/admission-review.js';
import { describeIssues } from '../api/errors.js';
import { MAX_CLUSTERS, MAX_CONDITIONS, MAX_RESOURCES } from '../api/limits.js';

/** A body decoded: the AdmissionRequest, or the HTTP error it gets (the API server's failurePolicy applies). */
export type Decoded = { readonly ok: true; readonly request: AdmissionRequest } | { readonly ok: false; readonly status: 400; readonly message: string };

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The first `max + 1` entries: enough for the schema's count check (api/limits) to say the same "at most max". */
function firstOf(value: unknown, max: number): unknown {
  if (Array.isArray(value)) return value.length > max + 1 ? value.slice(0, max + 1) : value;
  if (!isObject(value)) return value;
  const keys = Object.keys(value);
  return keys.length > max + 1 ? Object.fromEntries(keys.slice(0, max + 1).map((key) => [key, value[key]])) : value;
}

function pick(value: unknown, keys: readonly string[], limits: Readonly<Record<string, number>> = {}): unknown {
  if (!isObject(value)) return value;
  const kept: Json = {};
  for (const key of keys) if (Object.hasOwn(value, key)) kept[key] = Object.hasOwn(limits, key) ? firstOf(value[key], limits[key] as number) : value[key];
  return kept;
}

const KCP_CLUSTER = 'kcp.io/cluster';

/**
 * What a decision reads of a placement, and no more: the fields the schema parses (others it would
 * drop anyway), lists and maps with a size limit cut to one entry past it (the schema refuses them
 * with the same words), annotations but the workspace one left out, managedFields and the
 * last-applied copy with them. Parsing the result gives the same verdict as parsing the original;
 * it is what an offloaded decode sends back to the event loop.
 */
export function forDecision(object: unknown): unknown {
  if (!isObject(object)) return object;
  const metadata = pick(object.metadata, ['name', 'namespace', 'uid', 'generation', 'resourceVersion', 'creationTimestamp', 'labels', 'annotations']);
  if (isObject(metadata) && isObject(metadata.annotations)) {
    metadata.annotations = Object.hasOwn(metadata.annotations, KCP_CLUSTER) ? { [KCP_CLUSTER]: metadata.annotations[KCP_CLUSTER] } : {};
  }
  return {
    ...(pick(object, ['apiVersion', 'kind']) as Json),
    ...(object.metadata === undefined ? {} : { metadata }),
    ...(object.spec === undefined ? {} : { spec: pick(object.spec, ['resourceRequirements', 'targetClusters', 'priority', 'conflictStrategy'], { resourceRequirements: MAX_RESOURCES, targetClusters: MAX_CLUSTERS }) }),
    ...(object.status === undefined
      ? {}
      : { status: pick(object.status, ['phase', 'selectedClusters', 'clusterStatuses', 'aggregatedStatus', 'conditions'], { selectedClusters: MAX_CLUSTERS, clusterStatuses: MAX_CLUSTERS, conditions: MAX_CONDITIONS }) }),
  };
}

/**
 * JSON, then the AdmissionReview envelope. With `trim`, the objects are cut to what a decision reads
 * ({@link forDecision}): for a decode off the event loop, whose result is copied back to it.
 */
export function decodeReview(body: Uint8Array, { trim = false } = {}): Decoded {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(body.buffer, body.byteOffset, body.byteLength).toString('utf8'));
  } catch (error) {
    return { ok: false, status: 400, message: `body is not JSON: ${(error as Error).message}` };
  }
  const parsed = admissionReviewSchema.safeParse(json);
  if (!parsed.success) return { ok: false, status: 400, message: `not an AdmissionReview admission.k8s.io/v1: ${describeIssues(parsed.error)}` };
  const { request } = parsed.data;
  if (!trim) return { ok: true, request };
  return { ok: true, request: { ...request, object: forDecision(request.object), oldObject: forDecision(request.oldObject) } };
}
