import type { z } from 'zod';
import type { Quantity, ResourceList } from '../quantity/index.js';
import { quantityOf, timestampMs, type ObjectMeta } from './fields.js';
import { MAX_CLUSTERS, MAX_NAME_LENGTH, MAX_RESOURCE_NAME_LENGTH, MAX_RESOURCES } from './limits.js';
import { API_VERSION, conflictStrategies, DEFAULT_REQUIREMENTS, workloadPlacementSchema, type ConflictStrategy, type WorkloadPlacement } from './resources.js';

type Json = Record<string, unknown>;

/**
 * An object as JSON.parse and YAML make them. Anything else (arrays, class instances, objects
 * without a prototype) is left to the schema.
 */
const plain = (value: unknown): value is Json => typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;

/** An optional field, absent or valid; one present as `undefined` is left to the schema (its output keeps the key). */
const optional = (object: Json, key: string, valid: (value: unknown) => boolean): boolean =>
  object[key] === undefined ? !(key in object) : valid(object[key]);

const isString = (value: unknown): value is string => typeof value === 'string';
const isTimestamp = (value: unknown): boolean => typeof value === 'string' && !Number.isNaN(timestampMs(value));
const isClusterName = (value: unknown): value is string => typeof value === 'string' && value.length >= 1 && value.length <= MAX_NAME_LENGTH;
const isResourceName = (name: string): boolean => name.length >= 1 && name.length <= MAX_RESOURCE_NAME_LENGTH;
const isStrategy = (value: unknown): value is ConflictStrategy => conflictStrategies.includes(value as ConflictStrategy);
const PHASES: readonly unknown[] = ['Pending', 'Placed', 'Evicted'];

/** The keys of a map, when they are its only keys (no symbols, none hidden) and none is `__proto__`. */
function mapKeys(map: Json): string[] | undefined {
  const keys = Object.keys(map);
  if (keys.includes('__proto__') || Object.getOwnPropertySymbols(map).length > 0) return undefined;
  return keys;
}

function stringMap(value: unknown): Record<string, string> | undefined {
  if (value === undefined) return {};
  const keys = plain(value) ? mapKeys(value) : undefined;
  if (!keys) return undefined;
  const map: Record<string, string> = {};
  for (const key of keys) {
    const text = (value as Json)[key];
    if (typeof text !== 'string') return undefined;
    map[key] = text;
  }
  return map;
}

/** The optional fields of metadata, in the schema's order, with what each accepts. */
const OPTIONAL_META: readonly (readonly [string, (value: unknown) => boolean])[] = [
  ['namespace', isString],
  ['uid', isString],
  ['generation', Number.isSafeInteger],
  ['resourceVersion', isString],
  ['creationTimestamp', isTimestamp],
];

function validIn(this: Json, [key, valid]: readonly [string, (value: unknown) => boolean]): boolean {
  return optional(this, key, valid);
}

function metadata(value: unknown): ObjectMeta | undefined {
  if (!plain(value)) return undefined;
  const { name = '' } = value;
  if (typeof name !== 'string' || !OPTIONAL_META.every(validIn, value)) return undefined;
  const labels = stringMap(value.labels);
  const annotations = stringMap(value.annotations);
  if (!labels || !annotations) return undefined;
  // In the schema's order of keys, as its output has them.
  const meta: Json = { name };
  for (const [key] of OPTIONAL_META) if (value[key] !== undefined) meta[key] = value[key];
  meta.labels = labels;
  meta.annotations = annotations;
  return meta as ObjectMeta;
}

function requirements(value: unknown): ResourceList | undefined {
  if (value === undefined) return Object.freeze({ ...DEFAULT_REQUIREMENTS });
  const names = plain(value) ? mapKeys(value) : undefined;
  if (!names || names.length > MAX_RESOURCES) return undefined;
  // What the schema builds as `{ ...DEFAULT_REQUIREMENTS, ...given }`, keys in the same order.
  const list: Record<string, Quantity> = { ...DEFAULT_REQUIREMENTS };
  for (const name of names) {
    const amount = (value as Json)[name];
    if (!isResourceName(name) || (typeof amount !== 'string' && typeof amount !== 'number')) return undefined;
    const parsed = quantityOf(amount);
    if (!parsed.ok) return undefined;
    list[name] = parsed.quantity;
  }
  return Object.freeze(list);
}

