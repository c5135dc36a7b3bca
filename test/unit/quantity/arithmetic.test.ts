import { describe, expect, it } from '@jest/globals';
import {
  add,
  cmp,
  floorToUnit,
  formatQuantity,
  fromInteger,
  isNegative,
  isZero,
  max,
  min,
  mulInt,
  mulRatio,
  mustParse,
  sub,
  toNumber,
  ZERO,
  type QuantityFormat,
} from '../../../src/quantity/index.js';

const q = mustParse;

// Expected strings and formats come from apimachinery's Quantity.Add/Sub/Mul (v0.33.13).
describe('add and sub: exact, with Kubernetes formats', () => {
  it.each<[a: string, op: '+' | '-', b: string, result: string, format: QuantityFormat]>([
    ['0', '+', '1Gi', '1Gi', 'BinarySI'],
    ['1Gi', '+', '0', '1Gi', 'BinarySI'],
    ['100m', '+', '0', '100m', 'DecimalSI'],
    ['0', '+', '100m', '100m', 'DecimalSI'],
    ['0', '-', '1Gi', '-1Gi', 'BinarySI'],
    ['1Gi', '+', '1G', '2073741824', 'BinarySI'],
    ['1G', '+', '1Gi', '2073741824', 'DecimalSI'],
    ['1Gi', '-', '1Gi', '0', 'BinarySI'],
    ['1Gi', '-', '2Gi', '-1Gi', 'BinarySI'],
    ['1Ki', '-', '1', '1023', 'BinarySI'],
    ['1', '+', '1Ki', '1025', 'DecimalSI'],
    ['500m', '+', '500m', '1', 'DecimalSI'],
    ['1.5', '+', '1.5', '3', 'DecimalSI'],
    ['1e3', '+', '1e3', '2e3', 'DecimalExponent'],
    ['1e3', '+', '1', '1001', 'DecimalExponent'],
    ['100m', '-', '1', '-900m', 'DecimalSI'],
    ['18.2Gi', '-', '16Gi', '2362232012800m', 'BinarySI'],
    ['16Gi', '-', '18.2Gi', '-2362232012800m', 'BinarySI'],
    ['0Gi', '+', '1k', '1k', 'DecimalSI'],
    ['0Gi', '-', '0Mi', '0', 'BinarySI'],
    ['3Ei', '+', '3Ei', '6Ei', 'BinarySI'],
    ['9', '+', '2', '11', 'DecimalSI'],
    ['7Mi', '-', '6Mi', '1Mi', 'BinarySI'],
  ])('%s %s %s = %s (%s)', (a, op, b, result, format) => {
    const sum = op === '+' ? add(q(a), q(b)) : sub(q(a), q(b));
    expect(formatQuantity(sum)).toBe(result);
    expect(sum.format).toBe(format);
  });

  it('never overflows: 8Ei + 8Ei is 16Ei, exactly', () => {
    expect(add(q('8Ei'), q('8Ei')).nanos).toBe(2n ** 64n * 1_000_000_000n);
    expect(formatQuantity(add(q('8Ei'), q('8Ei')))).toBe('16Ei');
  });

  it('does not change its inputs', () => {
    const a = q('1Gi');
    add(a, q('1Mi'));
    expect(a).toEqual({ nanos: 1073741824_000000000n, format: 'BinarySI' });
  });
});

describe('add and sub of zero answer the other operand itself', () => {
  const gi = q('1Gi');
  const zeroGi = q('0Gi');
  it.each<[name: string, result: () => unknown, expected: unknown]>([
    ['1Gi + 0', () => add(gi, ZERO), gi],
    ['0 + 1Gi', () => add(ZERO, gi), gi],
    ['0Gi + 1Gi', () => add(zeroGi, gi), gi],
    ['1Gi − 0', () => sub(gi, ZERO), gi],
  ])('%s', (_name, result, expected) => {
    expect(result()).toBe(expected);
  });

  it('0 − 1Gi is a new quantity, -1Gi', () => {
    expect(formatQuantity(sub(ZERO, gi))).toBe('-1Gi');
  });
});

describe('mulInt: exact, in the quantity\'s format (Kubernetes Mul)', () => {
  it.each<[value: string, n: number | bigint, result: string]>([
    ['1Gi', 3, '3Gi'],
    ['1.5Gi', 2, '3Gi'],
    ['500m', 3, '1500m'],
    ['1e3', 0, '0'],
    ['1Gi', -1, '-1Gi'],
    ['128Mi', 3, '384Mi'],
    ['100m', 3, '300m'],
    ['8Ei', 1024n, '8192Ei'],
  ])('%s × %p = %s', (value, n, result) => {
    expect(formatQuantity(mulInt(q(value), n))).toBe(result);
  });

  it.each([1.5, NaN, Infinity])('refuses the non-integer factor %p', (n) => {
    expect(() => mulInt(q('1'), n)).toThrow(RangeError);
  });
});

