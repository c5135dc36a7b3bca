import { amountOf, type Quantity, type QuantityFormat, type ResourceList } from '../quantity/index.js';

/** A rate or percentage per resource; a resource is absent where its denominator is zero. */
export type Rates = Readonly<Record<string, number>>;

/**
 * Defines `name` on `into` as an own property, as `Object.fromEntries` would, so a resource called
 * `__proto__` stays a resource instead of becoming a prototype. Assigning is about four times as fast
 * as `fromEntries`, for the tens of thousands of small lists and rates a report holds; a list built
 * this way is frozen once it is complete.
 */
export function setOwn<T>(into: Record<string, T>, name: string, value: T): void {
  if (name === '__proto__') Object.defineProperty(into, name, { value, enumerable: true, writable: true, configurable: true });
  else into[name] = value;
}

/** A quantity of a computed amount, in the format of the quantities it came from. */
export const quantityOf = (nanos: bigint, format: QuantityFormat): Quantity => Object.freeze({ nanos, format });

/** One resource's running sum; changed in place as quantities are added. */
export interface RunningSum {
  nanos: bigint;
  format: QuantityFormat;
}

/** A running sum whose first addend is `q`. */
export const startSum = (q: Quantity): RunningSum => ({ nanos: q.nanos, format: q.format });

/**
 * Adds `q` to `sum` in place. The sum takes q's format when it is zero and q is not, so its format is
 * that of its first non-zero addend, as the algebra's `add` keeps it.
 */
export function accumulate(sum: RunningSum, q: Quantity): void {
  if (q.nanos === 0n) return;
  if (sum.nanos === 0n) sum.format = q.format;
  sum.nanos += q.nanos;
}

/** How many distinct quantity objects a {@link ResourceSum} counts before it adds the rest one by one. */
const COUNTED_AT_MOST = 4;

/**
 * One resource's running sum in a {@link Sums}. Its addends are mostly a few shared objects: quantities
 * parsed from the same text are one object, and so are their products, so the capacity, allocatable
 * and limit of 10,000 clusters are a handful. Each distinct one is counted and multiplied once at the
 * end, instead of a BigInt allocated per addition (120,000 of them per aggregation at 10k clusters).
 * That holds while no addend is negative: a sum that never comes back to zero has the format of its
 * first non-zero addend, as {@link accumulate} gives it, in whatever order the rest is added. From a
 * negative addend on, or past the distinct ones it counts, it adds one by one.
 */
class ResourceSum {
  private readonly counted: Quantity[] = [];
  private readonly counts: number[] = [];
  private format: QuantityFormat;
  private nonZero: boolean;
  /** The sum so far once addends are added one by one. */
  private added: RunningSum | undefined;

  constructor(first: Quantity) {
    this.format = first.format;
    this.nonZero = first.nanos !== 0n;
    if (first.nanos < 0n) this.added = startSum(first);
    else this.count(first);
  }

  add(q: Quantity): void {
    if (this.added !== undefined) return accumulate(this.added, q);
    const i = this.counted.indexOf(q);
    if (i >= 0) {
      this.counts[i] = (this.counts[i] as number) + 1;
      return;
    }
    if (q.nanos < 0n || this.counted.length === COUNTED_AT_MOST) {
      accumulate((this.added = this.total()), q);
      return;
    }
    if (!this.nonZero && q.nanos !== 0n) {
      this.format = q.format;
      this.nonZero = true;
    }
    this.count(q);
  }

  private count(q: Quantity): void {
    this.counted.push(q);
    this.counts.push(1);
  }

  /** The amount and format of the sum so far. */
  total(): RunningSum {
    if (this.added !== undefined) return this.added;
    let nanos = 0n;
    for (let i = 0; i < this.counted.length; i++) nanos += (this.counted[i] as Quantity).nanos * BigInt(this.counts[i] as number);
    return { nanos, format: this.format };
  }
}

/**
 * A running sum per resource, exact, frozen into a ResourceList once. It adds BigInts (or counts shared
 * quantities, see {@link ResourceSum}) and makes one Quantity per resource at the end instead of one per
 * addition: an aggregation adds some 500,000 quantities, and making each sum an object made garbage
 * collection most of its cost. One record per resource holds its sum and format, so an addition is one
 * map lookup.
 */
