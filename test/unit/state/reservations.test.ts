import { describe, expect, it } from '@jest/globals';
import type { Demand } from '../../../src/core/decide.js';
import { ReservationLedger, withReservations, type Reservation } from '../../../src/state/reservations.js';
import { formatList, mustParse } from '../../../src/quantity/index.js';
import { aPlacement, aSyncTarget, stateOf } from '../../builders/objects.js';

const demand = (key: string, cpu: string): Demand => ({
  key,
  minGeneration: 1,
  quotas: [{ key: 'team-a/compute', requested: { cpu: mustParse(cpu) } }],
  clusters: [{ cluster: 'east', requested: { cpu: mustParse(cpu) } }],
});

const reservation = (requestUid: string, key: string, cpu: string, overrides: Partial<Reservation> = {}): Reservation => ({
  requestUid,
  key,
  minGeneration: 1,
  demand: demand(key, cpu),
  expiresAtMs: 1_000,
  ...overrides,
});

const reservedCpu = (ledger: ReservationLedger) => formatList(ledger.quota('team-a/compute')).cpu ?? '0';

describe('ReservationLedger', () => {
  it.each([
    { name: 'sums reservations', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1')), l.reserve(reservation('r2', 'team-a/b', '2'))], cpu: '3', size: 2 },
    { name: 'a retried request replaces its own reservation', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1')), l.reserve(reservation('r1', 'team-a/a', '2'))], cpu: '2', size: 1 },
    { name: 'release frees it', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1')), l.release('r1')], cpu: '0', size: 0 },
    { name: 'settling at the reserved generation frees it', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1', { minGeneration: 3 })), l.settle('team-a/a', 3)], cpu: '0', size: 0 },
    { name: 'an older generation does not settle it', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1', { minGeneration: 3 })), l.settle('team-a/a', 2)], cpu: '1', size: 1 },
    { name: 'another object does not settle it', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1')), l.settle('team-a/b', 5)], cpu: '1', size: 1 },
    { name: 'a deletion (Infinity) settles every reservation of the object', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1')), l.reserve(reservation('r2', 'team-a/a', '1', { minGeneration: 9 })), l.settle('team-a/a', Infinity)], cpu: '0', size: 0 },
    { name: 'expiry drops what never appeared', steps: (l: ReservationLedger) => [l.reserve(reservation('r1', 'team-a/a', '1', { expiresAtMs: 500 })), l.reserve(reservation('r2', 'team-a/b', '2', { expiresAtMs: 1500 })), l.expire(1000)], cpu: '2', size: 1 },
  ])('$name', ({ steps, cpu, size }) => {
    const ledger = new ReservationLedger();
    steps(ledger);
    expect(reservedCpu(ledger)).toBe(cpu);
    expect(ledger.size).toBe(size);
  });

  it('adds reservations to the tracked state in the view decisions read', () => {
    const state = stateOf(aSyncTarget('east'), aPlacement('old', { requirements: { cpu: '2' }, clusters: ['east'] }));
    const ledger = new ReservationLedger();
    ledger.reserve(reservation('r1', 'team-a/new', '3'));
    const view = withReservations(state, ledger);
    expect(formatList(view.allocated('east')).cpu).toBe('5');
    expect(formatList(view.used('team-a/compute')).cpu).toBe('3');
    expect(view.clusterRecord('east')?.name).toBe('east');
  });
});
