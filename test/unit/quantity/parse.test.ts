import { describe, expect, it } from '@jest/globals';
import { formatQuantity, mustParse, parseQuantity, type Quantity, type QuantityFormat } from '../../../src/quantity/index.js';

type Row = [input: string, canonical: string, format: QuantityFormat, nanos: bigint];

function parsed(input: string | number): Quantity {
  const result = parseQuantity(input);
  if (!result.ok) throw new Error(result.reason);
  return result.quantity;
}

// Every expected canonical string, format and nano count below was produced by apimachinery's own
// ParseQuantity (k8s.io/apimachinery v0.33.13), printing the canonical form of the parsed value.
/** Rows of Kubernetes' TestQuantityParse: input, canonical, format, nanos. */
const TEST_QUANTITY_PARSE: Row[] = [
  ['0', '0', 'DecimalSI', 0n],
  ['0n', '0', 'DecimalSI', 0n],
  ['0u', '0', 'DecimalSI', 0n],
  ['0m', '0', 'DecimalSI', 0n],
  ['0Ki', '0', 'BinarySI', 0n],
  ['0k', '0', 'DecimalSI', 0n],
  ['0Mi', '0', 'BinarySI', 0n],
  ['0M', '0', 'DecimalSI', 0n],
  ['0Gi', '0', 'BinarySI', 0n],
  ['0G', '0', 'DecimalSI', 0n],
  ['0Ti', '0', 'BinarySI', 0n],
  ['0T', '0', 'DecimalSI', 0n],
  ['1', '1', 'DecimalSI', 1000000000n],
  ['1Ki', '1Ki', 'BinarySI', 1024000000000n],
  ['8Ki', '8Ki', 'BinarySI', 8192000000000n],
  ['7Mi', '7Mi', 'BinarySI', 7340032000000000n],
  ['6Gi', '6Gi', 'BinarySI', 6442450944000000000n],
  ['5Ti', '5Ti', 'BinarySI', 5497558138880000000000n],
  ['4Pi', '4Pi', 'BinarySI', 4503599627370496000000000n],
  ['3Ei', '3Ei', 'BinarySI', 3458764513820540928000000000n],
  ['10Ti', '10Ti', 'BinarySI', 10995116277760000000000n],
  ['100Ti', '100Ti', 'BinarySI', 109951162777600000000000n],
  ['5n', '5n', 'DecimalSI', 5n],
  ['4u', '4u', 'DecimalSI', 4000n],
  ['3m', '3m', 'DecimalSI', 3000000n],
  ['9', '9', 'DecimalSI', 9000000000n],
  ['8k', '8k', 'DecimalSI', 8000000000000n],
  ['50k', '50k', 'DecimalSI', 50000000000000n],
  ['7M', '7M', 'DecimalSI', 7000000000000000n],
  ['6G', '6G', 'DecimalSI', 6000000000000000000n],
  ['5T', '5T', 'DecimalSI', 5000000000000000000000n],
  ['40T', '40T', 'DecimalSI', 40000000000000000000000n],
  ['300T', '300T', 'DecimalSI', 300000000000000000000000n],
  ['2P', '2P', 'DecimalSI', 2000000000000000000000000n],
  ['1E', '1E', 'DecimalSI', 1000000000000000000000000000n],
  ['1E-3', '1e-3', 'DecimalExponent', 1000000n],
  ['1e3', '1e3', 'DecimalExponent', 1000000000000n],
  ['1E6', '1e6', 'DecimalExponent', 1000000000000000n],
  ['1e9', '1e9', 'DecimalExponent', 1000000000000000000n],
  ['1E12', '1e12', 'DecimalExponent', 1000000000000000000000n],
  ['1e15', '1e15', 'DecimalExponent', 1000000000000000000000000n],
  ['1E18', '1e18', 'DecimalExponent', 1000000000000000000000000000n],
  ['1e14', '100e12', 'DecimalExponent', 100000000000000000000000n],
  ['1e13', '10e12', 'DecimalExponent', 10000000000000000000000n],
  ['100.035k', '100035', 'DecimalSI', 100035000000000n],
  ['0.001', '1m', 'DecimalSI', 1000000n],
  ['0.0005k', '500m', 'DecimalSI', 500000000n],
  ['0.005', '5m', 'DecimalSI', 5000000n],
  ['0.05', '50m', 'DecimalSI', 50000000n],
  ['0.5', '500m', 'DecimalSI', 500000000n],
  ['0.00050k', '500m', 'DecimalSI', 500000000n],
  ['0.00500', '5m', 'DecimalSI', 5000000n],
  ['0.05000', '50m', 'DecimalSI', 50000000n],
  ['0.50000', '500m', 'DecimalSI', 500000000n],
  ['0.5e0', '500e-3', 'DecimalExponent', 500000000n],
  ['0.5e-1', '50e-3', 'DecimalExponent', 50000000n],
  ['0.5e-2', '5e-3', 'DecimalExponent', 5000000n],
  ['10.035M', '10035k', 'DecimalSI', 10035000000000000n],
  ['1.2e3', '1200', 'DecimalExponent', 1200000000000n],
  ['1.3E+6', '1300e3', 'DecimalExponent', 1300000000000000n],
  ['1.40e9', '1400e6', 'DecimalExponent', 1400000000000000000n],
  ['1.53E12', '1530e9', 'DecimalExponent', 1530000000000000000000n],
  ['1.6e15', '1600e12', 'DecimalExponent', 1600000000000000000000000n],
  ['1.7E18', '1700e15', 'DecimalExponent', 1700000000000000000000000000n],
  ['9.01', '9010m', 'DecimalSI', 9010000000n],
  ['8.1k', '8100', 'DecimalSI', 8100000000000n],
  ['7.123456M', '7123456', 'DecimalSI', 7123456000000000n],
  ['6.987654321G', '6987654321', 'DecimalSI', 6987654321000000000n],
  ['5.444T', '5444G', 'DecimalSI', 5444000000000000000000n],
  ['40.1T', '40100G', 'DecimalSI', 40100000000000000000000n],
  ['300.2T', '300200G', 'DecimalSI', 300200000000000000000000n],
  ['2.5P', '2500T', 'DecimalSI', 2500000000000000000000000n],
  ['1.01E', '1010P', 'DecimalSI', 1010000000000000000000000000n],
  ['3.001n', '4n', 'DecimalSI', 4n],
  ['1.1E-9', '2e-9', 'DecimalExponent', 2n],
  ['0.0000000001', '1n', 'DecimalSI', 1n],
  ['0.0000000005', '1n', 'DecimalSI', 1n],
  ['0.00000000050', '1n', 'DecimalSI', 1n],
  ['0.5e-9', '1e-9', 'DecimalExponent', 1n],
  ['0.9n', '1n', 'DecimalSI', 1n],
  ['0.00000012345', '124n', 'DecimalSI', 124n],
  ['0.00000012354', '124n', 'DecimalSI', 124n],
  ['12E', '12E', 'DecimalSI', 12000000000000000000000000000n],
  ['100.035Ki', '102435840m', 'BinarySI', 102435840000000n],
  ['0.5Mi', '512Ki', 'BinarySI', 524288000000000n],
  ['0.05Gi', '53687091200m', 'BinarySI', 53687091200000000n],
  ['0.025Ti', '27487790694400m', 'BinarySI', 27487790694400000000n],
  ['0.000000000001Ki', '2n', 'DecimalSI', 2n],
  ['.001', '1m', 'DecimalSI', 1000000n],
  ['.0001k', '100m', 'DecimalSI', 100000000n],
  ['1.', '1', 'DecimalSI', 1000000000n],
  ['1.G', '1G', 'DecimalSI', 1000000000000000000n],
];

