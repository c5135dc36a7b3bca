import { describe, expect, it } from '@jest/globals';
import type { Condition } from '../../../src/api/fields.js';
import { withCondition, withConditions } from '../../../src/core/placement-conditions.js';

const T0 = '2026-11-23T12:00:00.000Z';
const T1 = '2026-11-23T12:05:00.000Z';
const quotaExceeded = (status: 'True' | 'False', at = T0): Condition => ({ type: 'QuotaExceeded', status, reason: status === 'True' ? 'QuotaExceeded' : 'WithinLimits', message: 'm', lastTransitionTime: at, observedGeneration: 2 });

describe('withCondition', () => {
  it('adds a condition that is missing, stamped now and with the generation', () => {
    expect(withCondition([], { type: 'QuotaExceeded', status: 'True', reason: 'QuotaExceeded', message: 'm' }, T1, 2)).toEqual([quotaExceeded('True', T1)]);
  });

  it('writes nothing when the stored condition already says it', () => {
    expect(withCondition([quotaExceeded('True')], { type: 'QuotaExceeded', status: 'True', reason: 'QuotaExceeded', message: 'm' }, T1, 2)).toBeUndefined();
  });

  it.each([
    ['a new message keeps the transition time', { status: 'True', reason: 'QuotaExceeded', message: 'other' }, 2, T0],
    ['a new generation keeps the transition time', { status: 'True', reason: 'QuotaExceeded', message: 'm' }, 3, T0],
    ['a status change moves it', { status: 'False', reason: 'WithinLimits', message: 'm' }, 2, T1],
  ] as const)('%s', (_, wanted, generation, at) => {
    const [next] = withCondition([quotaExceeded('True')], { type: 'QuotaExceeded', ...wanted }, T1, generation) ?? [];
    expect(next).toMatchObject({ ...wanted, lastTransitionTime: at, observedGeneration: generation });
  });

  it('keeps the other conditions and their order', () => {
    const ready: Condition = { type: 'Ready', status: 'True', reason: 'Placed', message: '', lastTransitionTime: T0 };
    expect(withConditions([ready, quotaExceeded('True')], [{ type: 'QuotaExceeded', status: 'False', reason: 'WithinLimits', message: 'm' }], T1, 2)).toEqual([ready, quotaExceeded('False', T1)]);
  });

  it('clips a long message so a condition stays readable', () => {
    const [next] = withCondition([], { type: 'Evicted', status: 'True', reason: 'QuotaExceeded', message: 'x'.repeat(5000) }, T1, 1) ?? [];
    expect(next?.message).toHaveLength(1024);
  });
});