export class Sums {
  private readonly sums = new Map<string, ResourceSum>();

  /** Adds every quantity of `list`. */
  add(list: ResourceList): void {
    // for-in over own names, not Object.keys: an aggregation made an array per list read, a quarter of
    // all it allocated. Own names only, so the quantities are read directly, without amountOf's check.
    for (const name in list) if (Object.hasOwn(list, name)) this.addQuantity(name, list[name] as Quantity);
  }

  /** Adds every sum of `other`. */
  addSums(other: Sums): void {
    for (const [name, sum] of other.sums) this.addQuantity(name, sum.total());
  }

  /** Adds one quantity, as {@link accumulate} does. */
  addQuantity(name: string, q: Quantity): void {
    const sum = this.sums.get(name);
    if (sum === undefined) this.sums.set(name, new ResourceSum(q));
    else sum.add(q);
  }

  /** The sums as a frozen list, names in order. */
  list(): ResourceList {
    const list: Record<string, Quantity> = {};
    for (const name of [...this.sums.keys()].sort()) {
      const sum = (this.sums.get(name) as ResourceSum).total();
      setOwn(list, name, quantityOf(sum.nanos, sum.format));
    }
    return Object.freeze(list);
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
  const rates: Record<string, number> = {};
  // Lists built by the quantity algebra have their names in order already; rates keep that order.
  for (const name in denominator) {
    if (!Object.hasOwn(denominator, name)) continue;
    const below = (denominator[name] as Quantity).nanos;
    if (below > 0n) setOwn(rates, name, Number(amountOf(numerator, name).nanos) / Number(below));
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

/** Whether `a` comes before `b` in the order TypedArray#sort puts numbers in: ascending, -0 before +0, NaN last. */
function before(a: number, b: number): boolean {
  if (a < b) return true;
  if (a > b || Number.isNaN(a)) return false;
  // Equal, or b is NaN: only a number before NaN, and -0 before +0, make a difference.
  return Number.isNaN(b) || (a === 0 && Object.is(a, -0) && Object.is(b, 0));
}

/**
 * Moves into `values[k]` the value sorting would put there, with none after it that comes before it
 * and none before it that comes after it; only `values[from..]` is looked at, and kept so. Expected
 * linear (Hoare's selection), where sorting the 10,000 rates of a resource took most of spreadOf; a
 * range that does not shrink as expected is sorted instead, so the worst case stays n log n.
 */
function select(values: Float64Array, k: number, from: number): void {
  let lo = from;
  let hi = values.length - 1;
  for (let budget = 2 * Math.ceil(Math.log2(values.length + 1)) + 4; hi > lo; budget--) {
    if (budget === 0) {
      values.subarray(lo, hi + 1).sort();
      return;
    }
    const pivot = values[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (before(values[i] as number, pivot)) i++;
      while (before(pivot, values[j] as number)) j--;
      if (i <= j) {
        const swap = values[i] as number;
        values[i++] = values[j] as number;
        values[j--] = swap;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Nearest rank: the smallest value with at least q of the values at or below it (no interpolation). */
const rankIndex = (count: number, q: number): number => Math.min(count - 1, Math.max(0, Math.ceil(q * count) - 1));

/** The spread of some rates (at least one), which it reorders. */
function spreadOfValues(values: Float64Array): Spread {
  const p50 = rankIndex(values.length, 0.5);
  const p95 = rankIndex(values.length, 0.95);
  const max = values.length - 1;
  // Each selection leaves what comes after its index at or after it, so the next looks only there.
  select(values, p50, 0);
  select(values, p95, p50);
  select(values, max, p95);
  return { clusters: values.length, p50: values[p50] as number, p95: values[p95] as number, max: values[max] as number };
}

/** p50 / p95 / max per resource of the rates of many clusters; resources no cluster has a rate for are absent. */
export function spreadOf(perCluster: readonly Rates[]): Readonly<Record<string, Spread>> {
  const values = new Map<string, number[]>();
  for (const rates of perCluster) {
    for (const name in rates) {
      if (!Object.hasOwn(rates, name)) continue;
      let into = values.get(name);
      if (!into) values.set(name, (into = []));
      into.push(rates[name] as number);
    }
  }
  return Object.fromEntries([...values.keys()].sort().map((name) => [name, spreadOfValues(Float64Array.from(values.get(name) ?? []))]));
}
