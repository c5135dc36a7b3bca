import type { EnforcementMode } from '../../src/api/resources.js';
import type { ClusterUsage, EvictionCandidate, EvictionChoice, QuotaUsage, Victim } from '../../src/core/eviction.js';
import { addLists, mustParse, scaleList, type ResourceList } from '../../src/quantity/index.js';

type Quantities = Record<string, string | number>;

/** A resource list from quantity strings (`{ cpu: '2', memory: '4Gi' }`). */
export const list = (quantities: Quantities = {}): ResourceList =>
  Object.freeze(Object.fromEntries(Object.entries(quantities).map(([name, value]) => [name, mustParse(value)])));

/** Creation times in whole seconds after this, as the API server writes them. */
const EPOCH = Date.parse('2026-11-23T00:00:00Z');

export interface CandidateOptions {
  namespace?: string;
  priority?: number;
  /** Seconds after the epoch: larger is newer. */
  created?: number;
  clusters?: string[];
  /** Per cluster; the quota charge is this × max(|clusters|, 1) plus `placements: 1`, unless `charge` is given. */
  requests?: Quantities;
  quotas?: string[];
  charge?: Quantities;
}

/** A candidate as evictionCandidate() would build it, in team-a, on no cluster, charging team-a/compute. */
export function aCandidate(name: string, options: CandidateOptions = {}): EvictionCandidate {
  const clusters = options.clusters ?? [];
  const requests = options.requests ?? {};
  const copies = Math.max(clusters.length, 1);
  const charge = options.charge ? list(options.charge) : addLists(scaleList(list(requests), copies), list({ placements: 1 }));
  const namespace = options.namespace ?? 'team-a';
  return {
    key: `${namespace}/${name}`,
    name,
    priority: options.priority ?? 0,
    createdMs: EPOCH + (options.created ?? 0) * 1000,
    clusters,
    perCluster: list(requests),
    quotas: options.quotas ?? [`${namespace}/compute`],
    quotaCharge: charge,
  };
}

/** A quota with its used and hard, Hard mode unless told. */
export function aQuotaUsage(key: string, used: Quantities, hard: Quantities, mode: EnforcementMode = 'Hard'): QuotaUsage {
  return { key, label: `quota ${key}`, hard: list(hard), used: list(used), mode };
}

/** A cluster with its allocation and limit (allocatable × overcommit), Ready and Hard mode unless told. */
export function aClusterUsage(
  name: string,
  allocated: Quantities,
  limit: Quantities,
  options: { mode?: EnforcementMode; notReadyForMs?: number; why?: string } = {},
): ClusterUsage {
  const notReady = options.notReadyForMs === undefined ? undefined : { why: options.why ?? 'is not Ready: Ready=False (SyncerDown)', forMs: options.notReadyForMs };
  return { name, allocated: list(allocated), limit: list(limit), mode: options.mode ?? 'Hard', notReady };
}

const line = (victim: Victim): string => `${victim.key} ${victim.reason}: ${victim.message}`;

/** The choice as a person reads it: one line per violation and per victim. */
export function summary(choice: EvictionChoice) {
  return {
    violations: choice.violations.map((violation) => (violation.reason !== 'ClusterNotReady' && !violation.curable ? `${violation.message} (incurable)` : violation.message)),
    evict: choice.evict.map(line),
    wouldEvict: choice.wouldEvict.map(line),
  };
}
