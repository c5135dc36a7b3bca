/**
 * Exact Kubernetes quantities (`2`, `500m`, `1.5Gi`, `1e3`), with the semantics of apimachinery's
 * `pkg/api/resource` Quantity: same grammar, same rounding, same canonical string.
 *
 * A value is an integer count of nano-units held in a BigInt, so sums never drift and never
 * overflow. Where this module deliberately differs from Kubernetes it says so next to the code:
 * it does not cap BinarySI values at 2^63-1, it refuses the degenerate strings Kubernetes' scanner
 * lets through as zero (`Gi`, `e3`, `.`, `-`), and it bounds input length and exponent.
 */

/** How a quantity was written, and so how it is printed back (Kubernetes' `Format`). */
export type QuantityFormat = 'DecimalSI' | 'BinarySI' | 'DecimalExponent';

/** Immutable exact quantity: an integer count of nano-units (1e-9) plus the format it was written in. */
export interface Quantity {
  readonly nanos: bigint;
  readonly format: QuantityFormat;
}

/** Outcome of {@link parseQuantity}: a quantity, or why the input is not one. */
export type ParseResult = { ok: true; quantity: Quantity } | { ok: false; reason: string };

/** Nano-units per unit: every quantity is stored at Kubernetes' finest scale, 1n. */
const NANO = 1_000_000_000n;
const KIBI = 1024n;

/**
 * Kubernetes accepts any length and any int64 exponent; we do not, because `1e999999999` would make
 * one admission request allocate a billion-digit integer. Every finite JS number still fits
 * (`5e-324`, `1.7976931348623157e+308`), as does any quantity a person would write.
 */
const MAX_INPUT_LENGTH = 128;
const MAX_EXPONENT = 1000;

interface Suffix {
  readonly format: QuantityFormat;
  readonly pow10: number;
  readonly pow2: number;
}

const SUFFIXES: ReadonlyMap<string, Suffix> = new Map<string, Suffix>([
  ['n', { format: 'DecimalSI', pow10: -9, pow2: 0 }],
  ['u', { format: 'DecimalSI', pow10: -6, pow2: 0 }],
  ['m', { format: 'DecimalSI', pow10: -3, pow2: 0 }],
  ['', { format: 'DecimalSI', pow10: 0, pow2: 0 }],
  ['k', { format: 'DecimalSI', pow10: 3, pow2: 0 }],
  ['M', { format: 'DecimalSI', pow10: 6, pow2: 0 }],
  ['G', { format: 'DecimalSI', pow10: 9, pow2: 0 }],
  ['T', { format: 'DecimalSI', pow10: 12, pow2: 0 }],
  ['P', { format: 'DecimalSI', pow10: 15, pow2: 0 }],
  ['E', { format: 'DecimalSI', pow10: 18, pow2: 0 }],
  ['Ki', { format: 'BinarySI', pow10: 0, pow2: 10 }],
  ['Mi', { format: 'BinarySI', pow10: 0, pow2: 20 }],
  ['Gi', { format: 'BinarySI', pow10: 0, pow2: 30 }],
  ['Ti', { format: 'BinarySI', pow10: 0, pow2: 40 }],
  ['Pi', { format: 'BinarySI', pow10: 0, pow2: 50 }],
  ['Ei', { format: 'BinarySI', pow10: 0, pow2: 60 }],
]);

