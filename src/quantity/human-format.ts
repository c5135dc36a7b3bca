import { formatQuantity, type Quantity } from './quantity.js';

const NANO = 1_000_000_000n;

interface Unit {
  readonly suffix: string;
  readonly nanos: bigint;
}

const BINARY_UNITS: readonly Unit[] = ['Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'].map((suffix, i) => ({
  suffix,
  nanos: 1024n ** BigInt(i + 1) * NANO,
}));

const DECIMAL_UNITS: readonly Unit[] = ['n', 'u', 'm', '', 'k', 'M', 'G', 'T', 'P', 'E'].map((suffix, i) => ({
  suffix,
  nanos: 1000n ** BigInt(i),
}));

/**
 * Up to this length the canonical string is printed as is. Longer than the ~8 characters of a
 * typical quantity, because an exact `2000000001n` or `1288490189` is still readable, and rounding
 * it (`2`, `1.29G`) would hide the very difference a denial message is about.
 */
const MAX_EXACT_LENGTH = 12;

/** Hundredths of `magnitude / unit`, rounded half up. */
function hundredths(magnitude: bigint, unit: Unit): bigint {
  return (magnitude * 200n / unit.nanos + 1n) / 2n;
}

function withTwoDecimals(scaled: bigint, suffix: string): string {
  const whole = scaled / 100n;
  const fraction = (scaled % 100n).toString().padStart(2, '0').replace(/0+$/, '');
  return fraction === '' ? `${whole}${suffix}` : `${whole}.${fraction}${suffix}`;
}

/**
 * The largest unit not above `magnitude`, with up to two decimals. If rounding reaches the next
 * unit (1023.999Mi), that unit is used instead (1Gi), so a number never reads 1024Mi or 1000m.
 */
function inLargestUnit(magnitude: bigint, units: readonly Unit[]): string {
  let index = Math.max(0, units.findLastIndex((unit) => magnitude >= unit.nanos));
  let scaled = hundredths(magnitude, units[index] as Unit);
  const next = units[index + 1];
  if (next && scaled * (units[index] as Unit).nanos >= next.nanos * 100n) {
    index += 1;
    scaled = hundredths(magnitude, next);
  }
  return withTwoDecimals(scaled, (units[index] as Unit).suffix);
}

function magnitudeForHumans(q: Quantity): string {
  if (q.format === 'BinarySI' && q.nanos >= (BINARY_UNITS[0] as Unit).nanos) {
    return inLargestUnit(q.nanos, BINARY_UNITS);
  }
  const canonical = formatQuantity(q);
  return canonical.length <= MAX_EXACT_LENGTH ? canonical : inLargestUnit(q.nanos, DECIMAL_UNITS);
}

/**
 * A short, readable amount for messages, exact whenever that stays short. The rule:
 *
 * - BinarySI values of at least 1Ki: the largest binary unit the value reaches, with up to two
 *   decimals, rounded half up, trailing zeros trimmed: `1Gi`, `512Mi`, `1.5Gi` (for 1536Mi),
 *   `18.2Gi`, `19.2Gi` (16Gi × 1.2), `1.46Gi` (for 1500Mi, rounded).
 * - Everything else (DecimalSI, DecimalExponent, BinarySI below 1Ki): the canonical Kubernetes
 *   string when it has at most 12 characters (`2`, `500m`, `1500m`, `9`, `10`, `1e3`,
 *   `2000000001n`); longer, the largest decimal SI unit the value reaches, with up to two decimals
 *   (`20615843020800m` → `20.62G`).
 * - Negative values get a leading `-` on the magnitude's form; zero is `0`.
 *
 * Approximate forms are for people only: never parse them back into a decision.
 */
export function formatForHumans(q: Quantity): string {
  if (q.nanos < 0n) return `-${magnitudeForHumans({ nanos: -q.nanos, format: q.format })}`;
  return magnitudeForHumans(q);
}
