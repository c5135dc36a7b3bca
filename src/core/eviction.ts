import type { EnforcementMode, WorkloadPlacement } from '../api/resources.js';
import { addLists, amountOf, cmp, exceeded, formatForHumans, subLists, ZERO, type Quantity, type ResourceList } from '../quantity/index.js';
import { clusterConsumption, placementClusters, quotaCharge } from './charging.js';
import { objectKey } from './workspace.js';

/**
 * The eviction choice of SPEC §6 (issue 13, "the pure part"): from what every quota and cluster is
 * charged and what limits it, find each violation and choose the placements to evict.
 *
 * The rules:
 * 1. Violations: a quota whose used exceeds `hard` on a resource it limits; a cluster whose
 *    allocation exceeds its limit (allocatable × overcommit) on any resource, a resource the limit
 *    does not name having no room, as admission judges it; a cluster NotReady for longer than the
 *    grace period.
 * 2. Candidates are taken in one total order ({@link evictionOrder}): lowest `spec.priority` first,
 *    then the newest, then by name, then by key.
 * 3. Every placement on a NotReady-past-grace cluster is chosen (reason ClusterNotReady): it cannot
 *    run there. Its eviction frees its charge everywhere else too.
 * 4. Then, in that order, every candidate that frees something a violation is over on is added,
 *    until every violation is cured; then the choice is walked backwards and each added victim whose
 *    return still leaves every violation cured is dropped (Kueue's classical preemption: a minimal
 *    set, no victim could be spared). Evicting a placement frees its charge on every quota and
 *    cluster it charges, so one victim may cure several violations: the choice is made across all
 *    violations at once.
 * 5. A violation that evicting every candidate it counts would still not cure (its usage holds
 *    charges that are not candidates, such as reservations of placements not tracked yet) is
 *    reported with `curable: false` and chooses nobody: evicting everything and staying over helps
 *    no one, and the next round sees the missing placements.
 *
 * Modes. A Soft violation evicts nothing, so a Hard violation must be cured by Hard evictions alone.
 * The choice is therefore made in two stages: `evict` is the minimal set that cures every Hard
 * violation by itself (forced victims of Hard NotReady clusters included); `wouldEvict` is the
 * minimal set that, once those evictions are done, cures every Soft violation; it is what the caller
 * marks with a condition instead of evicting. A placement is in at most one of the two. When all
 * modes agree, one stage is empty and the other is the single choice of rule 4.
 *
 * Each victim lists the violations it is needed for: those that would not be cured without it
 * (for a forced victim, its NotReady clusters). Its reason is the first of them in the order
 * ClusterNotReady, QuotaExceeded, ClusterCapacityExceeded, then by subject.
 *
 * The same input, in any order, gives the same choice.
 */

/** Why a placement is chosen: the `reason` of its Evicted (or Soft) condition. */
export type EvictionReason = 'QuotaExceeded' | 'ClusterCapacityExceeded' | 'ClusterNotReady';

/** A placement that may be evicted. Already Evicted placements are not candidates: leave them out. */
export interface EvictionCandidate {
  /** `<workspace>/<name>`, unique among the candidates. */
  readonly key: string;
  readonly name: string;
  readonly priority: number;
  /** `metadata.creationTimestamp` in epoch ms. */
  readonly createdMs: number;
  /** The clusters it lands on (SPEC §3's C), each once. */
  readonly clusters: readonly string[];
  /** What it consumes on each of those clusters. */
  readonly perCluster: ResourceList;
  /** Keys of the quotas that count it. */
  readonly quotas: readonly string[];
  /** What it charges each of those quotas (SPEC §3: requirements × max(|C|, 1) plus `placements: 1`). */
  readonly quotaCharge: ResourceList;
}

/** A quota, its charged usage and its limits. */
export interface QuotaUsage {
  /** `<workspace>/<name>`, as candidates' `quotas` name it. */
  readonly key: string;
  /** How messages name it: `quota team-a/compute`, `default quota of workspace team-b`. */
  readonly label: string;
  readonly hard: ResourceList;
  /** Charged usage of every placement it counts (the candidates among them). */
  readonly used: ResourceList;
  readonly mode: EnforcementMode;
}