/** Decimal SI suffix by power of ten (the printing side of {@link SUFFIXES}). */
const DECIMAL_SUFFIX: ReadonlyMap<number, string> = new Map([
  [-9, 'n'], [-6, 'u'], [-3, 'm'], [0, ''], [3, 'k'], [6, 'M'], [9, 'G'], [12, 'T'], [15, 'P'], [18, 'E'],
]);
const BINARY_SUFFIX: readonly string[] = ['', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'];

/**
 * Sign, integer digits, fraction digits, rest. Both digit runs may be empty here (Kubernetes' own
 * scanner is this lenient and reads `Gi`, `.` or `-` as zero); we then insist on at least one digit,
 * as the grammar in quantity.go's comment does: `<digits> | <digits>.<digits> | <digits>. | .<digits>`.
 */
const NUMBER_THEN_REST = /^([+-]?)([0-9]*)(?:\.([0-9]*))?(.*)$/s;
const EXPONENT = /^[eE]([+-]?[0-9]+)$/;
const SUFFIX_LIKE = /^[A-Za-z][A-Za-z0-9+-]*$/;
const VALID_SUFFIXES = 'n u m k M G T P E Ki Mi Gi Ti Pi Ei, or an exponent such as e3';

/** The one place quantities are made: frozen, so no caller can change a shared constant. */
function make(nanos: bigint, format: QuantityFormat): Quantity {
  return Object.freeze({ nanos, format });
}

/** The quantity 0, written as Kubernetes writes `0` (DecimalSI). */
export const ZERO: Quantity = make(0n, 'DecimalSI');

const abs = (n: bigint): bigint => (n < 0n ? -n : n);
const pow10 = (exponent: number): bigint => 10n ** BigInt(exponent);

function ceilDiv(numerator: bigint, denominator: bigint): bigint {
  return (numerator + denominator - 1n) / denominator;
}

function floorDiv(numerator: bigint, denominator: bigint): bigint {
  const quotient = numerator / denominator;
  return numerator % denominator < 0n ? quotient - 1n : quotient;
}

function describeInput(input: unknown): string {
  if (typeof input !== 'string') return String(input);
  const shown = input.length > 64 ? `${input.slice(0, 64)}…` : input;
  return JSON.stringify(shown);
}

function fail(input: unknown, reason: string): ParseResult {
  return { ok: false, reason: `invalid quantity ${describeInput(input)}: ${reason}` };
}

/** Why `rest` (what follows the number) is not a suffix: a name that is not ours, or stray text. */
function suffixProblem(rest: string): string {
  if (SUFFIX_LIKE.test(rest)) return `unknown suffix ${JSON.stringify(rest)} (expected ${VALID_SUFFIXES})`;
  return 'unexpected characters after the number';
}

type SuffixResult = { ok: true; suffix: Suffix } | { ok: false; reason: string };

function interpretSuffix(rest: string): SuffixResult {
  const known = SUFFIXES.get(rest);
  if (known) return { ok: true, suffix: known };
  const exponent = EXPONENT.exec(rest)?.[1];
  if (exponent === undefined) return { ok: false, reason: suffixProblem(rest) };
  const value = Number(exponent);
  if (Math.abs(value) > MAX_EXPONENT) return { ok: false, reason: `exponent beyond ±${MAX_EXPONENT}` };
  return { ok: true, suffix: { format: 'DecimalExponent', pow10: value, pow2: 0 } };
}

/**
 * |value| in nanos. Anything finer than 1n is rounded UP, away from zero, as Kubernetes does
 * (`0.1n` → `1n`, `3.001n` → `4n`, `-0.9n` → `-1n`): "if you want some resources, you should get
 * some resources, even if you asked for way too small of an amount" (quantity.go).
 */
function magnitudeInNanos(digits: string, fractionLength: number, suffix: Suffix): bigint {
  const scaled = BigInt(digits) << BigInt(suffix.pow2);
  const shift = suffix.pow10 - fractionLength + 9;
  return shift >= 0 ? scaled * pow10(shift) : ceilDiv(scaled, pow10(-shift));
}

/** Why the string as a whole cannot be a quantity, before looking at its parts. */
function shapeProblem(input: string): string | undefined {
  if (input === '') return 'empty string';
  if (input.length > MAX_INPUT_LENGTH) return `longer than ${MAX_INPUT_LENGTH} characters`;
  if (input.trim() !== input) return 'leading or trailing whitespace';
  return undefined;
}

interface Parts {
  readonly negative: boolean;
  readonly whole: string;
  readonly fraction: string;
  readonly rest: string;
}

function splitNumber(input: string): Parts {
  const match = NUMBER_THEN_REST.exec(input);
  return {
    negative: match?.[1] === '-',
    whole: match?.[2] ?? '',
    fraction: match?.[3] ?? '',
    rest: match?.[4] ?? '',
  };
}

function parseString(input: string): ParseResult {
  const problem = shapeProblem(input);
  if (problem !== undefined) return fail(input, problem);
  const { negative, whole, fraction, rest } = splitNumber(input);
  if (whole === '' && fraction === '') return fail(input, 'expected a number');
  const suffix = interpretSuffix(rest);
  if (!suffix.ok) return fail(input, suffix.reason);
  const { format } = suffix.suffix;
  const magnitude = magnitudeInNanos(whole + fraction, fraction.length, suffix.suffix);
  // Kubernetes: BinarySI strictly between 0 and 1 becomes DecimalSI, "this avoids rounding and hopefully confusion".
  const fractionOfOne = format === 'BinarySI' && magnitude > 0n && magnitude < NANO;
  return { ok: true, quantity: make(negative ? -magnitude : magnitude, fractionOfOne ? 'DecimalSI' : format) };
}

/**
 * Parses a Kubernetes quantity exactly. Strings follow apimachinery's grammar (`2`, `+1`, `-500m`,
 * `.5`, `5.`, `1.5Gi`, `1e3`, `1E-3`, `1e+3`); a JS number is read as its decimal string
 * (`String(n)`), NaN and ±Infinity are refused. Values finer than 1n round up, away from zero.
 * Never throws: a bad input gives `{ ok: false, reason }`, e.g.
 * `invalid quantity "2 cores": unexpected characters after the number`.
 */
export function parseQuantity(input: string | number): ParseResult {
  if (typeof input === 'number') {
    return Number.isFinite(input) ? parseText(String(input)) : fail(input, 'not a finite number');
  }
  if (typeof input !== 'string') return fail(input, 'expected a string or a number');
  return parseText(input);
}

/**
 * Parsed quantities by text. A cluster's, a quota's and a placement's quantities are written with a
 * few dozen strings (`500m`, `1Gi`, `32`); every object parsed with one of them then shares one frozen
 * Quantity (and its BigInt), which a decision finds in the CPU cache instead of in a separate copy per
 * object, and a repeated string is not parsed again. Bounded: past the limit, texts are parsed as before.
 */
const PARSED_LIMIT = 4096;
const parsedTexts = new Map<string, Quantity>();

function parseText(text: string): ParseResult {
  const known = parsedTexts.get(text);
  if (known) return { ok: true, quantity: known };
  const parsed = parseString(text);
  if (parsed.ok && parsedTexts.size < PARSED_LIMIT) parsedTexts.set(text, parsed.quantity);
  return parsed;
}

/** {@link parseQuantity} for constants and tests: throws an Error carrying the reason. */
export function mustParse(input: string | number): Quantity {
  const result = parseQuantity(input);
  if (!result.ok) throw new Error(result.reason);
  return result.quantity;
}

/**
 * Kubernetes' canonical decimal form: all factors of ten moved into the exponent, which is then
 * lowered to a multiple of three so a suffix exists (`1.5` → `1500m`, `1.3E+6` → `1300e3`).
 */
function formatDecimal(magnitude: bigint, format: QuantityFormat): string {
  let mantissa = magnitude;
  let exponent = -9;
  while (mantissa % 10n === 0n) {
    mantissa /= 10n;
    exponent += 1;
  }
  const excess = ((exponent % 3) + 3) % 3;
  mantissa *= pow10(excess);
  exponent -= excess;
  if (format === 'DecimalExponent') return exponent === 0 ? `${mantissa}` : `${mantissa}e${exponent}`;
  // Deviation: past `E` Kubernetes finds no suffix and drops it (`1000E` prints as `1`); keep the value.
  if (exponent > 18) return `${mantissa * pow10(exponent - 18)}E`;
  return `${mantissa}${DECIMAL_SUFFIX.get(exponent) ?? ''}`;
}

/** Whole units, with as many factors of 1024 as possible moved into the suffix (`1536Mi`, `1Gi`). */
function formatBinary(magnitude: bigint): string {
  let mantissa = magnitude / NANO;
  let power = 0;
  // Deviation: capped at Ei, where Kubernetes would run out of suffixes and print a wrong number.
  while (power < BINARY_SUFFIX.length - 1 && mantissa % KIBI === 0n) {
    mantissa /= KIBI;
    power += 1;
  }
  return `${mantissa}${BINARY_SUFFIX[power] ?? ''}`;
}

/**
 * The canonical string, as Kubernetes' `Quantity.String()` prints a computed quantity: the largest
 * suffix of the quantity's format that keeps an integer mantissa (`1Gi`, `1536Mi`, `500m`, `1500m`,
 * `1e3`, `1G`). BinarySI below 1024 in magnitude, or not a whole number, prints as DecimalSI
 * (`512`, `1024m`). Zero is `0`.
 *
 * Kubernetes also caches the string it parsed when it looks canonical and prints that back
 * (`+1`, `01`, `1.G`, `100.035k`, `1E3`); that cache is not reproduced: those print `1`, `1`, `1G`,
 * `100035`, `1e3`, which is what Kubernetes prints for the same value after any arithmetic.
 */
export function formatQuantity(q: Quantity): string {
  if (q.nanos === 0n) return '0';
  const sign = q.nanos < 0n ? '-' : '';
  const magnitude = abs(q.nanos);
  const binary = q.format === 'BinarySI' && magnitude >= KIBI * NANO && magnitude % NANO === 0n;
  return sign + (binary ? formatBinary(magnitude) : formatDecimal(magnitude, q.format));
}

function toBigInt(n: bigint | number, what: string): bigint {
  if (typeof n === 'bigint') return n;
  if (!Number.isInteger(n)) throw new RangeError(`${what} must be an integer, got ${n}`);
  return BigInt(n);
}

/** `n` whole units (`fromInteger(4)` is `4`, `fromInteger(1024, 'BinarySI')` is `1Ki`). Throws on a non-integer. */
export function fromInteger(n: bigint | number, format: QuantityFormat = 'DecimalSI'): Quantity {
  return make(toBigInt(n, 'fromInteger') * NANO, format);
}

/** Kubernetes' Add/Sub keep the left operand's format, unless it is zero: then the right one's. */
const resultFormat = (a: Quantity, b: Quantity): QuantityFormat => (a.nanos === 0n ? b.format : a.format);

/**
 * a + b exactly; the result keeps a's format, or b's when a is zero (as Kubernetes' `Add`). Adding
 * zero answers with the other operand itself, which is that very value and format: sums of a
 * resource nobody uses then keep sharing one quantity instead of each holding a copy.
 */
export function add(a: Quantity, b: Quantity): Quantity {
  if (a.nanos === 0n) return b;
  if (b.nanos === 0n) return a;
  return make(a.nanos + b.nanos, resultFormat(a, b));
}

/** a − b exactly (may go negative); format as {@link add}. Subtracting zero from a non-zero a answers a. */
export function sub(a: Quantity, b: Quantity): Quantity {
  if (b.nanos === 0n && a.nanos !== 0n) return a;
  return make(a.nanos - b.nanos, resultFormat(a, b));
}

/** q × n for an integer n, exactly, in q's format (Kubernetes' `Mul`). Throws on a non-integer. */
export function mulInt(q: Quantity, n: bigint | number): Quantity {
  return make(q.nanos * toBigInt(n, 'mulInt factor'), q.format);
}

/**
 * q × ratio, where ratio is a dimensionless quantity such as an overcommit of `1.5` or `1.2`.
 * Exact, then floored (towards −∞) to 1n, so capacity is never overstated; q's format is kept.
 */
export function mulRatio(q: Quantity, ratio: Quantity): Quantity {
  return make(floorDiv(q.nanos * ratio.nanos, NANO), q.format);
}

/** q rounded down to a whole unit (`2150m` → `2`), in q's format. */
export function floorToUnit(q: Quantity): Quantity {
  return make(floorDiv(q.nanos, NANO) * NANO, q.format);
}

/** Compares values exactly, whatever their formats (`1Gi` > `1G`, `1000m` = `1`). */
export function cmp(a: Quantity, b: Quantity): -1 | 0 | 1 {
  if (a.nanos === b.nanos) return 0;
  return a.nanos < b.nanos ? -1 : 1;
}

/** Whether a + b > limit, exactly, without making the sum a Quantity (checks run on every decision). */
export function sumExceeds(a: Quantity, b: Quantity, limit: Quantity): boolean {
  return a.nanos + b.nanos > limit.nanos;
}

/** True for any zero (`0`, `0Gi`, `-0`). */
export function isZero(q: Quantity): boolean {
  return q.nanos === 0n;
}

/** True when strictly below zero. */
export function isNegative(q: Quantity): boolean {
  return q.nanos < 0n;
}

/** The larger value; a when equal. */
export function max(a: Quantity, b: Quantity): Quantity {
  return cmp(b, a) > 0 ? b : a;
}

/** The smaller value; a when equal. */
export function min(a: Quantity, b: Quantity): Quantity {
  return cmp(b, a) < 0 ? b : a;
}

/** An approximate float in units (`500m` → 0.5), for reports and ratios only, never for decisions. */
export function toNumber(q: Quantity): number {
  return Number(q.nanos / NANO) + Number(q.nanos % NANO) / 1e9;
}
