import { describeIssues } from '../api/errors.js';
import { parsePlacement } from '../api/placement-decoding.js';
import { GROUP, type WorkloadPlacement } from '../api/resources.js';
import type { DecisionConfig } from '../api/config.js';
import { mask, subLists, type ResourceList } from '../quantity/index.js';
import { clusterConsumption, placementClusters, quotaCharge } from './charging.js';
import { clusterViolation, positiveResources, quotaCheck, type ClusterDemand, type Violation } from './fit.js';
import { denialMessage, softLimitWarning } from './messages.js';
import { clustersWithRoom } from './room.js';
import { selectorMatches } from './selector.js';
import { applicableQuotas } from './quotas.js';
import type { QuotaLimits, StateView } from './view.js';
import { objectKey, workspaceKey } from './workspace.js';

/** The parts of an AdmissionRequest a decision reads. */
export interface Review {
  readonly operation: string;
  readonly kind?: { readonly group: string; readonly kind: string } | undefined;
  readonly subResource?: string | undefined;
  readonly object?: unknown;
  readonly oldObject?: unknown;
}

/** What an admitted request adds, per quota and per cluster: what a reservation has to hold. */
export interface Demand {
  /** `<workspace>/<name>` of the placement. */
  readonly key: string;
  /** The object's uid, when the request carries it (the API server sets it before validating a CREATE). */
  readonly uid?: string | undefined;
  /** The first generation of the object that includes this change (1 for a CREATE). */
  readonly minGeneration: number;
  readonly quotas: readonly { readonly key: string; readonly requested: ResourceList }[];
  readonly clusters: readonly { readonly cluster: string; readonly requested: ResourceList }[];
}

/** Why a write was refused, in one word for metrics: the first violation a person would fix. */
export type DenialCause = 'quota' | 'capacity' | 'cluster_not_ready' | 'cluster_unschedulable' | 'unknown_cluster' | 'invalid';

/** One answered review, for metrics: `not_ready` is the fail-closed refusal before the tracker synced. */
export type ReviewOutcome =
  | { readonly operation: string; readonly decision: 'allowed' | 'error'; readonly seconds: number }
  | { readonly operation: string; readonly decision: 'denied'; readonly reason: DenialCause | 'not_ready'; readonly seconds: number };

const CAUSE_OF_VIOLATION: Readonly<Record<Violation['kind'], DenialCause>> = {
  quota: 'quota',
  'unknown-cluster': 'unknown_cluster',
  'cluster-not-ready': 'cluster_not_ready',
  'cluster-unschedulable': 'cluster_unschedulable',
  'cluster-capacity': 'capacity',
};

export type Decision =
  | { readonly allowed: true; readonly warnings: readonly string[]; readonly demand?: Demand }
  | {
      readonly allowed: false;
      readonly cause: DenialCause;
      readonly code: 403 | 422;
      readonly reason: 'Forbidden' | 'Invalid';
      readonly message: string;
      readonly warnings: readonly string[];
    };

const UNTOUCHED: Decision = { allowed: true, warnings: [] };
const NO_CLUSTERS: ReadonlySet<string> = new Set();

const positivePart = (list: ResourceList): ResourceList => mask(list, positiveResources(list));

function isPlacementWrite(review: Review): boolean {
  if (review.kind && (review.kind.group !== GROUP || review.kind.kind !== 'WorkloadPlacement')) return false;
  if (review.subResource) return false; // status (and any other subresource) writes change no charge
  return review.operation === 'CREATE' || review.operation === 'UPDATE';
}

/** The old object of an UPDATE; an unreadable one counts as nothing, so the update is judged as a create. */
function previous(review: Review): WorkloadPlacement | undefined {
  if (review.operation !== 'UPDATE') return undefined;
  const parsed = parsePlacement(review.oldObject);
  return parsed.success ? parsed.data : undefined;
}

/** Whether the old object was charged under the quota: same workspace, and labels the quota's scope selects. */
function chargedBefore(quota: QuotaLimits, old: WorkloadPlacement, workspace: string): boolean {
  return workspaceKey(old.metadata) === workspace && selectorMatches(quota.scopeSelector, old.metadata.labels);
}

/**
 * What a write adds to a quota: the growth of the placement's charge under it. The new object always
 * falls under every applicable quota (same workspace and labels); the old one only when its own
 * workspace and labels put it there, so there are just two possible answers, each computed once.
 */