/** A cluster, what is allocated on it and what it may hold. */
export interface ClusterUsage {
  readonly name: string;
  /** allocatable × overcommit per resource. A resource it does not name has no room, as in admission. */
  readonly limit: ResourceList;
  /** What the placements on it consume (the candidates among them). */
  readonly allocated: ResourceList;
  readonly mode: EnforcementMode;
  /** Set while the cluster is NotReady (as admission judges it): why, and for how long. */
  readonly notReady?: { readonly why: string; readonly forMs: number } | undefined;
}

/** Everything the choice reads. */
export interface EvictionInput {
  readonly placements: readonly EvictionCandidate[];
  readonly quotas: readonly QuotaUsage[];
  readonly clusters: readonly ClusterUsage[];
  /** A cluster NotReady for longer than this has every placement on it chosen. */
  readonly notReadyGraceMs: number;
}

/** One resource over its limit, as it is now. */
export interface Overage {
  readonly resource: string;
  readonly used: Quantity;
  readonly limit: Quantity;
}

interface ViolationBase {
  /** The quota's key or the cluster's name. */
  readonly subject: string;
  /** `quota team-a/compute`, `cluster us-east-1`. */
  readonly label: string;
  readonly mode: EnforcementMode;
  /** With the numbers, for the quota's condition or a log line: `quota team-a/compute: cpu used 12, hard 8`. */
  readonly message: string;
}

/** A quota or a cluster over its limits. */
export interface OverLimitViolation extends ViolationBase {
  readonly reason: 'QuotaExceeded' | 'ClusterCapacityExceeded';
  readonly over: readonly Overage[];
  /** False when evicting every candidate it counts would still leave it over (rule 5). */
  readonly curable: boolean;
}

/** A cluster NotReady past the grace period. */
export interface NotReadyViolation extends ViolationBase {
  readonly reason: 'ClusterNotReady';
  readonly forMs: number;
  readonly graceMs: number;
}

export type Violation = OverLimitViolation | NotReadyViolation;

/** A chosen placement, why, and a message with the numbers for its condition. */
export interface Victim {
  readonly key: string;
  readonly name: string;
  readonly reason: EvictionReason;
  /** The violations it is needed for; the first gives the reason. */
  readonly violations: readonly Violation[];
  /** E.g. `quota team-a/compute: cpu used 12, hard 8; evicting frees 4`. */
  readonly message: string;
}

/** The outcome of {@link chooseEvictions}. */
export interface EvictionChoice {
  /** Every violation now, NotReady clusters first, then quotas, then cluster capacity, each by subject. */
  readonly violations: readonly Violation[];
  /** Hard: to be evicted, in eviction order. */
  readonly evict: readonly Victim[];
  /** Soft: to be marked as "would be evicted", in eviction order. */
  readonly wouldEvict: readonly Victim[];
  /** Keys of the quotas within their limits (their Soft conditions can be cleared). */
  readonly quotasWithinLimits: readonly string[];
  /** Names of the clusters within their limits and not NotReady past the grace. */
  readonly clustersWithinLimits: readonly string[];
}

/** A quota or a cluster as the choice counts it. */
interface Subject {
  readonly reason: OverLimitViolation['reason'];
  readonly name: string;
  readonly label: string;
  readonly mode: EnforcementMode;
  readonly used: ResourceList;
  /** The limit of every resource checked: a quota's hard; a cluster's limit, with zero for what it does not name. */
  readonly limit: ResourceList;
}

interface Load {
  readonly subject: Subject;
  readonly amount: ResourceList;
}

interface Loaded {
  readonly candidate: EvictionCandidate;
  readonly loads: readonly Load[];
}

type Usage = Map<Subject, ResourceList>;

interface Model {
  /** Candidates in eviction order. */
  readonly ordered: readonly Loaded[];
  readonly overLimit: ReadonlyMap<Subject, OverLimitViolation>;
  readonly notReady: readonly NotReadyViolation[];
}

const REASON_RANK: Readonly<Record<EvictionReason, number>> = { ClusterNotReady: 0, QuotaExceeded: 1, ClusterCapacityExceeded: 2 };
const WORDS: Readonly<Record<OverLimitViolation['reason'], readonly [string, string]>> = {
  QuotaExceeded: ['used', 'hard'],
  ClusterCapacityExceeded: ['allocated', 'limit'],
};

const amount = formatForHumans;
const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const isPositive = (q: Quantity): boolean => cmp(q, ZERO) > 0;

