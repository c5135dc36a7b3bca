import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decisionConfigSchema } from '../../../src/api/config.js';
import { ReservationLedger } from '../../../src/state/reservations.js';
import type { TrackedState } from '../../../src/state/tracked-state.js';
import { createRequestListener } from '../../../src/webhook/app.js';
import { createReviewer, type Readiness } from '../../../src/webhook/reviewer.js';
import { anAdmissionReview, aPlacement, aQuota, aSyncTarget, NOW, stateOf } from '../../builders/objects.js';

const silent = { debug: () => undefined, info: () => undefined };

interface Harness {
  server: Server;
  url: string;
  ledger: ReservationLedger;
  state: TrackedState;
  setReady(ready: boolean): void;
  clock: { now: number };
}

async function start(bodyLimit = 4096): Promise<Harness> {
  const state = stateOf(aSyncTarget('us-east-1'), aQuota('compute', { hard: { cpu: '4', placements: '10' }, soft: { cpu: '3' } }));
  const ledger = new ReservationLedger();
  let ready = true;
  const readiness: Readiness = () => (ready ? { ready: true } : { ready: false, why: 'tracker has not synced' });
  const clock = { now: NOW };
  const review = createReviewer({ state, ledger, readiness, config: decisionConfigSchema.parse({}), reservationTtlMs: 30_000, clock: () => clock.now, log: silent });
  const server = createServer(createRequestListener({ review, readiness, bodyLimit, onError: () => undefined }));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://127.0.0.1:${port}`, ledger, state, setReady: (value) => (ready = value), clock };
}

interface Reply {
  status: number;
  json: Record<string, unknown>;
}

async function post(h: Harness, body: string | Buffer, headers: Record<string, string> = { 'content-type': 'application/json' }, path = '/validate/workloadplacements?timeout=5s'): Promise<Reply> {
  const req = request(`${h.url}${path}`, { method: 'POST', headers });
  req.end(body);
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return { status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> };
}

const review = (options: Parameters<typeof anAdmissionReview>[0]) => JSON.stringify(anAdmissionReview(options));

describe('POST /validate/workloadplacements', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start();
  });
  afterAll(() => {
    h.server.close();
  });

  it('admits a fitting placement, echoing the uid, and reserves its charge', async () => {
    const reply = await post(h, review({ uid: 'fits', object: aPlacement('a', { requirements: { cpu: '1' }, clusters: ['us-east-1'] }) }));
    expect(reply).toEqual({ status: 200, json: { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'fits', allowed: true } } });
    expect(h.ledger.size).toBe(1);
  });

  it('counts what it reserved: the next review sees it', async () => {
    const reply = await post(h, review({ uid: 'over', object: aPlacement('b', { requirements: { cpu: '4' }, clusters: ['us-east-1'] }) }));
    expect(reply.json.response).toEqual({
      uid: 'over',
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: 'exceeded quota team-a/compute: cpu requested 4, used 1, hard 4' },
    });
  });

  it('evaluates a dry run the same way and reserves nothing', async () => {
    const before = h.ledger.size;
    const reply = await post(h, review({ uid: 'dry', dryRun: true, object: aPlacement('c', { requirements: { cpu: '3' } }) }));
    expect(reply.json.response).toEqual({
      uid: 'dry',
      allowed: true,
      warnings: ['quota team-a/compute is over its soft limit: cpu requested 3, used 1, soft 3, hard 4'],
    });
    expect(h.ledger.size).toBe(before);
  });

  it('does not count a retried review of the same request twice', async () => {
    const object = aPlacement('d', { requirements: { cpu: '2' } });
    await post(h, review({ uid: 'retry', object }));
    const again = await post(h, review({ uid: 'retry', object }));
    expect(again.json.response).toMatchObject({ uid: 'retry', allowed: true });
  });

  it('frees a reservation when it expires', async () => {
    const denied = await post(h, review({ uid: 'late', object: aPlacement('e', { requirements: { cpu: '2' } }) }));
    expect(denied.json.response).toMatchObject({ allowed: false });
    h.clock.now += 30_001;
    const admitted = await post(h, review({ uid: 'late', object: aPlacement('e', { requirements: { cpu: '2' } }) }));
    expect(admitted.json.response).toMatchObject({ allowed: true });
  });

  it('refuses a malformed object with 422 naming the field', async () => {
    const reply = await post(h, review({ uid: 'bad', object: aPlacement('f', { requirements: { cpu: '2 cores' } }) }));
    expect(reply.status).toBe(200);
    expect(reply.json.response).toMatchObject({ uid: 'bad', allowed: false, status: { code: 422, reason: 'Invalid', message: expect.stringContaining('spec.resourceRequirements.cpu: invalid quantity "2 cores"') } });
  });

  it('allows DELETE untouched', async () => {
    const reply = await post(h, review({ uid: 'del', operation: 'DELETE', oldObject: aPlacement('a') }));
    expect(reply.json.response).toEqual({ uid: 'del', allowed: true });
  });

  it('fails closed while the tracker is not synced', async () => {
    h.setReady(false);
    const reply = await post(h, review({ uid: 'early', object: aPlacement('g') }));
    h.setReady(true);
    expect(reply.json.response).toEqual({
      uid: 'early',
      allowed: false,
      status: { code: 503, reason: 'ServiceUnavailable', message: 'placement-quota-webhook is not ready (tracker has not synced); retry shortly' },
    });
  });
});

describe('bad input (SPEC §9) at the HTTP level', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await start(4096);
  });
  afterAll(() => {
    h.server.close();
  });

  it.each([
    { name: 'body not JSON', body: '{"apiVersion":', status: 400, message: /^body is not JSON: / },
    { name: 'JSON but not an AdmissionReview', body: '{"hello":"world"}', status: 400, message: /^not an AdmissionReview admission\.k8s\.io\/v1: apiVersion: apiVersion must be admission\.k8s\.io\/v1/ },
    { name: 'wrong apiVersion', body: review({}).replace('admission.k8s.io/v1', 'admission.k8s.io/v1beta1'), status: 400, message: /apiVersion must be admission\.k8s\.io\/v1/ },
    { name: 'a request without uid', body: JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { operation: 'CREATE' } }), status: 400, message: /request\.uid: / },
    { name: 'over the size limit', body: Buffer.alloc(5000, 0x20), status: 413, message: /^body over the 4096-byte limit$/ },
  ])('$name → HTTP $status', async ({ body, status, message }) => {
    const reply = await post(h, body);
    expect(reply.status).toBe(status);
    expect(reply.json.message).toMatch(message);
  });

  it('refuses a body that is not declared as JSON', async () => {
    const reply = await post(h, review({}), { 'content-type': 'text/plain' });
    expect(reply).toEqual({ status: 400, json: { code: 400, message: 'expected content-type application/json, got "text/plain"' } });
  });

  it('stops reading an endless chunked body at the limit', async () => {
    const req = request(`${h.url}/validate/workloadplacements`, { method: 'POST', headers: { 'content-type': 'application/json' } });
    // The server may close while a chunk is in flight: that write error is expected, the 413 is the point.
    req.on('error', () => undefined);
    const chunk = Buffer.alloc(1024, 0x20);
    const pump = setInterval(() => req.write(chunk), 1);
    const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
    clearInterval(pump);
    req.destroy();
    expect(res.statusCode).toBe(413);
  });

  it('is still healthy after all that', async () => {
    const reply = await post(h, review({ uid: 'after', object: aPlacement('z') }));
    expect(reply.json.response).toEqual({ uid: 'after', allowed: true });
  });
});
