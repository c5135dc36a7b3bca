import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { addLists, amountOf, listsEqual, type Quantity, type QuantityFormat, type ResourceList } from '../../../src/quantity/index.js';
import { setOwn, Sums } from '../../../src/reporting/figures.js';

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
