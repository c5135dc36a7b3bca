import { amountOf, type Quantity, type QuantityFormat, type ResourceList } from '../quantity/index.js';

/** A rate or percentage per resource; a resource is absent where its denominator is zero. */
export type Rates = Readonly<Record<string, number>>;

/**
 * Quantities as a frozen list, in the order given. `Object.fromEntries` defines every name as an own
 * property, so a resource called `__proto__` stays a resource; cheaper than the algebra's own
 * builder for the tens of thousands of small lists a report holds.
 */
export const listOf = (entries: readonly (readonly [string, Quantity])[]): ResourceList => Object.freeze(Object.fromEntries(entries));

/** A quantity of a computed amount, in the format of the quantities it came from. */
export const quantityOf = (nanos: bigint, format: QuantityFormat): Quantity => Object.freeze({ nanos, format });

/**
 * A running sum per resource, exact, frozen into a ResourceList once. It adds BigInts and makes one
 * Quantity per resource at the end instead of one per addition: an aggregation adds some 500,000
 * quantities, and making each sum an object made garbage collection most of its cost.
 */
export class Sums {
  private readonly nanos = new Map<string, bigint>();
  private readonly formats = new Map<string, QuantityFormat>();

  /** Adds every quantity of `list`. */
  add(list: ResourceList): void {
    for (const name of Object.keys(list)) this.addQuantity(name, amountOf(list, name));
  }

  /** Adds every sum of `other`. */
  addSums(other: Sums): void {
    for (const [name, nanos] of other.nanos) this.addQuantity(name, { nanos, format: other.formats.get(name) ?? 'DecimalSI' });
  }

  /** Adds one quantity. The sum's format is its first non-zero addend's, as the algebra's `add` keeps it. */
  addQuantity(name: string, q: Quantity): void {
    const sum = this.nanos.get(name);
    if (sum === undefined || (sum === 0n && q.nanos !== 0n)) this.formats.set(name, q.format);
    this.nanos.set(name, (sum ?? 0n) + q.nanos);
  }

  /** Each sum as a quantity, in the order the names were first added. */
  *entries(): Generator<[string, Quantity]> {
    for (const [name, nanos] of this.nanos) yield [name, quantityOf(nanos, this.formats.get(name) ?? 'DecimalSI')];
  }

  /** The sums as a frozen list, names in order. */
  list(): ResourceList {
    return listOf([...this.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

/** A quantity as a float in base units (cores, bytes): for rates and trends, never for decisions. */
export const unitsOf = (q: Quantity): number => Number(q.nanos) / 1e9;

/**
 * numerator / denominator per resource, for every resource whose denominator is above zero. A
 * resource with nothing allocated but some limit gets 0; one with no limit has no rate (it would be
 * infinite, which neither JSON nor a person can use; `available` going negative shows it instead).
 */
export function ratesOf(numerator: ResourceList, denominator: ResourceList): Rates {
  const rates: [string, number][] = [];
  // Lists built by the quantity algebra have their names in order already; rates keep that order.
  for (const name of Object.keys(denominator)) {
    const below = amountOf(denominator, name).nanos;
    if (below > 0n) rates.push([name, Number(amountOf(numerator, name).nanos) / Number(below)]);
  }
  // fromEntries defines own properties: a resource called `__proto__` stays a rate, not a prototype.
  return Object.fromEntries(rates);
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
  return Object.fromEntries(
    [...values.keys()].sort().map((name) => {
      const sorted = Float64Array.from(values.get(name) ?? []).sort();
      return [name, { clusters: sorted.length, p50: rank(sorted, 0.5), p95: rank(sorted, 0.95), max: rank(sorted, 1) }];
    }),
  );
}
