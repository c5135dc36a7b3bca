import { z } from 'zod';
import { isNegative, parseQuantity, type ParseResult, type Quantity, type ResourceList } from '../quantity/index.js';
import { MAX_CONDITIONS, MAX_RESOURCE_NAME_LENGTH, MAX_RESOURCES } from './limits.js';

/**
 * A Kubernetes quantity written as a string or an integer, parsed exactly; negative values refused.
 *
 * The CRDs declare quantities `x-kubernetes-int-or-string`, so the API server refuses a fractional
 * JSON number (`cpu: 1.5`) and such an object never reaches the service. The same rule here keeps
 * the two layers agreeing, and keeps every quantity exact: a float has lost the text it was written
 * as (`1.10` arrives as 1.1), a string has not.
 */
export function quantityOf(input: string | number): ParseResult {
  if (typeof input === 'number' && !Number.isInteger(input)) {
    return { ok: false, reason: `invalid quantity ${input}: a fractional quantity must be a string (${JSON.stringify(String(input))})` };
  }
  const parsed = parseQuantity(input);
  if (!parsed.ok) return parsed;
  // The CRDs' pattern refuses any sign but `+`, so `-0` is refused as a negative is.
  if (isNegative(parsed.quantity) || (typeof input === 'string' && input.startsWith('-'))) {
    return { ok: false, reason: `invalid quantity ${JSON.stringify(input)}: must not be negative` };
  }
  return parsed;
}

/** {@link quantityOf} as a schema. */
export const quantityField = z.union([z.string(), z.number()]).transform((input, ctx): Quantity => {
  const parsed = quantityOf(input);
  if (parsed.ok) return parsed.quantity;
  ctx.addIssue({ code: 'custom', message: parsed.reason });
  return z.NEVER;
});

/**
 * A size check that runs before `schema` parses a single element: a list or map over `max` entries
 * is refused at the cost of counting them, not of parsing them (issue 14: a review with 100k
 * resource names kept the event loop busy for seconds). The CRDs declare the same bound.
 */
export function atMost<T extends z.ZodType>(max: number, what: string, schema: T) {
  const size = (value: unknown): number =>
    Array.isArray(value) ? value.length : typeof value === 'object' && value !== null ? Object.keys(value).length : 0;
  return z
    .unknown()
    .refine((value) => size(value) <= max, { message: `at most ${max} ${what}`, abort: true })
    .pipe(schema);
}

const resourceList = (name: z.ZodString) =>
  atMost(MAX_RESOURCES, 'resources', z.record(name, quantityField)).transform((list): ResourceList => Object.freeze(list));

/** A map of resource name to quantity (`{cpu: "2", memory: 4Gi}`). */
export const resourceListField = resourceList(z.string().min(1).max(MAX_RESOURCE_NAME_LENGTH));

/** A reservation's charge: as {@link resourceListField}, without the name-length rule its CRD cannot afford. */
export const chargeListField = resourceList(z.string().min(1));

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_NS: Readonly<Record<string, bigint>> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};
/** Go's time.Duration is an int64 of nanoseconds; ParseDuration refuses anything longer. */
const MAX_DURATION_NS = 2n ** 63n - 1n;
/** The CRD's maxLength for heartbeatInterval. */
const MAX_DURATION_LENGTH = 64;

/**
 * Parses a Go duration (`20s`, `1m30s`, `1.5h`) into whole nanoseconds the way Go's
 * `time.ParseDuration` does (and so the API server's CEL `duration()`): each component's fraction is
 * truncated to a nanosecond, so `0.5ns` is 0. Undefined when malformed or beyond int64.
 */
export function durationNs(text: string): bigint | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0n;
  for (const [, whole = '0', fraction = '', unit = 's'] of text.matchAll(/(\d+)(?:\.(\d+))?(ns|us|µs|ms|s|m|h)/g)) {
    const scale = UNIT_NS[unit] ?? 0n;
    total += BigInt(whole) * scale + (BigInt(`0${fraction}`) * scale) / 10n ** BigInt(fraction.length);
  }
  return total > MAX_DURATION_NS ? undefined : total;
}

/** Parses a Go duration (`20s`, `1m30s`, `1h`) into milliseconds (from {@link durationNs}). */
export function durationMs(text: string): number | undefined {
  const ns = durationNs(text);
  return ns === undefined ? undefined : Number(ns) / 1e6;
}

/**
 * A Go duration string, kept as written and parsed to milliseconds alongside. Zero is refused as the
 * CRD's CEL rule refuses it (`duration(self) > duration('0s')`), after Go's truncation: `0.1ns` is 0.
 */
