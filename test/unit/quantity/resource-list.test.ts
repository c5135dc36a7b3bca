import { describe, expect, it } from '@jest/globals';
import {
  addLists,
  exceeded,
  formatList,
  inOrder,
  isZeroList,
  listsEqual,
  mask,
  mustParse,
  parseList,
  scaleByRatios,
  scaleList,
  subLists,
  subNonNegative,
  type ResourceList,
} from '../../../src/quantity/index.js';

type Strings = Record<string, string>;

function list(input: Strings): ResourceList {
  const result = parseList(input);
  if (!result.ok) throw new Error(`${result.key}: ${result.reason}`);
  return result.list;
}

// Rows marked "k8s" are the cases of kubernetes/apiserver pkg/quota/v1/resources_test.go.
describe('addLists', () => {
  it.each<[name: string, a: Strings, b: Strings, sum: Strings]>([
    ['k8s noKeys', {}, {}, {}],
    ['k8s toEmpty', { cpu: '100m' }, {}, { cpu: '100m' }],
    ['k8s matching', { cpu: '100m' }, { cpu: '100m' }, { cpu: '200m' }],
    ['union of names', { cpu: '1' }, { memory: '1Gi' }, { cpu: '1', memory: '1Gi' }],
    ['mixed formats keep the left one', { memory: '1G' }, { memory: '1Gi' }, { memory: '2073741824' }],
    ['a missing name takes the other side\'s format', {}, { memory: '512Mi' }, { memory: '512Mi' }],
    ['no overflow', { memory: '8Ei' }, { memory: '8Ei' }, { memory: '16Ei' }],
  ])('%s', (_name, a, b, sum) => {
    expect(formatList(addLists(list(a), list(b)))).toEqual(sum);
  });
});

describe('subLists', () => {
  it.each<[name: string, a: Strings, b: Strings, difference: Strings]>([
    ['k8s noKeys', {}, {}, {}],
    ['k8s value-empty', { cpu: '100m' }, {}, { cpu: '100m' }],
    ['k8s empty-value', {}, { cpu: '100m' }, { cpu: '-100m' }],
    ['k8s value-value', { cpu: '200m' }, { cpu: '100m' }, { cpu: '100m' }],
    ['goes negative', { cpu: '1', memory: '1Gi' }, { cpu: '2' }, { cpu: '-1', memory: '1Gi' }],
    ['to zero', { memory: '1Gi' }, { memory: '1024Mi' }, { memory: '0' }],
  ])('%s', (_name, a, b, difference) => {
    expect(formatList(subLists(list(a), list(b)))).toEqual(difference);
  });
});

describe('subNonNegative (Kubernetes SubtractWithNonNegativeResult)', () => {
  it.each<[name: string, a: Strings, b: Strings, difference: Strings]>([
    ['empty', {}, {}, {}],
    ['positive stays', { cpu: '2' }, { cpu: '500m' }, { cpu: '1500m' }],
    ['negative floors at zero', { cpu: '1' }, { cpu: '2' }, { cpu: '0' }],
    ['a name only in b is zero', {}, { memory: '1Gi' }, { memory: '0' }],
    ['a name only in a is kept', { memory: '1Gi' }, {}, { memory: '1Gi' }],
  ])('%s', (_name, a, b, difference) => {
    expect(formatList(subNonNegative(list(a), list(b)))).toEqual(difference);
  });

  it('floors to a DecimalSI zero, as Kubernetes does', () => {
    expect(subNonNegative(list({ memory: '1Gi' }), list({ memory: '2Gi' }))['memory']).toEqual({ nanos: 0n, format: 'DecimalSI' });
  });
});

describe('scaleList', () => {
  it.each<[a: Strings, n: number | bigint, scaled: Strings]>([
    [{ cpu: '100m', memory: '128Mi' }, 3, { cpu: '300m', memory: '384Mi' }],
    [{ cpu: '2', memory: '4Gi', storage: '0' }, 1, { cpu: '2', memory: '4Gi', storage: '0' }],
    [{ cpu: '2' }, 0, { cpu: '0' }],
    [{ memory: '1Ei' }, 1024n, { memory: '1024Ei' }],
    [{}, 5, {}],
  ])('%o × %p', (a, n, scaled) => {
    expect(formatList(scaleList(list(a), n))).toEqual(scaled);
  });
});

