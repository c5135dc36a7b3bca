import { timestampMs, type Condition } from '../api/fields.js';
import { capped, MAX_NAMED } from '../api/limits.js';
import type { ConflictStrategy, WorkloadPlacement } from '../api/resources.js';
import { inOrder } from '../quantity/resource-list.js';
import { placementClusters } from './charging.js';
import { withConditions, type WantedCondition } from './placement-conditions.js';

/**
 * Status aggregation across clusters (SPEC §7, issue 17): from a placement's generation, its clusters
 * C (targetClusters ∪ selectedClusters), the entries its syncers wrote into `status.clusterStatuses`
 * and its `spec.conflictStrategy`, one answer a person reads with kubectl.
 *
 * The rules:
 * 1. Per cluster of C: reported (it has an entry) or missing; its phase; its observedGeneration
 *    `current` (equal to the placement's generation), `behind`, `ahead` or `unknown` (none given);
 *    `stale` when its lastUpdated is older than `staleAfterMs` (or absent).
 * 2. Conflicts, each with the clusters involved: `Generation` (reported clusters of C give different
 *    observedGenerations), `Status` (different phases at one generation), `Missing` (clusters of C
 *    without an entry), `NotTargeted` (entries from clusters outside C: ignored, and said so).
 * 3. The phase: when every reported cluster of C gives the same phase, that phase, and nobody is
 *    picked. When they disagree, the strategy picks one entry: `UseNewest` the latest lastUpdated,
 *    `UseOldest` the earliest (an entry without lastUpdated is never preferred), `Priority` the first
 *    cluster in `clusterPriority` (clusters not listed after the listed ones); ties and the rest by
 *    cluster name, so the same entries in any order give the same pick. `Manual` never picks: the
 *    phase is `Unknown` and StatusConflict is True, until the clusters agree again.
 * 4. Nothing reported: phase `Unknown`.
 * 5. `running` counts clusters of C reporting `Running` at the current generation, not stale; the
 *    placement's `status.phase` is `Placed` when that is every cluster of C (and C is not empty),
 *    `Pending` otherwise; an Evicted placement is left alone (Evicted is final, SPEC §6).
 */

/** The syncers' phase that counts as running (SPEC §2's example). */
export const RUNNING = 'Running';
/** The aggregated phase when nothing can be said: nobody reported, or Manual with a disagreement. */
export const UNKNOWN = 'Unknown';
/** The condition type a placement carries for this (SPEC §2). */
export const STATUS_CONFLICT = 'StatusConflict';
/** Conflicts kept in aggregatedStatus; the rest are counted in `conflictsOmitted`. */
export const MAX_CONFLICTS = 8;
/** Characters of the CLUSTERS printer column's text before it says how many more. */
export const MAX_CLUSTER_NAMES_LENGTH = 512;
/** The CRD's bounds on aggregatedStatus (manifests/crds/workloadplacements.yaml): texts from syncers are cut to them. */
export const MAX_PHASE_LENGTH = 127;
export const MAX_TEXT_LENGTH = 1000;

export type GenerationState = 'current' | 'behind' | 'ahead' | 'unknown';
export type ConflictType = 'Generation' | 'Status' | 'Missing' | 'NotTargeted';

/** One `status.clusterStatuses` entry, as a syncer wrote it. */
export interface ClusterStatusEntry {
  readonly cluster: string;
  readonly phase: string;
  readonly observedGeneration?: number | undefined;
  readonly lastUpdated?: string | undefined;
}

/** What the aggregation reads of a placement. */
export interface AggregationInput {
  readonly generation: number;
  /** C, each once. */
  readonly clusters: readonly string[];
  readonly entries: readonly ClusterStatusEntry[];
  readonly strategy: ConflictStrategy;
}

export interface AggregationSettings {
  /** An entry whose lastUpdated is older than this is stale. */
  readonly staleAfterMs: number;
  /** Priority's order: the first listed wins. */
  readonly clusterPriority: readonly string[];
}

/** One cluster of C as the aggregation sees it. */
export interface ClusterState {
  readonly cluster: string;
  readonly reported: boolean;
  readonly phase?: string | undefined;
  readonly generation: GenerationState;
  readonly stale: boolean;
}

/** A conflict as written to `aggregatedStatus.conflicts`. */
export interface StatusConflict {
  readonly type: ConflictType;
  /** Sorted, at most MAX_NAMED; `more` counts the rest. */
  readonly clusters: readonly string[];
  readonly more?: number;
  readonly message: string;
}

