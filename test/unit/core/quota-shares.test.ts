/**
 * Shares of a quota's headroom (docs/consistency.md, "Shares"): which share may be spent, the
 * owner's guarded patch, a compare-and-swap round's decision and rewrite, and settling in place.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { QuotaReservation } from '../../../src/api/resources.js';
import { toWireReservation } from '../../../src/core/quota-agreement.js';
import {
  admitsAtOnce,
  anyReservation,
  decideRound,
  fitInShare,
  grantOf,
  leftInShare,
  othersAvailable,
  recordShare,
  reservationCount,
  rewriteShares,
  roundBasis,
  settlePatch,
  usableShare,
  type ShareOwner,
} from '../../../src/core/quota-shares.js';
import { quotaLimits } from '../../../src/core/quotas.js';
import { formatList, mustParse, parseList, type ResourceList } from '../../../src/quantity/index.js';
import { aQuota, NOW, quota } from '../../builders/objects.js';

const LATER = new Date(NOW + 10_000).toISOString();
const EARLIER = new Date(NOW - 1).toISOString();
const HALF = mustParse('0.5');

const list = (amounts: Record<string, string>): ResourceList => {
  const parsed = parseList(amounts);
  if (!parsed.ok) throw new Error(parsed.reason);
  return parsed.list;
};

const reservation = (request: string, cpu = '1', expires = LATER, after?: string): QuotaReservation => ({
  request,
  placement: `team-a/${request}`,
  minGeneration: 1,
  charge: list({ cpu }),
  expires,
  ...(after === undefined ? {} : { after }),
});

/** Replica `a`, this process; every share below belongs to process i1 of its replica unless it says otherwise. */
const A: ShareOwner = { name: 'a', instance: 'i1' };
const owner = (name: string): ShareOwner => ({ name, instance: 'i1' });

interface ShareSpec {
  epoch?: string;
  generation?: number;
  available?: Record<string, string>;
  expires?: string;
  instance?: string;
  records?: number;
  recalled?: boolean;
  reservations?: QuotaReservation[];
}

const wireShare = ({ epoch = 'e1', generation = 1, available = { cpu: '4' }, expires = LATER, instance = 'i1', records = 0, recalled = false, reservations = [] }: ShareSpec) => ({
  epoch,
  generation,
  available,
  expires,
  instance,
  records,
  recalled,
  reservations: reservations.map(toWireReservation),
});

/** A quota (hard cpu 10, generation 1, resourceVersion 7) with the given status. */
const withShares = (shares: Record<string, ShareSpec>, status: Record<string, unknown> = {}, hard: Record<string, string> = { cpu: '10' }) => {
  const manifest = aQuota('compute', { hard });
  return quota({
    ...manifest,
    metadata: { ...(manifest.metadata as Record<string, unknown>), generation: 1, resourceVersion: '7' },
    status: { ...status, shares: Object.fromEntries(Object.entries(shares).map(([name, spec]) => [name, wireShare(spec)])) },
  });
};

describe('usableShare', () => {
  it.each([
    ['a share granted under this spec, not expired, listing every limited resource', { a: {} }, true],
    ['no share of its own', { b: {} }, false],
    ['expired (expiry is exclusive of its instant)', { a: { expires: new Date(NOW).toISOString() } }, false],
    ['granted under an older spec', { a: { generation: 0 } }, false],
    ['missing a resource hard limits', { a: { available: { memory: '1Gi' } } }, false],
    ["an earlier process's of the same replica (it may hold charges answered and not written)", { a: { instance: 'i0' } }, false],
    ['recalled', { a: { recalled: true } }, false],
  ])('%s: %s', (_what, shares: Record<string, ShareSpec>, usable) => {
    expect(usableShare(withShares(shares), A, NOW) !== undefined).toBe(usable);
  });

  it('is looked up as an own property: a replica named like an Object member has no share', () => {
    expect(usableShare(withShares({}), owner('constructor'), NOW)).toBeUndefined();
  });
});