describe('mask (Kubernetes Mask)', () => {
  it.each<[a: Strings, names: string[], masked: Strings]>([
    [{ cpu: '1', memory: '1Gi', pods: '3' }, ['cpu', 'pods'], { cpu: '1', pods: '3' }],
    [{ cpu: '1' }, ['memory'], {}],
    [{ cpu: '1' }, [], {}],
    [{}, ['cpu'], {}],
  ])('%o to %p', (a, names, masked) => {
    expect(formatList(mask(list(a), names))).toEqual(masked);
  });
});

describe('exceeded (Kubernetes LessThanOrEqual, names where used > limit)', () => {
  it.each<[name: string, used: Strings, limit: Strings, names: string[]]>([
    ['k8s isEmpty', {}, {}, []],
    ['k8s isEqual', { cpu: '100m' }, { cpu: '100m' }, []],
    ['k8s isLessThan', { cpu: '100m' }, { cpu: '200m' }, []],
    ['k8s isGreaterThan', { cpu: '200m' }, { cpu: '100m' }, ['cpu']],
    ['one nano over', { cpu: '2000000001n' }, { cpu: '2' }, ['cpu']],
    ['one byte over', { memory: '1073741825' }, { memory: '1Gi' }, ['memory']],
    ['names absent from the limit are unlimited', { cpu: '100', memory: '1Ti' }, { cpu: '200' }, []],
    ['a name absent from used counts as zero', {}, { cpu: '0' }, []],
    ['sorted', { pods: '2', cpu: '2', memory: '2Gi' }, { pods: '1', cpu: '1', memory: '1Gi' }, ['cpu', 'memory', 'pods']],
  ])('%s', (_name, used, limit, names) => {
    expect(exceeded(list(used), list(limit))).toEqual(names);
  });

  it('a negative limit is exceeded by nothing used', () => {
    expect(exceeded({}, { cpu: mustParse('-1') })).toEqual(['cpu']);
  });
});

describe('isZeroList (Kubernetes IsZero)', () => {
  it.each<[name: string, a: Strings, zero: boolean]>([
    ['k8s empty', {}, true],
    ['k8s zero', { cpu: '0', memory: '0' }, true],
    ['k8s non-zero', { cpu: '200m', memory: '1Gi' }, false],
    ['one nano', { cpu: '0', memory: '1n' }, false],
    ['negative', { cpu: '-1' }, false],
  ])('%s', (_name, a, zero) => {
    expect(isZeroList(list(a))).toBe(zero);
  });
});

describe('listsEqual (by value; unlike Kubernetes Equals, a missing name is zero)', () => {
  it.each<[name: string, a: Strings, b: Strings, equal: boolean]>([
    ['k8s isEqual', {}, {}, true],
    ['k8s isEqualWithKeys', { cpu: '100m', memory: '1Gi' }, { cpu: '100m', memory: '1Gi' }, true],
    ['k8s isNotEqualSameKeys', { cpu: '200m', memory: '1Gi' }, { cpu: '100m', memory: '1Gi' }, false],
    ['k8s isNotEqualDiffKeys', { cpu: '100m', memory: '1Gi' }, { cpu: '100m', memory: '1Gi', pods: '1' }, false],
    ['missing equals zero', { cpu: '100m' }, { cpu: '100m', pods: '0' }, true],
    ['formats do not matter', { memory: '1Gi', cpu: '1' }, { memory: '1073741824', cpu: '1000m' }, true],
  ])('%s', (_name, a, b, equal) => {
    expect(listsEqual(list(a), list(b))).toBe(equal);
    expect(listsEqual(list(b), list(a))).toBe(equal);
  });
});

describe('parseList', () => {
  it('parses strings and numbers', () => {
    const result = parseList({ cpu: 2, memory: '4Gi', storage: '0.5Ti', placements: '20' });
    expect(result.ok && formatList(result.list)).toEqual({ cpu: '2', memory: '4Gi', placements: '20', storage: '512Gi' });
  });

  it('names the first bad key in sorted order, with the reason', () => {
    expect(parseList({ memory: '4 GB', cpu: '2 cores', pods: '1' })).toEqual({
      ok: false,
      key: 'cpu',
      reason: 'invalid quantity "2 cores": unexpected characters after the number',
    });
  });

  it('returns frozen lists', () => {
    expect(Object.isFrozen(list({ cpu: '1' }))).toBe(true);
    expect(Object.isFrozen(addLists(list({ cpu: '1' }), {}))).toBe(true);
  });
});

