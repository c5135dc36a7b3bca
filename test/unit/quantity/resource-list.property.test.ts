import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  addLists,
  cmp,
  exceeded,
  formatList,
  isZeroList,
  listsEqual,
  parseList,
  scaleList,
  subLists,
  subNonNegative,
  ZERO,
  type Quantity,
  type QuantityFormat,
  type ResourceList,
} from '../../../src/quantity/index.js';

const names = ['cpu', 'memory', 'storage', 'pods', 'placements', 'constructor'];
const quantity: fc.Arbitrary<Quantity> = fc.record({
  nanos: fc.oneof(fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }), fc.bigInt({ min: -3n, max: 3n }).map((n) => n * 1_000_000_000n)),
  format: fc.constantFrom<QuantityFormat>('DecimalSI', 'BinarySI', 'DecimalExponent'),
});
const resourceList: fc.Arbitrary<ResourceList> = fc.dictionary(fc.constantFrom(...names), quantity, { maxKeys: names.length });

const valueOf = (list: ResourceList, name: string): Quantity => (Object.hasOwn(list, name) ? (list[name] as Quantity) : ZERO);

describe('resource-list properties', () => {
  it('exceeded() names exactly the limit keys where cmp(used, limit) > 0, sorted', () => {
    fc.assert(
      fc.property(resourceList, resourceList, (used, limit) => {
        const expected = Object.keys(limit)
          .filter((name) => cmp(valueOf(used, name), valueOf(limit, name)) > 0)
          .sort();
        expect(exceeded(used, limit)).toEqual(expected);
      }),
    );
  });

  it('subLists undoes addLists', () => {
    fc.assert(
      fc.property(resourceList, resourceList, (a, b) => {
        expect(listsEqual(subLists(addLists(a, b), b), a)).toBe(true);
      }),
    );
  });

  it('addLists is commutative in value', () => {
    fc.assert(
      fc.property(resourceList, resourceList, (a, b) => {
        expect(listsEqual(addLists(a, b), addLists(b, a))).toBe(true);
      }),
    );
  });

  it('subNonNegative is subLists floored at zero, over the union of names', () => {
    fc.assert(
      fc.property(resourceList, resourceList, (a, b) => {
        const floored = subNonNegative(a, b);
        const raw = subLists(a, b);
        expect(Object.keys(floored)).toEqual(Object.keys(raw));
        for (const name of Object.keys(raw)) {
          const value = valueOf(raw, name);
          expect(cmp(valueOf(floored, name), cmp(value, ZERO) > 0 ? value : ZERO)).toBe(0);
        }
      }),
    );
  });

  it('scaleList by n is adding the list n times', () => {
    fc.assert(
      fc.property(resourceList, fc.integer({ min: 0, max: 6 }), (a, n) => {
        const repeated = Array.from({ length: n }, () => a).reduce<ResourceList>(addLists, {});
        expect(listsEqual(scaleList(a, n), repeated)).toBe(true);
      }),
    );
  });

  it('parseList(formatList(a)) equals a', () => {
    fc.assert(
      fc.property(resourceList, (a) => {
        const result = parseList(formatList(a));
        expect(result.ok && listsEqual(result.list, a)).toBe(true);
      }),
    );
  });

  it('a list minus itself is zero', () => {
    fc.assert(
      fc.property(resourceList, (a) => {
        expect(isZeroList(subLists(a, a))).toBe(true);
      }),
    );
  });
});
