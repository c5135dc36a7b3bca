/**
 * SPEC §9 against the running `placement-quota serve` process, over TLS, as any client would reach it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { connect as tlsConnect } from 'node:tls';
import { anAdmissionReview, aPlacement } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace } from './support/cluster.js';
import { apiServerIdentity, startTestWebhook, type TestWebhook } from './support/webhook.js';

let webhook: TestWebhook;
let ca: string;
let port: number;

beforeAll(async () => {
  webhook = await startTestWebhook(await freshNamespace('bad-input'));
  ca = readFileSync(webhook.set.caFile, 'utf8');
  port = webhook.set.replicas[0]?.port ?? 0;
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  await deleteFreshNamespaces();
});

const post = (body: string | Buffer, contentType?: string) => webhook.post(0, body, contentType);

const review = (object: Record<string, unknown>) => JSON.stringify(anAdmissionReview({ uid: 'u-1', object }));

describe('bad input to the running webhook', () => {
  it.each([
    { name: 'body not JSON', body: 'not json', status: 400, message: /^body is not JSON/ },
    { name: 'not an AdmissionReview', body: '{"kind":"Pod"}', status: 400, message: /^not an AdmissionReview admission\.k8s\.io\/v1/ },
    { name: 'wrong apiVersion', body: review(aPlacement('a')).replace('"admission.k8s.io/v1"', '"admission.k8s.io/v1beta1"'), status: 400, message: /apiVersion must be admission\.k8s\.io\/v1/ },
  ])('$name → HTTP $status with a reason', async ({ body, status, message }) => {
    const reply = await post(body);
    expect(reply.status).toBe(status);
    expect(reply.json.message).toMatch(message);
  });

  it('answers a body declared over the 3 MiB limit with 413 before reading it', async () => {
    // A raw TLS socket: the server answers and closes without reading the body, so a client still
    // writing 3 MiB would see EPIPE before the answer. Sending only the headers shows the answer itself.
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', ...apiServerIdentity() });
    await once(socket, 'secureConnect');
    socket.write('POST /validate/workloadplacements HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 3145729\r\n\r\n{');
    let answer = '';
    for await (const chunk of socket) answer += String(chunk);
    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer).toContain('"message":"body over the 3145728-byte limit"');
  });

  it('answers a malformed object with 200, allowed: false, 422 naming the field', async () => {
    const reply = await post(review(aPlacement('a', { requirements: { cpu: '-2' } })));
    expect(reply.status).toBe(200);
    expect(reply.json.response).toEqual({
      uid: 'u-1',
      allowed: false,
      status: { code: 422, reason: 'Invalid', message: 'invalid WorkloadPlacement: spec.resourceRequirements.cpu: invalid quantity "-2": must not be negative' },
    });
  });

  it('refuses plain HTTP on the TLS port: no HTTP answer, the connection is closed', async () => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz' });
    req.end();
    const [error] = (await once(req, 'error')) as [NodeJS.ErrnoException];
    expect(['ECONNRESET', 'EPIPE', 'HPE_INVALID_CONSTANT']).toContain(error.code);
  });

  it('refuses TLS 1.1', async () => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost', maxVersion: 'TLSv1.1', minVersion: 'TLSv1' });
    const [error] = (await once(socket, 'error')) as [Error];
    expect(error.message).toMatch(/protocol version|no protocols available|unsupported protocol/i);
  });

  it('is still healthy and deciding afterwards', async () => {
    const reply = await post(review(aPlacement('fine')));
    expect(reply.json.response).toEqual({ uid: 'u-1', allowed: true });
  });
});
