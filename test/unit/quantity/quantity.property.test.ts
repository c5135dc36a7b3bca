import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  add,
  cmp,
  formatForHumans,
  formatQuantity,
  mulInt,
  mustParse,
  parseQuantity,
  sub,
  ZERO,
  type Quantity,
  type QuantityFormat,
} from '../../../src/quantity/index.js';

const NANO = 1_000_000_000n;
const formats: QuantityFormat[] = ['DecimalSI', 'BinarySI', 'DecimalExponent'];

/** Values people write (whole units of a suffix) and arbitrary nano counts, up to well past 8Ei. */
const nanos = fc.oneof(
  fc.bigInt({ min: -(2n ** 90n), max: 2n ** 90n }),
  fc.tuple(fc.bigInt({ min: -4096n, max: 4096n }), fc.constantFrom(1n, 1000n, NANO, 1024n * NANO, 2n ** 30n * NANO, 2n ** 60n * NANO))
    .map(([n, unit]) => n * unit),
);
const quantity: fc.Arbitrary<Quantity> = fc.record({ nanos, format: fc.constantFrom(...formats) });

const SUFFIX_VALUE: Record<string, { num: bigint; den: bigint }> = {
  n: { num: 1n, den: NANO },
  u: { num: 1n, den: 1_000_000n },
  m: { num: 1n, den: 1000n },
  '': { num: 1n, den: 1n },
  k: { num: 1000n, den: 1n },
  M: { num: 10n ** 6n, den: 1n },
  G: { num: 10n ** 9n, den: 1n },
  T: { num: 10n ** 12n, den: 1n },
  P: { num: 10n ** 15n, den: 1n },
  E: { num: 10n ** 18n, den: 1n },
  Ki: { num: 2n ** 10n, den: 1n },
  Mi: { num: 2n ** 20n, den: 1n },
  Gi: { num: 2n ** 30n, den: 1n },
  Ti: { num: 2n ** 40n, den: 1n },
  Pi: { num: 2n ** 50n, den: 1n },
  Ei: { num: 2n ** 60n, den: 1n },
};

interface Written {
  readonly text: string;
  /** The exact value in units, as a fraction, computed from the parts rather than the text. */
  readonly num: bigint;
  readonly den: bigint;
}

/** Strings from Kubernetes' grammar, with their exact rational value. */
const written: fc.Arbitrary<Written> = fc
  .record({
    sign: fc.constantFrom('', '+', '-'),
    whole: fc.stringMatching(/^[0-9]{0,12}$/),
    fraction: fc.option(fc.stringMatching(/^[0-9]{0,12}$/), { nil: undefined }),
    suffix: fc.oneof(
      fc.constantFrom(...Object.keys(SUFFIX_VALUE)),
      fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), fc.integer({ min: 0, max: 30 })).map(([e, s, n]) => `${e}${s}${n}`),
    ),
  })
  .filter(({ whole, fraction }) => whole !== '' || (fraction ?? '') !== '')
  .map(({ sign, whole, fraction, suffix }) => {
    const digits = BigInt(`${whole}${fraction ?? ''}` || '0');
    const scale = 10n ** BigInt((fraction ?? '').length);
    const exponent = /^[eE]/.test(suffix) ? Number(suffix.slice(1)) : 0;
    const unit = SUFFIX_VALUE[suffix] ?? (exponent >= 0 ? { num: 10n ** BigInt(exponent), den: 1n } : { num: 1n, den: 10n ** BigInt(-exponent) });
    const negative = sign === '-' ? -1n : 1n;
    const text = `${sign}${whole}${fraction === undefined ? '' : `.${fraction}`}${suffix}`;
    return { text, num: negative * digits * unit.num, den: scale * unit.den };
  });

const parsed = (text: string): Quantity => mustParse(text);
const sign = (n: bigint): -1 | 0 | 1 => (n === 0n ? 0 : n < 0n ? -1 : 1);

