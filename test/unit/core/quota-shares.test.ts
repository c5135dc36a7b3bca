/**
 * Shares of a quota's headroom (docs/consistency.md, "Shares"): which share may be spent, the
 * owner's guarded patch, a compare-and-swap round's decision and rewrite, and settling in place.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import type { QuotaReservation } from '../../../src/api/resources.js';
import { toWireReservation } from '../../../src/core/quota-agreement.js';
import {
  decideRound,
  fitInShare,
  grantOf,
  othersAvailable,
  rewriteShares,
  settlePatch,
  spendShare,
  usableShare,
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

const reservation = (request: string, cpu = '1', expires = LATER): QuotaReservation => ({
  request,
  placement: `team-a/${request}`,
  minGeneration: 1,
  charge: list({ cpu }),
  expires,
});

interface ShareSpec {
  epoch?: string;
  generation?: number;
  available?: Record<string, string>;
  expires?: string;
  reservations?: QuotaReservation[];
}

const wireShare = ({ epoch = 'e1', generation = 1, available = { cpu: '4' }, expires = LATER, reservations = [] }: ShareSpec) => ({
  epoch,
  generation,
  available,
  expires,
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
  ])('%s: %s', (_what, shares: Record<string, ShareSpec>, usable) => {
    expect(usableShare(withShares(shares), 'a', NOW) !== undefined).toBe(usable);
  });

  it('is looked up as an own property: a replica named like an Object member has no share', () => {
    expect(usableShare(withShares({}), 'constructor', NOW)).toBeUndefined();
  });
});

describe('fitInShare', () => {
  it('takes charges in order, each one leaving less for the next', () => {
    const share = usableShare(withShares({ a: { available: { cpu: '3' } } }), 'a', NOW)!;
    expect(fitInShare(share, [list({ cpu: '2' }), list({ cpu: '2' }), list({ cpu: '1' }), list({ memory: '1Gi' })])).toEqual([true, false, true, true]);
  });
});

describe('spendShare', () => {
  it("tests the quota's generation, the share's epoch and available, then spends and renews it", () => {
    const share = usableShare(withShares({ 'web/0': { available: { cpu: '3' } } }), 'web/0', NOW)!;
    expect(spendShare('web/0', share, [reservation('r1', '2')], LATER)).toEqual([
      { op: 'test', path: '/metadata/generation', value: 1 },
      { op: 'test', path: '/status/shares/web~10/epoch', value: 'e1' },
      { op: 'test', path: '/status/shares/web~10/available', value: { cpu: '3' } },
      { op: 'replace', path: '/status/shares/web~10/available', value: { cpu: '1' } },
      { op: 'replace', path: '/status/shares/web~10/expires', value: LATER },
      { op: 'add', path: '/status/shares/web~10/reservations/-', value: toWireReservation(reservation('r1', '2')) },
    ]);
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
  const decide = (used: string, claimed: string, cpus: string[], { shares = true } = {}) =>
    decideRound({ limits, used: list({ cpu: used }), claimed: list({ cpu: claimed }), charges: charges(...cpus), fraction: shares ? HALF : undefined });

  it.each([
    ['fits beside the claims: admitted, and half of what is left claimed', '2', '4', ['1', '1'], [true, true], false, { cpu: '1' }],
    ['would only fit without the claims: they are taken back, no grant', '2', '4', ['5'], [true], true, undefined],
    ['does not fit even so: refused, finally', '8', '1', ['3'], [false], true, undefined],
    ['nothing admitted: no grant', '10', '0', ['1'], [false], false, undefined],
  ])('%s', (_what, used, claimed, cpus, admitted, revokeOthers, grant) => {
    const decision = decide(used, claimed, cpus);
    expect(decision.verdicts.map((verdict) => verdict === undefined)).toEqual(admitted);
    expect(decision.revokeOthers).toBe(revokeOthers);
    expect(decision.grant && formatList(decision.grant)).toEqual(grant);
  });

  it('claims nothing without a fraction (shares off)', () => {
    expect(decide('0', '0', ['1'], { shares: false }).grant).toBeUndefined();
  });

  it('refuses a charge only when it would not fit even with every other share taken back, and never admits beyond hard', () => {
    const amount = fc.integer({ min: 0, max: 12 });
    fc.assert(
      fc.property(amount, amount, fc.array(fc.integer({ min: 0, max: 6 }), { maxLength: 6 }), (used, claimed, cpus) => {
        const decision = decideRound({ limits, used: list({ cpu: String(used) }), claimed: list({ cpu: String(claimed) }), charges: cpus.map((cpu) => list({ cpu: String(cpu) })), fraction: HALF });
        let spent = used + (decision.revokeOthers ? 0 : claimed);
        cpus.forEach((cpu, i) => {
          const fits = spent + cpu <= 10;
          expect(decision.verdicts[i] === undefined).toBe(fits || cpu === 0);
          if (fits) spent += cpu;
        });
        const granted = decision.grant ? Number(formatList(decision.grant).cpu?.replace('m', 'e-3') ?? 0) : 0;
        expect(spent + granted).toBeLessThanOrEqual(Math.max(10, used + claimed));
      }),
    );
  });
});

describe('rewriteShares', () => {
  const keepsAll = () => true;
  const base = { keeps: keepsAll, revokeOthers: false, nowMs: NOW };

  it('leaves live shares alone when nothing changes', () => {
    expect(rewriteShares(withShares({ a: {}, b: {} }), base)).toEqual({});
  });

  it('drops settled reservations from a share, touching nothing else of it', () => {
    const quotaWith = withShares({ b: { reservations: [reservation('r1'), reservation('r2')] } });
    expect(rewriteShares(quotaWith, { ...base, keeps: (r) => r.request !== 'r1' })).toEqual({ b: { reservations: [toWireReservation(reservation('r2'))] } });
  });

  it("takes other shares' headroom back under a new epoch, and removes those that hold nothing", () => {
    const quotaWith = withShares({ b: { reservations: [reservation('r1')] }, c: {} });
    expect(rewriteShares(quotaWith, { ...base, owner: 'a', revokeOthers: true })).toEqual({
      b: { epoch: 'rv-7', generation: 1, available: { cpu: '0' }, expires: LATER, reservations: [toWireReservation(reservation('r1'))] },
      c: null,
    });
  });

  it('takes back an expired share even without revoking', () => {
    expect(rewriteShares(withShares({ b: { expires: EARLIER } }), base)).toEqual({ b: null });
  });

  it("replaces the owner's share with its grant, keeping what it still holds", () => {
    const quotaWith = withShares({ a: { reservations: [reservation('r1')] } });
    const grant = { available: list({ cpu: '2' }), expires: LATER };
    expect(rewriteShares(quotaWith, { ...base, owner: 'a', grant })).toEqual({
      a: { epoch: 'rv-7', generation: 1, available: { cpu: '2' }, expires: LATER, reservations: [toWireReservation(reservation('r1'))] },
    });
    expect(rewriteShares(withShares({}), { ...base, owner: 'a', grant })).toEqual({ a: { epoch: 'rv-7', generation: 1, available: { cpu: '2' }, expires: LATER, reservations: [] } });
  });

  it("dissolves the owner's share without a grant: the round counted its headroom as free", () => {
    expect(rewriteShares(withShares({ a: {} }), { ...base, owner: 'a' })).toEqual({ a: null });
  });

  it('keeps every reservation that still counts, and leaves no headroom to any share but the grant (property)', () => {
    const spec = fc.record({
      available: fc.integer({ min: 0, max: 5 }),
      expired: fc.boolean(),
      reservations: fc.array(fc.boolean(), { maxLength: 3 }),
    });
    fc.assert(
      fc.property(fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), spec), fc.boolean(), (specs, granted) => {
        const shares = Object.fromEntries(
          Object.entries(specs).map(([name, { available, expired, reservations }]) => [
            name,
            { available: { cpu: String(available) }, expires: expired ? EARLIER : LATER, reservations: reservations.map((_, i) => reservation(`${name}-${i}-${reservations[i] ? 'keep' : 'drop'}`)) },
          ]),
        );
        const q = withShares(shares);
        const grant = granted ? { available: list({ cpu: '1' }), expires: LATER } : undefined;
        const patch = rewriteShares(q, { owner: 'a', keeps: (r) => r.request.endsWith('keep'), revokeOthers: true, grant, nowMs: NOW });
        for (const [name, share] of Object.entries(q.status.shares)) {
          const entry = Object.hasOwn(patch, name) ? patch[name] : 'unchanged';
          const kept = share.reservations.filter((r) => r.request.endsWith('keep')).map((r) => r.request);
          const after = entry === 'unchanged' ? share.reservations.map((r) => r.request) : (entry?.reservations.map((r) => r.request) ?? []);
          expect(after).toEqual(kept);
          if (name === 'a' && grant) continue;
          const written = entry === 'unchanged' || entry === null ? undefined : (entry as { available?: Record<string, string> }).available;
          const available = entry === 'unchanged' ? formatList(share.available) : (written ?? {});
          expect(Object.values(available).every((amount) => amount === '0')).toBe(true);
        }
      }),
    );
  });
});

describe('othersAvailable', () => {
  it("sums the other live shares' headroom, not the owner's nor an expired one's", () => {
    const q = withShares({ a: { available: { cpu: '1' } }, b: { available: { cpu: '2' } }, c: { available: { cpu: '4' } }, d: { available: { cpu: '8' }, expires: EARLIER } });
    expect(formatList(othersAvailable(q, 'a', NOW))).toEqual({ cpu: '6' });
  });
});

describe('settlePatch', () => {
  const settling = (counted: string[], changed = true) => ({
    status: { used: { cpu: '3' }, usedAsOf: '6' },
    counts: (r: QuotaReservation) => counted.includes(r.request),
    changed,
  });
  const settled = (shares: Record<string, ShareSpec>, reservations: QuotaReservation[] = []) =>
    withShares(shares, { used: { cpu: '1' }, usedAsOf: '5', reservations: reservations.map(toWireReservation) });

  it('sets the fields, then removes each counted or expired reservation by index, last first, testing its request', () => {
    const q = settled({ 'web/0': { reservations: [reservation('s0'), reservation('s1'), reservation('s2', '1', EARLIER)] } }, [reservation('t0'), reservation('t1')]);
    expect(settlePatch(q, settling(['t1', 's0']), NOW)).toEqual([
      { op: 'test', path: '/status/usedAsOf', value: '5' },
      { op: 'add', path: '/status/used', value: { cpu: '3' } },
      { op: 'add', path: '/status/usedAsOf', value: '6' },
      { op: 'test', path: '/status/reservations/1/request', value: 't1' },
      { op: 'remove', path: '/status/reservations/1' },
      { op: 'test', path: '/status/shares/web~10/reservations/2/request', value: 's2' },
      { op: 'remove', path: '/status/shares/web~10/reservations/2' },
      { op: 'test', path: '/status/shares/web~10/reservations/0/request', value: 's0' },
      { op: 'remove', path: '/status/shares/web~10/reservations/0' },
    ]);
  });

  it.each([
    ['nothing to write', settled({ a: {} }, [reservation('t0')]), settling([], false)],
    ['never settled before: compare-and-swap writes the first', withShares({}), settling([])],
    ['a share has expired: taking it back needs compare-and-swap', settled({ a: { expires: EARLIER } }), settling([])],
    ['the copy is older than the view it would settle from', settled({}), { ...settling([]), status: { used: { cpu: '3' }, usedAsOf: '8' } }],
  ])('is undefined when %s', (_what, q, settlement) => {
    expect(settlePatch(q, settlement, NOW)).toBeUndefined();
  });
});