/** `status.aggregatedStatus` as the service writes it: no timestamps, so the same input writes the same object. */
export interface AggregatedStatus {
  readonly phase: string;
  readonly observedGeneration: number;
  readonly strategy: ConflictStrategy;
  readonly clusters: { readonly total: number; readonly reported: number; readonly current: number; readonly running: number; readonly stale: number };
  /** `<running>/<total>`, the READY printer column. */
  readonly ready: string;
  /** C joined with commas, the CLUSTERS printer column (the API server prints one match of a wildcard only). */
  readonly clusterNames: string;
  /** The cluster whose entry gave the phase when the clusters disagree; absent when nobody was picked. */
  readonly winner?: string;
  readonly why: string;
  readonly conflicts: readonly StatusConflict[];
  readonly conflictsOmitted?: number;
}

export interface Aggregation {
  readonly clusters: readonly ClusterState[];
  /** Every conflict found, unbounded (the written status keeps MAX_CONFLICTS). */
  readonly conflicts: readonly StatusConflict[];
  readonly status: AggregatedStatus;
  /** The StatusConflict condition it should carry. */
  readonly condition: WantedCondition;
  /** Whether every cluster of C runs at the current generation: status.phase Placed. */
  readonly placed: boolean;
}

interface Reported {
  readonly entry: ClusterStatusEntry;
  readonly updatedMs: number;
}

interface Choice {
  readonly phase: string;
  readonly winner?: string;
  readonly why: string;
  readonly unresolved: boolean;
  readonly nothing?: true;
}

const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function generationOf(entry: ClusterStatusEntry, generation: number): GenerationState {
  if (entry.observedGeneration === undefined) return 'unknown';
  if (entry.observedGeneration === generation) return 'current';
  return entry.observedGeneration < generation ? 'behind' : 'ahead';
}

function named(clusters: readonly string[]): Pick<StatusConflict, 'clusters' | 'more'> {
  // The lists come in C's order (sorted) but for NotTargeted: copied and sorted only when needed.
  const sorted = ascending(clusters) ? clusters : inOrder([...clusters]);
  if (sorted.length <= MAX_NAMED) return { clusters: sorted };
  return { clusters: sorted.slice(0, MAX_NAMED), more: sorted.length - MAX_NAMED };
}

/** `a, b, c` (and `N more`): concatenated, which for the usual few names costs less than Array#join. */
const listed = (clusters: readonly string[]): string => {
  const { clusters: shown, more } = named(clusters);
  let text = '';
  for (let i = 0; i < shown.length; i++) text = i === 0 ? (shown[i] as string) : `${text}, ${shown[i] as string}`;
  return more ? `${text} and ${more} more` : text;
};

/** Groups entries by a text key: `key → entries`, keys sorted. */
function groupBy(reported: readonly Reported[], keyOf: (entry: ClusterStatusEntry) => string): [string, Reported[]][] {
  // A placement has a handful of clusters: a list searched in place, kept in key order as it grows,
  // costs less than a Map, its spread and a sort.
  const groups: [string, Reported[]][] = [];
  for (const r of reported) {
    const key = keyOf(r.entry);
    let at = 0;
    while (at < groups.length && compareText((groups[at] as [string, Reported[]])[0], key) < 0) at++;
    const group = groups[at];
    if (group && group[0] === key) group[1].push(r);
    else groups.splice(at, 0, [key, [r]]);
  }
  return groups;
}

const clustersOf = (reported: readonly Reported[]): string[] => reported.map(({ entry }) => entry.cluster);

const generationText = (entry: ClusterStatusEntry): string => (entry.observedGeneration === undefined ? 'none' : String(entry.observedGeneration));
function describeGroups(groups: readonly [string, Reported[]][], what: (key: string) => string): string {
  let text = '';
  for (let i = 0; i < groups.length; i++) {
    const [key, group] = groups[i] as [string, Reported[]];
    const part = `${what(key)} on ${listed(clustersOf(group))}`;
    text = i === 0 ? part : `${text}; ${part}`;
  }
  return text;
}

/** Whether every entry gives the same value (the common case: a quick loop instead of grouping). */
function allSame(reported: readonly Reported[], valueOf: (entry: ClusterStatusEntry) => string | number | undefined): boolean {
  const first = reported[0];
  if (!first) return true;
  const value = valueOf(first.entry);
  for (let i = 1; i < reported.length; i++) if (valueOf((reported[i] as Reported).entry) !== value) return false;
  return true;
}

const phaseOf = (entry: ClusterStatusEntry): string => entry.phase;
const observedOf = (entry: ClusterStatusEntry): number | undefined => entry.observedGeneration;

