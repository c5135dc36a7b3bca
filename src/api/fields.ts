import { z } from 'zod';
import { isNegative, parseQuantity, type Quantity, type ResourceList } from '../quantity/index.js';

/** A Kubernetes quantity written as a string or a number, parsed exactly; negative values refused. */
export const quantityField = z.union([z.string(), z.number()]).transform((input, ctx): Quantity => {
  const parsed = parseQuantity(input);
  if (!parsed.ok) {
    ctx.addIssue({ code: 'custom', message: parsed.reason });
    return z.NEVER;
  }
  if (isNegative(parsed.quantity)) {
    ctx.addIssue({ code: 'custom', message: `invalid quantity ${JSON.stringify(input)}: must not be negative` });
    return z.NEVER;
  }
  return parsed.quantity;
});

/** A map of resource name to quantity (`{cpu: "2", memory: 4Gi}`). */
export const resourceListField = z
  .record(z.string().min(1), quantityField)
  .transform((list): ResourceList => Object.freeze(list));

const DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a Go duration (`20s`, `1m30s`, `1h`) into milliseconds. */
export function durationMs(text: string): number | undefined {
  if (!DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) {
    total += Number(amount) * (UNIT_MS[unit ?? 's'] ?? 0);
  }
  return total;
}

/** A Go duration string, kept as written and parsed to milliseconds alongside. */
export const durationField = z.string().transform((text, ctx) => {
  const ms = durationMs(text);
  if (ms === undefined || ms <= 0) {
    ctx.addIssue({ code: 'custom', message: `invalid duration ${JSON.stringify(text)}: expected a positive Go duration such as 20s, 1m30s` });
    return z.NEVER;
  }
  return { text, ms };
});

export type Duration = z.output<typeof durationField>;

/** RFC 3339 timestamp as Kubernetes writes it. */
export const timestampField = z.iso.datetime({ offset: true });

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

/** metav1.Condition. */
export const conditionField = z.object({
  type: z.string().min(1),
  status: z.enum(['True', 'False', 'Unknown']),
  reason: z.string().default(''),
  message: z.string().default(''),
  lastTransitionTime: timestampField.optional(),
  observedGeneration: z.number().int().optional(),
});

export type Condition = z.output<typeof conditionField>;
