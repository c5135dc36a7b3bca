import { describe, expect, it } from '@jest/globals';
import { formatForHumans, formatQuantity, mustParse, type Quantity, type QuantityFormat } from '../../../src/quantity/index.js';

/** Kubernetes' test helper `decQuantity(i, exponent, format)`: i × 10^exponent. */
function dec(i: bigint, exponent: number, format: QuantityFormat): Quantity {
  const nanos = exponent + 9 >= 0 ? i * 10n ** BigInt(exponent + 9) : i / 10n ** BigInt(-(exponent + 9));
  return { nanos, format };
}

describe('formatQuantity: the rows of Kubernetes TestQuantityString', () => {
  it.each<[value: Quantity, canonical: string, alternate: string]>([
    [dec(1024n * 1024n * 1024n, 0, 'BinarySI'), '1Gi', '1024Mi'],
    [dec(300n * 1024n * 1024n, 0, 'BinarySI'), '300Mi', '307200Ki'],
    [dec(6n * 1024n, 0, 'BinarySI'), '6Ki', ''],
    [dec(1001n * 1024n * 1024n * 1024n, 0, 'BinarySI'), '1001Gi', '1025024Mi'],
    [dec(1024n * 1024n * 1024n * 1024n, 0, 'BinarySI'), '1Ti', '1024Gi'],
    [dec(5n, 0, 'BinarySI'), '5', '5000m'],
    [dec(500n, -3, 'BinarySI'), '500m', '0.5'],
    [dec(1n, 9, 'DecimalSI'), '1G', '1000M'],
    [dec(1000n, 6, 'DecimalSI'), '1G', '0.001T'],
    [dec(1000000n, 3, 'DecimalSI'), '1G', ''],
    [dec(1000000000n, 0, 'DecimalSI'), '1G', ''],
    [dec(1n, -3, 'DecimalSI'), '1m', '1000u'],
    [dec(80n, -3, 'DecimalSI'), '80m', ''],
    [dec(1080n, -3, 'DecimalSI'), '1080m', '1.08'],
    [dec(108n, -2, 'DecimalSI'), '1080m', '1080000000n'],
    [dec(10800n, -4, 'DecimalSI'), '1080m', ''],
    [dec(300n, 6, 'DecimalSI'), '300M', ''],
    [dec(1n, 12, 'DecimalSI'), '1T', ''],
    [dec(1234567n, 6, 'DecimalSI'), '1234567M', ''],
    [dec(1234567n, -3, 'BinarySI'), '1234567m', ''],
    [dec(3n, 3, 'DecimalSI'), '3k', ''],
    [dec(1025n, 0, 'BinarySI'), '1025', ''],
    [dec(0n, 0, 'DecimalSI'), '0', ''],
    [dec(0n, 0, 'BinarySI'), '0', ''],
    [dec(1n, 9, 'DecimalExponent'), '1e9', '.001e12'],
    [dec(1n, -3, 'DecimalExponent'), '1e-3', '0.001e0'],
    [dec(1n, -9, 'DecimalExponent'), '1e-9', '1000e-12'],
    [dec(80n, -3, 'DecimalExponent'), '80e-3', ''],
    [dec(300n, 6, 'DecimalExponent'), '300e6', ''],
    [dec(1n, 12, 'DecimalExponent'), '1e12', ''],
    [dec(1n, 3, 'DecimalExponent'), '1e3', ''],
    [dec(3n, 3, 'DecimalExponent'), '3e3', ''],
    [dec(3n, 3, 'DecimalSI'), '3k', ''],
    [dec(0n, 0, 'DecimalExponent'), '0', '00'],
    [dec(1n, -9, 'DecimalSI'), '1n', ''],
    [dec(80n, -9, 'DecimalSI'), '80n', ''],
    [dec(1080n, -9, 'DecimalSI'), '1080n', ''],
    [dec(108n, -8, 'DecimalSI'), '1080n', ''],
    [dec(10800n, -10, 'DecimalSI'), '1080n', ''],
    [dec(1n, -6, 'DecimalSI'), '1u', ''],
    [dec(80n, -6, 'DecimalSI'), '80u', ''],
    [dec(1080n, -6, 'DecimalSI'), '1080u', ''],
  ])('%o prints %s (alternate %p)', (value, canonical, alternate) => {
    expect(formatQuantity(value)).toBe(canonical);
    expect(formatQuantity(mustParse(canonical))).toBe(canonical);
    if (alternate !== '') expect(formatQuantity(mustParse(alternate))).toBe(canonical);
    if (value.nanos !== 0n) expect(formatQuantity({ ...value, nanos: -value.nanos })).toBe(`-${canonical}`);
  });
});

