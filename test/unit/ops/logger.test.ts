import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { createLogger, isoTimestamp } from '../../../src/ops/logger.js';

const SEED = 20261201;
/** pino.stdTimeFunctions.isoTime's text at a given instant: what the cached one must write. */
const reference = (ms: number): string => `,"time":"${new Date(ms).toISOString()}"`;

/** The span of Date.now() a process can see, either side of 1970, with fractions a mock clock might give. */
const instant = fc.oneof(
  fc.integer({ min: -62_135_596_800_000, max: 253_402_300_799_999 }),
  fc.double({ min: -1e12, max: 4e12, noNaN: true }),
);

describe('isoTimestamp', () => {
  it('writes what pino.stdTimeFunctions.isoTime writes, for every sequence of instants', () => {
    // Sequences: each starts a fresh cache, then steps forward by less than, about and more than a
    // second, and back (a clock set back), so the kept second is both reused and replaced.
    const steps = fc.array(fc.oneof(fc.integer({ min: 0, max: 999 }), fc.integer({ min: -2000, max: 5000 }), fc.integer({ min: -1e9, max: 1e9 })), { maxLength: 30 });
    fc.assert(
      fc.property(instant, steps, (start, deltas) => {
        let now = start;
        const stamp = isoTimestamp(() => now);
        const seen = [stamp()];
        const expected = [reference(Math.trunc(start))];
        for (const delta of deltas) {
          now += delta;
          seen.push(stamp());
          expected.push(reference(Math.trunc(now)));
        }
        expect(seen).toEqual(expected);
      }),
      { seed: SEED, numRuns: 5000 },
    );
  });

  it.each([
    { at: '2026-12-01T17:00:00.000Z' },
    { at: '2026-12-01T17:00:00.007Z' },
    { at: '2026-12-01T17:00:00.070Z' },
    { at: '2026-12-01T17:00:00.999Z' },
    { at: '1969-12-31T23:59:59.999Z' },
    { at: '1970-01-01T00:00:00.000Z' },
  ])('pads the milliseconds of $at', ({ at }) => {
    expect(isoTimestamp(() => Date.parse(at))()).toBe(`,"time":"${at}"`);
  });

  it('is the time of every line createLogger writes', () => {
    const lines: string[] = [];
    const log = createLogger('info', { write: (line: string) => void lines.push(line) });
    const before = Date.now();
    log.info({ uid: 'u-1' }, 'denied');
    const after = Date.now();
    const line = JSON.parse(lines[0] ?? '') as { time: string };
    expect(line).toMatchObject({ service: 'placement-quota-webhook', msg: 'denied', uid: 'u-1' });
    expect(new Date(Date.parse(line.time)).toISOString()).toBe(line.time);
    expect(Date.parse(line.time)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(line.time)).toBeLessThanOrEqual(after);
  });
});
