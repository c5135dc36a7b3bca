import { z } from 'zod';
import { mustParse, type ResourceList } from '../quantity/index.js';
import { atMost, chargeListField, conditionsField, durationField, objectMetaField, resourceListField, timestampField, uniqueBy } from './fields.js';
import { MAX_CLUSTERS, MAX_NAME_LENGTH, MAX_SELECTOR_TERMS, MAX_SELECTOR_VALUES, MAX_SHARES } from './limits.js';

export const GROUP = 'tmc.kcp.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

/** SPEC §2: what a placement consumes per cluster when it does not say. */
export const DEFAULT_REQUIREMENTS: ResourceList = Object.freeze({
  cpu: mustParse('100m'),
  memory: mustParse('128Mi'),
  storage: mustParse('0'),
});

const kindOf = <K extends string>(kind: K) => ({
  apiVersion: z.literal(API_VERSION),
  kind: z.literal(kind),
});

export const conflictStrategies = ['UseNewest', 'UseOldest', 'Priority', 'Manual'] as const;
export type ConflictStrategy = (typeof conflictStrategies)[number];

/** A SyncTarget name as a placement names it. */
const clusterName = z.string().min(1).max(MAX_NAME_LENGTH);

const clusterStatusField = z.object({
  cluster: clusterName,
  phase: z.string().default(''),
  observedGeneration: z.number().int().optional(),
  lastUpdated: timestampField.optional(),
  message: z.string().default(''),
});

export const workloadPlacementSchema = z.object({
  ...kindOf('WorkloadPlacement'),
  metadata: objectMetaField,
  spec: z
    .object({
      resourceRequirements: resourceListField
        .optional()
        .transform((given): ResourceList => Object.freeze({ ...DEFAULT_REQUIREMENTS, ...given })),
      targetClusters: atMost(MAX_CLUSTERS, 'clusters', z.array(z.object({ name: clusterName })).superRefine(uniqueBy((cluster) => cluster.name, 'cluster'))).default([]),
      priority: z.number().int().default(0),
      conflictStrategy: z.enum(conflictStrategies).default('UseNewest'),
    })
    .prefault({}),
  status: z
    .object({
      phase: z.enum(['Pending', 'Placed', 'Evicted']).optional(),
      selectedClusters: atMost(MAX_CLUSTERS, 'clusters', z.array(clusterName).superRefine(uniqueBy((cluster) => cluster, 'cluster'))).default([]),
      clusterStatuses: atMost(MAX_CLUSTERS, 'cluster statuses', z.array(clusterStatusField).superRefine(uniqueBy((entry) => entry.cluster, 'cluster'))).default([]),
      aggregatedStatus: z.record(z.string(), z.unknown()).optional(),
      conditions: conditionsField,
    })
    .prefault({}),
});

export type WorkloadPlacement = z.output<typeof workloadPlacementSchema>;

export const syncTargetSchema = z.object({
  ...kindOf('SyncTarget'),
  metadata: objectMetaField,
  spec: z
    .object({
      location: z.string().default(''),
      unschedulable: z.boolean().default(false),
      heartbeatInterval: durationField.default({ text: '20s', ms: 20_000 }),
    })
    .prefault({}),
  status: z
    .object({
      capacity: resourceListField.default({}),
      allocatable: resourceListField.optional(),
      used: resourceListField.optional(),
      nodeSummary: z.object({ total: z.number().int().min(0).optional(), ready: z.number().int().min(0).optional() }).optional(),
      lastHeartbeatTime: timestampField.optional(),
      conditions: conditionsField,
    })
    .prefault({})
    // allocatable defaults to capacity (SPEC §2)
    .transform((status) => ({ ...status, allocatable: status.allocatable ?? status.capacity })),
});

export type SyncTarget = z.output<typeof syncTargetSchema>;

const selectorOperators = ['In', 'NotIn', 'Exists', 'DoesNotExist'] as const;

export const labelSelectorField = z
  .object({
    matchLabels: atMost(MAX_SELECTOR_TERMS, 'labels', z.record(z.string(), z.string())).default({}),
    matchExpressions: atMost(
      MAX_SELECTOR_TERMS,
      'expressions',
      z.array(
        z.object({
          key: z.string().min(1),
          operator: z.enum(selectorOperators),
          values: atMost(MAX_SELECTOR_VALUES, 'values', z.array(z.string())).default([]),
        }),
      ),
    ).default([]),
  })
  .superRefine((selector, ctx) => {
    selector.matchExpressions.forEach((expr, i) => {
      const needsValues = expr.operator === 'In' || expr.operator === 'NotIn';
      if (needsValues !== expr.values.length > 0) {
        const rule = needsValues ? 'must be non-empty' : 'must be empty';
        ctx.addIssue({ code: 'custom', path: ['matchExpressions', i, 'values'], message: `${rule} for operator ${expr.operator}` });
      }
    });
  });

export type LabelSelector = z.output<typeof labelSelectorField>;