describe('parseQuantity: the rows of Kubernetes TestQuantityParse', () => {
  it.each<Row>(TEST_QUANTITY_PARSE)('%s → %s (%s, %p nanos)', (input, canonical, format, nanos) => {
    const q = parsed(input);
    expect(q).toEqual({ nanos, format });
    expect(formatQuantity(q)).toBe(canonical);
  });

  it.each<Row>(TEST_QUANTITY_PARSE)('-%s is the exact negation, same format', (input, _canonical, format, nanos) => {
    expect(parsed(`-${input}`)).toEqual({ nanos: -nanos, format });
    expect(parsed(`+${input}`)).toEqual({ nanos, format });
  });
});

describe('parseQuantity: the rows of Kubernetes TestQuantityParseEmit', () => {
  it.each<Row>([
    ['1Ki', '1Ki', 'BinarySI', 1024_000000000n],
    ['1Mi', '1Mi', 'BinarySI', 1048576_000000000n],
    ['1Gi', '1Gi', 'BinarySI', 1073741824_000000000n],
    ['1024Mi', '1Gi', 'BinarySI', 1073741824000000000n],
    ['1000M', '1G', 'DecimalSI', 1000000000000000000n],
    ['.001Ki', '1024m', 'BinarySI', 1024000000n],
    ['.000001Ki', '1024u', 'DecimalSI', 1024000n],
    ['.000000001Ki', '1024n', 'DecimalSI', 1024n],
    ['.000000000001Ki', '2n', 'DecimalSI', 2n],
  ])('%s prints as %s, and its negation with a leading -', (input, canonical, format, nanos) => {
    expect(parsed(input)).toEqual({ nanos, format });
    expect(formatQuantity(parsed(input))).toBe(canonical);
    expect(formatQuantity(parsed(`-${input}`))).toBe(`-${canonical}`);
  });
});

