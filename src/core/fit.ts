import type { DecisionConfig } from '../api/config.js';
import { amountOf, cmp, fromInteger, inOrder, sub, sumExceeds, ZERO, type Quantity, type ResourceList } from '../quantity/index.js';
import { clusterHealth } from './cluster-health.js';
import { surelyFits } from './headroom.js';
import type { ClusterView, QuotaLimits, StateView } from './view.js';

/** One resource of a quota that the request would push past a limit. */
export interface QuotaShortfall {
  readonly resource: string;
  readonly requested: Quantity;
  readonly used: Quantity;
  readonly limit: Quantity;
}

/** One resource a cluster lacks, with the numbers that explain why. */
export interface CapacityShortfall {
  readonly resource: string;
  readonly requested: Quantity;
  readonly free: Quantity;
  readonly allocatable: Quantity;
  readonly ratio: Quantity;
  readonly allocated: Quantity;
}

export type Violation =
  | { readonly kind: 'quota'; readonly quota: string; readonly shortfalls: readonly QuotaShortfall[] }
  | { readonly kind: 'unknown-cluster'; readonly cluster: string }
  | { readonly kind: 'cluster-not-ready'; readonly cluster: string; readonly why: string }
  | { readonly kind: 'cluster-unschedulable'; readonly cluster: string }
  | { readonly kind: 'cluster-capacity'; readonly cluster: string; readonly shortfalls: readonly CapacityShortfall[] };

const ONE = fromInteger(1);
// Own names only: lists parsed from objects have a prototype, and a resource may be called `constructor`.
const get = amountOf;

/** Names whose amount is above zero: only growth is checked against limits. */
export function positiveResources(list: ResourceList): string[] {
  return inOrder(Object.keys(list).filter((name) => cmp(get(list, name), ZERO) > 0));
}

/**
 * The names of `requested` above zero for which `exceeds` holds, in order. This runs for every quota
 * and every cluster of every decision, and almost always finds nothing: it allocates only for a find.
 */
function exceededBy(requested: ResourceList, exceeds: (resource: string, amount: Quantity) => boolean): string[] {
  let found: string[] | undefined;
  for (const resource of Object.keys(requested)) {
    const amount = get(requested, resource);
    if (cmp(amount, ZERO) > 0 && exceeds(resource, amount)) (found ??= []).push(resource);
  }
  return found ? inOrder(found) : NONE;
}

const NONE: string[] = [];

/** Resources of `limits` that `used + requested` would exceed (resources without a limit are unlimited). */
export function limitShortfalls(limits: ResourceList, used: ResourceList, requested: ResourceList): QuotaShortfall[] {
  const over = exceededBy(requested, (resource, amount) => Object.hasOwn(limits, resource) && sumExceeds(get(used, resource), amount, get(limits, resource)));
  return over.length === 0 ? [] : over.map((resource) => ({ resource, requested: get(requested, resource), used: get(used, resource), limit: get(limits, resource) }));
}

/** A quota's hard-limit violation, if any, and the soft limits the request would cross. */
export interface QuotaCheck {
  readonly violation: Violation | undefined;
  readonly soft: readonly QuotaShortfall[];
}

const NOTHING_SHORT: QuotaCheck = Object.freeze({ violation: undefined, soft: Object.freeze([]) });

/**
 * The hard-limit check of one quota and its soft-limit shortfalls (what the warnings name), read from
 * the room the view keeps when that tells (almost always: nothing is short), else worked out exactly.
 */
export function quotaCheck(view: StateView, quota: QuotaLimits, requested: ResourceList): QuotaCheck {
  const room = view.quotaHeadroom(quota);
  if (room && surelyFits(room, requested)) return NOTHING_SHORT;
  const used = view.used(quota.key);
  return { violation: quotaViolation(quota, used, requested), soft: limitShortfalls(quota.soft, used, requested) };
}

/** The hard-limit check of one quota; undefined when the request fits. */
export function quotaViolation(quota: QuotaLimits, used: ResourceList, requested: ResourceList): Violation | undefined {
  const shortfalls = limitShortfalls(quota.hard, used, requested);
  return shortfalls.length > 0 ? { kind: 'quota', quota: quota.label, shortfalls } : undefined;
}

/** Allocatable × overcommit ratio of one resource (ratio 1 when not configured). */
export function overcommitRatio(config: DecisionConfig, resource: string): Quantity {
  return Object.hasOwn(config.overcommit, resource) ? get(config.overcommit, resource) : ONE;
}

/** Free room of one resource on a cluster: allocatable × ratio − allocated (may be negative when overcommitted). */
export function freeRoom(record: ClusterView, allocated: ResourceList, resource: string, config: DecisionConfig): Quantity {
  return sub(get(record.effectiveAllocatable(config.overcommit), resource), get(allocated, resource));
}

function capacityShortfalls(record: ClusterView, allocated: ResourceList, requested: ResourceList, config: DecisionConfig): CapacityShortfall[] {
  const effective = record.effectiveAllocatable(config.overcommit);
  // requested > allocatable × ratio − allocated, without building the free room of what fits.
  const over = exceededBy(requested, (resource, amount) => sumExceeds(get(allocated, resource), amount, get(effective, resource)));
  return over.length === 0
    ? []
    : over.map((resource) => ({
        resource,
        requested: get(requested, resource),
        free: freeRoom(record, allocated, resource, config),
        allocatable: get(record.allocatable, resource),
        ratio: overcommitRatio(config, resource),
        allocated: get(allocated, resource),
      }));
}

/** What a cluster must satisfy for a placement to (newly) land on it or grow there. */
export interface ClusterDemand {
  readonly cluster: string;
  /** Growth of consumption on this cluster (the whole requirements when the cluster is new to the placement). */
  readonly requested: ResourceList;
  /** The placement was not on this cluster before: existence, readiness and schedulability apply. */
  readonly isNew: boolean;
}

/** What every cluster rule reads: the state, the configuration and the clock value of this decision. */
export interface DecisionContext {
  readonly view: StateView;
  readonly config: DecisionConfig;
  readonly nowMs: number;
}

/** Every rule of one cluster, in the order a person fixes them: exists, Ready, schedulable, room. */
export function clusterViolation({ view, config, nowMs }: DecisionContext, demand: ClusterDemand): Violation | undefined {
  const { cluster, requested, isNew } = demand;
  const record = view.clusterRecord(cluster);
  if (!record) return { kind: 'unknown-cluster', cluster };
  const health = clusterHealth(record, nowMs);
  if (!health.ready) return { kind: 'cluster-not-ready', cluster, why: health.why };
  if (isNew && record.unschedulable) return { kind: 'cluster-unschedulable', cluster };
  const room = view.clusterHeadroom(record, config.overcommit);
  if (room && surelyFits(room, requested)) return undefined;
  const shortfalls = capacityShortfalls(record, view.allocated(cluster), requested, config);
  return shortfalls.length > 0 ? { kind: 'cluster-capacity', cluster, shortfalls } : undefined;
}
