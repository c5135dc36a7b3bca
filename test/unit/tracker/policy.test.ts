import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { backoffDelay, isGone, jitteredSeconds, planAfterWatch, type WatchEnd, type WatchPlan } from '../../../src/tracker/policy.js';
import { WatchHttpError } from '../../../src/tracker/watch-stream.js';

const backoff = { baseMs: 200, capMs: 30_000 };
const almostOne = 1 - Number.EPSILON;

describe('backoffDelay (capped exponential, full jitter)', () => {
  it.each([
    // attempt, random, expected ms
    [0, almostOne, 0],
    [1, almostOne, 199],
    [2, almostOne, 399],
    [3, almostOne, 799],
    [8, almostOne, 25_599],
    [9, almostOne, 29_999],
    [10, almostOne, 29_999],
    [1_000, almostOne, 29_999],
    [1, 0, 0],
    [9, 0, 0],
    [5, 0.5, 1_600],
  ])('attempt %i with random %f waits %i ms', (attempt, random, expected) => {
    expect(backoffDelay(attempt, backoff, () => random)).toBe(expected);
  });

  it('stays within [0, min(cap, base·2^(n-1))) for every draw', () => {
    const draws = [0, 0.1, 0.25, 0.5, 0.75, 0.9, almostOne];
    for (let attempt = 1; attempt <= 20; attempt++) {
      const ceiling = Math.min(backoff.capMs, backoff.baseMs * 2 ** (attempt - 1));
      const delays = draws.map((draw) => backoffDelay(attempt, backoff, () => draw));
      expect(delays.filter((ms) => ms < 0 || ms >= ceiling)).toEqual([]);
    }
  });
});

describe('jitteredSeconds', () => {
  it.each([
    [0, 300],
    [0.5, 450],
    [almostOne, 600],
  ])('random %f gives %i s in [300, 600]', (random, expected) => {
    expect(jitteredSeconds({ min: 300, max: 600 }, () => random)).toBe(expected);
  });
});

describe('planAfterWatch', () => {
  it.each<[string, Exclude<WatchEnd, { type: 'stopped' }>, WatchPlan]>([
    ['a clean close of an accepted watch (its timeout) resumes at once', { type: 'closed', established: true }, { relist: false, pause: 'none' }],
    ['a clean close before the server accepted the watch resumes after backoff', { type: 'closed', established: false }, { relist: false, pause: 'backoff' }],
    ['410 relists after one base delay, the failure count started over (the server answered)', { type: 'expired', message: 'too old resource version: 1 (220)' }, { relist: true, pause: 'base' }],
    ['a network error resumes after backoff', { type: 'failed', error: new Error('socket hang up'), established: true }, { relist: false, pause: 'backoff' }],
    ['a refused request resumes after backoff', { type: 'failed', error: new WatchHttpError(429, undefined), established: false }, { relist: false, pause: 'backoff' }],
    ['the watchdog resumes after backoff', { type: 'watchdog', established: true }, { relist: false, pause: 'backoff' }],
  ])('%s', (_name, end, plan) => {
    expect(planAfterWatch(end)).toEqual(plan);
  });
});

describe('isGone', () => {
  const status410 = { kind: 'Status', status: 'Failure', reason: 'Expired', code: 410, message: 'The provided continue parameter is too old' };
  it.each<[string, unknown, boolean]>([
    ['a watch answered with HTTP 410', new WatchHttpError(410, status410), true],
    ['a list whose continue token expired (ApiException)', new ApiException(410, 'Gone', JSON.stringify(status410), {}), true],
    ['a Status object with code 410', { status: status410 }, true],
    ['a Status object with reason Expired', { status: { reason: 'Expired' } }, true],
    ['HTTP 500', new WatchHttpError(500, undefined), false],
    ['HTTP 429', new ApiException(429, 'Too Many Requests', '', {}), false],
    ['a network error', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), false],
    ['nothing', undefined, false],
    ['a string', 'Gone', false],
  ])('%s: %s', (_name, error, expected) => {
    expect(isGone(error)).toBe(expected);
  });
});
