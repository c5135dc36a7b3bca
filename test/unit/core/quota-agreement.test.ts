import { describe, expect, it } from '@jest/globals';
import type { QuotaReservation } from '../../../src/api/resources.js';
import { admitInOrder, agreedUsage, isCounted, isOlderVersion, sameReservations, toWireReservation } from '../../../src/core/quota-agreement.js';
import { roundBasis } from '../../../src/core/quota-shares.js';
import { quotaLimits } from '../../../src/core/quotas.js';
import { formatList, mustParse } from '../../../src/quantity/index.js';
import { aQuota, NOW, quota } from '../../builders/objects.js';

const reservation = (request: string, overrides: Partial<QuotaReservation> = {}): QuotaReservation => ({
  request,
  placement: `team-a/${request}`,
  minGeneration: 1,
  charge: { cpu: mustParse('1') },
  expires: new Date(NOW + 1_000).toISOString(),
  ...overrides,
});

const withStatus = (status: Record<string, unknown>) => quota({ ...aQuota('compute', { hard: { cpu: '10' } }), status });
const wire = (r: QuotaReservation) => toWireReservation(r);

describe('isCounted', () => {
  it.each([
    { name: 'placement not tracked', version: undefined, reservation: reservation('p'), counted: false },
    { name: 'older generation than the change', version: { generation: 1 }, reservation: reservation('p', { minGeneration: 2 }), counted: false },
    { name: 'the generation of the change', version: { generation: 2 }, reservation: reservation('p', { minGeneration: 2 }), counted: true },
    { name: 'a later generation', version: { generation: 5 }, reservation: reservation('p', { minGeneration: 2 }), counted: true },
    { name: 'same name, other object (recreated)', version: { uid: 'old', generation: 1 }, reservation: reservation('p', { uid: 'new' }), counted: false },
    { name: 'same uid', version: { uid: 'u', generation: 1 }, reservation: reservation('p', { uid: 'u' }), counted: true },
    { name: 'reservation without uid', version: { uid: 'u', generation: 1 }, reservation: reservation('p'), counted: true },
  ])('$name → $counted', ({ version, reservation: r, counted }) => {
    expect(isCounted(r, version)).toBe(counted);
  });
});

describe('isOlderVersion', () => {
  it.each([
    ['9', '10', true],
    ['10', '9', false],
    ['10', '10', false],
    ['', '10', false],
    ['10', undefined, false],
    ['abc', '10', false],
    ['99999999999999999998', '99999999999999999999', true],
  ] as const)('%s older than %s → %s', (a, b, older) => {
    expect(isOlderVersion(a, b)).toBe(older);
  });
});

describe('agreed usage', () => {
  const live = reservation('live', { charge: { cpu: mustParse('2') } });
  const expired = reservation('expired', { charge: { cpu: mustParse('4') }, expires: new Date(NOW).toISOString() });
  const q = withStatus({ used: { cpu: '3' }, reservations: [wire(live), wire(expired)] });

  const basis = (nowMs: number) => roundBasis(q, { nowMs, replaced: new Set(), fallbackUsed: {} });

  it('counts live reservations only; expiry is exclusive of its instant', () => {
    expect(basis(NOW).kept.map((r) => r.request)).toEqual(['live']);
    expect(basis(NOW - 1).kept.map((r) => r.request)).toEqual(['live', 'expired']);
  });

  it('is status.used plus the given reservations, or the fallback before used is written', () => {
    expect(formatList(basis(NOW).used)).toEqual({ cpu: '5' });
    expect(formatList(agreedUsage(q, {}, [live]))).toEqual({ cpu: '5' });
    expect(formatList(agreedUsage(withStatus({}), { cpu: mustParse('7') }, []))).toEqual({ cpu: '7' });
  });

  it('sameReservations compares by request, order aside', () => {
    expect(sameReservations([live, expired], [expired, live])).toBe(true);
    expect(sameReservations([live], [expired])).toBe(false);
    expect(sameReservations([live], [])).toBe(false);
  });
});

describe('admitInOrder', () => {
  it('admits in arrival order until the quota is spent; a smaller later request may still fit', () => {
    const limits = quotaLimits(quota(aQuota('compute', { hard: { cpu: '10' } })));
    const verdicts = admitInOrder(limits, { cpu: mustParse('6') }, ['3', '2', '1', '1'].map((amount) => ({ cpu: mustParse(amount) })));
    expect(verdicts.map((violation) => violation === undefined)).toEqual([true, false, true, false]);
  });
});