function generationConflicts(reported: readonly Reported[], oneGeneration: boolean): StatusConflict[] {
  if (oneGeneration) return [];
  const groups = groupBy(reported, generationText);
  if (groups.length < 2) return [];
  return [{ type: 'Generation', ...named(clustersOf(reported)), message: `observedGeneration ${describeGroups(groups, String)}` }];
}

const phaseText = (phase: string): string => phase || '(empty)';

function statusConflicts(reported: readonly Reported[], oneGeneration: boolean): StatusConflict[] {
  if (allSame(reported, phaseOf)) return [];
  const conflicts: StatusConflict[] = [];
  // One generation (the common case) is one group: no grouping needed.
  const byGeneration = oneGeneration ? [[generationText((reported[0] as Reported).entry), reported] as const] : groupBy(reported, generationText);
  for (const [generation, atGeneration] of byGeneration) {
    const phases = groupBy(atGeneration, phaseOf);
    if (phases.length < 2) continue;
    const message = `phase ${describeGroups(phases, phaseText)} (observedGeneration ${generation})`;
    conflicts.push({ type: 'Status', ...named(clustersOf(atGeneration)), message });
  }
  return conflicts;
}

// An entry without a readable lastUpdated is never preferred by time.
const timeOf = (r: Reported, sign: number): number => (Number.isNaN(r.updatedMs) ? Number.POSITIVE_INFINITY : sign * r.updatedMs);

function rankOf(r: Reported, priority: readonly string[]): number {
  const index = priority.indexOf(r.entry.cluster);
  return index < 0 ? priority.length : index;
}

/** How much sooner the strategy prefers `a` than `b` (negative: `a` first); every order is total (cluster names are unique). */
function preference(strategy: ConflictStrategy, priority: readonly string[], a: Reported, b: Reported): number {
  const byStrategy = strategy === 'UseNewest' ? timeOf(a, -1) - timeOf(b, -1) : strategy === 'UseOldest' ? timeOf(a, 1) - timeOf(b, 1) : rankOf(a, priority) - rankOf(b, priority);
  return byStrategy || compareText(a.entry.cluster, b.entry.cluster);
}

/** The entry the strategy prefers first: one pass, since only the first of its order is wanted. */
function preferred(reported: readonly Reported[], strategy: ConflictStrategy, priority: readonly string[]): Reported {
  let best = reported[0] as Reported;
  for (let i = 1; i < reported.length; i++) {
    const candidate = reported[i] as Reported;
    if (preference(strategy, priority, candidate, best) < 0) best = candidate;
  }
  return best;
}

function whyPicked(strategy: ConflictStrategy, winner: Reported, priority: readonly string[]): string {
  const at = winner.entry.lastUpdated ?? 'no lastUpdated';
  switch (strategy) {
    case 'UseNewest':
      return `UseNewest: ${winner.entry.cluster} reported last (${at})`;
    case 'UseOldest':
      return `UseOldest: ${winner.entry.cluster} reported first (${at})`;
    default: {
      const index = priority.indexOf(winner.entry.cluster);
      return index < 0
        ? `Priority: no reporting cluster is in clusterPriority; ${winner.entry.cluster} is first by name`
        : `Priority: ${winner.entry.cluster} is #${index + 1} in clusterPriority`;
    }
  }
}

function pick(reported: readonly Reported[], total: number, strategy: ConflictStrategy, settings: AggregationSettings): Choice {
  const first = reported[0];
  if (!first) return { phase: UNKNOWN, why: 'no cluster of the placement has reported', unresolved: false, nothing: true };
  if (allSame(reported, phaseOf)) {
    const of = reported.length === total ? `all ${total}` : `${reported.length} of ${total}`;
    return { phase: first.entry.phase || UNKNOWN, why: `${of} clusters report ${first.entry.phase || 'an empty phase'}`, unresolved: false };
  }
  if (strategy === 'Manual') {
    const phases = [...new Set(reported.map(({ entry }) => entry.phase))].sort(compareText);
    return { phase: UNKNOWN, why: `Manual: the clusters report different phases (${phases.join(', ')}); nothing is picked until they agree`, unresolved: true };
  }
  const winner = preferred(reported, strategy, settings.clusterPriority);
  return { phase: winner.entry.phase || UNKNOWN, winner: winner.entry.cluster, why: whyPicked(strategy, winner, settings.clusterPriority), unresolved: false };
}

