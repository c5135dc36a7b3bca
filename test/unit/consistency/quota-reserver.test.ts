/**
 * The reservation protocol of docs/consistency.md against a fake API server that enforces
 * resourceVersion preconditions: replicas are separate reservers and stores sharing one object.
 */
import { describe, expect, it } from '@jest/globals';
import { ApiException } from '@kubernetes/client-node';
import { createQuotaReserver, type Hold, type HoldOutcome, type QuotaReserver, type Settle, type Settlement } from '../../../src/consistency/quota-reserver.js';
import { QuotaStore, type QuotaRef } from '../../../src/consistency/quota-store.js';
import type { JsonPatchOperation } from '../../../src/core/quota-shares.js';
import { mustParse, type ResourceList } from '../../../src/quantity/index.js';
import { FakeQuotaApi } from '../../builders/fake-quota-api.js';
import { aQuota, NOW, quota } from '../../builders/objects.js';
import { until } from '../../support/until.js';

const silent = { debug: () => undefined, warn: () => undefined };
const KEY = 'team-a/compute';
const cpu = (amount: string): ResourceList => ({ cpu: mustParse(amount), placements: mustParse('1') });

interface Replica {
  reserver: QuotaReserver;
  store: QuotaStore;
}

interface ReplicaOptions {
  clock?: () => number;
  fallback?: ResourceList;
  shareAs?: string;
  /** Its tracker follows the object as a watch would, and tells the reserver of each change. */
  watch?: boolean;
  settle?: Settle;
}

/** A replica whose tracker still holds the object as first listed (its copy lags every write), unless it watches. */
function replica(api: FakeQuotaApi, options: ReplicaOptions = {}): Replica {
  let tracked = quota(structuredClone(api.object));
  const store = new QuotaStore({ api, tracked: (key) => (key === KEY ? tracked : undefined) });
  const shares = options.shareAs ? { owner: options.shareAs, fraction: mustParse('0.5'), ttlMs: 30_000, instance: `${options.shareAs}-1` } : undefined;
  const reserver = createQuotaReserver({ store, fallbackUsed: () => options.fallback ?? {}, clock: options.clock ?? (() => NOW), log: silent, shares, settle: options.settle });
  if (options.watch) {
    api.watchers.push((object) => {
      tracked = quota(object as Parameters<typeof quota>[0]);
      reserver.observe(KEY);
    });
  }
  return { reserver, store };
}

function hold(request: string, amount = '1', overrides: Partial<Hold> = {}): Hold {
  return {
    requestUid: request,
    placement: `team-a/${request}`,
    minGeneration: 1,
    quotas: [{ key: KEY, requested: cpu(amount) }],
    deadlineMs: NOW + 5_000,
    expiresAtMs: NOW + 30_000,
    ...overrides,
  };
}

const aQuotaObject = (hard: Record<string, string>, status?: Record<string, unknown>) => ({
  ...aQuota('compute', { hard }),
  ...(status ? { status } : {}),
});

