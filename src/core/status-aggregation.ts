import { timestampMs, type Condition } from '../api/fields.js';
import { MAX_NAMED } from '../api/limits.js';
import type { ConflictStrategy, WorkloadPlacement } from '../api/resources.js';
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
  const sorted = [...clusters].sort(compareText);
  if (sorted.length <= MAX_NAMED) return { clusters: sorted };
  return { clusters: sorted.slice(0, MAX_NAMED), more: sorted.length - MAX_NAMED };
}

const listed = (clusters: readonly string[]): string => {
  const { clusters: shown, more } = named(clusters);
  return more ? `${shown.join(', ')} and ${more} more` : shown.join(', ');
};

/** Groups entries by a text key: `key → clusters`, keys sorted. */
function groupBy(reported: readonly Reported[], keyOf: (entry: ClusterStatusEntry) => string): [string, string[]][] {
  const groups = new Map<string, string[]>();
  for (const { entry } of reported) {
    const key = keyOf(entry);
    const clusters = groups.get(key) ?? [];
    clusters.push(entry.cluster);
    groups.set(key, clusters);
  }
  return [...groups.entries()].sort(([a], [b]) => compareText(a, b));
}

const generationText = (entry: ClusterStatusEntry): string => (entry.observedGeneration === undefined ? 'none' : String(entry.observedGeneration));
const describeGroups = (groups: readonly [string, string[]][], what: (key: string) => string): string =>
  groups.map(([key, clusters]) => `${what(key)} on ${listed(clusters)}`).join('; ');

function generationConflicts(reported: readonly Reported[]): StatusConflict[] {
  const groups = groupBy(reported, generationText);
  if (groups.length < 2) return [];
  const clusters = reported.map(({ entry }) => entry.cluster);
  return [{ type: 'Generation', ...named(clusters), message: `observedGeneration ${describeGroups(groups, (key) => key)}` }];
}

function statusConflicts(reported: readonly Reported[]): StatusConflict[] {
  const conflicts: StatusConflict[] = [];
  for (const [generation, clusters] of groupBy(reported, generationText)) {
    const atGeneration = reported.filter(({ entry }) => clusters.includes(entry.cluster));
    const phases = groupBy(atGeneration, (entry) => entry.phase);
    if (phases.length < 2) continue;
    const message = `phase ${describeGroups(phases, (phase) => phase || '(empty)')} (observedGeneration ${generation})`;
    conflicts.push({ type: 'Status', ...named(clusters), message });
  }
  return conflicts;
}

