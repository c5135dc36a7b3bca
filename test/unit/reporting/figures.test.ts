import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addLists, amountOf, listsEqual, type Quantity, type QuantityFormat, type ResourceList } from '../../../src/quantity/index.js';
import { setOwn, spreadOf, Sums } from '../../../src/reporting/figures.js';

describe('setOwn', () => {
  it.each([
    { name: 'plain names, in the order given', entries: [['memory', 1], ['cpu', 2]] },
    { name: '__proto__ stays an own property, not a prototype', entries: [['cpu', 1], ['__proto__', 2]] },
    { name: 'names Object.prototype has stay own properties', entries: [['constructor', 1], ['toString', 2], ['hasOwnProperty', 3]] },
    { name: 'integer-like names come first, as they always do', entries: [['cpu', 1], ['2', 2], ['1', 3]] },
  ] as { name: string; entries: [string, number][] }[])('$name: the object Object.fromEntries makes', ({ entries }) => {
    const built: Record<string, number> = {};
    for (const [name, value] of entries) setOwn(built, name, value);
    const expected = Object.fromEntries(entries);
    expect(Object.getPrototypeOf(built)).toBe(Object.prototype);
    expect(Object.entries(built)).toEqual(Object.entries(expected));
    expect(Object.getOwnPropertyDescriptors(built)).toEqual(Object.getOwnPropertyDescriptors(expected));
  });
});

const names = ['cpu', 'memory', 'storage', '__proto__'];
const quantity: fc.Arbitrary<Quantity> = fc.record({
  nanos: fc.bigInt({ min: -(2n ** 40n), max: 2n ** 70n }),
  format: fc.constantFrom<QuantityFormat>('DecimalSI', 'BinarySI', 'DecimalExponent'),
});
const resourceList: fc.Arbitrary<ResourceList> = fc
  .array(fc.tuple(fc.constantFrom(...names), fc.oneof(quantity, fc.constant<Quantity>({ nanos: 0n, format: 'BinarySI' }))), { maxLength: names.length })
  .map((entries) => {
    const list: Record<string, Quantity> = {};
    for (const [name, q] of entries) setOwn(list, name, q);
    return Object.freeze(list);
  });

describe('Sums', () => {
  it("is the algebra's sum of the same lists: same names, exact amounts, the same formats", () => {
    fc.assert(
      fc.property(fc.array(resourceList, { maxLength: 8 }), fc.nat(8), (lists, split) => {
        // Added one list at a time, or as two partial sums added together: the same sums.
        const whole = new Sums();
        const head = new Sums();
        const tail = new Sums();
        lists.forEach((list, i) => {
          whole.add(list);
          (i < split ? head : tail).add(list);
        });
        head.addSums(tail);
        const expected = lists.reduce<ResourceList>((sum, list) => addLists(sum, list), {});
        const sums = whole.list();
        expect(Object.keys(sums)).toEqual(Object.keys(expected).sort());
        expect(Object.isFrozen(sums)).toBe(true);
        for (const name of Object.keys(expected)) {
          const want = amountOf(expected, name);
          expect(amountOf(sums, name).nanos).toBe(want.nanos);
          // A zero prints `0` whatever its format; the algebra keeps the last zero's, Sums the first's.
          if (want.nanos !== 0n) expect(amountOf(sums, name).format).toBe(want.format);
        }
        // Partial sums added together: the same amounts. (Not always the same formats: with negative
        // addends a part can pass through zero, where a sum takes its next addend's format.)
        expect(listsEqual(head.list(), expected)).toBe(true);
        expect(Object.keys(head.list())).toEqual(Object.keys(sums));
      }),
    );
  });
});

describe('spreadOf', () => {
  /** The spread the definition gives: sort, then take the nearest rank. */
  function bySorting(values: number[]): { clusters: number; p50: number; p95: number; max: number } {
    const sorted = Float64Array.from(values).sort();
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] as number;
    return { clusters: sorted.length, p50: at(0.5), p95: at(0.95), max: at(1) };
  }
  const rate = fc.oneof(fc.double(), fc.constantFrom(0, -0, 1, 0.5, Number.NaN, Infinity), fc.integer({ min: 0, max: 3 }));

  it('selects what sorting the rates would give, down to -0 and NaN, with many equal values or none', () => {
    fc.assert(
      fc.property(fc.array(fc.array(rate, { minLength: 0, maxLength: 3 }), { maxLength: 300 }), (perCluster) => {
        const rates = perCluster.map((values) => Object.fromEntries(values.map((value, i) => [['cpu', 'memory', 'gpu'][i] as string, value])));
        const spread = spreadOf(rates);
        for (const name of ['cpu', 'memory', 'gpu']) {
          const values = rates.filter((r) => Object.hasOwn(r, name)).map((r) => r[name] as number);
          if (values.length === 0) expect(Object.hasOwn(spread, name)).toBe(false);
          else expect(Object.entries(spread[name] ?? {}).every(([k, v]) => Object.is(v, bySorting(values)[k as 'p50']))).toBe(true);
        }
      }),
    );
  });

  it.each([
    { name: 'ascending', values: Array.from({ length: 10_000 }, (_, i) => i / 10_000) },
    { name: 'descending', values: Array.from({ length: 10_000 }, (_, i) => 1 - i / 10_000) },
    { name: 'all equal', values: Array.from({ length: 10_000 }, () => 0.25) },
    { name: 'two values, alternating', values: Array.from({ length: 10_001 }, (_, i) => i % 2) },
    { name: 'organ pipe', values: Array.from({ length: 10_000 }, (_, i) => Math.min(i, 10_000 - i)) },
  ])('$name: the same as sorting', ({ values }) => {
    expect(spreadOf(values.map((cpu) => ({ cpu }))).cpu).toEqual(bySorting(values));
  });
});
