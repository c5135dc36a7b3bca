import * as crypto from 'node:crypto';
import { EventEmitter, once } from 'node:events';
import * as fs from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import * as tls from 'node:tls';
import { afterEach, beforeAll, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { pino } from 'pino';
import { makeCertificates, writeCertificates, writeFileAtomic, type CertificateSet } from '../../../scripts/lib/certs.js';
import { loadTlsMaterial, watchTlsMaterial, type TlsMaterial, type TlsMaterialError, type TlsWatcher } from '../../../src/ops/tls.js';
import { createHttpsServer, type HttpsServerLog, type ServerLimits, type WebhookHttpsServer } from '../../../src/webhook/https-server.js';

const SERVICE_DNS = [
  'placement-quota-webhook',
  'placement-quota-webhook.placement-quota-system',
  'placement-quota-webhook.placement-quota-system.svc',
  'placement-quota-webhook.placement-quota-system.svc.cluster.local',
];

interface LogEntry {
  level: 'debug' | 'info' | 'warn';
  fields: object;
  message: string;
}

function recordingLog(): HttpsServerLog & { entries: LogEntry[] } {
  const entries: LogEntry[] = [];
  return {
    entries,
    debug: (fields, message) => entries.push({ level: 'debug', fields, message }),
    info: (fields, message) => entries.push({ level: 'info', fields, message }),
    warn: (fields, message) => entries.push({ level: 'warn', fields, message }),
  };
}

/** A handler that answers at once, except `/slow`, which waits until the test releases it. */
function testHandler(): { handler: RequestListener; arrived: EventEmitter; release: () => void } {
  const arrived = new EventEmitter();
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const answer = (): void => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    };
    if (req.url !== '/slow') return answer();
    arrived.emit('slow');
    void gate.then(answer);
  };
  return { handler, arrived, release };
}

interface Response {
  status: number | undefined;
  headers: IncomingMessage['headers'];
  body: string;
  reused: boolean;
  socket: tls.TLSSocket;
}

async function get(port: number, agent: https.Agent, urlPath = '/'): Promise<Response> {
  const req = https.request({ host: '127.0.0.1', port, path: urlPath, agent, servername: 'localhost' });
  // The response lets go of its socket once it ends; the test needs it afterwards.
  const socket = once(req, 'socket') as Promise<[tls.TLSSocket]>;
  req.end();
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode, headers: res.headers, body, reused: req.reusedSocket, socket: (await socket)[0] };
}

/** Resolves when the socket closes. A reset or a failed write is how a client sees the server hang up, so errors only end the wait. */
async function closed(socket: net.Socket): Promise<void> {
  socket.on('error', () => {});
  // A paused socket with unread data (the server's 408) never gets to 'close'.
  socket.resume();
  if (!socket.destroyed) await once(socket, 'close');
}

async function handshake(port: number, options: tls.ConnectionOptions): Promise<tls.TLSSocket> {
  const socket = tls.connect({ host: '127.0.0.1', port, ...options });
  await once(socket, 'secureConnect');
  return socket;
}

async function handshakeError(port: number, options: tls.ConnectionOptions): Promise<NodeJS.ErrnoException> {
  const socket = tls.connect({ host: '127.0.0.1', port, ...options });
  try {
    await once(socket, 'secureConnect');
  } catch (err) {
    return err as NodeJS.ErrnoException;
  } finally {
    socket.destroy();
  }
  throw new Error('the handshake succeeded');
}

// Real sockets, real files and RSA keys: a generous limit for a loaded machine. Nothing here asserts speed.
jest.setTimeout(30_000);

/** Made once: RSA key generation is the slow part of these tests. */
let certs: CertificateSet;
let other: CertificateSet;
let sameCa: CertificateSet;
beforeAll(() => {
  certs = makeCertificates();
  other = makeCertificates();
  sameCa = makeCertificates({ ca: { cert: certs.caCert, key: certs.caKey } });
});

let dir: string;
let material: TlsMaterial;
let webhook: WebhookHttpsServer | undefined;
let watcher: TlsWatcher | undefined;
const agents: https.Agent[] = [];
const sockets: net.Socket[] = [];

beforeEach(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-https-'));
  writeFileAtomic(path.join(dir, 'ca.crt'), certs.caCert, 0o644);
  writeFileAtomic(path.join(dir, 'ca.key'), certs.caKey, 0o600);
  writeFileAtomic(path.join(dir, 'tls.key'), certs.key, 0o600);
  writeFileAtomic(path.join(dir, 'tls.crt'), certs.cert, 0o644);
  material = await loadTlsMaterial(path.join(dir, 'tls.crt'), path.join(dir, 'tls.key'));
});