function clusterNamesText(clusters: readonly string[]): string {
  // Concatenated, not joined: for the usual few names that is cheaper than Array#join.
  let text = '';
  for (let i = 0; i < clusters.length; i++) {
    const cluster = clusters[i] as string;
    const next = i === 0 ? cluster : `${text},${cluster}`;
    if (next.length > MAX_CLUSTER_NAMES_LENGTH) return `${text},+${clusters.length - i} more`;
    text = next;
  }
  return text;
}

function conditionOf(picked: Choice, conflicts: readonly StatusConflict[], strategy: ConflictStrategy): WantedCondition {
  if (picked.unresolved) {
    const disagreement = conflicts.filter((conflict) => conflict.type === 'Status' || conflict.type === 'Generation');
    return { type: STATUS_CONFLICT, status: 'True', reason: 'ManualResolutionRequired', message: `${disagreement.map((c) => c.message).join('; ')}; ${picked.why}` };
  }
  if (picked.winner !== undefined) return { type: STATUS_CONFLICT, status: 'False', reason: `ResolvedBy${strategy}`, message: picked.why };
  return { type: STATUS_CONFLICT, status: 'False', reason: picked.nothing ? 'NothingReported' : 'ClustersAgree', message: picked.why };
}

/** Whether the names are sorted and each once. */
function ascending(names: readonly string[]): boolean {
  for (let i = 1; i < names.length; i++) if (compareText(names[i - 1] as string, names[i] as string) >= 0) return false;
  return true;
}

/** C sorted, each once; the list itself when it already is (placementClusters gives it so). */
function sortedClusters(clusters: readonly string[]): readonly string[] {
  if (ascending(clusters)) return clusters;
  const sorted = inOrder([...clusters]);
  for (let i = 1; i < sorted.length; i++) if (sorted[i] === sorted[i - 1]) return sorted.filter((cluster, j) => j === 0 || cluster !== sorted[j - 1]);
  return sorted;
}

/** Few entries (the common case) are found faster by a scan than through a Map built for them. */
const SCAN_BELOW = 8;

function entriesByCluster(entries: readonly ClusterStatusEntry[]): Map<string, ClusterStatusEntry> | undefined {
  if (entries.length < SCAN_BELOW) return undefined;
  const byCluster = new Map<string, ClusterStatusEntry>();
  for (const entry of entries) byCluster.set(entry.cluster, entry);
  return byCluster;
}

function entryOf(entries: readonly ClusterStatusEntry[], byCluster: Map<string, ClusterStatusEntry> | undefined, cluster: string): ClusterStatusEntry | undefined {
  if (byCluster) return byCluster.get(cluster);
  for (const entry of entries) if (entry.cluster === cluster) return entry;
  return undefined;
}

interface Counts {
  reported: number;
  current: number;
  running: number;
  stale: number;
}

/** The aggregation of one placement's cluster statuses at `nowMs`. The same entries in any order give the same result. */
export function aggregateClusterStatuses(input: AggregationInput, settings: AggregationSettings, nowMs: number): Aggregation {
  const clusters = sortedClusters(input.clusters);
  const byCluster = entriesByCluster(input.entries);
  const reported: Reported[] = [];
  const states: ClusterState[] = [];
  const missing: string[] = [];
  const counts: Counts = { reported: 0, current: 0, running: 0, stale: 0 };
  for (const cluster of clusters) {
    const entry = entryOf(input.entries, byCluster, cluster);
    if (!entry) {
      missing.push(cluster);
      states.push({ cluster, reported: false, generation: 'unknown', stale: false });
      continue;
    }
    const updatedMs = entry.lastUpdated === undefined ? NaN : timestampMs(entry.lastUpdated);
    const stale = Number.isNaN(updatedMs) || nowMs - updatedMs > settings.staleAfterMs;
    const generation = generationOf(entry, input.generation);
    reported.push({ entry, updatedMs });
    states.push({ cluster, reported: true, phase: entry.phase, generation, stale });
    count(counts, generation === 'current', stale, entry.phase);
  }
  const notTargeted = input.entries.length > reported.length ? input.entries.map((entry) => entry.cluster).filter((cluster) => !clusters.includes(cluster)) : [];
  const conflicts = conflictsOf(reported, missing, notTargeted);
  const picked = pick(reported, clusters.length, input.strategy, settings);
  const status = statusOf(input, clusters, counts, { picked, conflicts });
  return { clusters: states, conflicts, status, condition: conditionOf(picked, conflicts, input.strategy), placed: clusters.length > 0 && counts.running === clusters.length };
}

