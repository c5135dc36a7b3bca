/**
 * SPEC §5's invariant with two replicas answering at once (docs/consistency.md): N concurrent
 * admissions against a quota that fits K store exactly K, through kubectl and the real API server
 * (the webhook sits behind a round-robin forwarder) and with reviews sent straight to both replicas.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { anAdmissionReview, aPlacement, aQuota } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace, kubectl, quotaReservations, readySyncTarget, storedPlacements as stored } from './support/cluster.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

type Manifest = Record<string, unknown>;

const TTL_SECONDS = 4;
const BURST = 30;
const K = 10;

let webhook: TestWebhook;
let cluster: string;

const apply = (manifest: Manifest) => kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });

const placement = (ns: string, name: string): Manifest => {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, requirements: { cpu: '1' }, clusters: [cluster] });
  return { ...rest, metadata: { name, namespace: ns } };
};

type ReviewResponse = { allowed: boolean; status?: { message: string } };

/** Posts one AdmissionReview straight to replica `index`; resolves with its response. */
const review = async (index: number, body: Manifest): Promise<ReviewResponse> => (await webhook.post(index, JSON.stringify(body))).json.response as ReviewResponse;

const createReview = (ns: string, name: string, uid: string) => anAdmissionReview({ uid, object: { ...placement(ns, name), metadata: { name, namespace: ns, uid: `obj-${uid}` } } });

/** A namespace this webhook covers, with a quota fitting `K` one-cpu placements, seen by every replica. */
async function quotaNamespace(prefix: string, hard: Record<string, string> = { cpu: String(K), placements: String(K) }): Promise<string> {
  const ns = await freshNamespace(prefix);
  await webhook.cover(ns);
  expect((await apply(aQuota('limit', { namespace: ns, hard }))).code).toBe(0);
  // Each replica refuses a dry run over the quota only once its watch has delivered the quota.
  for (const [index, replica] of webhook.set.replicas.entries()) {
    await eventually(async () => {
      const answer = await review(index, anAdmissionReview({ uid: `probe-${replica.port}`, dryRun: true, object: { ...placement(ns, 'probe'), spec: { resourceRequirements: { cpu: '1000' }, targetClusters: [] } } }));
      expect(answer.status?.message).toContain(`exceeded quota ${ns}/limit`);
    });
  }
  return ns;
}

/** Runs `kubectl create` for every name at once; resolves with each result. */
const createAll = (ns: string, names: readonly string[]) => Promise.all(names.map((name) => kubectl(['create', '-f', '-'], { input: JSON.stringify(placement(ns, name)) })));

const names = (prefix: string, count = BURST) => Array.from({ length: count }, (_, i) => `${prefix}-${i}`);

/** The requests the quota object holds reservations for, as the API server stores it. */
const reservations = (ns: string): Promise<string[]> => quotaReservations(ns);

/** Whether every replica would admit `cpu` more now (a dry run reserves nothing). */
async function everyReplicaAdmits(ns: string, cpu: number): Promise<void> {
  for (const [index, replica] of webhook.set.replicas.entries()) {
    const answer = await review(index, anAdmissionReview({ uid: `room-${replica.port}-${Date.now()}`, dryRun: true, object: { ...placement(ns, 'room'), spec: { resourceRequirements: { cpu: String(cpu) }, targetClusters: [] } } }));
    expect(answer).toMatchObject({ allowed: true });
  }
}

beforeAll(async () => {
  webhook = await startTestWebhook('consistency', { replicas: 2, env: { PLACEMENT_QUOTA_RESERVATION_TTL_SECONDS: String(TTL_SECONDS) } });
  cluster = await readySyncTarget('consistency', { cpu: '10000', memory: '10Ti' });
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  await kubectl(['delete', 'synctarget', cluster, '--ignore-not-found']);
  await deleteFreshNamespaces();
}, 60_000);