describe('createQuotaReserver', () => {
  it('admits exactly K of N concurrent holds from two replicas on one quota', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const replicas = [replica(api), replica(api)];
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, i) => replicas[i % 2]!.reserver.reserve(hold(`r${i}`))));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(10);
    expect(api.reservations()).toHaveLength(10);
    // Batching: far fewer writes than admissions, conflicts included.
    expect(api.patches).toBeLessThan(30);
  });

  it('keeps a denial decided in a batch when a conflict makes it re-read a state where it would fit', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '8' } }));
    const { reserver, store } = replica(api);
    // The first write loses to a writer that freed 5 cpu: in the fresh state both holds would fit.
    api.beforeWrite = (fake) => {
      if (fake.patches === 1) fake.write({ used: { cpu: '3' } });
    };
    const [fits, refused] = await Promise.all([reserver.reserve(hold('a', '2')), reserver.reserve(hold('b', '1'))]);
    expect(fits).toEqual({ ok: true });
    expect(refused).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 1, used 10, hard 10' });
    expect(api.conflicts).toBe(1);
    // What /metrics reports of it: one write landed, after one conflict and one retry.
    expect(store.counters).toEqual({ writes: 1, conflicts: 1, retries: 1 });
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['a']);
  });

  it('decides the holds that queued during a conflicted write in its retry, in arrival order', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '7' } }));
    const { reserver } = replica(api);
    const late: Promise<unknown>[] = [];
    api.beforeWrite = (fake) => {
      if (fake.patches !== 1) return;
      // While the first write is out, another writer gets in and two more reviews queue up.
      fake.write({ used: { cpu: '7' } });
      late.push(reserver.reserve(hold('b', '2')), reserver.reserve(hold('c', '2')));
    };
    expect(await reserver.reserve(hold('a', '1'))).toEqual({ ok: true });
    expect(await Promise.all(late)).toEqual([{ ok: true }, { ok: false, message: 'exceeded quota team-a/compute: cpu requested 2, used 10, hard 10' }]);
    // One conflicted write and one retry that carried all three: no third write for the late ones.
    expect(api.patches).toBe(2);
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['a', 'b']);
  });

  it('keeps a queued hold out of a running write that could outlive its deadline', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const { reserver } = replica(api);
    let early: Promise<unknown> | undefined;
    api.beforeWrite = (fake) => {
      if (fake.patches !== 1) return;
      fake.write({ used: { cpu: '0' } });
      early = reserver.reserve(hold('early', '1', { deadlineMs: NOW + 1_000 }));
    };
    expect(await reserver.reserve(hold('a', '1'))).toEqual({ ok: true });
    expect(await early).toEqual({ ok: true });
    // The retry carried only `a`; `early` got a write of its own, bounded by its own deadline.
    expect(api.patches).toBe(3);
  });

  it('re-decides an admitted hold after a conflict: a competing write can turn it into a denial', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '8' } }));
    const { reserver } = replica(api);
    api.beforeWrite = (fake) => {
      if (fake.patches === 1) fake.write({ used: { cpu: '10' } });
    };
    expect(await reserver.reserve(hold('a', '2'))).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 2, used 10, hard 10' });
    expect(api.reservations()).toEqual([]);
  });

  it('charges a retried request once: its reservation replaces itself', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '2' }, { used: { cpu: '0' } }));
    const { reserver } = replica(api);
    for (let attempt = 0; attempt < 3; attempt++) expect(await reserver.reserve(hold('same', '2'))).toEqual({ ok: true });
    expect(api.reservations()).toHaveLength(1);
  });

  it('counts nothing for an expired reservation and drops it in the next write', async () => {
    const expired = { request: 'gone', placement: 'team-a/gone', minGeneration: 1, charge: { cpu: '9' }, expires: new Date(NOW - 1).toISOString() };
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' }, reservations: [expired] }));
    const { reserver } = replica(api);
    expect(await reserver.reserve(hold('new', '5'))).toEqual({ ok: true });
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['new']);
  });

  it("uses this replica's count until the status writer has written used", async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }));
    const { reserver } = replica(api, { fallback: cpu('9') });
    expect(await reserver.reserve(hold('a', '2'))).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 2, used 9, hard 10' });
  });

  it('refuses, without writing, a hold whose deadline has passed', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const { reserver } = replica(api);
    const outcome = await reserver.reserve(hold('late', '1', { deadlineMs: NOW }));
    expect(outcome).toEqual({ ok: false, message: "could not reserve on quota team-a/compute before the request's deadline; try again" });
    expect(api.patches).toBe(0);
  });

  it('gives back what earlier quotas hold when a later one refuses (all or nothing)', async () => {
    const first = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const second = new FakeQuotaApi({ ...aQuota('z-small', { hard: { cpu: '1' } }), status: { used: { cpu: '0' } } });
    const apis: Record<string, FakeQuotaApi> = { [KEY]: first, 'team-a/z-small': second };
    const byName = { compute: first, 'z-small': second } as Record<string, FakeQuotaApi>;
    const api = {
      get: (ref: QuotaRef, signal: AbortSignal) => byName[ref.name]!.get(ref, signal),
      patchStatus: (ref: QuotaRef, rv: string, status: object, signal: AbortSignal) => byName[ref.name]!.patchStatus(ref, rv, status, signal),
      jsonPatchStatus: (ref: QuotaRef, operations: readonly JsonPatchOperation[], signal: AbortSignal) => byName[ref.name]!.jsonPatchStatus(ref, operations, signal),
    };
    const store = new QuotaStore({ api, tracked: (key) => (apis[key] ? quota(structuredClone(apis[key].object)) : undefined) });
    const reserver = createQuotaReserver({ store, fallbackUsed: () => ({}), clock: () => NOW, log: silent });
    const both = hold('a', '2', { quotas: [{ key: 'team-a/z-small', requested: cpu('2') }, { key: KEY, requested: cpu('2') }] });
    expect(await reserver.reserve(both)).toEqual({ ok: false, message: 'exceeded quota team-a/z-small: cpu requested 2, used 0, hard 1' });
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.reservations()).toEqual([]);
    expect(second.reservations()).toEqual([]);
  });

  it('refuses with the API error when the write fails for another reason', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    api.beforeWrite = () => {
      throw new Error('connection refused');
    };
    const { reserver } = replica(api);
    expect(await reserver.reserve(hold('a'))).toEqual({ ok: false, message: 'could not reserve on quota team-a/compute: connection refused; try again' });
  });

  it('names the HTTP status and the API server\'s own message, not the client\'s multi-line error text', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const status = { kind: 'Status', code: 500, message: 'etcdserver: request timed out' };
    api.beforeWrite = () => {
      throw new ApiException(500, 'Internal Server Error', JSON.stringify(status), { 'audit-id': 'x' });
    };
    const { reserver } = replica(api);
    expect(await reserver.reserve(hold('a'))).toEqual({
      ok: false,
      message: 'could not reserve on quota team-a/compute: the API server answered 500: etcdserver: request timed out; try again',
    });
  });
});