function quotaDemands(view: StateView, next: WorkloadPlacement, old: WorkloadPlacement | undefined, config: DecisionConfig) {
  const workspace = workspaceKey(next.metadata);
  const charge = quotaCharge(next, placementClusters(next).length);
  const whole = positivePart(charge);
  const overOld = old && positivePart(subLists(charge, quotaCharge(old, placementClusters(old).length)));
  return applicableQuotas(view, workspace, next.metadata.labels, config).map((quota) => ({
    quota,
    requested: old && overOld && chargedBefore(quota, old, workspace) ? overOld : whole,
  }));
}

/**
 * Per cluster of the new object: the whole requirements where it is new, the growth where it was
 * already. A cluster new to the placement is always checked (it must exist, be Ready and
 * schedulable, SPEC §4), also when the placement requires nothing there.
 */
function clusterDemands(next: WorkloadPlacement, old: WorkloadPlacement | undefined): ClusterDemand[] {
  const before: ReadonlySet<string> = old ? new Set(placementClusters(old)) : NO_CLUSTERS;
  const whole = positivePart(clusterConsumption(next));
  const growth = old ? positivePart(subLists(clusterConsumption(next), clusterConsumption(old))) : whole;
  return placementClusters(next)
    .map((cluster) => (before.has(cluster) ? { cluster, requested: growth, isNew: false } : { cluster, requested: whole, isNew: true }))
    .filter((demand) => demand.isNew || Object.keys(demand.requested).length > 0);
}

function invalid(issues: string): Decision {
  return { allowed: false, cause: 'invalid', code: 422, reason: 'Invalid', message: `invalid WorkloadPlacement: ${issues}`, warnings: [] };
}

/**
 * Admission of one WorkloadPlacement write (SPEC §4). Pure: reads the state view and the clock value
 * it is given, and returns the decision with the demand an admission would reserve.
 *
 * 1. Other kinds, other operations and subresource writes are allowed untouched.
 * 2. A malformed object is refused with 422, naming the field.
 * 3. Each applicable quota is charged the growth of this placement's charge under it
 *    (a CREATE grows by the whole charge; an UPDATE by new − old, so shrinking is always allowed).
 * 4. Each cluster the placement newly lands on, or grows on, must exist, be Ready, be schedulable
 *    (new only) and have room under its overcommit-adjusted allocatable.
 * 5. Every violation is named; cluster violations add the clusters that have room.
 * 6. An admission that crosses a soft limit carries a warning.
 */
export function decide(review: Review, view: StateView, config: DecisionConfig, nowMs: number): Decision {
  if (!isPlacementWrite(review)) return UNTOUCHED;
  const parsed = parsePlacement(review.object);
  if (!parsed.success) return invalid(describeIssues(parsed.error));
  const next = parsed.data;
  const old = previous(review);

  const quotas = quotaDemands(view, next, old, config);
  const clusters = clusterDemands(next, old);
  const violations: Violation[] = [];
  const warnings: string[] = [];
  for (const { quota, requested } of quotas) {
    const { violation, soft } = quotaCheck(view, quota, requested);
    if (violation) violations.push(violation);
    for (const row of soft) warnings.push(softLimitWarning(quota, row));
  }
  const context = { view, config, nowMs };
  const clusterViolations = clusters.flatMap((demand) => clusterViolation(context, demand) ?? []);
  violations.push(...clusterViolations);

  if (violations.length === 0) {
    const demand: Demand = {
      key: objectKey(next.metadata),
      uid: next.metadata.uid,
      minGeneration: (old?.metadata.generation ?? 0) + 1,
      quotas: quotas.map(({ quota, requested }) => ({ key: quota.key, requested })),
      clusters: clusters.map(({ cluster, requested }) => ({ cluster, requested })),
    };
    return { allowed: true, warnings, demand };
  }
  const room =
    clusterViolations.length > 0
      ? clustersWithRoom(context, clusterConsumption(next), new Set(placementClusters(next)))
      : undefined;
  // Soft-limit warnings matter only for what gets admitted; a denial says what to fix instead.
  const cause = CAUSE_OF_VIOLATION[(violations[0] as Violation).kind];
  return { allowed: false, cause, code: 403, reason: 'Forbidden', message: denialMessage(violations, room), warnings: [] };
}
