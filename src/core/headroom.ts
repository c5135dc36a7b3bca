import { amountOf, type Quantity, type ResourceList } from '../quantity/index.js';

/**
 * What is left under a set of limits (a quota's hard or soft limits minus its used sum, a cluster's
 * allocatable × overcommit minus what is allocated there), one double per resource, kept by the state
 * until the sum changes. A decision asks only "does the request fit?", almost always yes; answering
 * that from a few doubles in one array, instead of from the limit and sum lists, their Quantities and
 * their BigInts, is what keeps the decision from reading a dozen objects no longer in the CPU cache
 * once the population is large (docs/benchmarks.md, decision-cost).
 *
 * Exact nonetheless: each double is the exact room (a BigInt) rounded to nearest, and the request's
 * amount is rounded the same way. Rounding never reverses an order (x < y gives round(x) ≤ round(y)),
 * so when the two doubles differ their order is the exact one; when they are equal the check cannot
 * tell, and the caller checks exactly.
 */
export interface Headroom {
  /** The resources with a limit, in order. */
  readonly names: readonly string[];
  /** limit − used of each name, in nanos, rounded to a double (±Infinity past the doubles' range). */
  readonly room: readonly number[];
  /** Whether a resource without a limit is unlimited (quotas) or has no room at all (clusters). */
  readonly unlistedUnlimited: boolean;
}

/**
 * How a headroom's sorted resource names are kept: the state shares one array per set of names
 * (its interner), since clusters and quotas are mostly written with the same few resources and a
 * decision then finds one shared array in the CPU cache instead of one per record.
 */
export type ShareNames = (names: string[]) => readonly string[];

const ownNames: ShareNames = (names) => Object.freeze(names);

/** Room is exact, in nanos, before it is rounded: limit − used. */
const roomIn = (limits: ResourceList, used: ResourceList, name: string): bigint => amountOf(limits, name).nanos - amountOf(used, name).nanos;

/** The room under `limits` beside `used`: every name of `limits`, and for clusters also those only `used` holds. */
export function headroomOf(limits: ResourceList, used: ResourceList, unlistedUnlimited: boolean, shared: ShareNames = ownNames): Headroom {
  const names = Object.keys(limits);
  // Without a limit a resource's room is 0 − used: for a cluster, what is allocated beyond its allocatable counts too.
  if (!unlistedUnlimited) for (const name of Object.keys(used)) if (!Object.hasOwn(limits, name)) names.push(name);
  const ordered = shared(names.sort());
  return { names: ordered, room: ordered.map((name) => Number(roomIn(limits, used, name))), unlistedUnlimited };
}

/**
 * The room under two sets of limits at once (a quota's hard and soft ones), where a resource's room is
 * the smaller of the two: a request surely fits both exactly when it surely fits this (rounding keeps
 * the order, so the smaller double is the smaller room's).
 */
export function headroomUnderBoth(first: ResourceList, second: ResourceList, used: ResourceList, shared: ShareNames = ownNames): Headroom {
  const names = Object.keys(first);
  for (const name of Object.keys(second)) if (!Object.hasOwn(first, name)) names.push(name);
  const ordered = shared(names.sort());
  const room = ordered.map((name) => {
    const under = [first, second].filter((limits) => Object.hasOwn(limits, name)).map((limits) => roomIn(limits, used, name));
    return Number(under.reduce((a, b) => (b < a ? b : a)));
  });
  return { names: ordered, room, unlistedUnlimited: true };
}

/** The room of one resource; undefined for a resource without a limit where that means unlimited. */
function roomOf(headroom: Headroom, resource: string): number | undefined {
  const index = headroom.names.indexOf(resource);
  if (index >= 0) return headroom.room[index];
  return headroom.unlistedUnlimited ? undefined : 0;
}

/**
 * True when every amount of `requested` above zero certainly fits in the room (used + amount ≤ limit);
 * false when one of them does not, or is too close to the room to tell in doubles: then check exactly.
 */
export function surelyFits(headroom: Headroom, requested: ResourceList): boolean {
  for (const resource in requested) {
    if (!Object.hasOwn(requested, resource)) continue;
    const { nanos } = requested[resource] as Quantity;
    if (nanos <= 0n) continue; // only growth is checked against limits
    const room = roomOf(headroom, resource);
    if (room !== undefined && !(Number(nanos) < room)) return false;
  }
  return true;
}