describe('a reserver that settles (the Lease holder)', () => {
  const old = { request: 'old', placement: 'team-a/old', minGeneration: 1, charge: { cpu: '4', placements: '1' }, expires: new Date(NOW + 10_000).toISOString() };
  /** Its tracker sees `old` and one more placement nobody reserved: 5 cpu in all. */
  const settlement: Settlement = {
    status: { used: { cpu: '5', placements: '2' }, phase: 'Active' },
    used: cpu('5'),
    counts: (reservation) => reservation.request === 'old',
    changed: true,
  };

  function settlingReplica(api: FakeQuotaApi, settle: Settle): QuotaReserver {
    const tracked = quota(structuredClone(api.object));
    const store = new QuotaStore({ api, tracked: (key) => (key === KEY ? tracked : undefined) });
    return createQuotaReserver({ store, fallbackUsed: () => ({}), clock: () => NOW, log: silent, settle });
  }

  it('decides on the usage it settles to and writes it in the same write, dropping what it counts', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' }, reservations: [old] }));
    const reserver = settlingReplica(api, () => settlement);
    // On status alone (0 used + 4 reserved) 6 more would fit; the tracker shows 5 used.
    expect(await reserver.reserve(hold('big', '6'))).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 6, used 5, hard 10' });
    expect(await reserver.reserve(hold('small', '5'))).toEqual({ ok: true });
    expect(api.object.status).toMatchObject({ used: { cpu: '5', placements: '2' } });
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['small']);
  });

  it('with the other replica reserving at the same time, still admits exactly K', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' }, reservations: [old] }));
    // The settling replica's tracker holds `old` (4 cpu): 6 more fit, whoever admits them.
    const settling = settlingReplica(api, () => ({ ...settlement, status: { used: { cpu: '4', placements: '1' }, phase: 'Active' }, used: cpu('4') }));
    const other = replica(api).reserver;
    const outcomes = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? settling : other).reserve(hold(`r${i}`))));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(6);
    expect(api.reservations()).toHaveLength(6);
    expect(api.object.status).toMatchObject({ used: { cpu: '4', placements: '1' } });
  });

  it('leaves used alone when it may not settle, and decides on status as any replica', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' }, reservations: [old] }));
    const reserver = settlingReplica(api, () => undefined);
    expect(await reserver.reserve(hold('big', '6'))).toEqual({ ok: true });
    expect(api.object.status).toMatchObject({ used: { cpu: '0' } });
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['old', 'big']);
  });
});

