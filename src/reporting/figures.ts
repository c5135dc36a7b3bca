import { add, addLists, amountOf, type Quantity, type ResourceList } from '../quantity/index.js';

/** A rate or percentage per resource; a resource is absent where its denominator is zero. */
export type Rates = Readonly<Record<string, number>>;

const EMPTY: ResourceList = Object.freeze({});

/** A mutable sum per resource, built up cluster by cluster and frozen into a ResourceList once. */
export type Sums = Record<string, Quantity>;

/** An empty {@link Sums}: inherits nothing, so a resource called `constructor` is a plain key. */
export const newSums = (): Sums => Object.create(null) as Sums;

/** Adds every quantity of `list` into `into` (exact; format as the quantity algebra's `add`). */
export function accumulate(into: Sums, list: ResourceList): void {
  for (const name of Object.keys(list)) {
    const sum = into[name];
    into[name] = sum === undefined ? amountOf(list, name) : add(sum, amountOf(list, name));
  }
}

/** The sums as a frozen, sorted ResourceList (the algebra builds one when it adds a plain record to nothing). */
export const frozenList = (sums: Sums): ResourceList => addLists(EMPTY, sums);

/** A quantity as a float in base units (cores, bytes): for rates and trends, never for decisions. */
export const unitsOf = (q: Quantity): number => Number(q.nanos) / 1e9;

/**
 * numerator / denominator per resource, for every resource whose denominator is above zero. A
 * resource with nothing allocated but some limit gets 0; one with no limit has no rate (it would be
 * infinite, which neither JSON nor a person can use; `available` going negative shows it instead).
 */
export function ratesOf(numerator: ResourceList, denominator: ResourceList): Rates {
  const rates: Record<string, number> = {};
  for (const name of Object.keys(denominator).sort()) {
    const below = amountOf(denominator, name).nanos;
    if (below > 0n) rates[name] = Number(amountOf(numerator, name).nanos) / Number(below);
  }
  return rates;
}

/** The p50, p95 and max of a set of rates, and how many clusters had one. */
export interface Spread {
  readonly clusters: number;
  readonly p50: number;
  readonly p95: number;
  readonly max: number;
}

/** Nearest rank: the smallest value with at least q of the values at or below it (no interpolation). */
function rank(sorted: Float64Array, q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
}

/** p50 / p95 / max per resource of the rates of many clusters; resources no cluster has a rate for are absent. */
export function spreadOf(perCluster: readonly Rates[]): Readonly<Record<string, Spread>> {
  const values = new Map<string, number[]>();
  for (const rates of perCluster) {
    for (const name of Object.keys(rates)) {
      const into = values.get(name) ?? [];
      into.push(rates[name] as number);
      values.set(name, into);
    }
  }
  const spread: Record<string, Spread> = {};
  for (const name of [...values.keys()].sort()) {
    const sorted = Float64Array.from(values.get(name) ?? []).sort();
    spread[name] = { clusters: sorted.length, p50: rank(sorted, 0.5), p95: rank(sorted, 0.95), max: rank(sorted, 1) };
  }
  return spread;
}