describe('admitsAtOnce', () => {
  const TTL = 30_000;
  it.each([
    ['settled once, more than half its TTL to live', { usedAsOf: '5' }, NOW + 20_000, true],
    ['exactly half its TTL to live', { usedAsOf: '5' }, NOW + 15_000, true],
    ['less than half its TTL to live: it could be taken back too soon after the answer', { usedAsOf: '5' }, NOW + 14_999, false],
    ['never settled', {}, NOW + 20_000, false],
  ])('%s', (_what, status, expiresAtMs, atOnce) => {
    const q = withShares({ a: { expires: new Date(expiresAtMs).toISOString() } }, status);
    expect(admitsAtOnce(q, q.status.shares.a!, NOW, TTL)).toBe(atOnce);
  });
});

describe('fitInShare', () => {
  it('takes charges in order from what the unwritten ones leave, each one leaving less for the next', () => {
    const share = usableShare(withShares({ a: { available: { cpu: '4' } } }), A, NOW)!;
    const left = leftInShare(share, [list({ cpu: '1' })]);
    expect(fitInShare(left, [list({ cpu: '2' }), list({ cpu: '2' }), list({ cpu: '1' }), list({ memory: '1Gi' })])).toEqual([true, false, true, true]);
  });
});

describe('recordShare', () => {
  const q = withShares({ 'web/0': { available: { cpu: '5' }, records: 3 } }, { usedAsOf: '9' });
  const share = q.status.shares['web/0']!;
  const base = '/status/shares/web~10';
  const recorded = (what: Partial<Parameters<typeof recordShare>[3]>) =>
    recordShare(q, 'web/0', share, { answered: [], counted: [], holds: [], expires: LATER, giveBack: false, ...what });

  it('writes the answered charges stamped with usedAsOf, tests the share it decided from, counts the record and renews it', () => {
    expect(recorded({ answered: [reservation('r1', '2')], counted: [reservation('r0')] })).toEqual([
      { op: 'test', path: `${base}/epoch`, value: 'e1' },
      { op: 'test', path: `${base}/available`, value: { cpu: '5' } },
      { op: 'test', path: `${base}/records`, value: 3 },
      // r0 is spent but not listed: the settlement in the same patch counts it in used.
      { op: 'replace', path: `${base}/available`, value: { cpu: '2' } },
      { op: 'replace', path: `${base}/records`, value: 4 },
      { op: 'replace', path: `${base}/expires`, value: LATER },
      { op: 'add', path: `${base}/reservations/-`, value: toWireReservation(reservation('r1', '2', LATER, '9')) },
    ]);
  });

  it('tests the generation when it decides holds from the share, and gives the rest back when asked', () => {
    const ops = recorded({ holds: [reservation('h1')], giveBack: true });
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/generation', value: 1 });
    expect(ops).toContainEqual({ op: 'replace', path: `${base}/available`, value: { cpu: '0' } });
    expect(ops.at(-1)).toEqual({ op: 'add', path: `${base}/reservations/-`, value: toWireReservation(reservation('h1')) });
  });
});

describe('grantOf', () => {
  it.each([
    ['half of what is left', { cpu: '10' }, { cpu: '4' }, { cpu: '3' }],
    ['in whole units when that leaves any', { cpu: '10', memory: '21Gi' }, { cpu: '5700m', memory: '0' }, { cpu: '2', memory: '10752Mi' }],
    ['exact below a unit', { cpu: '10' }, { cpu: '9' }, { cpu: '500m' }],
    ['zero where nothing is left, and for a resource over its limit', { cpu: '10', memory: '1Gi' }, { cpu: '10', memory: '2Gi' }, { cpu: '0', memory: '0' }],
    ['only what hard limits', { cpu: '2' }, { cpu: '0', memory: '1Gi' }, { cpu: '1' }],
  ])('%s', (_what, hard, spent, grant) => {
    expect(formatList(grantOf(list(hard), list(spent), HALF))).toEqual(grant);
  });
});

