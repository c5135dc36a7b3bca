/**
 * Caller authentication (SPEC §8) with real handshakes: the HTTPS server asks for a client
 * certificate and verifies it against the client CA; the request listener refuses an unverified
 * caller on the admission path before reading its body, and leaves the probes open.
 */
import { EventEmitter, once } from 'node:events';
import * as fs from 'node:fs';
import type { IncomingMessage } from 'node:http';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tls from 'node:tls';
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { makeCertificates, makeClientCertificate, writeFileAtomic, type CertificateSet } from '../../../scripts/lib/certs.js';
import type { AdmissionRequest } from '../../../src/api/admission-review.js';
import { loadTlsMaterial, watchTlsMaterial, type TlsMaterial, type TlsWatcher } from '../../../src/ops/tls.js';
import { createRequestListener, type WebhookRequestListener } from '../../../src/webhook/app.js';
import type { CallerPolicy } from '../../../src/webhook/caller-auth.js';
import { createHttpsServer, type WebhookHttpsServer } from '../../../src/webhook/https-server.js';
import { anAdmissionReview, aPlacement } from '../../builders/objects.js';

jest.setTimeout(30_000);

const quiet = { debug: () => {}, info: () => {}, warn: () => {} };

let serving: CertificateSet;
/** The API server's client certificate and its CA. */
let apiServer: CertificateSet;
/** Signed by the same CA, another name. */
let sameCaOther: CertificateSet;
/** A well-formed client certificate from a CA the webhook does not trust. */
let stranger: CertificateSet;
/** What a rotated client CA signs. */
let rotated: CertificateSet;
beforeAll(() => {
  serving = makeCertificates();
  apiServer = makeClientCertificate({ commonName: 'kube-apiserver-webhook-client' });
  sameCaOther = makeClientCertificate({ commonName: 'someone-else', ca: { cert: apiServer.caCert, key: apiServer.caKey } });
  stranger = makeClientCertificate({ commonName: 'kube-apiserver-webhook-client' });
  rotated = makeClientCertificate({ commonName: 'kube-apiserver-webhook-client' });
});

interface Harness {
  port: number;
  listener: WebhookRequestListener;
  reviewed: AdmissionRequest[];
  events: EventEmitter;
  server: WebhookHttpsServer;
}

let dir: string;
let material: TlsMaterial;
let harness: Harness | undefined;
let watcher: TlsWatcher | undefined;

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-client-auth-'));
  writeFileAtomic(path.join(dir, 'tls.key'), serving.key, 0o600);
  writeFileAtomic(path.join(dir, 'tls.crt'), serving.cert, 0o644);
  writeFileAtomic(path.join(dir, 'client-ca.crt'), apiServer.caCert, 0o644);
  material = await loadTlsMaterial(path.join(dir, 'tls.crt'), path.join(dir, 'tls.key'), path.join(dir, 'client-ca.crt'));
});

afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  await harness?.server.close(0);
  harness = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

/** `callers` null: caller authentication off (no `tls.clientCAFile`). */
async function start(callers: CallerPolicy | null = {}): Promise<Harness> {
  const reviewed: AdmissionRequest[] = [];
  const events = new EventEmitter();
  const listener = createRequestListener({
    review: (request) => {
      reviewed.push(request);
      return { uid: request.uid, allowed: true };
    },
    readiness: () => ({ ready: true }),
    onError: (error) => events.emit('error-logged', error),
    ...(callers === null ? {} : { callers }),
    onCallerRefused: (reason) => events.emit('refused', reason),
    onClientGone: (error) => events.emit('gone', error),
  });
  const server = createHttpsServer({ material, handler: listener, log: quiet });
  server.server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  harness = { port: (server.server.address() as AddressInfo).port, listener, reviewed, events, server };
  return harness;
}

interface Reply {
  status: number;
  body: string;
}

async function call(port: number, urlPath: string, options: { as?: CertificateSet; body?: string } = {}): Promise<Reply> {
  const identity = options.as ? { cert: options.as.cert, key: options.as.key } : {};
  const method = options.body === undefined ? 'GET' : 'POST';
  const req = https.request({ host: '127.0.0.1', port, path: urlPath, method, ca: serving.caCert, servername: 'localhost', agent: false, headers: { 'content-type': 'application/json' }, ...identity });
  req.end(options.body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body };
}

const aReview = (uid: string): string => JSON.stringify(anAdmissionReview({ uid, object: aPlacement('p', { requirements: { cpu: '1' } }) }));
const VALIDATE = '/validate/workloadplacements?timeout=5s';
const REFUSED = { code: 401, message: 'a verified client certificate is required: only the API server may call this webhook' };