/** The entry the strategy prefers first; every order is total (cluster names are unique). */
function strategyOrder(strategy: ConflictStrategy, priority: readonly string[]): (a: Reported, b: Reported) => number {
  const byName = (a: Reported, b: Reported) => compareText(a.entry.cluster, b.entry.cluster);
  // An entry without a readable lastUpdated is never preferred by time.
  const timeOf = (r: Reported, sign: number) => (Number.isNaN(r.updatedMs) ? Number.POSITIVE_INFINITY : sign * r.updatedMs);
  switch (strategy) {
    case 'UseNewest':
      return (a, b) => timeOf(a, -1) - timeOf(b, -1) || byName(a, b);
    case 'UseOldest':
      return (a, b) => timeOf(a, 1) - timeOf(b, 1) || byName(a, b);
    default: {
      const rank = (r: Reported) => {
        const index = priority.indexOf(r.entry.cluster);
        return index < 0 ? priority.length : index;
      };
      return (a, b) => rank(a) - rank(b) || byName(a, b);
    }
  }
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

function pick(reported: readonly Reported[], input: AggregationInput, settings: AggregationSettings): Choice {
  const first = reported[0];
  if (!first) return { phase: UNKNOWN, why: 'no cluster of the placement has reported', unresolved: false, nothing: true };
  const phases = new Set(reported.map(({ entry }) => entry.phase));
  if (phases.size === 1) {
    const of = reported.length === input.clusters.length ? `all ${reported.length}` : `${reported.length} of ${input.clusters.length}`;
    return { phase: first.entry.phase || UNKNOWN, why: `${of} clusters report ${first.entry.phase || 'an empty phase'}`, unresolved: false };
  }
  if (input.strategy === 'Manual') {
    return { phase: UNKNOWN, why: `Manual: the clusters report different phases (${[...phases].sort(compareText).join(', ')}); nothing is picked until they agree`, unresolved: true };
  }
  const winner = [...reported].sort(strategyOrder(input.strategy, settings.clusterPriority))[0] as Reported;
  return { phase: winner.entry.phase || UNKNOWN, winner: winner.entry.cluster, why: whyPicked(input.strategy, winner, settings.clusterPriority), unresolved: false };
}

function clusterNamesText(clusters: readonly string[]): string {
  let text = '';
  for (const [i, cluster] of clusters.entries()) {
    const next = text === '' ? cluster : `${text},${cluster}`;
    if (next.length > MAX_CLUSTER_NAMES_LENGTH) return `${text},+${clusters.length - i} more`;
    text = next;
  }
  return text;
}

function conditionOf(picked: Choice, conflicts: readonly StatusConflict[], strategy: ConflictStrategy): WantedCondition {
  const disagreement = conflicts.filter((conflict) => conflict.type === 'Status' || conflict.type === 'Generation');
  if (picked.unresolved) {
    return { type: STATUS_CONFLICT, status: 'True', reason: 'ManualResolutionRequired', message: `${disagreement.map((c) => c.message).join('; ')}; ${picked.why}` };
  }
  if (picked.winner !== undefined) return { type: STATUS_CONFLICT, status: 'False', reason: `ResolvedBy${strategy}`, message: picked.why };
  return { type: STATUS_CONFLICT, status: 'False', reason: picked.nothing ? 'NothingReported' : 'ClustersAgree', message: picked.why };
}

/** The aggregation of one placement's cluster statuses at `nowMs`. The same entries in any order give the same result. */
export function aggregateClusterStatuses(input: AggregationInput, settings: AggregationSettings, nowMs: number): Aggregation {
  const clusters = [...new Set(input.clusters)].sort(compareText);
  const inC = new Set(clusters);
  const byCluster = new Map<string, Reported>();
  const notTargeted: string[] = [];
  for (const entry of input.entries) {
    if (!inC.has(entry.cluster)) notTargeted.push(entry.cluster);
    else byCluster.set(entry.cluster, { entry, updatedMs: entry.lastUpdated === undefined ? NaN : timestampMs(entry.lastUpdated) });
  }
  const reported = clusters.map((cluster) => byCluster.get(cluster)).filter((r): r is Reported => r !== undefined);
  const isStale = (r: Reported) => Number.isNaN(r.updatedMs) || nowMs - r.updatedMs > settings.staleAfterMs;
  const states: ClusterState[] = clusters.map((cluster) => {
    const r = byCluster.get(cluster);
    if (!r) return { cluster, reported: false, generation: 'unknown', stale: false };
    return { cluster, reported: true, phase: r.entry.phase, generation: generationOf(r.entry, input.generation), stale: isStale(r) };
  });
  const missing = states.filter((state) => !state.reported).map((state) => state.cluster);
  const conflicts = [
    ...generationConflicts(reported),
    ...statusConflicts(reported),
    ...(missing.length > 0 ? [{ type: 'Missing' as const, ...named(missing), message: `no status from ${listed(missing)}` }] : []),
    ...(notTargeted.length > 0 ? [{ type: 'NotTargeted' as const, ...named(notTargeted), message: `ignored: ${listed(notTargeted)} not among the placement's clusters` }] : []),
  ];
  const picked = pick(reported, { ...input, clusters }, settings);
  const current = states.filter((state) => state.reported && state.generation === 'current');
  const running = current.filter((state) => !state.stale && state.phase === RUNNING).length;
  const total = clusters.length;
  const status: AggregatedStatus = {
    phase: picked.phase,
    observedGeneration: input.generation,
    strategy: input.strategy,
    clusters: { total, reported: reported.length, current: current.length, running, stale: states.filter((state) => state.reported && state.stale).length },
    ready: `${running}/${total}`,
    clusterNames: clusterNamesText(clusters),
    ...(picked.winner === undefined ? {} : { winner: picked.winner }),
    why: picked.why,
    conflicts: conflicts.slice(0, MAX_CONFLICTS),
    ...(conflicts.length > MAX_CONFLICTS ? { conflictsOmitted: conflicts.length - MAX_CONFLICTS } : {}),
  };
  return { clusters: states, conflicts, status, condition: conditionOf(picked, conflicts, input.strategy), placed: total > 0 && running === total };
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