/** A list of distinct cluster names, each read from an item by `nameOf` (undefined: not one). */
function clusterList<T>(value: unknown, nameOf: (item: unknown) => string | undefined, itemOf: (name: string) => T): T[] | undefined {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_CLUSTERS) return undefined;
  const seen = new Set<string>();
  const items: T[] = [];
  for (let i = 0; i < value.length; i++) {
    const name = nameOf(value[i]);
    if (name === undefined || seen.has(name)) return undefined;
    seen.add(name);
    items.push(itemOf(name));
  }
  return items;
}

const targetName = (item: unknown): string | undefined => (plain(item) && isClusterName(item.name) ? item.name : undefined);
const selectedName = (item: unknown): string | undefined => (isClusterName(item) ? item : undefined);
const target = (name: string): { name: string } => ({ name });
const itself = (name: string): string => name;

function spec(value: unknown): WorkloadPlacement['spec'] | undefined {
  const given = value === undefined ? {} : value;
  if (!plain(given)) return undefined;
  const { priority = 0, conflictStrategy = 'UseNewest' } = given;
  const resourceRequirements = requirements(given.resourceRequirements);
  const targetClusters = clusterList(given.targetClusters, targetName, target);
  if (!resourceRequirements || !targetClusters || !Number.isSafeInteger(priority) || !isStrategy(conflictStrategy)) return undefined;
  return { resourceRequirements, targetClusters, priority: priority as number, conflictStrategy };
}

/** Empty or absent; a list with entries is the schema's to check. */
const none = (value: unknown): boolean => value === undefined || (Array.isArray(value) && value.length === 0);

/** Only what a new placement's status may hold: a phase and selected clusters (statuses, conditions and aggregates go to the schema). */
function status(value: unknown): WorkloadPlacement['status'] | undefined {
  const given = value === undefined ? {} : value;
  if (!plain(given) || !optional(given, 'phase', (phase) => PHASES.includes(phase)) || given.aggregatedStatus !== undefined || 'aggregatedStatus' in given) return undefined;
  const selectedClusters = clusterList(given.selectedClusters, selectedName, itself);
  if (!selectedClusters || !none(given.clusterStatuses) || !none(given.conditions)) return undefined;
  const phase = given.phase as WorkloadPlacement['status']['phase'];
  return { ...(phase === undefined ? {} : { phase }), selectedClusters, clusterStatuses: [], conditions: [] };
}

/**
 * The schema's output for the placements admission sees most (a create or update with no status
 * entries, conditions or aggregate), built without the schema's machinery: about a fifth of its cost
 * (docs/benchmarks.md, admission-https). It accepts only what `workloadPlacementSchema` accepts and
 * returns what the schema would; for anything else, valid or not, it says undefined and the schema
 * decides, so every refusal keeps the schema's words. A property test holds the two together.
 */
export function placementFastPath(input: unknown): WorkloadPlacement | undefined {
  if (!plain(input) || input.apiVersion !== API_VERSION || input.kind !== 'WorkloadPlacement') return undefined;
  const meta = metadata(input.metadata);
  const placementSpec = meta && spec(input.spec);
  const placementStatus = placementSpec && status(input.status);
  if (!meta || !placementSpec || !placementStatus) return undefined;
  return { apiVersion: API_VERSION, kind: 'WorkloadPlacement', metadata: meta, spec: placementSpec, status: placementStatus };
}

/** `workloadPlacementSchema.safeParse`, through {@link placementFastPath} when it applies. */
export function parsePlacement(input: unknown): z.ZodSafeParseResult<WorkloadPlacement> {
  const fast = placementFastPath(input);
  return fast ? { success: true, data: fast } : workloadPlacementSchema.safeParse(input);
}