/**
 * The total order candidates are taken in: lowest priority first, then the newest
 * (creationTimestamp descending), then name, then key, so equal timestamps (second precision) still
 * give one answer.
 */
export function evictionOrder(a: EvictionCandidate, b: EvictionCandidate): number {
  return a.priority - b.priority || b.createdMs - a.createdMs || compareText(a.name, b.name) || compareText(a.key, b.key);
}

/**
 * A tracked placement as a candidate, charged as SPEC §3 says (charging.ts). `quotaKeys` are the
 * quotas that count it (scope applied), which only the state knows. A placement without a
 * creationTimestamp (never from the API server) sorts as the oldest.
 */
export function evictionCandidate(placement: WorkloadPlacement, quotaKeys: readonly string[]): EvictionCandidate {
  const clusters = placementClusters(placement);
  const created = placement.metadata.creationTimestamp;
  return {
    key: objectKey(placement.metadata),
    name: placement.metadata.name,
    priority: placement.spec.priority,
    createdMs: created ? Date.parse(created) : 0,
    clusters,
    perCluster: clusterConsumption(placement),
    quotas: quotaKeys,
    quotaCharge: quotaCharge(placement, clusters.length),
  };
}

/** Zero for every resource allocated that the limit does not name: it has no room for it. */
function withUnnamedAsZero(limit: ResourceList, allocated: ResourceList): ResourceList {
  const missing = Object.keys(allocated).filter((name) => !Object.hasOwn(limit, name));
  return missing.length === 0 ? limit : addLists(limit, Object.fromEntries(missing.map((name) => [name, ZERO])));
}

function quotaSubject(quota: QuotaUsage): Subject {
  return { reason: 'QuotaExceeded', name: quota.key, label: quota.label, mode: quota.mode, used: quota.used, limit: quota.hard };
}

function clusterSubject(cluster: ClusterUsage): Subject {
  const limit = withUnnamedAsZero(cluster.limit, cluster.allocated);
  return { reason: 'ClusterCapacityExceeded', name: cluster.name, label: `cluster ${cluster.name}`, mode: cluster.mode, used: cluster.allocated, limit };
}

function loadsOf(candidate: EvictionCandidate, clusters: ReadonlyMap<string, Subject>, quotas: ReadonlyMap<string, Subject>): Load[] {
  const loads: Load[] = [];
  for (const name of candidate.clusters) {
    const subject = clusters.get(name);
    if (subject) loads.push({ subject, amount: candidate.perCluster });
  }
  for (const key of candidate.quotas) {
    const subject = quotas.get(key);
    if (subject) loads.push({ subject, amount: candidate.quotaCharge });
  }
  return loads;
}

function overRows(subject: Subject, usage: ResourceList): Overage[] {
  return exceeded(usage, subject.limit).map((resource) => ({ resource, used: amountOf(usage, resource), limit: amountOf(subject.limit, resource) }));
}

function rowsText(reason: OverLimitViolation['reason'], rows: readonly Overage[]): string {
  const [usedWord, limitWord] = WORDS[reason];
  return rows.map((row) => `${row.resource} ${usedWord} ${amount(row.used)}, ${limitWord} ${amount(row.limit)}`).join(', ');
}

/** What evicting every candidate would free on each subject: rule 5's test. */
function totalLoads(ordered: readonly Loaded[]): Usage {
  const totals: Usage = new Map();
  for (const { loads } of ordered) {
    for (const { subject, amount: charge } of loads) totals.set(subject, addLists(totals.get(subject) ?? {}, charge));
  }
  return totals;
}

function overLimitViolations(subjects: readonly Subject[], ordered: readonly Loaded[]): Map<Subject, OverLimitViolation> {
  const totals = totalLoads(ordered);
  const violations = new Map<Subject, OverLimitViolation>();
  for (const subject of subjects) {
    const over = overRows(subject, subject.used);
    if (over.length === 0) continue;
    const curable = exceeded(subLists(subject.used, totals.get(subject) ?? {}), subject.limit).length === 0;
    const { reason, name, label, mode } = subject;
    violations.set(subject, { reason, subject: name, label, mode, over, curable, message: `${label}: ${rowsText(reason, over)}` });
  }
  return violations;
}