describe('quantity properties', () => {
  it('every string of the grammar parses to its exact value, rounded up (away from zero) to 1n', () => {
    fc.assert(
      fc.property(written, ({ text, num, den }) => {
        const negative = num < 0n;
        const magnitude = ((negative ? -num : num) * NANO + den - 1n) / den;
        expect(parsed(text).nanos).toBe(negative ? -magnitude : magnitude);
      }),
    );
  });

  it('parse(format(q)) has the value of q', () => {
    fc.assert(
      fc.property(quantity, (q) => {
        expect(parsed(formatQuantity(q)).nanos).toBe(q.nanos);
      }),
    );
  });

  it('format is stable: format(parse(format(q))) === format(q)', () => {
    fc.assert(
      fc.property(quantity, (q) => {
        const canonical = formatQuantity(q);
        expect(formatQuantity(parsed(canonical))).toBe(canonical);
      }),
    );
  });

  it('the canonical form of any parsed string is stable too', () => {
    fc.assert(
      fc.property(written, ({ text }) => {
        const canonical = formatQuantity(parsed(text));
        expect(formatQuantity(parsed(canonical))).toBe(canonical);
      }),
    );
  });

  it('parseQuantity never throws, whatever the string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[-+.0-9eEinumkKMGTP ]{0,8}$/)), (text) => {
        const result = parseQuantity(text);
        if (!result.ok) expect(result.reason).toMatch(/^invalid quantity /);
      }),
    );
  });

  it('cmp is a total order consistent with the exact values', () => {
    fc.assert(
      fc.property(written, written, written, (a, b, c) => {
        const [qa, qb, qc] = [parsed(a.text), parsed(b.text), parsed(c.text)];
        const exact = sign(a.num * b.den - b.num * a.den);
        // Rounding to 1n can merge two values, never swap them.
        if (exact !== 0) expect([exact, 0]).toContain(cmp(qa, qb));
        else expect(cmp(qa, qb)).toBe(0);
        expect(cmp(qb, qa)).toBe(-cmp(qa, qb) || 0);
        if (cmp(qa, qb) <= 0 && cmp(qb, qc) <= 0) expect(cmp(qa, qc)).toBeLessThanOrEqual(0);
      }),
    );
  });

  it('cmp agrees with BigInt order on nanos, and ignores formats', () => {
    fc.assert(
      fc.property(quantity, quantity, (a, b) => {
        expect(cmp(a, b)).toBe(sign(a.nanos - b.nanos));
        expect(cmp(a, { ...a, format: b.format })).toBe(0);
      }),
    );
  });

  it('sub undoes add, and add undoes sub', () => {
    fc.assert(
      fc.property(quantity, quantity, (a, b) => {
        expect(cmp(sub(add(a, b), b), a)).toBe(0);
        expect(cmp(add(sub(a, b), b), a)).toBe(0);
      }),
    );
  });

  it('add is commutative and associative in value, with ZERO as identity', () => {
    fc.assert(
      fc.property(quantity, quantity, quantity, (a, b, c) => {
        expect(cmp(add(a, b), add(b, a))).toBe(0);
        expect(cmp(add(add(a, b), c), add(a, add(b, c)))).toBe(0);
        expect(add(ZERO, a)).toEqual(a);
        // Kubernetes: adding to a zero takes the other operand's format, so 0Gi + 0 is a DecimalSI 0.
        expect(add(a, ZERO)).toEqual(a.nanos === 0n ? ZERO : a);
      }),
    );
  });

  it('mulInt(q, n) is q added n times', () => {
    fc.assert(
      fc.property(quantity, fc.integer({ min: 0, max: 20 }), (q, n) => {
        const repeated = Array.from({ length: n }, () => q).reduce(add, ZERO);
        expect(cmp(mulInt(q, n), repeated)).toBe(0);
      }),
    );
  });

  it('formatForHumans is a valid quantity within 0.5% of the value', () => {
    fc.assert(
      fc.property(quantity, (q) => {
        const shown = parsed(formatForHumans(q)).nanos;
        const error = shown > q.nanos ? shown - q.nanos : q.nanos - shown;
        expect(error * 200n <= (q.nanos < 0n ? -q.nanos : q.nanos)).toBe(true);
      }),
    );
  });
});