describe('formatQuantity: Kubernetes TestNewSet, TestMilliNewSet and TestNewScaledSet', () => {
  it.each<[value: Quantity, canonical: string]>([
    [dec(1n, 0, 'DecimalSI'), '1'],
    [dec(1000n, 0, 'DecimalSI'), '1k'],
    [dec(1234000n, 0, 'DecimalSI'), '1234k'],
    [dec(1024n, 0, 'BinarySI'), '1Ki'],
    [dec(1000000n, 0, 'DecimalExponent'), '1e6'],
    [dec(1024n * 1024n, 0, 'BinarySI'), '1Mi'],
    [dec(1n, -3, 'DecimalSI'), '1m'],
    [dec(1000n, -3, 'DecimalSI'), '1'],
    [dec(1234000n, -3, 'DecimalSI'), '1234'],
    [dec(1024n, -3, 'BinarySI'), '1024m'],
    [dec(1000000n, -3, 'DecimalExponent'), '1e3'],
    [dec(1024n * 1024n, -3, 'BinarySI'), '1048576m'],
    [dec(1n, -9, 'DecimalSI'), '1n'],
    [dec(1000n, -9, 'DecimalSI'), '1u'],
    [dec(1n, -6, 'DecimalSI'), '1u'],
    [dec(1000n, -6, 'DecimalSI'), '1m'],
    [dec(1000n, -3, 'DecimalSI'), '1'],
    [dec(0n, -9, 'DecimalSI'), '0'],
  ])('%o prints %s', (value, canonical) => {
    expect(formatQuantity(value)).toBe(canonical);
  });

  it('prints -9010m for the negation of 9.01 (TestQuantityNeg)', () => {
    expect(formatQuantity({ nanos: -9_010_000_000n, format: 'DecimalSI' })).toBe('-9010m');
  });
});

describe('formatQuantity: BinarySI falls back to DecimalSI below 1Ki or when not whole', () => {
  it.each<[input: string, canonical: string]>([
    ['1023', '1023'],
    ['512', '512'],
    ['0.5Ki', '512'],
    ['1.5Ki', '1536'],
    ['1.5Gi', '1536Mi'],
    ['1.0001Ki', '1024102400u'],
    ['18.2Gi', '19542101196800m'],
    ['-1Ki', '-1Ki'],
    ['-1023Ki', '-1023Ki'],
  ])('%s (BinarySI) prints %s', (input, canonical) => {
    expect(formatQuantity({ ...mustParse(input), format: 'BinarySI' })).toBe(canonical);
  });
});

describe('formatQuantity: where Kubernetes would print a wrong number, we keep the value', () => {
  // apimachinery has no suffix past E or Ei and prints the bare mantissa: 1000E as "1".
  it.each<[value: Quantity, canonical: string]>([
    [dec(1n, 21, 'DecimalSI'), '1000E'],
    [dec(123n, 24, 'DecimalSI'), '123000000E'],
    [dec(1n, 21, 'DecimalExponent'), '1e21'],
    [{ nanos: 2n ** 70n * 1_000_000_000n, format: 'BinarySI' }, '1024Ei'],
    [{ nanos: 2n ** 63n * 1_000_000_000n, format: 'BinarySI' }, '8Ei'],
  ])('%o prints %s', (value, canonical) => {
    expect(formatQuantity(value)).toBe(canonical);
    expect(mustParse(canonical).nanos).toBe(value.nanos);
  });
});

describe('formatForHumans', () => {
  it.each<[input: string, human: string]>([
    // BinarySI from 1Ki: the largest binary unit reached, up to 2 decimals, trailing zeros trimmed
    ['1Gi', '1Gi'],
    ['512Mi', '512Mi'],
    ['1536Mi', '1.5Gi'],
    ['1.5Gi', '1.5Gi'],
    ['18.2Gi', '18.2Gi'],
    ['19.2Gi', '19.2Gi'],
    ['16Gi', '16Gi'],
    ['1500Mi', '1.46Gi'],
    ['1025Mi', '1Gi'],
    ['1Ki', '1Ki'],
    ['1.5Ki', '1.5Ki'],
    ['1048575Ki', '1Gi'],
    ['1023.999Mi', '1Gi'],
    ['2Ti', '2Ti'],
    ['8Ei', '8Ei'],
    ['1024Ei', '1024Ei'],
    ['-4Gi', '-4Gi'],
    ['-18.2Gi', '-18.2Gi'],
    // BinarySI below 1Ki prints as Kubernetes prints it
    ['512', '512'],
    ['0.5Ki', '512'],
    ['.001Ki', '1024m'],
    // DecimalSI: canonical when at most 12 characters
    ['2', '2'],
    ['0.5', '500m'],
    ['1.5', '1500m'],
    ['9', '9'],
    ['10', '10'],
    ['100m', '100m'],
    ['0', '0'],
    ['1G', '1G'],
    ['1e3', '1e3'],
    ['1288490189', '1288490189'],
    ['2000000001n', '2000000001n'],
    ['123456789012', '123456789012'],
    // longer: the largest decimal SI unit reached, up to 2 decimals
    ['1234567890123', '1.23T'],
    ['20615843020.8', '20.62G'],
    ['999999999999.999', '1T'],
    ['1.000000000001', '1000000001n'],
    ['-1234567890123', '-1.23T'],
    ['1000E', '1000E'],
    ['1234567e20', '123456700e18'],
    ['1234567891e20', '123456789100E'],
    ['1.23456789e22', '12345.68E'],
  ])('%s → %s', (input, human) => {
    expect(formatForHumans(mustParse(input))).toBe(human);
  });

  it('shows BinarySI results of arithmetic in binary units (16Gi × 1.2 = 19.2Gi)', () => {
    const effective = { nanos: (16n * 2n ** 30n * 1_000_000_000n * 12n) / 10n, format: 'BinarySI' as const };
    expect(formatForHumans(effective)).toBe('19.2Gi');
    expect(formatQuantity(effective)).toBe('20615843020800m');
  });
});