describe('parseQuantity: more forms, checked against apimachinery', () => {
  it.each<Row>([
    ['-1.5Gi', '-1536Mi', 'BinarySI', -1610612736000000000n],
    ['-0.9n', '-1n', 'DecimalSI', -1n],
    ['-3.001n', '-4n', 'DecimalSI', -4n],
    ['-.001Ki', '-1024m', 'BinarySI', -1024000000n],
    ['+1', '1', 'DecimalSI', 1000000000n],
    ['01', '1', 'DecimalSI', 1000000000n],
    ['5.', '5', 'DecimalSI', 5000000000n],
    ['.5', '500m', 'DecimalSI', 500000000n],
    ['1e+3', '1e3', 'DecimalExponent', 1000000000000n],
    ['1E3', '1e3', 'DecimalExponent', 1000000000000n],
    ['1e0', '1', 'DecimalExponent', 1000000000n],
    ['1e-3', '1e-3', 'DecimalExponent', 1000000n],
    ['1e-9', '1e-9', 'DecimalExponent', 1n],
    ['80e-3', '80e-3', 'DecimalExponent', 80000000n],
    ['300e6', '300e6', 'DecimalExponent', 300000000000000000n],
    ['1.5', '1500m', 'DecimalSI', 1500000000n],
    ['1.5Gi', '1536Mi', 'BinarySI', 1610612736000000000n],
    ['1536Mi', '1536Mi', 'BinarySI', 1610612736000000000n],
    ['1023', '1023', 'DecimalSI', 1023000000000n],
    ['1024', '1024', 'DecimalSI', 1024000000000n],
    ['1025', '1025', 'DecimalSI', 1025000000000n],
    ['-1024', '-1024', 'DecimalSI', -1024000000000n],
    ['-1023', '-1023', 'DecimalSI', -1023000000000n],
    ['1000m', '1', 'DecimalSI', 1000000000n],
    ['1080m', '1080m', 'DecimalSI', 1080000000n],
    ['1.08', '1080m', 'DecimalSI', 1080000000n],
    ['108e-2', '1080e-3', 'DecimalExponent', 1080000000n],
    ['10800e-4', '1080e-3', 'DecimalExponent', 1080000000n],
    ['1234567M', '1234567M', 'DecimalSI', 1234567000000000000000n],
    ['1234567m', '1234567m', 'DecimalSI', 1234567000000n],
    ['1e-100', '1e-9', 'DecimalExponent', 1n],
    ['1e-10', '1e-9', 'DecimalExponent', 1n],
    ['2000000001n', '2000000001n', 'DecimalSI', 2000000001n],
    ['18.2Gi', '19542101196800m', 'BinarySI', 19542101196800000000n],
    ['19.2Gi', '20615843020800m', 'BinarySI', 20615843020800000000n],
    ['4611686018427387904', '4611686018427387904', 'DecimalSI', 4611686018427387904000000000n],
    ['7Ei', '7Ei', 'BinarySI', 8070450532247928832000000000n],
    ['7.5Ei', '7680Pi', 'BinarySI', 8646911284551352320000000000n],
    ['1.5Ki', '1536', 'BinarySI', 1536000000000n],
    ['-0', '0', 'DecimalSI', 0n],
    ['-0Gi', '0', 'BinarySI', 0n],
    ['+0.5Ki', '512', 'BinarySI', 512000000000n],
    ['0.1', '100m', 'DecimalSI', 100000000n],
    ['1e21', '1e21', 'DecimalExponent', 1000000000000000000000000000000n],
    ['1e+21', '1e21', 'DecimalExponent', 1000000000000000000000000000000n],
    ['123456789', '123456789', 'DecimalSI', 123456789000000000n],
    ['1Pi', '1Pi', 'BinarySI', 1125899906842624000000000n],
    ['1023Ki', '1023Ki', 'BinarySI', 1047552000000000n],
    ['1048575Ki', '1048575Ki', 'BinarySI', 1073740800000000000n],
    ['1048576Ki', '1Gi', 'BinarySI', 1073741824000000000n],
    ['9223372036854775807', '9223372036854775807', 'DecimalSI', 9223372036854775807000000000n],
    ['9223372036854775807m', '9223372036854775807m', 'DecimalSI', 9223372036854775807000000n],
    ['-9223372036854775808', '-9223372036854775808', 'DecimalSI', -9223372036854775808000000000n],
    ['5e-324', '1e-9', 'DecimalExponent', 1n],
  ])('%s → %s (%s, %p nanos)', (input, canonical, format, nanos) => {
    const q = parsed(input);
    expect(q).toEqual({ nanos, format });
    expect(formatQuantity(q)).toBe(canonical);
  });
});