function notReadyViolation(cluster: ClusterUsage, graceMs: number): NotReadyViolation | undefined {
  const { notReady } = cluster;
  if (!notReady || notReady.forMs <= graceMs) return undefined;
  const label = `cluster ${cluster.name}`;
  const seconds = (ms: number) => `${Math.floor(ms / 1000)}s`;
  const message = `${label} ${notReady.why}, for ${seconds(notReady.forMs)} (grace ${seconds(graceMs)})`;
  return { reason: 'ClusterNotReady', subject: cluster.name, label, mode: cluster.mode, forMs: notReady.forMs, graceMs, message };
}

function modelOf(input: EvictionInput): Model {
  const quotas = new Map(input.quotas.map((quota) => [quota.key, quotaSubject(quota)]));
  const clusters = new Map(input.clusters.map((cluster) => [cluster.name, clusterSubject(cluster)]));
  const ordered = [...input.placements].sort(evictionOrder).map((candidate) => ({ candidate, loads: loadsOf(candidate, clusters, quotas) }));
  const subjects = [...quotas.values(), ...clusters.values()].sort(bySubject);
  const notReady = input.clusters
    .map((cluster) => notReadyViolation(cluster, input.notReadyGraceMs))
    .filter((violation) => violation !== undefined)
    .sort(byViolation);
  return { ordered, overLimit: overLimitViolations(subjects, ordered), notReady };
}

function bySubject(a: { readonly reason: EvictionReason; readonly name: string }, b: { readonly reason: EvictionReason; readonly name: string }): number {
  return REASON_RANK[a.reason] - REASON_RANK[b.reason] || compareText(a.name, b.name);
}

function byViolation(a: Violation, b: Violation): number {
  return bySubject({ reason: a.reason, name: a.subject }, { reason: b.reason, name: b.subject });
}

function within(subject: Subject, usage: Usage): boolean {
  return exceeded(usage.get(subject) ?? subject.used, subject.limit).length === 0;
}

/** Frees the candidate's charge everywhere it is counted. */
function take(usage: Usage, { loads }: Loaded): void {
  for (const { subject, amount: charge } of loads) usage.set(subject, subLists(usage.get(subject) ?? subject.used, charge));
}

/** Counts the candidate's charge again. */
function giveBack(usage: Usage, { loads }: Loaded): void {
  for (const { subject, amount: charge } of loads) usage.set(subject, addLists(usage.get(subject) ?? subject.used, charge));
}

/** Whether evicting the candidate frees something an uncured target is over on. */
function helps({ loads }: Loaded, uncured: ReadonlySet<Subject>, usage: Usage): boolean {
  return loads.some(({ subject, amount: charge }) => {
    if (!uncured.has(subject)) return false;
    return exceeded(usage.get(subject) ?? subject.used, subject.limit).some((resource) => isPositive(amountOf(charge, resource)));
  });
}

/** The targets among the candidate's subjects that would be over without its eviction, with what it frees there. */
function neededFor(candidate: Loaded, targets: ReadonlySet<Subject>, usage: Usage): Load[] {
  giveBack(usage, candidate);
  const needed = candidate.loads.filter(({ subject }) => targets.has(subject) && !within(subject, usage));
  take(usage, candidate);
  return needed;
}

/** Rule 4, forward: add helpful candidates in order until every target is cured. */
function addUntilCured(ordered: readonly Loaded[], targets: ReadonlySet<Subject>, usage: Usage, taken: Set<Loaded>): Loaded[] {
  const uncured = new Set([...targets].filter((subject) => !within(subject, usage)));
  const added: Loaded[] = [];
  for (const candidate of ordered) {
    if (uncured.size === 0) break;
    if (taken.has(candidate) || !helps(candidate, uncured, usage)) continue;
    take(usage, candidate);
    taken.add(candidate);
    added.push(candidate);
    for (const subject of uncured) if (within(subject, usage)) uncured.delete(subject);
  }
  return added;
}

/** Rule 4, backward: give back every victim whose return leaves all targets cured. */
function dropUnneeded(added: readonly Loaded[], targets: ReadonlySet<Subject>, usage: Usage, taken: Set<Loaded>): void {
  for (const candidate of [...added].reverse()) {
    giveBack(usage, candidate);
    if (candidate.loads.every(({ subject }) => !targets.has(subject) || within(subject, usage))) taken.delete(candidate);
    else take(usage, candidate);
  }
}