describe('decideRound', () => {
  const limits = quotaLimits(withShares({}));
  const charges = (...cpus: string[]) => cpus.map((cpu) => list({ cpu }));
  const decide = (used: string, certain: string, claimed: string, cpus: string[], { shares = true } = {}) =>
    decideRound({ limits, used: list({ cpu: used }), certain: list({ cpu: certain }), claimed: list({ cpu: claimed }), charges: charges(...cpus), fraction: shares ? HALF : undefined });
  const verdictOf = (verdict: unknown) => (verdict === undefined ? 'admit' : verdict === 'wait' ? 'wait' : 'refuse');

  it.each([
    ['fits beside the claims: admitted, and half of what is left claimed', '2', '2', '4', ['1', '1'], ['admit', 'admit'], false, { cpu: '1' }],
    ['would only fit without the claims: it waits, they are recalled, no grant', '2', '2', '4', ['5'], ['wait'], true, undefined],
    ['does not fit even so: refused, finally', '8', '8', '1', ['3'], ['refuse'], false, undefined],
    ['would only fit without the reservations in doubt: it waits, nothing to recall', '9', '7', '0', ['2'], ['wait'], false, undefined],
    ['what the round admits counts for the refusals after it', '5', '5', '2', ['3', '4'], ['admit', 'refuse'], false, undefined],
    ['nothing admitted: no grant', '10', '10', '0', ['1'], ['refuse'], false, undefined],
  ])('%s', (_what, used, certain, claimed, cpus, verdicts, recallOthers, grant) => {
    const decision = decide(used, certain, claimed, cpus);
    expect(decision.verdicts.map(verdictOf)).toEqual(verdicts);
    expect(decision.recallOthers).toBe(recallOthers);
    expect(decision.grant && formatList(decision.grant)).toEqual(grant);
  });

  it('claims nothing without a fraction (shares off)', () => {
    expect(decide('0', '0', '0', ['1'], { shares: false }).grant).toBeUndefined();
  });

  it('admits only on the upper bound with every claim counted, refuses only on the lower bound, never beyond hard (property)', () => {
    const amount = fc.integer({ min: 0, max: 12 });
    fc.assert(
      fc.property(amount, amount, amount, fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 6 }), (certain, doubt, claimed, cpus) => {
        const used = certain + doubt;
        const decision = decide(String(used), String(certain), String(claimed), cpus.map(String));
        let upper = used + claimed;
        cpus.forEach((cpu, i) => {
          if (upper + cpu <= 10 || cpu === 0) {
            expect(decision.verdicts[i]).toBeUndefined();
            upper += cpu;
          } else expect(decision.verdicts[i]).toBeDefined();
        });
        const admitted = upper - used - claimed;
        cpus.forEach((cpu, i) => {
          if (decision.verdicts[i] === undefined) return;
          expect(verdictOf(decision.verdicts[i])).toBe(certain + admitted + cpu > 10 ? 'refuse' : 'wait');
        });
        const granted = decision.grant ? Number(formatList(decision.grant).cpu?.replace('m', 'e-3') ?? 0) : 0;
        expect(upper + granted).toBeLessThanOrEqual(Math.max(10, used + claimed));
        if (decision.verdicts.includes('wait')) expect(decision.grant).toBeUndefined();
      }),
    );
  });
});

describe('roundBasis', () => {
  it('counts every reservation and the answered charges on the upper bound, and leaves those in doubt out of the lower one', () => {
    const q = withShares({ b: { reservations: [reservation('s0', '1', LATER, '5'), reservation('s1', '2')] } }, { used: { cpu: '3' }, usedAsOf: '5', reservations: [toWireReservation(reservation('t0'))] });
    const basis = roundBasis(q, { nowMs: NOW, replaced: new Set(), fallbackUsed: {}, answered: [reservation('mine', '4')] });
    expect(formatList(basis.used)).toEqual({ cpu: '11' });
    expect(formatList(basis.certain)).toEqual({ cpu: '6' });
  });

  it('settling in the same write, what stays is certain, and an answered charge the settlement counts is not written', () => {
    const q = withShares({ b: { reservations: [reservation('s0', '1', LATER, '5')] } }, { used: { cpu: '3' }, usedAsOf: '5' });
    const settling = { used: list({ cpu: '4' }), counts: (r: QuotaReservation) => r.request === 'mine' };
    const basis = roundBasis(q, { nowMs: NOW, replaced: new Set(), fallbackUsed: {}, settling, answered: [reservation('mine', '4')] });
    expect({ used: formatList(basis.used), certain: formatList(basis.certain), answered: basis.answered }).toEqual({ used: { cpu: '5' }, certain: { cpu: '5' }, answered: [] });
  });
});

