/**
 * SPEC §8, §9 (issue 14, defect 1): only the API server may call the admission path. The replicas run
 * with `tls.clientCAFile` (the CA of the client certificate the run's kube-apiserver presents through
 * its AdmissionConfiguration kubeconfig, scripts/lib/control-plane.ts); forged AdmissionReviews sent
 * straight to a replica without that certificate are refused and reserve nothing, the probes answer
 * without one, and placements created through the API server are decided as always.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { makeClientCertificate } from '../../scripts/lib/certs.js';
import { probe, type WebhookReplica } from '../../scripts/lib/webhook-processes.js';
import { anAdmissionReview, aPlacement, aQuota } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace, kubectl, quotaReservations, readySyncTarget } from './support/cluster.js';
import { apiServerIdentity, eventually, postTls, startTestWebhook, type ClientIdentity, type TestWebhook } from './support/webhook.js';

type Manifest = Record<string, unknown>;

const FORGED_PER_REPLICA = 5;
const REFUSAL = { code: 401, message: 'a verified client certificate is required: only the API server may call this webhook' };

let webhook: TestWebhook;
let ca: string;
let cluster: string;
let ns: string;
/** A well-formed client certificate, with the API server's very name, from a CA nobody configured. */
let impostor: ClientIdentity;

const apply = (manifest: Manifest) => kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });

const placement = (name: string, cpu: string): Manifest => {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, requirements: { cpu }, clusters: [cluster] });
  return { ...rest, metadata: { name, namespace: ns } };
};

/** A CREATE review that, if believed, would hold `cpu` of the quota (no dry run). */
const forged = (name: string, uid: string, cpu = '1'): string =>
  JSON.stringify(anAdmissionReview({ uid, object: { ...placement(name, cpu), metadata: { name, namespace: ns, uid: `obj-${uid}` } } }));

const portOf = (index: number): number => (webhook.set.replicas[index] as WebhookReplica).port;

/** The request uids the quota object holds reservations for, as the API server stores it. */
const reservations = (): Promise<string[]> => quotaReservations(ns);

beforeAll(async () => {
  webhook = await startTestWebhook('caller-auth', { replicas: 2 });
  ca = readFileSync(webhook.set.caFile, 'utf8');
  const other = makeClientCertificate({ commonName: 'kube-apiserver-webhook-client' });
  impostor = { cert: other.cert, key: other.key };
  cluster = await readySyncTarget('caller-auth', { cpu: '1000', memory: '1Ti' });

  ns = await freshNamespace('caller-auth');
  await webhook.cover(ns);
  expect((await apply(aQuota('limit', { namespace: ns, hard: { cpu: '4' } }))).code).toBe(0);
  // Each replica has the quota and the cluster once it refuses a dry run over the quota (as the API server asks).
  for (const index of webhook.set.replicas.keys()) {
    await eventually(async () => {
      const dryRun = JSON.stringify(anAdmissionReview({ uid: `probe-${index}`, dryRun: true, object: placement('probe', '1000') }));
      const reply = await webhook.post(index, dryRun);
      expect((reply.json.response as { status?: { message: string } }).status?.message).toContain(`exceeded quota ${ns}/limit`);
    });
  }
}, 120_000);

afterAll(async () => {
  await Promise.all([webhook?.stop(), cluster && kubectl(['delete', 'synctarget', cluster, '--ignore-not-found']), deleteFreshNamespaces()]);
}, 60_000);

describe('callers of the admission path', () => {
  it.each([
    { tag: 'no-cert', who: 'without a client certificate', as: (): ClientIdentity | undefined => undefined },
    { tag: 'other-ca', who: "with a certificate of the API server's name from another CA", as: (): ClientIdentity | undefined => impostor },
  ])('refuses forged reviews $who with 401 on every replica, and reserves nothing', async ({ tag, as }) => {
    const replies = await Promise.all(
      webhook.set.replicas.flatMap((_replica, index) =>
        Array.from({ length: FORGED_PER_REPLICA }, (_, i) => postTls(portOf(index), ca, forged(`forged-${i}`, `forged-${tag}-${index}-${i}`), { as: as() })),
      ),
    );
    expect(replies).toHaveLength(FORGED_PER_REPLICA * webhook.set.replicas.length);
    for (const reply of replies) expect(reply).toEqual({ status: 401, json: REFUSAL });
    // An allowed review is answered only after its reservation is written, so a 401 leaves nothing to wait for.
    expect(await reservations()).toEqual([]);
  }, 60_000);

  it.each(['/healthz', '/readyz'])('answers %s with 200 without a client certificate, on every replica', async (urlPath) => {
    for (const index of webhook.set.replicas.keys()) expect(await probe(portOf(index), urlPath, ca)).toBe(200);
  });

  it("holds quota for a review with the API server's certificate, so the check above could see one", async () => {
    const reply = await postTls(portOf(1), ca, forged('signed', `${ns}-signed`), { as: apiServerIdentity() });
    expect(reply).toMatchObject({ status: 200, json: { response: { uid: `${ns}-signed`, allowed: true } } });
    expect(await reservations()).toEqual([`${ns}-signed`]);
  }, 30_000);

  it('admits and denies creates through the API server as before: forged reviews took none of the quota', async () => {
    // Quota cpu 4, 1 held by the signed review: 3 fit. Had the forged reviews been believed, this would be refused.
    const admitted = await kubectl(['create', '-f', '-'], { input: JSON.stringify(placement('real-a', '3')) });
    expect(admitted).toMatchObject({ code: 0 });
    const denied = await kubectl(['create', '-f', '-'], { input: JSON.stringify(placement('real-b', '1')) });
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toContain(`denied the request: exceeded quota ${ns}/limit: cpu requested 1`);
    expect(denied.stderr).toContain('hard 4');
  }, 60_000);
});