describe('a write the API server does not answer', () => {
  it('is cut off at the request\'s deadline: the review is refused in time and nothing is stored', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    api.stallNext = 'unapplied';
    const { reserver } = replica(api);
    const started = Date.now();
    const outcome = await reserver.reserve(hold('a', '1', { deadlineMs: NOW + 300 }));
    expect(outcome).toEqual({ ok: false, message: "could not confirm quota team-a/compute in time: the API server did not answer before the request's deadline; retry" });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(api.reservations()).toEqual([]);
  });

  it('does not hold up the reviews queued behind it: each is refused at its own deadline, and never written', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    api.stallNext = 'unapplied';
    const { reserver } = replica(api);
    const first = reserver.reserve(hold('a', '1', { deadlineMs: NOW + 2_000 }));
    await until(() => api.patches > 0, 'the first write in flight');
    const started = Date.now();
    const queued = await reserver.reserve(hold('b', '1', { deadlineMs: NOW + 200 }));
    expect({ outcome: queued, inTime: Date.now() - started < 1_000 }).toEqual({
      outcome: { ok: false, message: "could not confirm quota team-a/compute in time: the API server did not answer before the request's deadline; retry" },
      inTime: true,
    });
    expect((await first).ok).toBe(false);
    expect(api.reservations()).toEqual([]);
    // The queue is not stuck: the next review is written and admitted.
    expect(await reserver.reserve(hold('c', '1'))).toEqual({ ok: true });
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['c']);
  });

  it('that landed after all is taken out again by the next write, so a refused review holds nothing', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    api.stallNext = 'applied';
    const { reserver } = replica(api);
    const outcome = await reserver.reserve(hold('a', '1', { deadlineMs: NOW + 300 }));
    expect(outcome.ok).toBe(false);
    expect(api.reservations().map((reservation) => reservation.request)).toEqual(['a']);
    await until(() => api.reservations().length === 0, 'the write that gives the refused hold back');
  });
});

