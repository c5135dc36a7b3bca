/**
 * Property form of test/unit/api/crd-agreement.test.ts: objects drawn from the CRDs' own OpenAPI
 * schemas (what the API server stores) must all pass the service's zod schemas, or the tracker
 * would drop their updates. And the reverse for what admission reads: a quantity or a timestamp zod
 * accepts must be one the CRD accepts, or `placement-quota check` would pass what kubectl refuses.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { describeIssues } from '../../../src/api/errors.js';
import { quantityField, timestampField, timestampMs } from '../../../src/api/fields.js';
import type { TrackedKind } from '../../../src/api/resources.js';
import { parseTrackedObject } from '../../../src/api/tracked-parse.js';
import { arbitraryFor, crdSchema, dateTimeArbitrary, stringAccepted, type OpenApiSchema } from '../../support/openapi.js';

const crds: readonly [TrackedKind, string][] = [
  ['WorkloadPlacement', 'manifests/crds/workloadplacements.yaml'],
  ['SyncTarget', 'manifests/crds/synctargets.yaml'],
  ['WorkspaceQuota', 'manifests/crds/workspacequotas.yaml'],
];

const SEED = 20261201;

describe('every object the CRD accepts, zod accepts', () => {
  it.each(crds)('%s', (kind, file) => {
    const objects = arbitraryFor(crdSchema(file)).map((object) => ({ ...(object as object), apiVersion: 'tmc.kcp.io/v1alpha1', kind }));
    fc.assert(
      fc.property(objects, (object) => {
        const parsed = parseTrackedObject(kind, object);
        if (!parsed.success) throw new Error(describeIssues(parsed.error));
      }),
      { seed: SEED, numRuns: 300 },
    );
  });
});

describe('what admission reads: zod accepts no value the CRD refuses', () => {
  const placement = crdSchema('manifests/crds/workloadplacements.yaml');
  const quantitySchema = placement.properties?.spec?.properties?.resourceRequirements?.additionalProperties as OpenApiSchema;
  const dateTimeSchema: OpenApiSchema = { type: 'string', format: 'date-time' };
  const apiServerDateTime = (text: string): boolean => !Number.isNaN(timestampMs(text));

  it('quantities', () => {
    const candidates = fc.stringMatching(/^[-+ ]?[0-9.]{0,4}([eE][-+]?[0-9]{0,2}|[KMGTPE]i?|[numk]|[A-Za-z ]{0,2})?$/);
    fc.assert(
      fc.property(candidates, (text) => {
        if (quantityField.safeParse(text).success) expect({ text, crd: stringAccepted(quantitySchema, text, apiServerDateTime) }).toEqual({ text, crd: true });
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });

  it('timestamps: zod and the CRD agree both ways', () => {
    const near = fc.oneof(dateTimeArbitrary, fc.stringMatching(/^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt ][0-9]{2}:[0-9]{2}(:[0-9]{2})?([.,][0-9]{0,3})?([Zz]|[+-][0-9]{2}:?[0-9]{2})?$/));
    fc.assert(
      fc.property(near, (text) => {
        expect({ text, zod: timestampField.safeParse(text).success }).toEqual({ text, zod: stringAccepted(dateTimeSchema, text, apiServerDateTime) });
      }),
      { seed: SEED, numRuns: 2000 },
    );
  });
});
