import { describe, expect, it } from '@jest/globals';
import { desiredQuotaStatus, quotaStatusCurrent } from '../../../src/core/quota-status.js';
import { mustParse, type ResourceList } from '../../../src/quantity/index.js';
import { aQuota, quota } from '../../builders/objects.js';

const T0 = '2026-11-23T12:00:00.000Z';
const T1 = '2026-11-23T12:05:00.000Z';

interface Row {
  name: string;
  hard: Record<string, string>;
  charged: ResourceList;
  expected: unknown;
}

describe('desiredQuotaStatus', () => {
  it.each<Row>([
    {
      name: 'within limits',
      hard: { cpu: '10', memory: '40Gi', placements: '20' },
      charged: { cpu: mustParse('9'), memory: mustParse('18.2Gi'), placements: mustParse('2'), storage: mustParse('1Gi') },
      expected: {
        hard: { cpu: '10', memory: '40Gi', placements: '20' },
        used: { cpu: '9', memory: '19542101196800m', placements: '2' },
        summary: { cpu: '9/10', memory: '18.2Gi/40Gi', placements: '2/20' },
        phase: 'Active',
        conditions: [{ type: 'QuotaExceeded', status: 'False', reason: 'WithinLimits', message: 'used is within hard', lastTransitionTime: T0 }],
      },
    },
    {
      name: 'over after the quota was lowered; unused resources count zero',
      hard: { cpu: '4', memory: '1Gi' },
      charged: { cpu: mustParse('6') },
      expected: {
        hard: { cpu: '4', memory: '1Gi' },
        used: { cpu: '6', memory: '0' },
        summary: { cpu: '6/4', memory: '0/1Gi' },
        phase: 'Exceeded',
        conditions: [{ type: 'QuotaExceeded', status: 'True', reason: 'UsageOverHard', message: 'used exceeds hard for cpu', lastTransitionTime: T0 }],
      },
    },
  ])('$name', ({ hard, charged, expected }) => {
    expect(desiredQuotaStatus(quota(aQuota('q', { hard })), charged, T0)).toEqual(expected);
  });

  it('keeps lastTransitionTime while the condition does not flip, and is then current', () => {
    const first = desiredQuotaStatus(quota(aQuota('q', { hard: { cpu: '4' } })), { cpu: mustParse('1') }, T0);
    const stored = quota({ ...aQuota('q', { hard: { cpu: '4' } }), status: first });
    const again = desiredQuotaStatus(stored, { cpu: mustParse('1') }, T1);
    expect(again.conditions[0]?.lastTransitionTime).toBe(T0);
    expect(quotaStatusCurrent(stored, again)).toBe(true);
    const flipped = desiredQuotaStatus(stored, { cpu: mustParse('5') }, T1);
    expect(flipped.conditions[0]).toMatchObject({ status: 'True', lastTransitionTime: T1 });
    expect(quotaStatusCurrent(stored, flipped)).toBe(false);
  });

  it('is not current when status is empty or hand-corrupted', () => {
    const desired = desiredQuotaStatus(quota(aQuota('q', { hard: { cpu: '4' } })), { cpu: mustParse('1') }, T0);
    expect(quotaStatusCurrent(quota(aQuota('q', { hard: { cpu: '4' } })), desired)).toBe(false);
    const corrupted = quota({ ...aQuota('q', { hard: { cpu: '4' } }), status: { ...desired, used: { cpu: '3' } } });
    expect(quotaStatusCurrent(corrupted, desired)).toBe(false);
  });
});