describe('inOrder (as Array#sort orders strings)', () => {
  const many = Array.from({ length: 20 }, (_, i) => `n${(i * 7) % 20}`);
  it.each<[name: string, names: string[]]>([
    ['empty', []],
    ['in order already', ['cpu', 'memory', 'storage']],
    ['reversed', ['storage', 'memory', 'cpu']],
    ['code units, not locale: upper case first, digits before letters', ['b', 'B', 'a', '10', '9', 'A-1', 'a.1']],
    ['more than a few', many],
  ])('%s', (_name, names) => {
    const expected = [...names].sort();
    const result = inOrder(names);
    expect([result, result === names]).toEqual([expected, true]);
  });
});

describe('scaleByRatios', () => {
  it.each<[a: Strings, ratios: Strings, scaled: Strings]>([
    [{ cpu: '8', memory: '16Gi', pods: '110' }, { cpu: '1.5', memory: '1.2' }, { cpu: '12', memory: '20615843020800m', pods: '110' }],
    [{ cpu: '1n' }, { cpu: '0.5' }, { cpu: '0' }],
    [{}, { cpu: '2' }, {}],
  ])('%o × %o', (a, ratios, scaled) => {
    expect(formatList(scaleByRatios(list(a), list(ratios)))).toEqual(scaled);
  });

  it('lists written alike share their products', () => {
    const ratios = list({ cpu: '1.5' });
    expect(scaleByRatios(list({ cpu: '8' }), ratios)['cpu']).toBe(scaleByRatios(list({ cpu: '8' }), ratios)['cpu']);
  });
});

describe('operations that change nothing', () => {
  const built = list({ cpu: '1', memory: '1Gi' });
  const literal: ResourceList = Object.freeze({ memory: mustParse('1Gi'), cpu: mustParse('1') });

  it.each<[name: string, result: () => ResourceList]>([
    ['a + {}', () => addLists(built, {})],
    ['{} + a', () => addLists({}, built)],
    ['a − {}', () => subLists(built, {})],
    ['a × 1', () => scaleList(built, 1)],
    ['a × 1n', () => scaleList(built, 1n)],
    ['mask keeping every name', () => mask(built, ['memory', 'cpu', 'pods'])],
  ])('%s returns the input list itself', (_name, result) => {
    expect(result()).toBe(built);
  });

  it.each<[name: string, result: () => ResourceList]>([
    ['a + {}', () => addLists(literal, {})],
    ['{} + a', () => addLists({}, literal)],
    ['a − {}', () => subLists(literal, {})],
    ['a × 1', () => scaleList(literal, 1)],
    ['mask keeping every name', () => mask(literal, ['cpu', 'memory'])],
  ])('%s of a list not built here is a new sorted, frozen list that inherits nothing', (_name, result) => {
    const copy = result();
    expect(copy).not.toBe(literal);
    expect([Object.keys(copy), Object.isFrozen(copy), 'constructor' in copy, 'toString' in copy]).toEqual([['cpu', 'memory'], true, false, false]);
    expect(formatList(copy)).toEqual({ cpu: '1', memory: '1Gi' });
  });

  it('results built from names out of order come out sorted', () => {
    expect(Object.keys(addLists(list({ storage: '1' }), list({ cpu: '1', pods: '2' })))).toEqual(['cpu', 'pods', 'storage']);
  });
});

describe('names that are also Object.prototype members', () => {
  const hostile = parseList(JSON.parse('{"__proto__": "1", "constructor": "2", "toString": "3"}') as Strings);

  it('are plain resource names', () => {
    expect(hostile.ok && formatList(hostile.list)).toEqual(
      JSON.parse('{"__proto__": "1", "constructor": "2", "toString": "3"}') as Strings,
    );
  });

  it('are zero when absent, not inherited', () => {
    const cpu = list({ cpu: '1' });
    expect(cpu['constructor']).toBeUndefined();
    expect(exceeded(cpu, list({ constructor: '1', toString: '0' }))).toEqual([]);
    expect(listsEqual(cpu, list(JSON.parse('{"cpu": "1", "__proto__": "0"}') as Strings))).toBe(true);
    expect(formatList(addLists(cpu, hostile.ok ? hostile.list : {}))).toEqual(
      JSON.parse('{"__proto__": "1", "constructor": "2", "cpu": "1", "toString": "3"}') as Strings,
    );
  });
});

describe('no input is changed', () => {
  it('every operation leaves its operands as they were', () => {
    const a = list({ cpu: '1', memory: '1Gi' });
    const b = list({ cpu: '2', pods: '1' });
    const before = [formatList(a), formatList(b)];
    addLists(a, b);
    subLists(a, b);
    subNonNegative(a, b);
    scaleList(a, 3);
    mask(a, ['cpu']);
    expect([formatList(a), formatList(b)]).toEqual(before);
  });
});