describe('mulRatio: q × ratio exactly, floored to 1n', () => {
  it.each<[value: string, ratio: string, nanos: bigint, human: string]>([
    ['16Gi', '1.2', 16n * 2n ** 30n * 1_200_000_000n, '20615843020800m'],
    ['2', '1.5', 3_000_000_000n, '3'],
    ['8', '1.5', 12_000_000_000n, '12'],
    ['1Gi', '1', 2n ** 30n * 1_000_000_000n, '1Gi'],
    ['100m', '1.5', 150_000_000n, '150m'],
    ['1n', '1.5', 1n, '1n'],
    ['1n', '0.5', 0n, '0'],
    ['-1n', '0.5', -1n, '-1n'],
    ['3n', '333333333n', 0n, '0'],
    ['1Gi', '0', 0n, '0'],
  ])('%s × %s', (value, ratio, nanos, canonical) => {
    const product = mulRatio(q(value), q(ratio));
    expect(product.nanos).toBe(nanos);
    expect(product.format).toBe(q(value).format);
    expect(formatQuantity(product)).toBe(canonical);
  });
});

describe('floorToUnit: down to a whole unit, in the same format', () => {
  it.each<[value: string, canonical: string]>([
    ['2150m', '2'],
    ['10752Mi', '10752Mi'],
    ['20615843020800m', '20615843020'],
    ['999m', '0'],
    ['-500m', '-1'],
    ['3', '3'],
  ])('%s → %s', (value, canonical) => {
    const floored = floorToUnit(q(value));
    expect(formatQuantity(floored)).toBe(canonical);
    expect(floored.format).toBe(q(value).format);
  });
});

describe('cmp, min, max, isZero, isNegative', () => {
  it.each<[a: string, b: string, expected: -1 | 0 | 1]>([
    // Kubernetes TestQuantityCmp
    ['0', '0', 0],
    ['100m', '50m', 1],
    ['50m', '100m', -1],
    ['10000T', '100Gi', 1],
    // formats do not matter, only values
    ['1Gi', '1G', 1],
    ['1000m', '1', 0],
    ['1e3', '1k', 0],
    ['0Gi', '0', 0],
    ['-1', '0', -1],
    ['9.01', '9010m', 0],
    ['900m', '9.01', -1],
    ['800m', '790m', 1],
    ['9223372036854775807', '1e19', -1],
    ['8Ei', '9223372036854775807', 1],
    ['-9223372036854775808', '-9223372036854775807', -1],
    ['1n', '0', 1],
  ])('cmp(%s, %s) = %p', (a, b, expected) => {
    expect(cmp(q(a), q(b))).toBe(expected);
    expect(cmp(q(b), q(a))).toBe(-expected || 0);
  });

  it('min and max pick by value and return the first operand on ties', () => {
    const oneK = q('1k');
    const thousand = q('1e3');
    expect(max(q('1Gi'), q('1G'))).toEqual(q('1Gi'));
    expect(min(q('1Gi'), q('1G'))).toEqual(q('1G'));
    expect(max(oneK, thousand)).toBe(oneK);
    expect(min(oneK, thousand)).toBe(oneK);
  });

  it.each<[value: string, zero: boolean, negative: boolean]>([
    ['0', true, false],
    ['-0', true, false],
    ['0Gi', true, false],
    ['1n', false, false],
    ['-1n', false, true],
    ['-1Gi', false, true],
  ])('%s: isZero %p, isNegative %p', (value, zero, negative) => {
    expect(isZero(q(value))).toBe(zero);
    expect(isNegative(q(value))).toBe(negative);
  });
});

describe('ZERO, fromInteger, toNumber', () => {
  it('ZERO is 0, DecimalSI, and frozen', () => {
    expect(ZERO).toEqual({ nanos: 0n, format: 'DecimalSI' });
    expect(formatQuantity(ZERO)).toBe('0');
    expect(Object.isFrozen(ZERO)).toBe(true);
  });

  it.each<[n: number | bigint, format: QuantityFormat | undefined, canonical: string]>([
    [1, undefined, '1'],
    [1000, undefined, '1k'],
    [1024, 'BinarySI', '1Ki'],
    [1000000, 'DecimalExponent', '1e6'],
    [1024n * 1024n, 'BinarySI', '1Mi'],
    [-3, undefined, '-3'],
    [2n ** 70n, 'BinarySI', '1024Ei'],
  ])('fromInteger(%p, %p) prints %s', (n, format, canonical) => {
    expect(formatQuantity(fromInteger(n, format))).toBe(canonical);
  });

  it('fromInteger refuses a fraction', () => {
    expect(() => fromInteger(0.5)).toThrow(new RangeError('fromInteger must be an integer, got 0.5'));
  });

  it.each<[value: string, approximately: number]>([
    ['500m', 0.5],
    ['1Gi', 1073741824],
    ['-1.5', -1.5],
    ['1n', 1e-9],
    ['8Ei', 9223372036854775808],
    ['0', 0],
  ])('toNumber(%s) ≈ %p', (value, approximately) => {
    expect(toNumber(q(value))).toBeCloseTo(approximately, 12);
  });
});
