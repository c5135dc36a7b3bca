/**
 * The CRDs' OpenAPI schemas (manifests/crds/) as fast-check generators and as a small validator,
 * for the subset of OpenAPI the CRDs use. The generator draws objects the API server stores; the
 * validator answers whether the API server would store a value. Both follow what kube-apiserver
 * 1.33 was measured to do (its date-time is the one of docs/decisions.md).
 */
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { parse } from 'yaml';
import { durationNs } from '../../src/api/fields.js';

export interface OpenApiSchema {
  type?: 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean';
  properties?: Record<string, OpenApiSchema>;
  required?: string[];
  additionalProperties?: OpenApiSchema;
  items?: OpenApiSchema;
  enum?: string[];
  pattern?: string;
  format?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  anyOf?: OpenApiSchema[];
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-list-type'?: 'map' | 'set' | 'atomic';
  'x-kubernetes-list-map-keys'?: string[];
  'x-kubernetes-validations'?: { rule: string }[];
}

/** The openAPIV3Schema of one CRD file. */
export function crdSchema(file: string): OpenApiSchema {
  const crd = parse(readFileSync(file, 'utf8')) as { spec: { versions: { schema: { openAPIV3Schema: OpenApiSchema } }[] } };
  const [version] = crd.spec.versions;
  if (!version) throw new Error(`${file}: no version`);
  return version.schema.openAPIV3Schema;
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Every form of date-time the API server stores: t/T, z/Z or an offset up to ±24:00, fractions after `.` or `,`. */
export const dateTimeArbitrary: fc.Arbitrary<string> = fc
  .record({
    ms: fc.integer({ min: Date.UTC(1970, 0, 1), max: Date.UTC(2100, 0, 1) }),
    t: fc.constantFrom('T', 't'),
    fraction: fc.option(fc.tuple(fc.constantFrom('.', ','), fc.stringMatching(/^[0-9]{1,12}$/)), { nil: undefined }),
    zone: fc.oneof(fc.constantFrom('Z', 'z'), fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 59 }))),
  })
  .map(({ ms, t, fraction, zone }) => {
    const d = new Date(ms);
    const date = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    const time = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())}${fraction ? fraction.join('') : ''}`;
    const offset = typeof zone === 'string' ? zone : `${zone[0]}${pad(zone[1])}:${pad(zone[2])}`;
    return `${date}${t}${time}${offset}`;
  });

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?$/;
const metadataArbitrary = fc.record(
  {
    name: fc.stringMatching(DNS_LABEL),
    namespace: fc.stringMatching(DNS_LABEL),
    labels: fc.dictionary(fc.stringMatching(/^[a-z]([a-z0-9]{0,6})$/), fc.stringMatching(/^[a-z0-9]{0,8}$/), { maxKeys: 3 }),
  },
  { requiredKeys: ['name'] },
);

// The CEL rules of the CRDs, as the predicates they state (what the API server evaluates).
const CEL_RULES: Readonly<Record<string, (value: unknown) => boolean>> = {
  'self.all(k, size(k) <= 316)': (value) => Object.keys(value as object).every((key) => [...key].length <= 316),
  // duration() fails (and the rule with it) beyond Go's int64 nanoseconds, as durationNs says.
  "!self.matches('^([0-9]+([.][0-9]+)?(ns|us|µs|ms|s|m|h))+$') || duration(self) > duration('0s')": (value) => (durationNs(String(value)) ?? 0n) > 0n,
  "self.operator in ['In', 'NotIn'] ? has(self.values) && size(self.values) > 0 : !has(self.values) || size(self.values) == 0": (value) => {
    const { operator, values } = value as { operator: string; values?: unknown[] };
    return ['In', 'NotIn'].includes(operator) ? (values?.length ?? 0) > 0 : (values?.length ?? 0) === 0;
  },
};

const celHolds = (schema: OpenApiSchema, value: unknown): boolean =>
  (schema['x-kubernetes-validations'] ?? []).every(({ rule }) => {
    const predicate = CEL_RULES[rule];
    if (!predicate) throw new Error(`no predicate for the CEL rule ${rule}: add it to CEL_RULES`);
    return predicate(value);
  });

function stringArbitrary(schema: OpenApiSchema): fc.Arbitrary<string> {
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.format === 'date-time') return dateTimeArbitrary;
  const base = schema.pattern ? fc.stringMatching(new RegExp(schema.pattern)) : fc.string({ maxLength: 12 });
  return base.filter((text) => text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Infinity));
}

function objectArbitrary(schema: OpenApiSchema, path: string): fc.Arbitrary<unknown> {
  if (schema['x-kubernetes-preserve-unknown-fields']) return fc.constant({});
  if (schema.additionalProperties) return fc.dictionary(fc.stringMatching(/^[a-z][a-z0-9.]{0,8}$/), arbitraryFor(schema.additionalProperties, `${path}.*`), { maxKeys: 3 });
  if (path === 'metadata') return metadataArbitrary;
  const shape = Object.fromEntries(Object.entries(schema.properties ?? {}).map(([key, child]) => [key, arbitraryFor(child, path ? `${path}.${key}` : key)]));
  // The API server gives every stored object its metadata (a name at least).
  const required = path === '' ? ['metadata', ...(schema.required ?? [])] : (schema.required ?? []);
  return fc.record(shape, { requiredKeys: required });
}

function arrayArbitrary(schema: OpenApiSchema, path: string): fc.Arbitrary<unknown[]> {
  const items = arbitraryFor(schema.items ?? {}, `${path}[]`);
  const keys = schema['x-kubernetes-list-map-keys'];
  if (keys) return fc.uniqueArray(items, { maxLength: 3, selector: (item) => JSON.stringify(keys.map((key) => (item as Record<string, unknown>)[key])) });
  if (schema['x-kubernetes-list-type'] === 'set') return fc.uniqueArray(items, { maxLength: 3, selector: (item) => JSON.stringify(item) });
  return fc.array(items, { maxLength: 3 });
}

/** Values the API server stores under this schema. `path` names the field (for metadata). */
export function arbitraryFor(schema: OpenApiSchema, path = ''): fc.Arbitrary<unknown> {
  const integer = fc.integer({ min: schema.minimum ?? -(2 ** 31), max: schema.maximum ?? 2 ** 31 - 1 });
  let arbitrary: fc.Arbitrary<unknown>;
  if (schema['x-kubernetes-int-or-string']) arbitrary = fc.oneof(integer, stringArbitrary(schema));
  else if (schema.type === 'object') arbitrary = objectArbitrary(schema, path);
  else if (schema.type === 'array') arbitrary = arrayArbitrary(schema, path);
  else if (schema.type === 'string') arbitrary = stringArbitrary(schema);
  else if (schema.type === 'integer') arbitrary = integer;
  else if (schema.type === 'boolean') arbitrary = fc.boolean();
  else arbitrary = fc.constant(undefined);
  return arbitrary.filter((value) => celHolds(schema, value));
}

/** Whether a string passes the schema's own rules (enum, pattern, lengths, date-time). */
export function stringAccepted(schema: OpenApiSchema, text: string, dateTimeOk: (text: string) => boolean): boolean {
  if (schema.enum && !schema.enum.includes(text)) return false;
  if (schema.pattern && !new RegExp(schema.pattern).test(text)) return false;
  if (schema.format === 'date-time' && !dateTimeOk(text)) return false;
  return text.length >= (schema.minLength ?? 0) && text.length <= (schema.maxLength ?? Infinity);
}