function freedText(reason: OverLimitViolation['reason'], rows: readonly Overage[], freed: ResourceList): string {
  const frees = rows.map((row) => (rows.length === 1 ? amount(amountOf(freed, row.resource)) : `${amount(amountOf(freed, row.resource))} ${row.resource}`));
  return `${rowsText(reason, rows)}; evicting frees ${frees.join(', ')}`;
}

function victimOf(candidate: EvictionCandidate, violations: readonly Violation[], clauses: readonly string[]): Victim {
  const reason = violations[0]?.reason ?? 'QuotaExceeded';
  return { key: candidate.key, name: candidate.name, reason, violations, message: clauses.join('; ') };
}

function forcedVictim(candidate: EvictionCandidate, violations: readonly NotReadyViolation[]): Victim {
  return victimOf(candidate, violations, violations.map((violation) => violation.message));
}

function neededVictim(candidate: EvictionCandidate, needed: readonly Load[], overLimit: Model['overLimit']): Victim {
  const rows = needed
    .map(({ subject, amount: freed }) => ({ violation: overLimit.get(subject) as OverLimitViolation, freed }))
    .sort((a, b) => byViolation(a.violation, b.violation));
  const clauses = rows.map(({ violation, freed }) => {
    const freedRows = violation.over.filter((row) => isPositive(amountOf(freed, row.resource)));
    return `${violation.label}: ${freedText(violation.reason, freedRows, freed)}`;
  });
  return victimOf(
    candidate,
    rows.map((row) => row.violation),
    clauses,
  );
}

/** Rule 3 for one mode: every candidate not yet taken on a NotReady-past-grace cluster of that mode. */
function forcedBy(model: Model, mode: EnforcementMode, taken: ReadonlySet<Loaded>): Map<Loaded, NotReadyViolation[]> {
  const forced = new Map<Loaded, NotReadyViolation[]>();
  const violations = model.notReady.filter((violation) => violation.mode === mode);
  for (const candidate of model.ordered) {
    if (taken.has(candidate)) continue;
    const on = violations.filter((violation) => candidate.candidate.clusters.includes(violation.subject));
    if (on.length > 0) forced.set(candidate, on);
  }
  return forced;
}

/** One stage of the choice: the victims that cure every violation of `mode`, given what is already taken. */
function stage(model: Model, mode: EnforcementMode, usage: Usage, taken: Set<Loaded>): Victim[] {
  const forced = forcedBy(model, mode, taken);
  for (const candidate of forced.keys()) {
    take(usage, candidate);
    taken.add(candidate);
  }
  const targets = new Set([...model.overLimit].filter(([, violation]) => violation.mode === mode && violation.curable).map(([subject]) => subject));
  const added = addUntilCured(model.ordered, targets, usage, taken);
  dropUnneeded(added, targets, usage, taken);
  const kept = new Set(added.filter((candidate) => taken.has(candidate)));
  return model.ordered.flatMap((candidate) => {
    const notReady = forced.get(candidate);
    if (notReady) return [forcedVictim(candidate.candidate, notReady)];
    return kept.has(candidate) ? [neededVictim(candidate.candidate, neededFor(candidate, targets, usage), model.overLimit)] : [];
  });
}

/** SPEC §6: every violation of the input and the placements to evict (Hard) or mark (Soft); see the file's comment. */
export function chooseEvictions(input: EvictionInput): EvictionChoice {
  const model = modelOf(input);
  const usage: Usage = new Map();
  const taken = new Set<Loaded>();
  const evict = stage(model, 'Hard', usage, taken);
  const wouldEvict = stage(model, 'Soft', usage, taken);
  const violations = [...model.notReady, ...model.overLimit.values()].sort(byViolation);
  const overQuotas = new Set(violations.filter((violation) => violation.reason === 'QuotaExceeded').map((violation) => violation.subject));
  const overClusters = new Set(violations.filter((violation) => violation.reason !== 'QuotaExceeded').map((violation) => violation.subject));
  return {
    violations,
    evict,
    wouldEvict,
    quotasWithinLimits: input.quotas.map((quota) => quota.key).filter((key) => !overQuotas.has(key)).sort(compareText),
    clustersWithinLimits: input.clusters.map((cluster) => cluster.name).filter((name) => !overClusters.has(name)).sort(compareText),
  };
}
