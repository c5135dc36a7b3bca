import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { headroomOf, headroomUnderBoth, surelyFits } from '../../../src/core/headroom.js';
import { Interner } from '../../../src/state/interner.js';
import { sumExceeds, ZERO, type Quantity, type ResourceList } from '../../../src/quantity/index.js';

const q = (nanos: bigint): Quantity => ({ nanos, format: 'DecimalSI' });
const listOf = (entries: Record<string, bigint>): ResourceList => Object.fromEntries(Object.entries(entries).map(([name, nanos]) => [name, q(nanos)]));
const own = (list: ResourceList, name: string): Quantity => (Object.hasOwn(list, name) ? (list[name] as Quantity) : ZERO);

/** The exact rules the kept room stands in for: a quota's (a name without a limit is unlimited) and a cluster's (it has no room). */
function exactlyFits(limits: ResourceList, used: ResourceList, requested: ResourceList, unlistedUnlimited: boolean): boolean {
  return Object.keys(requested).every((name) => {
    const amount = own(requested, name);
    if (amount.nanos <= 0n) return true;
    if (unlistedUnlimited && !Object.hasOwn(limits, name)) return true;
    return !sumExceeds(own(used, name), amount, own(limits, name));
  });
}

const NAMES = ['cpu', 'memory', 'pods'];
/** Amounts around 2^53 and far past it (memory in nanos is ~1e18 per GiB), and beyond the doubles' range. */
const nanos = fc.oneof(
  fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }),
  fc.bigInt({ min: 2n ** 53n - 4n, max: 2n ** 53n + 4n }),
  fc.bigInt({ min: 0n, max: 1000n }),
  fc.constantFrom(10n ** 400n, -(10n ** 400n)),
);
const list = fc.dictionary(fc.constantFrom(...NAMES), nanos, { maxKeys: 3 }).map(listOf);

describe('surelyFits', () => {
  it('never says a request fits that the exact check refuses, for quotas and clusters alike', () => {
    fc.assert(
      fc.property(list, list, list, fc.boolean(), (limits, used, requested, unlistedUnlimited) => {
        if (surelyFits(headroomOf(limits, used, unlistedUnlimited), requested)) expect(exactlyFits(limits, used, requested, unlistedUnlimited)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('under two sets of limits, says a request fits only when it fits both exactly', () => {
    fc.assert(
      fc.property(list, list, list, list, (hard, soft, used, requested) => {
        if (surelyFits(headroomUnderBoth(hard, soft, used), requested)) {
          expect([exactlyFits(hard, used, requested, true), exactlyFits(soft, used, requested, true)]).toEqual([true, true]);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('keeps names apart that a joined key would confuse, shared through the state\'s interner', () => {
    const { resourceNames } = new Interner();
    const joined = headroomOf(listOf({ 'a\nb': 10n }), {}, true, resourceNames);
    const split = headroomOf(listOf({ a: 0n, b: 0n }), {}, true, resourceNames);
    expect([joined.names, split.names, surelyFits(split, listOf({ a: 1n }))]).toEqual([['a\nb'], ['a', 'b'], false]);
  });

  it('tells by itself whenever the request is clearly below the room (the check is exact only near the limit)', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 2n ** 90n }), fc.bigInt({ min: 1n, max: 2n ** 90n }), fc.bigInt({ min: 0n, max: 2n ** 90n }), (used, amount, slack) => {
        const limit = used + amount + amount / 1000n + slack + 1n;
        // 2^-10 of the room is far above a double's rounding (2^-53): the doubles must order it.
        if ((limit - used - amount) * 1024n < limit - used) return;
        expect(surelyFits(headroomOf(listOf({ cpu: limit }), listOf({ cpu: used }), true), listOf({ cpu: amount }))).toBe(true);
      }),
    );
  });

  it.each<{ name: string; limit: bigint; used: bigint; amount: bigint; sure: boolean }>([
    { name: 'clearly below the room', limit: 10n, used: 2n, amount: 3n, sure: true },
    { name: 'an exact fit is left to the exact check', limit: 10n, used: 2n, amount: 8n, sure: false },
    { name: 'one over', limit: 10n, used: 2n, amount: 9n, sure: false },
    { name: 'room 2^60 + 1, request 2^60: the same double, left to the exact check', limit: 2n ** 60n + 1n, used: 0n, amount: 2n ** 60n, sure: false },
    { name: 'room 2^60 + 2^10, request 2^60: distinct doubles', limit: 2n ** 60n + 2n ** 10n, used: 0n, amount: 2n ** 60n, sure: true },
    { name: 'past the doubles range on both sides', limit: 10n ** 400n, used: 0n, amount: 10n ** 399n * 9n, sure: false },
  ])('$name: sure = $sure', ({ limit, used, amount, sure }) => {
    expect(surelyFits(headroomOf(listOf({ cpu: limit }), listOf({ cpu: used }), true), listOf({ cpu: amount }))).toBe(sure);
  });

  it.each<{ name: string; unlistedUnlimited: boolean; sure: boolean }>([
    { name: 'a quota without a limit on the resource: unlimited', unlistedUnlimited: true, sure: true },
    { name: 'a cluster without allocatable of the resource: no room', unlistedUnlimited: false, sure: false },
  ])('$name', ({ unlistedUnlimited, sure }) => {
    expect(surelyFits(headroomOf(listOf({ cpu: 10n }), {}, unlistedUnlimited), listOf({ gpu: 1n }))).toBe(sure);
  });

  it('checks only growth: amounts at or below zero fit whatever the room', () => {
    expect(surelyFits(headroomOf(listOf({ cpu: 0n }), listOf({ cpu: 5n }), false), listOf({ cpu: 0n, memory: -3n }))).toBe(true);
  });

  it('reads a resource called like an Object.prototype member as a resource', () => {
    expect(surelyFits(headroomOf({}, {}, false), listOf({ constructor: 1n }))).toBe(false);
  });
});
