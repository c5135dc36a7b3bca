import { API_VERSION, syncTargetSchema, workloadPlacementSchema, workspaceQuotaSchema } from '../../src/api/resources.js';
import type { SyncTarget, WorkloadPlacement, WorkspaceQuota } from '../../src/api/resources.js';
import { TrackedState } from '../../src/state/tracked-state.js';

type Quantities = Record<string, string | number>;
export type Manifest = Record<string, unknown>;

/** The clock every builder and decision in unit tests agrees on. */
export const NOW = Date.parse('2026-11-23T12:00:00Z');
export const ago = (ms: number): string => new Date(NOW - ms).toISOString();

export interface PlacementOptions {
  namespace?: string;
  requirements?: Quantities;
  clusters?: string[];
  selected?: string[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  priority?: number;
  phase?: 'Pending' | 'Placed' | 'Evicted';
  uid?: string;
}

/** A WorkloadPlacement manifest as the API server would send it. */
export function aPlacement(name: string, options: PlacementOptions = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'WorkloadPlacement',
    metadata: {
      name,
      namespace: options.namespace ?? 'team-a',
      uid: options.uid ?? `uid-${name}`,
      labels: options.labels ?? {},
      annotations: options.annotations ?? {},
    },
    spec: {
      ...(options.requirements ? { resourceRequirements: options.requirements } : {}),
      targetClusters: (options.clusters ?? []).map((cluster) => ({ name: cluster })),
      priority: options.priority ?? 0,
    },
    status: {
      ...(options.phase ? { phase: options.phase } : {}),
      selectedClusters: options.selected ?? [],
    },
  };
}

export interface SyncTargetOptions {
  capacity?: Quantities;
  allocatable?: Quantities;
  ready?: boolean;
  heartbeatAgoMs?: number | null;
  heartbeatInterval?: string;
  unschedulable?: boolean;
  location?: string;
}

/** A SyncTarget manifest: Ready, heartbeat 5 s before NOW, 8 cpu / 16Gi / 100Gi unless told. */
export function aSyncTarget(name: string, options: SyncTargetOptions = {}): Manifest {
  const heartbeatAgoMs = options.heartbeatAgoMs === undefined ? 5_000 : options.heartbeatAgoMs;
  return {
    apiVersion: API_VERSION,
    kind: 'SyncTarget',
    metadata: { name },
    spec: {
      location: options.location ?? 'us-east',
      unschedulable: options.unschedulable ?? false,
      heartbeatInterval: options.heartbeatInterval ?? '20s',
    },
    status: {
      capacity: options.capacity ?? { cpu: '8', memory: '16Gi', storage: '100Gi' },
      ...(options.allocatable ? { allocatable: options.allocatable } : {}),
      ...(heartbeatAgoMs === null ? {} : { lastHeartbeatTime: ago(heartbeatAgoMs) }),
      conditions: [
        {
          type: 'Ready',
          status: options.ready === false ? 'False' : 'True',
          reason: options.ready === false ? 'SyncerDown' : 'Ready',
          message: '',
          lastTransitionTime: ago(3_600_000),
        },
      ],
    },
  };
}

export interface QuotaOptions {
  namespace?: string;
  hard?: Quantities;
  soft?: Quantities;
  scope?: Record<string, unknown>;
  annotations?: Record<string, string>;
}

/** A WorkspaceQuota manifest in team-a unless told. */
export function aQuota(name: string, options: QuotaOptions = {}): Manifest {
  return {
    apiVersion: API_VERSION,
    kind: 'WorkspaceQuota',
    metadata: { name, namespace: options.namespace ?? 'team-a', annotations: options.annotations ?? {} },
    spec: {
      hard: options.hard ?? {},
      ...(options.soft ? { soft: options.soft } : {}),
      ...(options.scope ? { scopeSelector: options.scope } : {}),
    },
  };
}

export const placement = (manifest: Manifest): WorkloadPlacement => workloadPlacementSchema.parse(manifest);
export const syncTarget = (manifest: Manifest): SyncTarget => syncTargetSchema.parse(manifest);
export const quota = (manifest: Manifest): WorkspaceQuota => workspaceQuotaSchema.parse(manifest);

/** A TrackedState holding these manifests, each parsed as the tracker would. */
export function stateOf(...manifests: Manifest[]): TrackedState {
  const state = new TrackedState();
  for (const manifest of manifests) addManifest(state, manifest);
  return state;
}

/** Parses one manifest by its kind's schema, as the tracker would, and upserts it. */
export function addManifest(state: TrackedState, manifest: Manifest): void {
  if (manifest.kind === 'SyncTarget') state.upsertSyncTarget(syncTarget(manifest));
  else if (manifest.kind === 'WorkspaceQuota') state.upsertQuota(quota(manifest));
  else state.upsertPlacement(placement(manifest));
}

export interface ReviewOptions {
  uid?: string;
  operation?: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  object?: Manifest;
  oldObject?: Manifest;
  dryRun?: boolean;
  subResource?: string;
  kind?: { group: string; version: string; kind: string };
}

/** An AdmissionReview admission.k8s.io/v1 request as the API server sends it for a WorkloadPlacement. */
export function anAdmissionReview(options: ReviewOptions = {}): Manifest {
  const object = options.object;
  const metadata = (object?.metadata ?? options.oldObject?.metadata ?? {}) as { name?: string; namespace?: string };
  return {
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: {
      uid: options.uid ?? 'req-1',
      kind: options.kind ?? { group: 'tmc.kcp.io', version: 'v1alpha1', kind: 'WorkloadPlacement' },
      resource: { group: 'tmc.kcp.io', version: 'v1alpha1', resource: 'workloadplacements' },
      ...(options.subResource ? { subResource: options.subResource } : {}),
      name: metadata.name,
      namespace: metadata.namespace,
      operation: options.operation ?? 'CREATE',
      userInfo: { username: 'alice' },
      object: object ?? null,
      oldObject: options.oldObject ?? null,
      dryRun: options.dryRun ?? false,
    },
  };
}