describe('two replicas, one quota that fits exactly K', () => {
  it.each([1, 2, 3])(`round %i: ${BURST} concurrent kubectl creates store exactly ${K}`, async (round) => {
    const ns = await quotaNamespace(`burst${round}`);
    const results = await createAll(ns, names('p'));
    const refused = results.filter((result) => result.code !== 0);
    expect(refused).toHaveLength(BURST - K);
    for (const result of refused) expect(result.stderr).toContain(`exceeded quota ${ns}/limit`);
    expect(await stored(ns)).toBe(K);
    // The status writer settles every reservation into used.
    await eventually(async () => {
      const used = await kubectl(['get', 'wq', 'limit', '-n', ns, '-o', 'jsonpath={.status.used.placements}']);
      expect(used.stdout).toBe(`${K}`);
      expect(await reservations(ns)).toEqual([]);
    });
  }, 120_000);

  it(`admits exactly ${K} of ${BURST} AdmissionReviews sent straight to both replicas`, async () => {
    const ns = await quotaNamespace('direct');
    const replicas = webhook.set.replicas.length;
    const answers = await Promise.all(names('r').map((name, i) => review(i % replicas, createReview(ns, name, `${ns}-${name}`))));
    expect(answers.filter((answer) => answer.allowed)).toHaveLength(K);
    expect(await reservations(ns)).toHaveLength(K);
  }, 60_000);

  it(`a reservation whose object never appears stops counting within the TTL (${TTL_SECONDS}s)`, async () => {
    const ns = await quotaNamespace('ttl', { cpu: '1' });
    expect((await review(0, createReview(ns, 'ghost', `${ns}-ghost`))).allowed).toBe(true);
    const reservedAt = Date.now();
    // Held on the other replica too: the reservation lives in the quota object, not in memory.
    const refused = await review(1, createReview(ns, 'real', `${ns}-real-1`));
    expect(refused).toMatchObject({ allowed: false, status: { message: `exceeded quota ${ns}/limit: cpu requested 1, used 1, hard 1` } });
    await eventually(async () => expect((await kubectl(['create', '-f', '-'], { input: JSON.stringify(placement(ns, 'real')) })).code).toBe(0), (TTL_SECONDS + 10) * 1000);
    const freedAfterMs = Date.now() - reservedAt;
    expect(freedAfterMs).toBeGreaterThanOrEqual(TTL_SECONDS * 1000 - 1000);
  }, 60_000);

  it('restarting both replicas repairs a hand-corrupted status.used', async () => {
    const ns = await quotaNamespace('repair');
    for (const result of await createAll(ns, names('p', 3))) expect(result.code).toBe(0);
    const used = () => kubectl(['get', 'wq', 'limit', '-n', ns, '-o', 'jsonpath={.status.used.cpu}/{.status.used.placements}']);
    await eventually(async () => expect((await used()).stdout).toBe('3/3'));
    await webhook.restart(async () => {
      const corrupt = await kubectl(['patch', 'wq', 'limit', '-n', ns, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { used: { cpu: '9', placements: '9' } } })]);
      expect(corrupt.code).toBe(0);
      expect((await used()).stdout).toBe('9/9');
    });
    await eventually(async () => expect((await used()).stdout).toBe('3/3'));
    // And the repaired figure is what admissions use: 7 more fit, not 1.
    const results = await createAll(ns, names('q', 8));
    expect(results.filter((result) => result.code === 0)).toHaveLength(7);
  }, 120_000);

  it(`killing one replica in the middle of a burst still leaves exactly ${K}`, async () => {
    const ns = await quotaNamespace('kill');
    const burst = createAll(ns, names('p'));
    // Mid-burst: the replicas have begun admitting (a reservation is in the quota object).
    await eventually(async () => expect((await reservations(ns)).length + (await stored(ns))).toBeGreaterThan(0));
    await webhook.kill(1);
    const results = await burst;
    for (const result of results.filter((r) => r.code !== 0)) expect(result.stderr).toMatch(/exceeded quota|failed calling webhook/);
    expect(await stored(ns)).toBeLessThanOrEqual(K);
    // Reservations the killed replica made for requests it never answered expire; then the quota fills to K exactly.
    await webhook.restart();
    // Expiry seen as its effect: both replicas admit the rest of the quota again.
    const free = K - (await stored(ns));
    if (free > 0) await eventually(() => everyReplicaAdmits(ns, free), (TTL_SECONDS + 10) * 1000);
    await createAll(ns, names('q'));
    expect(await stored(ns)).toBe(K);
  }, 120_000);

  it('a replica killed while holding a share of the quota: the other admits what is free at once, and its unspent part once the share expires', async () => {
    const ns = await quotaNamespace('share');
    // The first admission is a compare-and-swap round; it claims half of what is left (whole units) for replica 1.
    expect((await review(1, createReview(ns, 'first', `${ns}-first`))).allowed).toBe(true);
    const shares = async () => {
      const listed = await kubectl(['get', 'wq', 'limit', '-n', ns, '-o', 'jsonpath={.status.shares}']);
      return (listed.stdout ? JSON.parse(listed.stdout) : {}) as Record<string, { available: Record<string, string>; reservations: { request: string; after?: string }[] }>;
    };
    expect(Object.values(await shares()).map((share) => share.available)).toEqual([{ cpu: '4', placements: '4' }]);
    // Once the quota has been settled, the share admits at once, and its owner writes what it
    // admitted afterwards, in one guarded JSON patch the API server applies under its tests.
    await eventually(async () => expect((await kubectl(['get', 'wq', 'limit', '-n', ns, '-o', 'jsonpath={.status.usedAsOf}'])).stdout).not.toBe(''));
    for (const name of ['second', 'third']) expect((await review(1, createReview(ns, name, `${ns}-${name}`))).allowed).toBe(true);
    await eventually(async () => {
      const [held] = Object.values(await shares());
      expect(held?.reservations.map((reservation) => reservation.request)).toEqual([`${ns}-second`, `${ns}-third`]);
      expect(held?.available).toEqual({ cpu: '2', placements: '2' });
    });
    await webhook.kill(1);
    const killedAt = Date.now();
    // 3 of 10 held, 2 in the dead replica's share, which may hold charges it answered and never
    // wrote: 5 are admitted at once. The reviews that need the share wait for it (none is refused):
    // it expires 4 s (the TTL) after its owner's last write. By then the 3 reservations have expired
    // too (no object ever appears for these reviews), so the 5 waiting ones are all admitted.
    const answered: { allowed: boolean; afterMs: number }[] = [];
    await Promise.all(
      names('after', 10).map(async (name) => {
        const answer = await review(0, createReview(ns, name, `${ns}-${name}`));
        answered.push({ allowed: answer.allowed, afterMs: Date.now() - killedAt });
      }),
    );
    const late = answered.filter((answer) => answer.afterMs >= 2_000);
    expect({ allowed: answered.filter((answer) => answer.allowed).length, atOnce: answered.length - late.length, late: late.length }).toEqual({ allowed: 10, atOnce: 5, late: 5 });
    expect((await reservations(ns)).length).toBeLessThanOrEqual(K);
    // No object ever appears for these reviews: every reservation expires, and the dead replica's
    // share goes with them, written by the Lease holder (the survivor, once the dead one's 15 s Lease ran out).
    await eventually(async () => expect(await shares()).toEqual({}), (TTL_SECONDS + 15 + 10) * 1000);
    await webhook.restart();
  }, 120_000);
});
