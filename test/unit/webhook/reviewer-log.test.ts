/**
 * The reviewer's log lines (SPEC §8): one per decision at debug, denials at info, with the request's
 * identity; the debug line is not built when the logger says debug is off.
 */
import { describe, expect, it } from '@jest/globals';
import { admissionReviewSchema } from '../../../src/api/admission-review.js';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { ReservationLedger } from '../../../src/state/reservations.js';
import { createReviewer, type DecisionLog } from '../../../src/webhook/reviewer.js';
import { anAdmissionReview, aPlacement, aQuota, aSyncTarget, NOW, stateOf } from '../../builders/objects.js';

type Line = { level: 'debug' | 'info'; fields: object; message: string };

function recording(debugOn: boolean | undefined): { log: DecisionLog; lines: Line[] } {
  const lines: Line[] = [];
  const log: DecisionLog = {
    debug: (fields, message) => void lines.push({ level: 'debug', fields, message }),
    info: (fields, message) => void lines.push({ level: 'info', fields, message }),
    ...(debugOn === undefined ? {} : { isLevelEnabled: () => debugOn }),
  };
  return { log, lines };
}

function reviewWith(log: DecisionLog) {
  const state = stateOf(aSyncTarget('us-east-1'), aQuota('compute', { hard: { cpu: '4' } }));
  return createReviewer({ state, ledger: new ReservationLedger(), readiness: () => ({ ready: true }), config: decisionConfigSchema.parse({}), reservationTtlMs: 30_000, clock: () => NOW, log });
}

const request = (uid: string, cpu: string) => admissionReviewSchema.parse(anAdmissionReview({ uid, dryRun: true, object: aPlacement('web', { requirements: { cpu }, clusters: ['us-east-1'] }) })).request;

const ADMITTED = { uid: 'fits', operation: 'CREATE', namespace: 'team-a', name: 'web', dryRun: true, allowed: true, warnings: [] };
const DENIED = { uid: 'over', operation: 'CREATE', namespace: 'team-a', name: 'web', dryRun: true, allowed: false, code: 403, reason: 'exceeded quota team-a/compute: cpu requested 5, used 0, hard 4' };

describe('the reviewer logs each decision', () => {
  it.each([
    { debug: 'on', debugOn: true, admitted: [{ level: 'debug', fields: ADMITTED, message: 'admitted' }] },
    { debug: 'not said (a logger without isLevelEnabled)', debugOn: undefined, admitted: [{ level: 'debug', fields: ADMITTED, message: 'admitted' }] },
    { debug: 'off', debugOn: false, admitted: [] },
  ])('debug $debug: admissions as told, denials at info either way', ({ debugOn, admitted }) => {
    const { log, lines } = recording(debugOn);
    const review = reviewWith(log);
    expect(review(request('fits', '1'))).toEqual({ uid: 'fits', allowed: true });
    expect(lines).toEqual(admitted);
    lines.length = 0;
    expect(review(request('over', '5'))).toMatchObject({ uid: 'over', allowed: false });
    expect(lines).toEqual([{ level: 'info', fields: DENIED, message: 'denied' }]);
  });
});