describe('the admission path with tls.clientCAFile', () => {
  it('answers the API server, whose certificate the client CA signed', async () => {
    const h = await start();
    const reply = await call(h.port, VALIDATE, { as: apiServer, body: aReview('u-ok') });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ response: { uid: 'u-ok', allowed: true } });
    expect(h.reviewed.map((r) => r.uid)).toEqual(['u-ok']);
  });

  it.each([
    { who: 'a client without a certificate', as: undefined, reason: 'no client certificate' },
    { who: 'a client whose certificate another CA signed', as: 'stranger' as const, reason: 'not verified against the client CA' },
  ])('refuses $who with 401, reviews nothing, counts it', async ({ as, reason }) => {
    const h = await start();
    const refused = once(h.events, 'refused') as Promise<[string]>;
    const reply = await call(h.port, VALIDATE, { as: as === 'stranger' ? stranger : undefined, body: aReview('u-forged') });
    expect(reply.status).toBe(401);
    expect(JSON.parse(reply.body)).toEqual(REFUSED);
    expect((await refused)[0]).toContain(reason);
    expect(h.reviewed).toEqual([]);
    expect(h.listener.stats()).toEqual({ callersRefused: 1, clientsGone: 0 });
  });

  it('refuses before reading the body: a request whose body never comes is answered 401 and closed', async () => {
    const h = await start();
    const socket = tls.connect({ host: '127.0.0.1', port: h.port, ca: serving.caCert, servername: 'localhost' });
    await once(socket, 'secureConnect');
    // Headers only: had the server waited for the 100 declared bytes, no answer would come.
    socket.write(`POST ${VALIDATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n`);
    let answer = '';
    for await (const chunk of socket) answer += String(chunk);
    expect(answer).toMatch(/^HTTP\/1\.1 401 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(h.reviewed).toEqual([]);
  });

  it.each(['/healthz', '/readyz'])('answers %s without a client certificate (the kubelet has none)', async (probe) => {
    const h = await start();
    expect(await call(h.port, probe)).toEqual({ status: 200, body: 'ok\n' });
    expect(h.listener.stats().callersRefused).toBe(0);
  });

  it('with tls.clientNames, refuses a certificate of the right CA that names someone else', async () => {
    const h = await start({ names: ['kube-apiserver-webhook-client'] });
    const refused = once(h.events, 'refused') as Promise<[string]>;
    expect((await call(h.port, VALIDATE, { as: sameCaOther, body: aReview('u-other') })).status).toBe(401);
    expect((await refused)[0]).toBe('client certificate names ["someone-else"] are not among tls.clientNames');
    expect((await call(h.port, VALIDATE, { as: apiServer, body: aReview('u-named') })).status).toBe(200);
    expect(h.reviewed.map((r) => r.uid)).toEqual(['u-named']);
  });

  it('without tls.clientNames, any certificate of the client CA is the API server', async () => {
    const h = await start();
    expect((await call(h.port, VALIDATE, { as: sameCaOther, body: aReview('u-same-ca') })).status).toBe(200);
  });

  it('follows a rotated client CA file: the new CA signs callers, the old one no longer does', async () => {
    const h = await start();
    const reloaded = new EventEmitter();
    watcher = watchTlsMaterial({
      certFile: material.certFile,
      keyFile: material.keyFile,
      clientCaFile: path.join(dir, 'client-ca.crt'),
      current: material,
      log: quiet,
      onChange: (next) => {
        h.server.reload(next);
        reloaded.emit('done', next);
      },
      onError: (err) => reloaded.emit('failed', err),
    });
    writeFileAtomic(path.join(dir, 'client-ca.crt'), rotated.caCert, 0o644);
    const [next] = (await once(reloaded, 'done')) as [TlsMaterial];
    expect(next.clientCa).toBe(rotated.caCert);

    expect((await call(h.port, VALIDATE, { as: rotated, body: aReview('u-rotated') })).status).toBe(200);
    expect((await call(h.port, VALIDATE, { as: apiServer, body: aReview('u-old-ca') })).status).toBe(401);
    expect(h.reviewed.map((r) => r.uid)).toEqual(['u-rotated']);
  });

  it('refuses a reload without a client CA: the system roots must never stand in for it', async () => {
    const h = await start();
    expect(() => h.server.reload({ cert: serving.cert, key: serving.key })).toThrow(/client CA/);
    expect((await call(h.port, VALIDATE, { as: apiServer, body: aReview('u-still') })).status).toBe(200);
  });
});

describe('without tls.clientCAFile', () => {
  it('asks for no certificate and answers any TLS client, as before', async () => {
    material = await loadTlsMaterial(material.certFile, material.keyFile);
    const h = await start(null);
    const accepted = once(h.server.server, 'secureConnection') as Promise<[tls.TLSSocket]>;
    const socket = tls.connect({ host: '127.0.0.1', port: h.port, ca: serving.caCert, servername: 'localhost', cert: apiServer.cert, key: apiServer.key });
    await once(socket, 'secureConnect');
    // The server sent no CertificateRequest, so the client's certificate was never presented.
    expect((await accepted)[0].getPeerCertificate()).toEqual({});
    socket.destroy();
    expect((await call(h.port, VALIDATE, { body: aReview('u-open') })).status).toBe(200);
  });
});

describe('a client that goes away mid-body', () => {
  it('is counted and reported as gone, not as an error', async () => {
    const h = await start();
    const gone = once(h.events, 'gone') as Promise<[Error]>;
    const errors: unknown[] = [];
    h.events.on('error-logged', (error) => errors.push(error));
    const socket = tls.connect({ host: '127.0.0.1', port: h.port, ca: serving.caCert, servername: 'localhost', cert: apiServer.cert, key: apiServer.key });
    await once(socket, 'secureConnect');
    // Hang up only once the server has the request (the route is then reading its body).
    const requested = once(h.server.server, 'request');
    socket.write(`POST ${VALIDATE} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion"`);
    await requested;
    socket.destroy();
    const [error] = await gone;
    expect(error.message).toMatch(/aborted/);
    expect(errors).toEqual([]);
    expect(h.listener.stats()).toEqual({ callersRefused: 0, clientsGone: 1 });
  });
});