function conflictsOf(reported: readonly Reported[], missing: readonly string[], notTargeted: readonly string[]): StatusConflict[] {
  const oneGeneration = allSame(reported, observedOf);
  const conflicts = generationConflicts(reported, oneGeneration);
  conflicts.push(...statusConflicts(reported, oneGeneration));
  if (missing.length > 0) conflicts.push({ type: 'Missing', ...named(missing), message: `no status from ${listed(missing)}` });
  if (notTargeted.length > 0) conflicts.push({ type: 'NotTargeted', ...named(notTargeted), message: `ignored: ${listed(notTargeted)} not among the placement's clusters` });
  return conflicts;
}

/** The conflict with its message cut to the CRD's bound; itself when it fits (the usual case). */
function cappedConflict(conflict: StatusConflict): StatusConflict {
  const message = capped(conflict.message, MAX_TEXT_LENGTH);
  return message === conflict.message ? conflict : { ...conflict, message };
}

function statusOf(input: AggregationInput, clusters: readonly string[], counts: Counts, { picked, conflicts }: { picked: Choice; conflicts: readonly StatusConflict[] }): AggregatedStatus {
  const total = clusters.length;
  const status: { -readonly [K in keyof AggregatedStatus]: AggregatedStatus[K] } = {
    phase: capped(picked.phase, MAX_PHASE_LENGTH),
    observedGeneration: input.generation,
    strategy: input.strategy,
    clusters: { total, reported: counts.reported, current: counts.current, running: counts.running, stale: counts.stale },
    ready: `${counts.running}/${total}`,
    clusterNames: clusterNamesText(clusters),
    why: capped(picked.why, MAX_TEXT_LENGTH),
    conflicts: conflicts.length === 0 ? [] : conflicts.slice(0, MAX_CONFLICTS).map(cappedConflict),
  };
  if (picked.winner !== undefined) status.winner = picked.winner;
  if (conflicts.length > MAX_CONFLICTS) status.conflictsOmitted = conflicts.length - MAX_CONFLICTS;
  return status;
}

function count(counts: Counts, current: boolean, stale: boolean, phase: string): void {
  counts.reported += 1;
  if (stale) counts.stale += 1;
  if (!current) return;
  counts.current += 1;
  if (!stale && phase === RUNNING) counts.running += 1;
}

/** The aggregation's input from a placement. */
export function aggregationInput(placement: WorkloadPlacement): AggregationInput {
  return {
    generation: placement.metadata.generation ?? 1,
    clusters: placementClusters(placement),
    entries: placement.status.clusterStatuses,
    strategy: placement.spec.conflictStrategy,
  };
}

/** The status fields a write sets: a merge patch of the status subresource. */
export interface AggregationPatch {
  readonly phase?: 'Pending' | 'Placed';
  /** Every key of AggregatedStatus; `null` removes one the stored object has and the new one lacks. */
  readonly aggregatedStatus: Readonly<Record<string, unknown>>;
  readonly conditions?: readonly Condition[];
}

/** JSON with object keys sorted: the API server returns stored objects with their keys in its own order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => compareText(a, b));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function phasePatch(placement: WorkloadPlacement, placed: boolean): AggregationPatch['phase'] {
  const phase = placement.status.phase;
  if (phase === 'Evicted') return undefined;
  const wanted = placed ? 'Placed' : 'Pending';
  return phase === wanted ? undefined : wanted;
}

/**
 * What the writer must patch so that the placement shows `aggregation`: undefined when the stored
 * status already says it (aggregatedStatus equal as JSON, status.phase as rule 5 wants, the
 * StatusConflict condition with the same status, reason, message and observedGeneration), so the
 * writer's own write, seen again by its watch, writes nothing.
 */
export function aggregationPatch(placement: WorkloadPlacement, aggregation: Aggregation, nowIso: string): AggregationPatch | undefined {
  const generation = placement.metadata.generation ?? 1;
  const conditions = withConditions(placement.status.conditions, [aggregation.condition], nowIso, generation);
  const phase = phasePatch(placement, aggregation.placed);
  const sameStatus = canonicalJson(placement.status.aggregatedStatus ?? null) === canonicalJson(aggregation.status);
  if (sameStatus && conditions === undefined && phase === undefined) return undefined;
  const stored = placement.status.aggregatedStatus ?? {};
  // A merge patch keeps keys it does not name: whatever the new status lacks is removed explicitly.
  const removed = Object.fromEntries(Object.keys(stored).filter((key) => !Object.hasOwn(aggregation.status, key)).map((key) => [key, null]));
  return {
    ...(phase === undefined ? {} : { phase }),
    aggregatedStatus: { ...removed, ...aggregation.status },
    ...(conditions === undefined ? {} : { conditions }),
  };
}