/**
 * An admission's hold on a quota until the service's tracker counts the placement in `status.used`
 * (docs/consistency.md): written by compare-and-swap, so replicas agree on it.
 */
export const quotaReservationField = z.object({
  /** The AdmissionRequest uid: a retried review replaces its own reservation. */
  request: z.string().min(1),
  /** `<workspace>/<name>` of the placement. */
  placement: z.string().min(1),
  /** The placement object's uid when the request carried one (a CREATE does). */
  uid: z.string().optional(),
  /** Settled once the tracked placement has this generation or a later one. */
  minGeneration: z.number().int().min(1),
  charge: chargeListField,
  expires: timestampField,
  /**
   * Set on a charge written after its answer (docs/consistency.md, "Recording after the answer"):
   * the `usedAsOf` of the object it was written to. Until a settlement has seen it (and dropped
   * this field), `used` may count its placement too.
   */
  after: z.string().max(64).optional(),
});

export type QuotaReservation = z.output<typeof quotaReservationField>;

/**
 * A list of reservations, as the CRD has it (`x-kubernetes-list-type: atomic`): a request listed
 * twice is accepted, as the API server accepts it. It is counted twice, which only over-counts, and
 * every write that drops a request (settled, expired, given back) drops each of its entries.
 */
const reservationsField = z.array(quotaReservationField).default([]);

/**
 * A replica's share of a quota's headroom (docs/consistency.md, "Shares"): claimed by
 * compare-and-swap, spent by its owner alone with JSON patches guarded by `epoch`, which any other
 * writer changes when it takes `available` back.
 */
export const quotaShareField = z.object({
  epoch: z.string().min(1).max(64),
  /** The quota's metadata.generation it was granted under: a changed spec makes it stale. */
  generation: z.number().int().min(0),
  /** Headroom the owner may still admit from. */
  available: chargeListField,
  /** Renewed by each of the owner's writes; past it any writer takes `available` back. */
  expires: timestampField,
  /** The owning process (a random id per start): a restarted replica never spends its predecessor's share. */
  instance: z.string().max(64).default(''),
  /** Counts the owner's records: every settling patch tests it, so it applies only to what it has seen. */
  records: z.number().int().min(0).default(0),
  /** Another writer needs the headroom: the owner records what it admitted and gives the rest back. */
  recalled: z.boolean().default(false),
  /** What the owner admitted from the share and the status writer has not counted in `used` yet. */
  reservations: reservationsField,
});

export type QuotaShare = z.output<typeof quotaShareField>;

/** SPEC §6: Hard evicts what is over its limits, Soft only marks it. */
export const enforcementModes = ['Soft', 'Hard'] as const;
export type EnforcementMode = (typeof enforcementModes)[number];

export const workspaceQuotaSchema = z.object({
  ...kindOf('WorkspaceQuota'),
  metadata: objectMetaField,
  spec: z
    .object({
      hard: resourceListField.default({}),
      soft: resourceListField.default({}),
      scopeSelector: labelSelectorField.optional(),
      /** SPEC §6. No default here: absent means the service's `enforcement.defaultMode`, which config owns. */
      enforcementMode: z.enum(enforcementModes).optional(),
    })
    .prefault({}),
  status: z
    .object({
      hard: resourceListField.optional(),
      used: resourceListField.optional(),
      /** `<used>/<hard>` per resource, for the printer columns. */
      summary: z.record(z.string(), z.string()).optional(),
      phase: z.enum(['Active', 'Exceeded']).optional(),
      conditions: conditionsField,
      reservations: reservationsField,
      /** The WorkloadPlacement resourceVersion whose view `used` was computed from. */
      usedAsOf: z.string().optional(),
      /** Counts the compare-and-swap rounds that wrote reservations: a settling patch tests it, so it applies only to what it has seen. */
      rounds: z.number().int().min(0).optional(),
      /** Per replica (its identity): a share of the headroom it admits from without contention. */
      shares: atMost(MAX_SHARES, 'shares', z.record(z.string().min(1).max(MAX_NAME_LENGTH), quotaShareField)).default({}),
    })
    .prefault({}),
});

export type WorkspaceQuota = z.output<typeof workspaceQuotaSchema>;

export const trackedKinds = {
  WorkloadPlacement: workloadPlacementSchema,
  SyncTarget: syncTargetSchema,
  WorkspaceQuota: workspaceQuotaSchema,
} as const;

export type TrackedKind = keyof typeof trackedKinds;

/** Own names only: a document's `kind: constructor` names no kind of ours. */
export const isTrackedKind = (name: string): name is TrackedKind => Object.hasOwn(trackedKinds, name);

/** A parsed object of one of the three kinds the service tracks. */
export type TrackedObject =
  | { kind: 'SyncTarget'; object: SyncTarget }
  | { kind: 'WorkspaceQuota'; object: WorkspaceQuota }
  | { kind: 'WorkloadPlacement'; object: WorkloadPlacement };
