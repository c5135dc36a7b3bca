/**
 * A synthetic tracker population and the reviews the benchmarks send against it.
 *
 * Clusters: one in four is large (128 cpu / 512Gi), the rest 32 cpu / 128Gi; all Ready, heartbeats fresh
 * at the builders' NOW. Placements: 1–3 clusters each, spread evenly over the clusters and over
 * `workspaces` namespaces (ws-0000, ws-0001, …), so every cluster carries ~20 placements whatever the
 * population. Quotas: even workspaces have one (`compute`), odd ones two (`compute` and `batch`, scoped
 * to `tier: batch`), so a placement is checked against 1–2 quotas; every tenth workspace is full (its
 * `compute` quota allows 10 placements and holds about 100).
 */
import { addManifest, aPlacement, aQuota, aSyncTarget, type Manifest } from '../../test/builders/objects.js';
import { TrackedState } from '../../src/state/tracked-state.js';

export interface PopulationSize {
  readonly clusters: number;
  readonly placements: number;
  readonly quotas: number;
  readonly workspaces: number;
}

export const LARGE: PopulationSize = { clusters: 10_000, placements: 100_000, quotas: 10_000, workspaces: 1_000 };
export const MEDIUM: PopulationSize = { clusters: 1_000, placements: 10_000, quotas: 1_000, workspaces: 100 };
export const SMALL: PopulationSize = { clusters: 10, placements: 100, quotas: 10, workspaces: 10 };

export const describeSize = (size: PopulationSize): string =>
  `${size.clusters} clusters / ${size.placements} placements / ${size.quotas} quotas / ${size.workspaces} workspaces`;

/** mulberry32: a small seeded generator, so every run builds the same population. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const pad = (n: number, width: number): string => String(n).padStart(width, '0');
export const clusterName = (i: number): string => `cluster-${pad(i, 5)}`;
export const workspaceName = (i: number): string => `ws-${pad(i, 4)}`;
const isLargeCluster = (i: number): boolean => i % 4 === 0;
const isFullWorkspace = (w: number): boolean => w % 10 === 9;

const CPUS = ['250m', '500m', '1', '2'];
const MEMORIES = ['256Mi', '512Mi', '1Gi', '2Gi'];

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T;
}

/** 1–3 distinct cluster names. */
export function someClusters(random: () => number, clusterCount: number): string[] {
  const count = 1 + Math.floor(random() * Math.min(3, clusterCount));
  const names = new Set<string>();
  while (names.size < count) names.add(clusterName(Math.floor(random() * clusterCount)));
  return [...names];
}

function quotaManifests(size: PopulationSize): Manifest[] {
  const manifests: Manifest[] = [];
  for (let w = 0; manifests.length < size.quotas; w++) {
    const namespace = workspaceName(w);
    const placements = isFullWorkspace(w) ? '10' : '10000';
    manifests.push(aQuota('compute', { namespace, hard: { cpu: '1000', memory: '4Ti', placements }, soft: { cpu: '900' } }));
    if (w % 2 === 1 && manifests.length < size.quotas) {
      manifests.push(aQuota('batch', { namespace, hard: { cpu: '500', memory: '2Ti' }, scope: { matchLabels: { tier: 'batch' } } }));
    }
  }
  return manifests;
}

const clusterCapacity = (i: number): Record<string, string> =>
  isLargeCluster(i) ? { cpu: '128', memory: '512Gi', storage: '2Ti', pods: '1100' } : { cpu: '32', memory: '128Gi', storage: '1Ti', pods: '330' };

/** Every object of the population, as manifests: clusters, then quotas, then placements (same seed, same objects). */
export function* populationManifests(size: PopulationSize, seed = 1): Generator<Manifest> {
  const random = seeded(seed);
  for (let i = 0; i < size.clusters; i++) yield aSyncTarget(clusterName(i), { capacity: clusterCapacity(i), location: `region-${i % 7}` });
  yield* quotaManifests(size);
  for (let i = 0; i < size.placements; i++) {
    const clusters = someClusters(random, size.clusters);
    yield aPlacement(`p-${pad(i, 6)}`, {
      namespace: workspaceName(i % size.workspaces),
      requirements: { cpu: pick(random, CPUS), memory: pick(random, MEMORIES) },
      clusters,
      selected: clusters,
      labels: { app: `app-${i % 50}`, tier: i % 2 === 0 ? 'batch' : 'web' },
      phase: 'Placed',
    });
  }
}

/** Builds the state the way the tracker does: every object parsed by its zod schema, then upserted. */
export function buildState(size: PopulationSize, seed = 1): TrackedState {
  const state = new TrackedState();
  for (const manifest of populationManifests(size, seed)) addManifest(state, manifest);
  return state;
}

/** Workspaces that hold placements and whose quotas have room. */
function openWorkspaces(size: PopulationSize): number[] {
  const withQuotas = Math.ceil((size.quotas * 2) / 3);
  const open: number[] = [];
  for (let w = 0; w < Math.min(size.workspaces, withQuotas); w++) if (!isFullWorkspace(w)) open.push(w);
  return open;
}

export type ReviewKind = 'allowed' | 'denied-quota' | 'denied-capacity';

export interface PlacementSpec {
  readonly kind: ReviewKind;
  readonly name: string;
  readonly namespace: string;
  readonly clusters: string[];
  readonly requirements: Record<string, string>;
  readonly labels: Record<string, string>;
}

/**
 * A new placement of the given kind:
 * - allowed: 500m / 1Gi on 1–3 clusters in a workspace with 1–2 quotas that have room;
 * - denied-quota: the same, in a full workspace (its `placements` limit is reached);
 * - denied-capacity: 60 cpu on one small cluster (48 cpu after overcommit), which
 *   makes the decision look for clusters with room (the large ones have it).
 */
export function placementSpec(kind: ReviewKind, size: PopulationSize, random: () => number, n: number): PlacementSpec {
  const tier = random() < 0.5 ? 'batch' : 'web';
  const labels = { app: `new-${n % 50}`, tier };
  if (kind === 'denied-capacity') {
    const small = 1 + 4 * Math.floor(random() * Math.floor(size.clusters / 4)) + Math.floor(random() * 3);
    const open = openWorkspaces(size);
    return { kind, name: `big-${n}`, namespace: workspaceName(pick(random, open)), clusters: [clusterName(small)], requirements: { cpu: '60', memory: '1Gi' }, labels };
  }
  const workspaces = kind === 'allowed' ? openWorkspaces(size) : [9, 19, 29].filter((w) => w < size.workspaces);
  return {
    kind,
    name: `new-${n}`,
    namespace: workspaceName(pick(random, workspaces)),
    clusters: someClusters(random, size.clusters),
    requirements: { cpu: '500m', memory: '1Gi' },
    labels,
  };
}

/** The placement manifest as a CREATE review carries it (no status yet). */
export function placementObject(spec: PlacementSpec): Record<string, unknown> {
  return aPlacement(spec.name, { namespace: spec.namespace, requirements: spec.requirements, clusters: spec.clusters, labels: spec.labels });
}