afterEach(async () => {
  watcher?.close();
  watcher = undefined;
  for (const agent of agents.splice(0)) agent.destroy();
  for (const socket of sockets.splice(0)) socket.destroy();
  await webhook?.close(0);
  webhook = undefined;
  fs.rmSync(dir, { recursive: true, force: true });
});

async function start(
  options: { handler?: RequestListener; limits?: Partial<ServerLimits>; log?: HttpsServerLog } = {},
): Promise<{ port: number; webhook: WebhookHttpsServer }> {
  webhook = createHttpsServer({
    material,
    handler: options.handler ?? testHandler().handler,
    limits: options.limits,
    log: options.log ?? recordingLog(),
  });
  webhook.server.listen(0, '127.0.0.1');
  await once(webhook.server, 'listening');
  return { port: (webhook.server.address() as net.AddressInfo).port, webhook };
}

function keepAliveAgent(ca: string = certs.caCert): https.Agent {
  const agent = new https.Agent({ keepAlive: true, maxSockets: 1, ca });
  agents.push(agent);
  return agent;
}

function track<T extends net.Socket>(socket: T): T {
  sockets.push(socket);
  return socket;
}

describe('TLS', () => {
  it('completes a handshake trusting only ca.crt, and presents the serving cert issued by that CA', async () => {
    const { port } = await start();
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'placement-quota-webhook.placement-quota-system.svc' }));

    expect(socket.authorized).toBe(true);
    expect(socket.authorizationError).toBeNull();
    expect(['TLSv1.2', 'TLSv1.3']).toContain(socket.getProtocol());
    const leaf = socket.getPeerCertificate(true);
    expect(leaf.fingerprint256).toBe(material.fingerprint256);
    expect(leaf.issuerCertificate.fingerprint256).toBe(new crypto.X509Certificate(certs.caCert).fingerprint256);
    expect(leaf.issuer).toEqual(leaf.issuerCertificate.subject);
    const sans = (leaf.subjectaltname ?? '').split(', ');
    expect(sans).toEqual(expect.arrayContaining(['DNS:localhost', 'IP Address:127.0.0.1', ...SERVICE_DNS.map((name) => `DNS:${name}`)]));
  });

  it('verifies the IP address SAN when the client connects by address', async () => {
    const { port } = await start();
    // No servername: Node checks the certificate against the host, 127.0.0.1.
    const socket = track(await handshake(port, { ca: certs.caCert }));
    expect(socket.authorized).toBe(true);
  });

  it('fails verification for a client that trusts another CA', async () => {
    const { port } = await start();
    const err = await handshakeError(port, { ca: other.caCert, servername: 'localhost' });
    expect(err.code).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('refuses a client limited to TLS 1.1, also after a reload', async () => {
    const { port, webhook } = await start();
    // The client may offer TLS 1.0-1.1 (SECLEVEL=0 lets OpenSSL 3 try); the alert comes from the server.
    const old: tls.ConnectionOptions = { ca: certs.caCert, servername: 'localhost', minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' };
    expect((await handshakeError(port, old)).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');

    webhook.reload(sameCa);
    expect((await handshakeError(port, old)).code).toBe('ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION');
    expect(track(await handshake(port, { ca: certs.caCert, servername: 'localhost', maxVersion: 'TLSv1.2' })).authorized).toBe(true);
  });

  // SECLEVEL=0 lets the client offer what it likes: the refusal must come from the server.
  it.each(['AES128-SHA', 'AES256-SHA', 'AES128-SHA256', 'AES256-GCM-SHA384'])(
    'refuses the TLS 1.2 suite %s (no forward secrecy), also after a reload',
    async (suite) => {
      const { port, webhook } = await start();
      const offer: tls.ConnectionOptions = { ca: certs.caCert, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers: `${suite}@SECLEVEL=0` };
      expect((await handshakeError(port, offer)).code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
      webhook.reload(sameCa);
      expect((await handshakeError(port, offer)).code).toBe('ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE');
    },
  );

  it.each([
    { suite: 'ECDHE-RSA-AES128-GCM-SHA256', standard: 'TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256' },
    { suite: 'ECDHE-RSA-AES256-GCM-SHA384', standard: 'TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384' },
    { suite: 'ECDHE-RSA-CHACHA20-POLY1305', standard: 'TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256' },
  ])('negotiates the TLS 1.2 suite $suite', async ({ suite, standard }) => {
    const { port } = await start();
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost', maxVersion: 'TLSv1.2', ciphers: suite }));
    expect(socket.authorized).toBe(true);
    expect(socket.getProtocol()).toBe('TLSv1.2');
    expect(socket.getCipher().standardName).toBe(standard);
  });

  it('still negotiates TLS 1.3 by default', async () => {
    const { port } = await start();
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost' }));
    expect(socket.getProtocol()).toBe('TLSv1.3');
  });

  it('refuses plain HTTP: no HTTP answer, the socket is closed, logged at debug only', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    // A real pino logger: the server's log port must accept one.
    const log: HttpsServerLog = pino({ level: 'debug' }, sink);
    const { port, webhook } = await start({ log });
    const socket = track(net.connect(port, '127.0.0.1'));
    await once(socket, 'connect');
    let received = '';
    socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
    const clientError = once(webhook.server, 'tlsClientError');
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n');

    await once(socket, 'close');
    await clientError;
    expect(received).not.toMatch(/HTTP\//);
    const entries = lines.map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(entries).toEqual([expect.objectContaining({ level: 20, msg: 'TLS handshake failed' })]);
  });
});

describe('certificate reload', () => {
  it('serves new connections with the new cert while a keep-alive connection from before keeps working', async () => {
    const { port, webhook } = await start();
    const events = new EventEmitter();
    watcher = watchTlsMaterial({
      certFile: material.certFile,
      keyFile: material.keyFile,
      current: material,
      log: recordingLog(),
      onChange: (next) => {
        webhook.reload(next);
        events.emit('reloaded', next);
      },
      onError: (err) => events.emit('failed', err),
    });
    const oldAgent = keepAliveAgent();
    const before = await get(port, oldAgent);
    expect(before.socket.getPeerCertificate().fingerprint256).toBe(material.fingerprint256);

    const renewed = writeCertificates(dir, { newCa: true });
    const [next] = (await once(events, 'reloaded')) as [TlsMaterial];
    expect(next.cert).toBe(renewed.cert);

    const fresh = track(await handshake(port, { ca: renewed.caCert, servername: 'localhost' }));
    expect(fresh.authorized).toBe(true);
    expect(fresh.getPeerCertificate().fingerprint256).toBe(next.fingerprint256);
    expect(next.fingerprint256).not.toBe(material.fingerprint256);

    const after = await get(port, oldAgent, '/after-reload');
    expect(after).toMatchObject({ status: 200, reused: true, body: '{"path":"/after-reload"}' });
    expect(after.socket).toBe(before.socket);
    expect(after.socket.getPeerCertificate().fingerprint256).toBe(material.fingerprint256);
  });

  it('does not apply a mismatched or half-written pair; the old cert keeps serving and onError hears of it', async () => {
    const { port, webhook } = await start();
    const events = new EventEmitter();
    const applied: TlsMaterial[] = [];
    watcher = watchTlsMaterial({
      certFile: material.certFile,
      keyFile: material.keyFile,
      current: material,
      log: recordingLog(),
      retryMs: 50,
      onChange: (next) => {
        applied.push(next);
        webhook.reload(next);
      },
      onError: (err) => events.emit('failed', err),
    });

    writeFileAtomic(material.keyFile, other.key, 0o600);
    const [mismatch] = (await once(events, 'failed')) as [TlsMaterialError];
    expect(mismatch.code).toBe('TLS_KEY_MISMATCH');

    fs.writeFileSync(material.keyFile, sameCa.key);
    fs.writeFileSync(material.certFile, sameCa.cert.slice(0, 300));
    const [halfWritten] = (await once(events, 'failed')) as [TlsMaterialError];
    expect(halfWritten.code).toBe('TLS_CERT_INVALID');

    expect(applied).toHaveLength(0);
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost' }));
    expect(socket.getPeerCertificate().fingerprint256).toBe(material.fingerprint256);
  });

  it('reload throws on an unusable pair and leaves the old one in place', async () => {
    const { port, webhook } = await start();
    expect(() => webhook.reload({ cert: certs.cert, key: other.key })).toThrow();
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost' }));
    expect(socket.getPeerCertificate().fingerprint256).toBe(material.fingerprint256);
  });
});

describe('slow and stalled clients', () => {
  const short: Partial<ServerLimits> = { headersTimeoutMs: 300, requestTimeoutMs: 600, handshakeTimeoutMs: 300 };

  it('disconnects a client that never finishes its headers', async () => {
    const { port } = await start({ limits: short });
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost' }));
    socket.write('POST /validate/workloadplacements HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
    const dripping = setInterval(() => socket.write('a'), 50);
    try {
      await closed(socket);
    } finally {
      clearInterval(dripping);
    }
    expect(socket.destroyed).toBe(true);
  });

  it('disconnects a client that never finishes its body', async () => {
    const { port } = await start({ limits: short });
    const socket = track(await handshake(port, { ca: certs.caCert, servername: 'localhost' }));
    socket.write('POST /validate/workloadplacements HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"apiVersion"');
    await closed(socket);
    expect(socket.destroyed).toBe(true);
  });

  it('disconnects a client that opens TCP and never starts the handshake', async () => {
    const { port } = await start({ limits: short });
    const socket = track(net.connect(port, '127.0.0.1'));
    await once(socket, 'connect');
    await closed(socket);
    expect(socket.destroyed).toBe(true);
  });

  it('keeps reusing a keep-alive connection that sat idle longer than both request timeouts', async () => {
    const { port } = await start({ limits: { ...short, keepAliveTimeoutMs: 5_000 } });
    const agent = keepAliveAgent();
    const first = await get(port, agent);
    await sleep(1_000);
    const second = await get(port, agent);
    expect(second).toMatchObject({ status: 200, reused: true });
    expect(second.socket).toBe(first.socket);
  });

  it('keeps idle connections longer than the API server (90 s) by default', async () => {
    const { webhook } = await start();
    expect(webhook.server.keepAliveTimeout).toBeGreaterThan(90_000);
    expect(webhook.server.headersTimeout).toBeLessThanOrEqual(webhook.server.requestTimeout);
    expect(webhook.server.requestTimeout).toBeLessThanOrEqual(30_000);
  });
});

describe('close', () => {
  it('stops accepting, keeps serving on open connections with Connection: close, and lets an in-flight request finish', async () => {
    const test = testHandler();
    const { port, webhook } = await start({ handler: test.handler, limits: { idleDrainMs: 60_000 } });
    const agent = keepAliveAgent();
    const idle = await get(port, agent);
    const arrived = once(test.arrived, 'slow');
    const inFlight = get(port, keepAliveAgent(), '/slow');
    await arrived;

    const closing = webhook.close(60_000);
    const refused = await new Promise<NodeJS.ErrnoException>((resolve) => {
      net.connect(port, '127.0.0.1').on('error', resolve);
    });
    expect(refused.code).toBe('ECONNREFUSED');
    // A client writing onto its idle connection as the shutdown starts is answered, not reset
    // (the API server does not retry a POST), and told not to reuse the connection.
    const late = await get(port, agent);
    expect([late.status, late.socket === idle.socket, late.headers.connection]).toEqual([200, true, 'close']);

    test.release();
    const response = await inFlight;
    expect(response).toMatchObject({ status: 200, body: '{"path":"/slow"}' });
    expect(response.headers.connection).toBe('close');
    await closing;
    expect(webhook.server.listening).toBe(false);
  });

  it('closes a keep-alive connection once it has been idle for idleDrainMs', async () => {
    const { port, webhook } = await start({ handler: testHandler().handler, limits: { idleDrainMs: 50 } });
    const idle = await get(port, keepAliveAgent());
    const closing = webhook.close(60_000);
    // Had the idle connection been left to its keep-alive timeout (120 s), this would time the test out.
    await closed(idle.socket);
    await closing;
  });

  it('cuts what is still running when the grace period is over', async () => {
    const test = testHandler();
    const log = recordingLog();
    const { port, webhook } = await start({ handler: test.handler, log });
    const arrived = once(test.arrived, 'slow');
    const inFlight = get(port, keepAliveAgent(), '/slow').then(
      () => 'answered',
      (err: NodeJS.ErrnoException) => err.code,
    );
    await arrived;
    const stalled = track(net.connect(port, '127.0.0.1'));
    await once(stalled, 'connect');

    await webhook.close(100);
    expect(await inFlight).toBe('ECONNRESET');
    await closed(stalled);
    expect(log.entries.map((entry) => `${entry.level} ${entry.message}`)).toContain(
      'warn grace period over; closing the remaining connections',
    );
    test.release();
  });
});
