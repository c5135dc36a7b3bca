import { DEFAULT_OVERCOMMIT } from '../../src/api/config.js';
import { formatList, mustParse, type ResourceList } from '../../src/quantity/index.js';
import type { ClusterInput, QuotaInput, ReportSnapshot } from '../../src/reporting/aggregate.js';
import { NOW } from './objects.js';

/** A resource list from quantity strings: `list({ cpu: '2', memory: '4Gi' })`. */
export function list(quantities: Record<string, string>): ResourceList {
  return Object.freeze(Object.fromEntries(Object.entries(quantities).map(([name, text]) => [name, mustParse(text)])));
}

/** A list back as canonical strings, for readable expectations. */
export const strings = (resources: ResourceList): Record<string, string> => formatList(resources);

export interface ClusterInputOptions extends Partial<Omit<ClusterInput, 'capacity' | 'allocatable' | 'used' | 'allocated'>> {
  capacity?: Record<string, string>;
  allocatable?: Record<string, string>;
  used?: Record<string, string>;
  allocated?: Record<string, string>;
}

/** A Ready, schedulable cluster of 8 cpu / 16Gi in us-east with nothing allocated, unless told. */
export function aClusterInput(name: string, options: ClusterInputOptions = {}): ClusterInput {
  const capacity = list(options.capacity ?? { cpu: '8', memory: '16Gi' });
  return {
    location: 'us-east',
    readiness: 'Ready',
    unschedulable: false,
    placementCount: 0,
    ...options,
    name,
    capacity,
    allocatable: options.allocatable ? list(options.allocatable) : capacity,
    used: options.used ? list(options.used) : undefined,
    allocated: list(options.allocated ?? {}),
  };
}

export interface QuotaInputOptions extends Partial<Omit<QuotaInput, 'hard' | 'soft' | 'used'>> {
  hard?: Record<string, string>;
  soft?: Record<string, string>;
  used?: Record<string, string>;
}

/** An unscoped quota `<workspace>/<name>` with nothing used, unless told. */
export function aQuotaInput(key: string, options: QuotaInputOptions = {}): QuotaInput {
  const [workspace = '', name = ''] = key.split('/');
  return {
    workspace,
    name,
    scoped: false,
    placementCount: 0,
    clusters: [],
    ...options,
    key,
    hard: list(options.hard ?? {}),
    soft: list(options.soft ?? {}),
    used: list(options.used ?? {}),
  };
}

/** A snapshot at the builders' NOW with the default overcommit (cpu 1.5, memory 1.2, storage 1, pods 1). */
export function aSnapshot(clusters: ClusterInput[], quotas: QuotaInput[] = []): ReportSnapshot {
  return { nowMs: NOW, overcommit: DEFAULT_OVERCOMMIT, clusters, quotas };
}