describe('parseQuantity: precision is 1n, finer values round up away from zero (as Kubernetes)', () => {
  it.each<[input: string, nanos: bigint]>([
    ['1n', 1n],
    ['0.1n', 1n],
    ['0.9n', 1n],
    ['1.000001n', 2n],
    ['3.001n', 4n],
    ['0.00000012345', 124n],
    ['1e-100', 1n],
    ['-0.1n', -1n],
    ['-3.001n', -4n],
    ['0.000000000001Ki', 2n],
    ['0.0000000000000n', 0n],
  ])('%s → %p nanos', (input, nanos) => {
    expect(parsed(input).nanos).toBe(nanos);
  });
});

describe('parseQuantity: JS numbers are read as their decimal string', () => {
  it.each<[input: number, canonical: string, format: QuantityFormat]>([
    [0, '0', 'DecimalSI'],
    [-0, '0', 'DecimalSI'],
    [2, '2', 'DecimalSI'],
    [0.5, '500m', 'DecimalSI'],
    [1.5, '1500m', 'DecimalSI'],
    [-3, '-3', 'DecimalSI'],
    [1000, '1k', 'DecimalSI'],
    [1073741824, '1073741824', 'DecimalSI'],
    [1e21, '1e21', 'DecimalExponent'],
    [1e-7, '100e-9', 'DecimalExponent'],
    [0.1 + 0.2, '300000001n', 'DecimalSI'],
  ])('%p → %s (%s)', (input, canonical, format) => {
    const q = parsed(input);
    expect(q.format).toBe(format);
    expect(formatQuantity(q)).toBe(canonical);
  });

  it.each([NaN, Infinity, -Infinity])('%p is refused', (input) => {
    expect(parseQuantity(input)).toEqual({ ok: false, reason: `invalid quantity ${input}: not a finite number` });
  });
});

