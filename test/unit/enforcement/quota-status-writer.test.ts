/**
 * The status writer settles reservations in the same compare-and-swap write as `used`: a placement is
 * counted once, in `used` when the writer's tracker holds it, as a reservation when not.
 */
import { describe, expect, it } from '@jest/globals';
import { QuotaStore } from '../../../src/consistency/quota-store.js';
import { createQuotaStatusWriter, createSettlement } from '../../../src/enforcement/quota-status-writer.js';
import { mustParse } from '../../../src/quantity/index.js';
import { FakeQuotaApi } from '../../builders/fake-quota-api.js';
import { aPlacement, aQuota, NOW, quota, stateOf } from '../../builders/objects.js';
import { until } from '../../support/until.js';

const silent = { debug: () => undefined, warn: () => undefined };
const later = new Date(NOW + 30_000).toISOString();
const reservationOf = (name: string, cpu: string) => ({ request: `req-${name}`, placement: `team-a/${name}`, uid: `uid-${name}`, minGeneration: 1, charge: { cpu, placements: '1' }, expires: later });

function setUp(status: Record<string, unknown>, placementsVersion: string, reserving?: (key: string) => boolean) {
  const manifest = { ...aQuota('compute', { hard: { cpu: '10', placements: '5' } }), status };
  const api = new FakeQuotaApi(manifest);
  // The writer's tracker holds p1 (and its copy of the quota, with both reservations).
  const state = stateOf(aPlacement('p1', { requirements: { cpu: '2' }, clusters: ['a'] }));
  state.upsertQuota(quota(structuredClone(api.object)));
  const store = new QuotaStore({ api, tracked: (key) => state.quotaObject(key) });
  const writer = createQuotaStatusWriter({ state, store, ready: () => true, placementsVersion: () => placementsVersion, clock: () => NOW, log: silent, debounceMs: 1, reserving });
  return { api, writer, state };
}

describe('quota status writer', () => {
  it('drops a reservation once it has expired, with no other change to prompt it', async () => {
    const started = Date.now();
    const soon = new Date(NOW + 300).toISOString();
    const manifest = { ...aQuota('compute', { hard: { cpu: '10' } }), status: { used: { cpu: '0' }, reservations: [{ ...reservationOf('p9', '1'), expires: soon }], usedAsOf: '50' } };
    const api = new FakeQuotaApi(manifest);
    const state = stateOf();
    state.upsertQuota(quota(structuredClone(api.object)));
    const store = new QuotaStore({ api, tracked: (key) => state.quotaObject(key) });
    const clock = () => NOW + (Date.now() - started);
    const writer = createQuotaStatusWriter({ state, store, ready: () => true, placementsVersion: () => '60', clock, log: silent, debounceMs: 1 });
    writer.touchAll();
    await writer.flush();
    // Still live at that write: kept.
    expect(api.reservations().map((r) => r.request)).toEqual(['req-p9']);
    await until(() => api.reservations().length === 0, 'the expired reservation dropped', { timeoutMs: 3_000 });
    expect(clock()).toBeGreaterThanOrEqual(NOW + 300);
    writer.stop();
  });

  const status = { used: { cpu: '0', placements: '0' }, reservations: [reservationOf('p1', '2'), reservationOf('p2', '3')], usedAsOf: '50' };

  it('moves what its tracker counts from reservations into used, in one write', async () => {
    const { api, writer } = setUp(status, '60');
    writer.touchAll();
    await writer.flush();
    expect(api.patches).toBe(1);
    expect(api.object.status).toMatchObject({ used: { cpu: '2', placements: '1' }, usedAsOf: '60', summary: { cpu: '2/10', placements: '1/5' } });
    expect(api.reservations().map((r) => r.request)).toEqual(['req-p2']);
  });

  it('writes nothing when status already says it', async () => {
    const { api, writer } = setUp({ ...status, used: { cpu: '2', placements: '1' }, reservations: [reservationOf('p2', '3')] }, '60');
    writer.touchAll();
    await writer.flush();
    expect(api.patches).toBe(1); // hard, summary and the condition were not written yet
    writer.touchAll();
    await writer.flush();
    expect(api.patches).toBe(1);
  });

  it('clears the doubt of a reservation written after its answer: it saw it, and its view does not count it', async () => {
    const { api, writer } = setUp({ ...status, used: { cpu: '2', placements: '1' }, reservations: [{ ...reservationOf('p2', '3'), after: '50' }] }, '60');
    writer.touchAll();
    await writer.flush();
    expect(api.reservations()).toEqual([reservationOf('p2', '3')]);
  });

  it('leaves used alone when its view is older than the one used was written from', async () => {
    const { api, writer } = setUp(status, '40');
    writer.touchAll();
    await writer.flush();
    expect(api.patches).toBe(0);
    expect(api.reservations()).toHaveLength(2);
  });

  it("waits while this replica's reserver writes the quota (those writes settle), then writes", async () => {
    let reserving = true;
    const { api, writer } = setUp(status, '60', () => reserving);
    writer.touchAll();
    await writer.flush();
    expect(api.patches).toBe(0);
    reserving = false;
    await until(() => api.patches === 1, 'the deferred settle write');
    expect(api.reservations().map((r) => r.request)).toEqual(['req-p2']);
  });
});

describe('createSettlement (what the writer and the Lease holder\'s reserver settle to)', () => {
  const status = { used: { cpu: '0', placements: '0' }, reservations: [reservationOf('p1', '2'), reservationOf('p2', '3')], usedAsOf: '50' };

  it('gives the usage of its tracker, the reservations that usage counts, and whether status differs', () => {
    const { api, state } = setUp(status, '60');
    const settle = createSettlement({ state, ready: () => true, placementsVersion: () => '60' });
    const settlement = settle('team-a/compute', quota(api.object), NOW);
    expect(settlement?.used).toMatchObject({ cpu: mustParse('2'), placements: mustParse('1') });
    expect(settlement?.status).toMatchObject({ used: { cpu: '2', placements: '1' }, usedAsOf: '60' });
    expect(quota(api.object).status.reservations.map((r) => settlement?.counts(r))).toEqual([true, false]);
    expect(settlement?.changed).toBe(true);
  });

  it('gives nothing when this replica may not settle or its view is older than used', () => {
    const { api, state } = setUp(status, '60');
    expect(createSettlement({ state, ready: () => false, placementsVersion: () => '60' })('team-a/compute', quota(api.object), NOW)).toBeUndefined();
    expect(createSettlement({ state, ready: () => true, placementsVersion: () => '40' })('team-a/compute', quota(api.object), NOW)).toBeUndefined();
  });
});