describe('rewriteShares', () => {
  const keepsAll = () => true;
  const base = { keeps: keepsAll, recallOthers: false, nowMs: NOW };

  it('leaves live shares alone when nothing changes', () => {
    expect(rewriteShares(withShares({ a: {}, b: {} }), base)).toEqual({});
  });

  it('drops settled reservations from a share, touching nothing else of it', () => {
    const quotaWith = withShares({ b: { reservations: [reservation('r1'), reservation('r2')] } });
    expect(rewriteShares(quotaWith, { ...base, keeps: (r) => r.request !== 'r1' })).toEqual({ b: { reservations: [toWireReservation(reservation('r2'))] } });
  });

  it('settling, clears the doubt of the reservations it keeps', () => {
    const quotaWith = withShares({ b: { reservations: [reservation('r1', '1', LATER, '5')] } });
    expect(rewriteShares(quotaWith, { ...base, settles: true })).toEqual({ b: { reservations: [toWireReservation(reservation('r1'))] } });
  });

  it("recalls the other live shares' headroom without taking it, and removes those that hold nothing", () => {
    const quotaWith = withShares({ b: { reservations: [reservation('r1')] }, c: { available: { cpu: '0' } }, d: { recalled: true } });
    expect(rewriteShares(quotaWith, { ...base, owner: A, recallOthers: true })).toEqual({ b: { recalled: true }, c: null });
  });

  it('takes back an expired share under a new epoch, keeping what it holds', () => {
    const quotaWith = withShares({ b: { expires: EARLIER, records: 2, reservations: [reservation('r1')] }, c: { expires: EARLIER } });
    expect(rewriteShares(quotaWith, base)).toEqual({
      b: { epoch: 'rv-7', generation: 1, available: { cpu: '0' }, expires: EARLIER, instance: 'i1', records: 2, recalled: false, reservations: [toWireReservation(reservation('r1'))] },
      c: null,
    });
  });

  it("replaces the owner's share with its grant, keeping what it still holds", () => {
    const quotaWith = withShares({ a: { reservations: [reservation('r1')], records: 3 } });
    const grant = { available: list({ cpu: '2' }), expires: LATER };
    const granted = { epoch: 'rv-7', generation: 1, available: { cpu: '2' }, expires: LATER, instance: 'i1', recalled: false };
    expect(rewriteShares(quotaWith, { ...base, owner: A, grant })).toEqual({ a: { ...granted, records: 3, reservations: [toWireReservation(reservation('r1'))] } });
    expect(rewriteShares(withShares({}), { ...base, owner: A, grant })).toEqual({ a: { ...granted, records: 0, reservations: [] } });
  });

  it("writes no grant over a live share with headroom of an earlier process of the replica, and takes over an emptied one", () => {
    const grant = { available: list({ cpu: '2' }), expires: LATER };
    expect(rewriteShares(withShares({ a: { instance: 'i0' } }), { ...base, owner: A, grant })).toEqual({});
    expect(rewriteShares(withShares({ a: { instance: 'i0', available: { cpu: '0' } } }), { ...base, owner: A, grant })).toMatchObject({ a: { instance: 'i1', available: { cpu: '2' } } });
  });

  it("dissolves the owner's share without a grant: the round counted its headroom as free", () => {
    expect(rewriteShares(withShares({ a: {} }), { ...base, owner: A })).toEqual({ a: null });
  });

  it('keeps every reservation that still counts, and takes no headroom from a live share of another (property)', () => {
    const spec = fc.record({
      available: fc.integer({ min: 0, max: 5 }),
      expired: fc.boolean(),
      reservations: fc.array(fc.boolean(), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), spec), fc.boolean(), fc.boolean(), (specs, granted, recallOthers) => {
        const shares = Object.fromEntries(
          Object.entries(specs).map(([name, { available, expired, reservations }]) => [
            name,
            { available: { cpu: String(available) }, expires: expired ? EARLIER : LATER, reservations: reservations.map((_, i) => reservation(`${name}-${i}-${reservations[i] ? 'keep' : 'drop'}`)) },
          ]),
        );
        const q = withShares(shares);
        const grant = granted ? { available: list({ cpu: '1' }), expires: LATER } : undefined;
        const patch = rewriteShares(q, { owner: A, keeps: (r) => r.request.endsWith('keep'), recallOthers, grant, nowMs: NOW });
        for (const [name, share] of Object.entries(q.status.shares)) {
          const entry = Object.hasOwn(patch, name) ? (patch[name] ?? null) : 'unchanged';
          const kept = share.reservations.filter((r) => r.request.endsWith('keep')).map((r) => r.request);
          const listed = entry === 'unchanged' || (entry !== null && entry.reservations === undefined) ? share.reservations : (entry?.reservations ?? []);
          expect(listed.map((r) => r.request)).toEqual(kept);
          // A live share of another keeps its headroom: recalled at most.
          const live = name !== 'a' && share.expires === LATER && formatList(share.available).cpu !== '0';
          if (live) expect(entry === 'unchanged' || (entry !== null && !('available' in entry))).toBe(true);
        }
      }),
    );
  });
});