describe('QuotaStore', () => {
  it('fails closed on a copy without a resourceVersion: no write without a precondition', async () => {
    const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
    const unversioned = structuredClone(api.object);
    delete unversioned.metadata.resourceVersion;
    const store = new QuotaStore({ api, tracked: () => quota(unversioned) });
    await expect(store.update(KEY, () => ({ used: { cpu: '1' } }), new AbortController().signal)).rejects.toThrow('quota team-a/compute has no resourceVersion to compare-and-swap on; not writing');
    expect(api.patches).toBe(0);
  });

  describe('with shares of the headroom', () => {
    const sharesOf = (api: FakeQuotaApi) => (api.object.status?.shares ?? {}) as Record<string, { epoch: string; available: Record<string, string>; reservations: { request: string }[] }>;

    it('admits exactly K of N holds arriving in waves at two replicas, most of them spent from shares', async () => {
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '20' }, { used: { cpu: '0' } }));
      const replicas = [replica(api, { shareAs: 'a', watch: true }), replica(api, { shareAs: 'b', watch: true })];
      const outcomes: HoldOutcome[] = [];
      for (let wave = 0; wave < 10; wave += 1) {
        const holds = Array.from({ length: 4 }, (_, i) => replicas[i % 2]!.reserver.reserve(hold(`w${wave}-${i}`)));
        outcomes.push(...(await Promise.all(holds)));
      }
      expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(20);
      expect(api.allReservations()).toHaveLength(20);
      const refusals = outcomes.filter((outcome) => !outcome.ok).map((outcome) => (outcome.ok ? '' : outcome.message));
      expect(new Set(refusals)).toEqual(new Set(['exceeded quota team-a/compute: cpu requested 1, used 20, hard 20']));
      expect(api.jsonPatches).toBeGreaterThan(api.patches - api.conflicts);
    });

    it('claims a share in the round that admits, then spends it with guarded JSON patches', async () => {
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
      const { reserver } = replica(api, { shareAs: 'a' });
      expect(await reserver.reserve(hold('first'))).toEqual({ ok: true });
      // 10 − 1 left, half of it claimed, in whole units: 4 cpu (the quota does not limit placements).
      expect(sharesOf(api).a?.available).toEqual({ cpu: '4' });
      for (const request of ['second', 'third']) expect(await reserver.reserve(hold(request))).toEqual({ ok: true });
      expect(api.jsonPatches).toBe(2);
      expect(sharesOf(api).a?.available).toEqual({ cpu: '2' });
      expect(sharesOf(api).a?.reservations.map((reservation) => reservation.request)).toEqual(['second', 'third']);
      expect(api.reservations().map((reservation) => reservation.request)).toEqual(['first']);
    });

    it("recalls another replica's unspent share when a hold needs it: the owner gives it back, then the hold is admitted", async () => {
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '4' }, { used: { cpu: '0' } }));
      const a = replica(api, { shareAs: 'a', watch: true });
      const b = replica(api, { shareAs: 'b', watch: true });
      expect(await a.reserver.reserve(hold('a1'))).toEqual({ ok: true }); // a's share: 1 of the 3 left (half, whole units)
      // 2 unclaimed: b's hold fits only with a's share, which may hold charges a answered and has not
      // written. b recalls it and waits; a writes what it holds (nothing) and gives the rest back.
      expect(await b.reserver.reserve(hold('b1', '2.5'))).toEqual({ ok: true });
      expect(sharesOf(api).a).toBeUndefined(); // emptied and holding no reservations: removed
      expect(await a.reserver.reserve(hold('a2', '0.5'))).toEqual({ ok: true });
      expect(await a.reserver.reserve(hold('a3'))).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 1, used 4, hard 4' });
      expect(api.allReservations().map((reservation) => reservation.request).sort()).toEqual(['a1', 'a2', 'b1']);
    });

    it('uses the share of a replica that is gone once it expires; until then the holds that need it wait, none refused', async () => {
      let now = NOW;
      const share = { epoch: 'rv-1', generation: 1, available: { cpu: '6' }, expires: new Date(NOW + 30_000).toISOString(), reservations: [] };
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '4' }, shares: { gone: share } }));
      const { reserver } = replica(api, { shareAs: 'a', clock: () => now });
      const later = { deadlineMs: NOW + 60_000, expiresAtMs: NOW + 90_000 };
      const outcomes = Promise.all(Array.from({ length: 8 }, (_, i) => reserver.reserve(hold(`r${i}`, '1', later))));
      await until(() => (sharesOf(api).gone as { recalled?: boolean } | undefined)?.recalled === true, 'the gone replica asked for its share');
      const writes = api.patches + api.jsonPatches;
      now = NOW + 30_001;
      expect((await outcomes).filter((outcome) => outcome.ok)).toHaveLength(6);
      expect(sharesOf(api).gone).toBeUndefined();
      expect(writes).toBe(1); // the recall; waiting wrote nothing more
    });

    describe('admitting at once and writing after the answer', () => {
      const settled = (hard: string, extra: Record<string, unknown> = {}) => aQuotaObject({ cpu: hard }, { used: { cpu: '0' }, usedAsOf: '5', ...extra });
      const mine = (available: string, reservations: unknown[] = [], records = 0) => ({
        epoch: 'rv-1',
        generation: 1,
        available: { cpu: available },
        expires: new Date(NOW + 30_000).toISOString(),
        instance: 'a-1',
        records,
        recalled: false,
        reservations,
      });

      it('admits what its share fits with no write once the API server has answered one, then writes those charges in one patch, stamped with usedAsOf', async () => {
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('5') } }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true });
        // The first waits for its own write: nothing says yet that the API server answers.
        expect(await reserver.reserve(hold('r0'))).toEqual({ ok: true });
        expect(api.jsonPatches).toBe(1);
        const outcomes = await Promise.all(['r1', 'r2', 'r3'].map((request) => reserver.reserve(hold(request))));
        expect({ outcomes, writes: api.patches + api.jsonPatches }).toEqual({ outcomes: Array(3).fill({ ok: true }), writes: 1 });
        await until(() => api.jsonPatches === 2, 'the record');
        const share = sharesOf(api).a as unknown as { available: Record<string, string>; records: number; reservations: { request: string; after?: string }[] };
        expect(share.available).toEqual({ cpu: '1' });
        expect(share.records).toBe(2);
        expect(share.reservations.map(({ request, after }) => `${request}@${after ?? ''}`)).toEqual(['r0@', 'r1@5', 'r2@5', 'r3@5']);
      });

      it('stops admitting at once while a write hangs: the API server is not answering', async () => {
        let now = NOW;
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('5') } }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true, clock: () => now });
        expect(await reserver.reserve(hold('r0'))).toEqual({ ok: true });
        expect(await reserver.reserve(hold('r1'))).toEqual({ ok: true }); // at once
        api.stallNext = 'unapplied';
        await until(() => reserver.busy(KEY), 'the record of r1 sent, and hanging');
        now += 1_001;
        const refused = await reserver.reserve(hold('r2', '1', { deadlineMs: now + 100 }));
        expect(refused).toEqual({ ok: false, message: "could not confirm quota team-a/compute in time: the API server did not answer before the request's deadline; retry" });
      });

      it("answers a hold its share does not fit by its own deadline while the API server is stopped, though the record ahead of it used up that time", async () => {
        // A clock that moves: the record's wait and the round after it are measured in real time.
        const startedAt = Date.now();
        const clock = () => NOW + (Date.now() - startedAt);
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('1') } }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true, clock });
        api.stopped = true;
        // Both start in one turn: `small` fits the share and goes in a record, `big` does not and is
        // left for a compare-and-swap round after it. The record hangs until the earliest deadline, big's.
        const small = reserver.reserve(hold('small', '1', { deadlineMs: NOW + 2_000 }));
        const big = reserver.reserve(hold('big', '5', { deadlineMs: NOW + 300 }));
        const answered = await big;
        expect({ answered, inTime: clock() - NOW < 1_000 }).toEqual({
          answered: { ok: false, message: "could not reserve on quota team-a/compute before the request's deadline; try again" },
          inTime: true,
        });
        expect(await small).toEqual({ ok: false, message: "could not confirm quota team-a/compute in time: the API server did not answer before the request's deadline; retry" });
        expect(api.allReservations()).toEqual([]);
      });

      it.each([
        // r1 was written after its answer and no settlement has seen it: the one of usedAsOf 6 may have counted its placement.
        { after: '6', outcome: 'waits until a settlement clears the doubt, then admits' },
        // r1 was seen by a settlement, which did not count it: it counts.
        { after: undefined, outcome: 'refuses at once' },
      ])('with a reservation stamped after $after, a hold that fits only without it $outcome', async ({ after }) => {
        const r1 = { request: 'r1', placement: 'team-a/r1', minGeneration: 1, charge: { cpu: '1' }, expires: new Date(NOW + 30_000).toISOString(), ...(after ? { after } : {}) };
        const api = new FakeQuotaApi(aQuotaObject({ cpu: '2' }, { used: { cpu: '1' }, usedAsOf: '6', shares: { a: { ...mine('0', [r1]), instance: 'a-0' } } }));
        const { reserver } = replica(api, { shareAs: 'b', watch: true });
        const outcome = reserver.reserve(hold('b1'));
        if (after === undefined) {
          expect(await outcome).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 1, used 2, hard 2' });
          return;
        }
        await until(() => !reserver.busy(KEY), 'the first round');
        // The status writer settles: usedAsOf 7, r1 counted in used, so taken out.
        api.write({ usedAsOf: '7', shares: { a: { reservations: [] } } });
        expect(await outcome).toEqual({ ok: true });
      });

      it("does not spend a share an earlier process of the same replica left: it may hold charges answered and not written", async () => {
        const api = new FakeQuotaApi(settled('10', { shares: { a: { ...mine('5'), instance: 'a-0' } } }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true });
        expect(await reserver.reserve(hold('r1'))).toEqual({ ok: true });
        expect(api.reservations().map((reservation) => reservation.request)).toEqual(['r1']);
        expect(sharesOf(api).a).toMatchObject({ instance: 'a-0', available: { cpu: '5' } });
      });

      it('on stop, writes what it answered and gives the rest of its share back', async () => {
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('5') } }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true });
        expect(await reserver.reserve(hold('r1'))).toEqual({ ok: true });
        await reserver.stop();
        expect(sharesOf(api).a).toMatchObject({ available: { cpu: '0' }, reservations: [{ request: 'r1' }] });
      });

      it("on the Lease holder, a record whose settlement fails because another share recorded meanwhile is written alone, not by compare-and-swap", async () => {
        const other = { ...mine('3'), instance: 'b-1', records: 4 };
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('5'), b: other }, rounds: 1 }));
        let view = 100;
        const settle: Settle = () => ({ status: { used: { cpu: '0' }, phase: 'Active', usedAsOf: String((view += 1)) }, used: {}, counts: () => false, changed: true });
        const { reserver } = replica(api, { shareAs: 'a', watch: true, settle });
        expect(await reserver.reserve(hold('r0'))).toEqual({ ok: true });
        await until(() => !reserver.busy(KEY), 'the first write answered');
        // The first write settled (usedAsOf 101). b records just before a's next patch lands: a's copy no longer has b's records count.
        api.beforeWrite = (fake) => {
          fake.beforeWrite = undefined;
          fake.write({ shares: { b: { records: 5 } } });
        };
        const writes = { cas: api.patches, failed: api.failedTests };
        expect(await reserver.reserve(hold('r1'))).toEqual({ ok: true }); // at once
        await until(() => api.allReservations().some((reservation) => reservation.request === 'r1'), 'the record of r1');
        expect({ cas: api.patches - writes.cas, failed: api.failedTests - writes.failed }).toEqual({ cas: 0, failed: 1 });
        expect(sharesOf(api).a).toMatchObject({ available: { cpu: '3' }, records: 2, reservations: [{ request: 'r0' }, { request: 'r1', after: '101' }] });
      });

      it('admits nothing at once while it gives its share back, even when its newest copy shows the share usable', async () => {
        const api = new FakeQuotaApi(settled('10', { shares: { a: mine('2') }, rounds: 1 }));
        const { reserver } = replica(api, { shareAs: 'a', watch: true });
        let late: Promise<HoldOutcome> | undefined;
        let writes = 0;
        api.beforeWrite = (fake) => {
          writes += 1;
          // 1. The round for r0 (larger than the share) is out: another writer recalls a's share, so the
          //    round meets a conflict, and replaces the share with a fresh grant on its second attempt.
          if (writes === 1) fake.write({ shares: { a: { recalled: true } } });
          // The watch shows the recall while the second attempt is out: a's copy is the recalled one.
          if (writes === 2) reserver.observe(KEY);
          // 2. The recall seen on the watch is answered by a give-back record, sent from the copy the
          //    round returned: its share is not recalled. A hold arriving meanwhile must not be admitted
          //    at once from what that record is giving back.
          if (writes === 3) late = reserver.reserve(hold('r1'));
        };
        expect(await reserver.reserve(hold('r0', '3'))).toEqual({ ok: true });
        await until(() => late !== undefined, 'the give-back record');
        expect(await late).toEqual({ ok: true });
        await until(() => !reserver.busy(KEY), 'every write answered');
        const share = sharesOf(api).a;
        const held = api.allReservations().map((reservation) => reservation.request).sort();
        expect({ held, available: share?.available }).toEqual({ held: ['r0', 'r1'], available: { cpu: expect.not.stringMatching(/^-/) as unknown as string } });
        expect(reserver.counters.atOnce).toBe(0);
      });

      it('admits exactly K of N holds arriving in waves at two replicas, most of them with no write on their path', async () => {
        const api = new FakeQuotaApi(settled('20'));
        // a holds the Lease: its view counts no placement (none is created here), a newer view each time.
        let view = 100;
        const settle: Settle = () => ({ status: { used: { cpu: '0' }, phase: 'Active', usedAsOf: String((view += 1)) }, used: {}, counts: () => false, changed: true });
        const replicas = [replica(api, { shareAs: 'a', watch: true, settle }), replica(api, { shareAs: 'b', watch: true })];
        const outcomes: HoldOutcome[] = [];
        for (let wave = 0; wave < 10; wave += 1) {
          const holds = Array.from({ length: 4 }, (_, i) => replicas[i % 2]!.reserver.reserve(hold(`w${wave}-${i}`)));
          outcomes.push(...(await Promise.all(holds)));
        }
        expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(20);
        await until(() => api.allReservations().length === 20, 'every answered charge written');
        const refusals = outcomes.filter((outcome) => !outcome.ok).map((outcome) => (outcome.ok ? '' : outcome.message));
        expect(new Set(refusals)).toEqual(new Set(['exceeded quota team-a/compute: cpu requested 1, used 20, hard 20']));
        expect(api.patches + api.jsonPatches).toBeLessThan(outcomes.length / 2);
      });
    });

    it('answers a hold still waiting for a share at its deadline, saying why, and writes nothing for it', async () => {
      const share = { epoch: 'rv-1', generation: 1, available: { cpu: '6' }, expires: new Date(NOW + 30_000).toISOString(), reservations: [] };
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '4' }, shares: { gone: share } }));
      const { reserver } = replica(api, { shareAs: 'a' });
      expect(await reserver.reserve(hold('r1', '1', { deadlineMs: NOW + 200 }))).toEqual({
        ok: false,
        message:
          "could not reserve on quota team-a/compute before the request's deadline: the headroom it needs is held by another replica's share, given back on request or when the share expires; retry",
      });
      expect(api.allReservations()).toEqual([]);
    });

    it('leaves a share granted under an older spec unspent: a lowered hard is decided by compare-and-swap', async () => {
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
      const { reserver } = replica(api, { shareAs: 'a' });
      expect(await reserver.reserve(hold('first'))).toEqual({ ok: true });
      api.object.spec = { hard: { cpu: '1' } };
      api.object.metadata.generation = 2;
      expect(await reserver.reserve(hold('second'))).toEqual({ ok: false, message: 'exceeded quota team-a/compute: cpu requested 1, used 1, hard 1' });
      expect(api.jsonPatches).toBe(0);
    });

    it('refuses the holds of a spend whose answer never came, and takes their reservations out afterwards', async () => {
      const api = new FakeQuotaApi(aQuotaObject({ cpu: '10' }, { used: { cpu: '0' } }));
      const { reserver } = replica(api, { shareAs: 'a' });
      expect(await reserver.reserve(hold('first'))).toEqual({ ok: true });
      api.stallNext = 'applied';
      const lost = await reserver.reserve(hold('lost', '1', { deadlineMs: NOW + 50 }));
      expect(lost.ok).toBe(false);
      await until(() => !api.allReservations().some((reservation) => reservation.request === 'lost'), 'the lost reservation taken out');
      expect(api.allReservations().map((reservation) => reservation.request)).toEqual(['first']);
    });
  });
});
