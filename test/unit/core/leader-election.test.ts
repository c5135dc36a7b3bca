/** The rules of client-go's tryAcquireOrRenew, fencing and release, as a table. */
import { describe, expect, it } from '@jest/globals';
import {
  DEFAULT_LEADER_TIMINGS,
  mayAct,
  releaseRecord,
  timingsProblem,
  tryAcquireOrRenew,
  type ElectionInput,
  type ElectionStep,
  type LeaseRecord,
  type Observation,
} from '../../../src/core/leader-election.js';

const T0 = Date.parse('2026-11-23T12:00:00Z');
const timings = DEFAULT_LEADER_TIMINGS;

const held = (holderIdentity: string, overrides: Partial<LeaseRecord> = {}): LeaseRecord => ({
  holderIdentity,
  leaseDurationSeconds: 15,
  acquireTimeMs: T0 - 60_000,
  renewTimeMs: T0,
  leaseTransitions: 3,
  ...overrides,
});

interface Row {
  name: string;
  current: LeaseRecord | undefined;
  /** When this candidate first saw `current` (ms after T0); undefined: never looked before. */
  seenAt?: number;
  /** ms after T0. */
  now: number;
  expected: ElectionStep;
}

const seen = (record: LeaseRecord, at: number): Observation => ({ record, atMs: T0 + at });

const rows: Row[] = [
  {
    name: 'acquire free: no Lease yet, create it holding it, no transition',
    current: undefined,
    now: 0,
    expected: { action: 'create', record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: T0, renewTimeMs: T0, leaseTransitions: 0 } },
  },
  {
    name: 'acquire released: an empty holder is free at once, before its lease would end',
    current: held('', { leaseDurationSeconds: 1 }),
    seenAt: 0,
    now: 0,
    expected: {
      action: 'update',
      kind: 'acquire',
      record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: T0, renewTimeMs: T0, leaseTransitions: 4 },
      seen: seen(held('', { leaseDurationSeconds: 1 }), 0),
    },
  },
  {
    name: 'renew own: acquireTime and transitions kept, renewTime now',
    current: held('me'),
    seenAt: 0,
    now: 2_000,
    expected: {
      action: 'update',
      kind: 'renew',
      record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: T0 - 60_000, renewTimeMs: T0 + 2_000, leaseTransitions: 3 },
      seen: seen(held('me'), 0),
    },
  },
  {
    name: 'respect held: another holder, seen unchanged for less than its duration',
    current: held('other'),
    seenAt: 0,
    now: 14_999,
    expected: { action: 'none', holder: 'other', expiresAtMs: T0 + 15_000, seen: seen(held('other'), 0) },
  },
  {
    name: 'respect held: a record seen for the first time counts from now, whatever its renewTime says',
    current: held('other', { renewTimeMs: T0 - 3_600_000 }),
    now: 20_000,
    expected: { action: 'none', holder: 'other', expiresAtMs: T0 + 35_000, seen: seen(held('other', { renewTimeMs: T0 - 3_600_000 }), 20_000) },
  },
  {
    name: 'take over expired: unchanged for its whole duration, one more transition',
    current: held('other'),
    seenAt: 0,
    now: 15_000,
    expected: {
      action: 'update',
      kind: 'take-over',
      record: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTimeMs: T0 + 15_000, renewTimeMs: T0 + 15_000, leaseTransitions: 4 },
      seen: seen(held('other'), 0),
    },
  },
];

describe('tryAcquireOrRenew', () => {
  it.each(rows)('$name', ({ current, seenAt, now, expected }) => {
    const input: ElectionInput = {
      current,
      observed: current && seenAt !== undefined ? seen(current, seenAt) : undefined,
      identity: 'me',
      nowMs: T0 + now,
      timings,
    };
    expect(tryAcquireOrRenew(input)).toEqual(expected);
  });

  it('a renewed record restarts the wait: the holder is alive', () => {
    const before = seen(held('other'), 0);
    const renewed = held('other', { renewTimeMs: T0 + 10_000 });
    expect(tryAcquireOrRenew({ current: renewed, observed: before, identity: 'me', nowMs: T0 + 16_000, timings })).toEqual({
      action: 'none',
      holder: 'other',
      expiresAtMs: T0 + 31_000,
      seen: seen(renewed, 16_000),
    });
  });

  it('counts transitions across holders: each change of holder adds one', () => {
    let record: LeaseRecord | undefined;
    const holders = ['a', 'b', 'b', 'a'];
    holders.forEach((identity, i) => {
      const nowMs = T0 + i * 20_000;
      const step = tryAcquireOrRenew({ current: record, observed: record && { record, atMs: nowMs - 20_000 }, identity, nowMs, timings });
      if (step.action === 'none') throw new Error(`step ${i} wrote nothing`);
      record = step.record;
    });
    expect(record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 2 });
  });
});

describe('fencing', () => {
  it.each([
    [0, true],
    [9_999, true],
    [10_000, false],
    [14_999, false],
  ])('a leader %i ms after its last successful renew may act: %p', (after, expected) => {
    expect(mayAct(T0, T0 + after, timings)).toBe(expected);
  });

  it('lose on failed renew: the leader stops before any other candidate may take over', () => {
    const lastRenew = T0;
    const firstMomentOthersMayTake = T0 + timings.leaseDurationMs;
    const lastMomentLeaderActs = lastRenew + timings.renewDeadlineMs - 1;
    expect(mayAct(lastRenew, lastMomentLeaderActs, timings)).toBe(true);
    expect(mayAct(lastRenew, firstMomentOthersMayTake - 1, timings)).toBe(false);
    expect(tryAcquireOrRenew({ current: held('me'), observed: seen(held('me'), 0), identity: 'other', nowMs: firstMomentOthersMayTake - 1, timings }).action).toBe('none');
  });
});

describe('release', () => {
  it('writes no holder and a one-second lease, keeping the transitions', () => {
    expect(releaseRecord(held('me'), 'me', T0 + 5_000)).toEqual({ holderIdentity: '', leaseDurationSeconds: 1, acquireTimeMs: T0 + 5_000, renewTimeMs: T0 + 5_000, leaseTransitions: 3 });
  });

  it("never releases another holder's lease", () => {
    expect(releaseRecord(held('other'), 'me', T0)).toBeUndefined();
  });

  it('a released lease is taken by the next candidate at once', () => {
    const released = releaseRecord(held('me'), 'me', T0) as LeaseRecord;
    const step = tryAcquireOrRenew({ current: released, observed: undefined, identity: 'other', nowMs: T0 + 1, timings });
    expect(step).toMatchObject({ action: 'update', kind: 'acquire', record: { holderIdentity: 'other', leaseTransitions: 4 } });
  });
});

describe('timingsProblem', () => {
  it.each([
    [DEFAULT_LEADER_TIMINGS, undefined],
    [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, 'leaseDuration (in whole seconds) must be longer than renewDeadline'],
    [{ leaseDurationMs: 10_500, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 }, 'leaseDuration (in whole seconds) must be longer than renewDeadline'],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 400, retryPeriodMs: 2_000 }, 'renewDeadline must be longer than retryPeriod x 0.2'],
    [{ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }, 'retryPeriod must be positive'],
  ])('%p: %p', (given, expected) => {
    expect(timingsProblem(given)).toBe(expected);
  });
});