describe('anyReservation and reservationCount', () => {
  const q = withShares({ a: { reservations: [reservation('s1')] }, b: { reservations: [reservation('s2'), reservation('s3', '1', LATER, '5')] } }, { reservations: [toWireReservation(reservation('t1'))] });
  it.each([
    ['in the shared list', 't1', true],
    ['in a share', 's3', true],
    ['nowhere', 'x', false],
  ])('finds a request %s', (_where, request, found) => {
    expect(anyReservation(q, (r) => r.request === request)).toBe(found);
  });
  it('counts the shared list and every share', () => {
    expect(reservationCount(q)).toBe(4);
    expect(reservationCount(withShares({}))).toBe(0);
  });
});

describe('othersAvailable', () => {
  it("sums the other live shares' headroom, not this process's own nor an expired one's", () => {
    const q = withShares({ a: { available: { cpu: '1' } }, b: { available: { cpu: '2' } }, c: { available: { cpu: '4' } }, d: { available: { cpu: '8' }, expires: EARLIER } });
    expect(formatList(othersAvailable(q, A, NOW))).toEqual({ cpu: '6' });
  });

  it("counts the share an earlier process of the same replica left", () => {
    const q = withShares({ a: { available: { cpu: '1' }, instance: 'i0' } });
    expect(formatList(othersAvailable(q, A, NOW))).toEqual({ cpu: '1' });
  });
});

describe('settlePatch', () => {
  const settling = (counted: string[], changed = true) => ({
    status: { used: { cpu: '3' }, usedAsOf: '6' },
    counts: (r: QuotaReservation) => counted.includes(r.request),
    changed,
  });
  const settled = (shares: Record<string, ShareSpec>, reservations: QuotaReservation[] = []) =>
    withShares(shares, { used: { cpu: '1' }, usedAsOf: '5', rounds: 2, reservations: reservations.map(toWireReservation) });

  it('tests every share\'s records, sets the fields, then removes each counted or expired reservation and the doubt of each kept one, by index, last first, testing its request', () => {
    const q = settled({ 'web/0': { records: 4, reservations: [reservation('s0'), reservation('s1', '1', LATER, '5'), reservation('s2', '1', EARLIER)] } }, [reservation('t0'), reservation('t1')]);
    expect(settlePatch(q, settling(['t1', 's0']), NOW)).toEqual([
      { op: 'test', path: '/status/usedAsOf', value: '5' },
      { op: 'test', path: '/status/rounds', value: 2 },
      { op: 'test', path: '/status/shares/web~10/records', value: 4 },
      { op: 'add', path: '/status/used', value: { cpu: '3' } },
      { op: 'add', path: '/status/usedAsOf', value: '6' },
      { op: 'test', path: '/status/reservations/1/request', value: 't1' },
      { op: 'remove', path: '/status/reservations/1' },
      { op: 'test', path: '/status/shares/web~10/reservations/2/request', value: 's2' },
      { op: 'remove', path: '/status/shares/web~10/reservations/2' },
      { op: 'test', path: '/status/shares/web~10/reservations/1/request', value: 's1' },
      { op: 'remove', path: '/status/shares/web~10/reservations/1/after' },
      { op: 'test', path: '/status/shares/web~10/reservations/0/request', value: 's0' },
      { op: 'remove', path: '/status/shares/web~10/reservations/0' },
    ]);
  });

  it.each([
    ['nothing to write', settled({ a: {} }, [reservation('t0')]), settling([], false)],
    ['never settled before: compare-and-swap writes the first', withShares({}), settling([])],
    ['a share has expired: taking it back needs compare-and-swap', settled({ a: { expires: EARLIER } }), settling([])],
    ['no round has written the quota yet (nothing to test that none came in between)', withShares({}, { used: { cpu: '1' }, usedAsOf: '5' }), settling([])],
  ])('is undefined when %s', (_what, q, settlement) => {
    expect(settlePatch(q, settlement, NOW)).toBeUndefined();
  });
});