describe('parseQuantity: invalid strings are refused with a reason', () => {
  it.each<[input: string, reason: string]>([
    // Kubernetes' own invalid list (TestQuantityParse)
    ['1.1.M', 'unexpected characters after the number'],
    ['1+1.0M', 'unexpected characters after the number'],
    ['0.1mi', 'unknown suffix "mi"'],
    ['0.1am', 'unknown suffix "am"'],
    ['aoeu', 'expected a number'],
    ['.5i', 'unknown suffix "i"'],
    ['1i', 'unknown suffix "i"'],
    ['-3.01i', 'unknown suffix "i"'],
    ['-3.01e-', 'unknown suffix "e-"'],
    [' 1', 'leading or trailing whitespace'],
    ['1 ', 'leading or trailing whitespace'],
    // and ours
    ['', 'empty string'],
    ['2 cores', 'unexpected characters after the number'],
    ['1.2.3', 'unexpected characters after the number'],
    ['1Gib', 'unknown suffix "Gib"'],
    ['--1', 'expected a number'],
    ['+-1', 'expected a number'],
    ['1e', 'unknown suffix "e"'],
    ['1e+', 'unknown suffix "e+"'],
    ['1e1.5', 'unexpected characters after the number'],
    ['1e3Ki', 'unknown suffix "e3Ki"'],
    ['1ke3', 'unknown suffix "ke3"'],
    ['1K', 'unknown suffix "K"'],
    ['1ki', 'unknown suffix "ki"'],
    ['1KI', 'unknown suffix "KI"'],
    ['0x10', 'unknown suffix "x10"'],
    ['1_000', 'unexpected characters after the number'],
    ['1,5', 'unexpected characters after the number'],
    ['1\n', 'leading or trailing whitespace'],
    ['١', 'expected a number'],
    ['Infinity', 'expected a number'],
    ['NaN', 'expected a number'],
  ])('%p: %s', (input, reason) => {
    const result = parseQuantity(input);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toMatch(new RegExp(`^invalid quantity ${JSON.stringify(input).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
    expect(!result.ok && result.reason).toContain(reason);
  });

  it('gives the reason in one line a person can act on', () => {
    expect(parseQuantity('2 cores')).toEqual({ ok: false, reason: 'invalid quantity "2 cores": unexpected characters after the number' });
    expect(parseQuantity('1Gib')).toEqual({
      ok: false,
      reason: 'invalid quantity "1Gib": unknown suffix "Gib" (expected n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent such as e3)',
    });
  });

  it('refuses what is neither a string nor a number (untyped callers)', () => {
    expect(parseQuantity(null as unknown as string)).toEqual({ ok: false, reason: 'invalid quantity null: expected a string or a number' });
  });
});

describe('parseQuantity: where we deliberately differ from Kubernetes', () => {
  // apimachinery's scanner reads a missing number as 0, so it accepts these as zero. Its documented
  // grammar, and the OpenAPI pattern CRDs validate quantities with, require a digit.
  it.each(['Gi', 'Ki', 'e3', 'E3', '.', '-', '+', 'm', '-.'])('%p has no digits: refused (Kubernetes reads 0)', (input) => {
    expect(parseQuantity(input)).toEqual({ ok: false, reason: `invalid quantity ${JSON.stringify(input)}: expected a number` });
  });

  // apimachinery caps BinarySI at 2^63-1 on parse (8Ei prints as 9223372036854775807).
  it.each<[input: string, nanos: bigint, canonical: string]>([
    ['8Ei', 2n ** 63n * 1_000_000_000n, '8Ei'],
    ['9Ei', 9n * 2n ** 60n * 1_000_000_000n, '9Ei'],
    ['9223372036854775807Ki', 9223372036854775807n * 1024n * 1_000_000_000n, '9223372036854775807Ki'],
    ['1024Ei', 2n ** 70n * 1_000_000_000n, '1024Ei'],
  ])('%s is exact, not capped at 2^63-1', (input, nanos, canonical) => {
    expect(parsed(input).nanos).toBe(nanos);
    expect(formatQuantity(parsed(input))).toBe(canonical);
  });

  it('bounds the exponent, so one string cannot allocate a huge integer', () => {
    expect(parsed('1e1000').nanos).toBe(10n ** 1009n);
    expect(parsed('1e-1000').nanos).toBe(1n);
    expect(parseQuantity('1e1001')).toEqual({ ok: false, reason: 'invalid quantity "1e1001": exponent beyond ±1000' });
    expect(parseQuantity('1e99999999999')).toEqual({ ok: false, reason: 'invalid quantity "1e99999999999": exponent beyond ±1000' });
    expect(parseQuantity('0e5000').ok).toBe(false);
  });

  it('bounds the length (and shortens the input it quotes)', () => {
    expect(parsed('9'.repeat(128)).nanos).toBe(BigInt('9'.repeat(128)) * 1_000_000_000n);
    const result = parseQuantity('1'.repeat(129));
    expect(result).toEqual({ ok: false, reason: `invalid quantity "${'1'.repeat(64)}…": longer than 128 characters` });
  });
});

describe('mustParse', () => {
  it('returns the quantity', () => {
    expect(mustParse('1.5Gi')).toEqual({ nanos: 1610612736_000000000n, format: 'BinarySI' });
    expect(mustParse(2)).toEqual({ nanos: 2_000000000n, format: 'DecimalSI' });
  });

  it('throws an Error carrying the reason', () => {
    expect(() => mustParse('Non-Numeric')).toThrow(new Error('invalid quantity "Non-Numeric": expected a number'));
  });

  it('returns frozen quantities', () => {
    expect(Object.isFrozen(mustParse('1'))).toBe(true);
  });
});

describe('parseQuantity: one shared quantity per text', () => {
  it.each<[name: string, a: string | number, b: string | number, same: boolean]>([
    ['the same string twice', '500m', '500m', true],
    ['a number and its decimal string', 2, '2', true],
    ['equal values written differently are equal, not shared', '1000m', '1', false],
  ])('%s', (_name, a, b, same) => {
    const [x, y] = [mustParse(a), mustParse(b)];
    expect([x === y, formatQuantity(x) === formatQuantity(y), Object.isFrozen(x)]).toEqual([same, true, true]);
  });

  it('a refused text is refused again with the same reason', () => {
    expect([parseQuantity('2 cores'), parseQuantity('2 cores')]).toEqual([
      { ok: false, reason: 'invalid quantity "2 cores": unexpected characters after the number' },
      { ok: false, reason: 'invalid quantity "2 cores": unexpected characters after the number' },
    ]);
  });
});