export const durationField = z
  .string()
  .max(MAX_DURATION_LENGTH)
  .transform((text, ctx) => {
    const ns = durationNs(text);
    if (ns === undefined || ns <= 0n) {
      ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(text)}: expected a positive Go duration such as 20s, 1m30s` });
      return z.NEVER;
    }
    return { text, ms: Number(ns) / 1e6 };
  });

export type Duration = z.output<typeof durationField>;

// `format: date-time` as the API server checks it (measured against kube-apiserver 1.33, see
// docs/decisions.md): RFC 3339 with `t`/`z` in either case, a fraction of any length after `.` or
// `,`, an offset up to ±24:00, and a real calendar date and time of day.
const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:[.,](\d+))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;
/** Days in a 400-year Gregorian cycle: shifting a date by 400 years shifts it by exactly this. */
const CYCLE_MS = 146_097 * 86_400_000;

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
const isLeapYear = (year: number): boolean => year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
const isCalendarDate = (year: number, month: number, day: number): boolean =>
  month >= 1 && month <= 12 && day >= 1 && day <= (DAYS_IN_MONTH[month - 1] as number) + (month === 2 && isLeapYear(year) ? 1 : 0);
const isTimeOfDay = (hour: number, minute: number, second: number): boolean => hour <= 23 && minute <= 59 && second <= 59;

/**
 * Epoch milliseconds of a timestamp the API server accepts (see {@link timestampField}), NaN for
 * anything else. `Date.parse` is not enough: it refuses a `,` fraction and accepts `24:00:00`.
 * Runs on every placement a review carries, so it allocates nothing past the match.
 */
export function timestampMs(text: string): number {
  const match = DATE_TIME.exec(text);
  if (!match) return NaN;
  const year = Number(match[1]);
  const month = Number(match[2]);
  const day = Number(match[3]);
  const hour = Number(match[4]);
  const minute = Number(match[5]);
  const second = Number(match[6]);
  const offsetHours = Number(match[9] ?? 0);
  const offsetMinutes = Number(match[10] ?? 0);
  if (!isCalendarDate(year, month, day) || !isTimeOfDay(hour, minute, second) || offsetHours > 24 || offsetMinutes > 59) return NaN;
  const millis = Number((match[7] ?? '').padEnd(3, '0').slice(0, 3));
  const offsetMs = (match[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  // Date.UTC reads years 0-99 as 1900-1999: count from 400 years later, the same day of the week and leap cycle.
  return Date.UTC(year + 400, month - 1, day, hour, minute, second, millis) - CYCLE_MS - offsetMs;
}

/** RFC 3339 timestamp as the API server accepts it (kept as written; read it with {@link timestampMs}). */
export const timestampField = z.string().refine((text) => !Number.isNaN(timestampMs(text)), { message: 'Invalid RFC 3339 date-time' });

const stringMap = z.record(z.string(), z.string());

/** The metadata fields the service reads. Unknown fields pass through untouched (not stored). */
export const objectMetaField = z.object({
  name: z.string().default(''),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  generation: z.number().int().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: timestampField.optional(),
  labels: stringMap.default({}),
  annotations: stringMap.default({}),
});

export type ObjectMeta = z.output<typeof objectMetaField>;

const CONDITION_TYPE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const CONDITION_REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

/**
 * metav1.Condition, with the rules the CRDs copy from it (as controller-gen writes them): type,
 * status, reason, message and lastTransitionTime are all required; `kubectl wait` and every
 * controller reading conditions rely on them.
 */
export const conditionField = z.object({
  type: z.string().min(1).max(316).regex(CONDITION_TYPE, 'must be a condition type such as Ready or example.com/Ready'),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().min(1).max(1024).regex(CONDITION_REASON, 'must be a CamelCase reason such as QuotaExceeded'),
  message: z.string().max(32_768),
  lastTransitionTime: timestampField,
  observedGeneration: z.number().int().min(0).optional(),
});

/**
 * Refuses a second item with the same key, as the API server does for `x-kubernetes-list-type: map`
 * (and `set`): the issue names the later item, `spec.targetClusters[1]: Duplicate value`.
 */
export function uniqueBy<T>(keyOf: (item: T) => unknown, what: string) {
  return (items: readonly T[], ctx: z.RefinementCtx): void => {
    const seen = new Set<unknown>();
    items.forEach((item, i) => {
      const key = keyOf(item);
      if (seen.has(key)) ctx.addIssue({ code: 'custom', path: [i], message: `Duplicate value: ${what} ${JSON.stringify(key)} appears more than once` });
      seen.add(key);
    });
  };
}

/** A list of conditions, at most one per type. */
export const conditionsField = atMost(MAX_CONDITIONS, 'conditions', z.array(conditionField).superRefine(uniqueBy((c) => c.type, 'condition type'))).default([]);

export type Condition = z.output<typeof conditionField>;
