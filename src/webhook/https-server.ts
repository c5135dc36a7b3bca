/**
 * The HTTPS server the webhook listens on. It knows nothing of admission: the request listener (the
 * express app) is injected, and so are the certificate and key (see `src/ops/tls.ts` for loading and
 * watching them). What it owns is the connection behaviour the API server depends on: TLS 1.2+ with
 * forward-secret suites only, an optional request for the caller's client certificate (verified
 * against a given CA; what to do with an unverified caller is the request listener's decision),
 * certificate swaps without dropping connections, keep-alive that outlives the API server's idle
 * timeout, bounded waits for slow clients, and a shutdown that lets in-flight reviews finish.
 */
import { X509Certificate } from 'node:crypto';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import type { Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';

/** PEM certificate (chain) and key; `TlsMaterial` from `src/ops/tls.ts` fits. */
export interface ServingMaterial {
  cert: string;
  key: string;
  /**
   * PEM CA bundle. Given at creation, the server asks every client for a certificate and verifies it
   * against this bundle only (never the system roots); every reload must then give one too.
   */
  clientCa?: string;
}

/** Connection limits, in milliseconds. */
export interface ServerLimits {
  /** How long an idle keep-alive connection is kept open. */
  keepAliveTimeoutMs: number;
  /** How long a client may take from the first byte of a request to the end of its headers. */
  headersTimeoutMs: number;
  /** How long a client may take to send a whole request (headers and body); must be >= headersTimeoutMs. */
  requestTimeoutMs: number;
  /** How long a client may take to complete the TLS handshake. */
  handshakeTimeoutMs: number;
  /** While closing: how long a keep-alive connection must have been idle before it is closed. */
  idleDrainMs: number;
}

/**
 * Why these values:
 * - keepAliveTimeoutMs 120 s: kube-apiserver's HTTP/1.1 transport to webhooks keeps idle connections
 *   for 90 s and reuses them. If the server closes first (Node's default is 5 s) the API server can
 *   send a review on a connection that is being closed and gets a reset, which with
 *   `failurePolicy: Fail` rejects a user's request. So the server must be the one that waits longer.
 * - headersTimeoutMs 10 s, requestTimeoutMs 20 s: the API server sends a review in one write and gives
 *   up on the webhook after `timeoutSeconds` (5 s here, 30 s at most), so a request still incomplete
 *   after this long comes from a stalled or slow-loris client, not from the API server; a 3 MiB body
 *   needs well under a second inside a cluster. Node (18+) starts both clocks at the first byte of each
 *   request, not when a connection goes idle, so they do not shorten keep-alive reuse: an idle
 *   connection is governed only by keepAliveTimeoutMs. (The old advice to set headersTimeout above
 *   keepAliveTimeout dates from Node versions whose header clock ran during idle time; doing so here
 *   would let a stalled client hold a connection for two minutes.)
 * - handshakeTimeoutMs 10 s: a TCP connection that never finishes its handshake would otherwise be held
 *   for Node's default 120 s.
 * Node checks these deadlines on a timer, not per byte; the timer runs at a fifth of the shorter
 * one, so a stalled client is cut off within 10-12 s (headers) or 20-24 s (body).
 * - idleDrainMs 1 s: on shutdown, closing an idle keep-alive connection at once races the API server,
 *   which may be writing a review onto it that moment (it does not retry a POST: the user's create is
 *   refused; seen in rolling restarts on a real node). So every connection stays usable and each
 *   answer says `Connection: close`; a connection that has sat idle this long is one the client's
 *   pool is not about to use (it reuses the most recent), and only then is it closed.
 */
export const DEFAULT_SERVER_LIMITS: Readonly<ServerLimits> = {
  keepAliveTimeoutMs: 120_000,
  headersTimeoutMs: 10_000,
  requestTimeoutMs: 20_000,
  handshakeTimeoutMs: 10_000,
  idleDrainMs: 1_000,
};

/** What the server logs; a pino logger fits. */
export interface HttpsServerLog {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface HttpsServerOptions {
  material: ServingMaterial;
  /** The request listener, e.g. an express app. */
  handler: RequestListener;
  limits?: Partial<ServerLimits>;
  log: HttpsServerLog;
}

export interface WebhookHttpsServer {
  /** Not yet listening: call `server.listen(...)`. */
  server: https.Server;
  /** Serves new handshakes with this certificate; open connections keep theirs. Throws if the pair is unusable. */
  reload(material: ServingMaterial): void;
  /**
   * Stops accepting, closes idle keep-alive connections at once, lets in-flight requests finish (their
   * responses carry `Connection: close`), and closes whatever is left after `graceMs`.
   */
  close(graceMs: number): Promise<void>;
}

/**
 * TLS 1.2 suites with an ephemeral (ECDHE) key exchange and an AEAD cipher only, the forward-secret
 * set Kubernetes' own servers offer (Go's defaults, minus CBC): with a plain RSA key exchange
 * (AES128-SHA, AES256-GCM-SHA384, …) anyone who later obtains the serving key can decrypt every
 * recorded review. Listed first, the TLS 1.3 suites, which are all forward-secret; written out so the
 * whole list is visible here.
 */
export const FORWARD_SECRET_CIPHERS = [
  'TLS_AES_128_GCM_SHA256',
  'TLS_AES_256_GCM_SHA384',
  'TLS_CHACHA20_POLY1305_SHA256',
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
  'ECDHE-ECDSA-CHACHA20-POLY1305',
  'ECDHE-RSA-CHACHA20-POLY1305',
].join(':');

/** The floor matters: the API server negotiates 1.2 or 1.3, and anything older is a misconfigured client. */
const SECURE_OPTIONS: SecureContextOptions = { minVersion: 'TLSv1.2', ciphers: FORWARD_SECRET_CIPHERS };

/**
 * The secure context for `material`. With client authentication on, `ca` must be there: without it
 * OpenSSL would verify callers against the system's public roots, so any publicly issued certificate
 * would pass as the API server.
 */
function secureContext(material: ServingMaterial, clientAuth: boolean): SecureContextOptions {
  if (!clientAuth) return { ...SECURE_OPTIONS, cert: material.cert, key: material.key };
  if (material.clientCa === undefined) throw new Error('this server authenticates callers: new TLS material must carry the client CA');
  return { ...SECURE_OPTIONS, cert: material.cert, key: material.key, ca: material.clientCa };
}

/** Creates the HTTPS server around `handler`; it does not listen. */
export function createHttpsServer(options: HttpsServerOptions): WebhookHttpsServer {
  const limits = { ...DEFAULT_SERVER_LIMITS, ...options.limits };
  const { log } = options;
  const connections = new ConnectionTracker();
  const clientAuth = options.material.clientCa !== undefined;
  const server = https.createServer(
    {
      ...secureContext(options.material, clientAuth),
      // Asked for, not required: the kubelet's probes have no client certificate and must still get
      // /healthz and /readyz. The request listener refuses unverified callers on the admission path.
      requestCert: clientAuth,
      rejectUnauthorized: false,
      handshakeTimeout: limits.handshakeTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      connectionsCheckingInterval: Math.max(10, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 5)),
    },
    (req, res) => connections.serve(req, res, options.handler),
  );
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => connections.add(socket));
  server.on('secureConnection', (socket: Socket) => connections.addSession(socket));
  // Plain HTTP on this port, port scanners and probes that open and close a socket all land here; they
  // say nothing about the service's health, so they are not errors. Node destroys the socket itself.
  server.on('tlsClientError', (err: Error, socket: Socket) => {
    log.debug({ err, remoteAddress: socket.remoteAddress }, 'TLS handshake failed');
  });

  let closing: Promise<void> | undefined;
  return {
    server,
    reload(material) {
      // requestCert is the server's, not the context's: it holds across swaps; the CA is the context's.
      server.setSecureContext(secureContext(material, clientAuth));
      const x509 = new X509Certificate(material.cert);
      log.info({ fingerprint256: x509.fingerprint256, notAfter: new Date(x509.validTo).toISOString() }, 'serving certificate reloaded');
    },
    close(graceMs) {
      closing ??= closeGracefully(server, connections, { limits, graceMs, log });
      return closing;
    },
  };
}

function closeGracefully(server: https.Server, connections: ConnectionTracker, { limits, graceMs, log }: { limits: ServerLimits; graceMs: number; log: HttpsServerLog }): Promise<void> {
  connections.startClosing();
  log.info({ inFlight: connections.inFlight, graceMs }, 'closing the HTTPS server');
  return new Promise((resolve) => {
    const drain = setInterval(() => connections.closeIdle(limits.idleDrainMs), Math.max(10, Math.floor(limits.idleDrainMs / 4)));
    const force = setTimeout(() => {
      log.warn({ inFlight: connections.inFlight, sockets: connections.open }, 'grace period over; closing the remaining connections');
      connections.destroyAll();
    }, graceMs);
    // net.Server's close, not http.Server's: it stops accepting without closing idle connections at
    // once (see idleDrainMs). The callback runs once every connection is gone (or at once, with an
    // error, if the server was not listening: nothing to wait for either way).
    net.Server.prototype.close.call(server, () => {
      clearInterval(drain);
      clearTimeout(force);
      resolve();
    });
  });
}

/** Knows every socket and every response in progress, so shutdown can finish the one and cut the other. */
class ConnectionTracker {
  private readonly sockets = new Set<Socket>();
  /** Each TLS connection, with its requests in progress and when it last went idle. */
  private readonly sessions = new Map<Socket, { busy: number; idleSinceMs: number }>();
  private readonly responses = new Set<ServerResponse>();
  private closing = false;

  get inFlight(): number {
    return this.responses.size;
  }

  get open(): number {
    return this.sockets.size;
  }

  /** A TCP connection (before its handshake: a stalled one is cut when the grace period ends). */
  add(socket: Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
  }

  /** A TLS connection, the socket its requests arrive on. */
  addSession(socket: Socket): void {
    this.sessions.set(socket, { busy: 0, idleSinceMs: Date.now() });
    socket.once('close', () => this.sessions.delete(socket));
  }

  serve(req: IncomingMessage, res: ServerResponse, handler: RequestListener): void {
    const state = this.sessions.get(req.socket);
    if (state) state.busy += 1;
    this.responses.add(res);
    res.once('close', () => {
      this.responses.delete(res);
      if (state) {
        state.busy -= 1;
        state.idleSinceMs = Date.now();
      }
    });
    if (this.closing) res.setHeader('Connection', 'close');
    handler(req, res);
  }

  /** While closing: ends the connections idle for at least `idleMs`. */
  closeIdle(idleMs: number): void {
    const now = Date.now();
    for (const [socket, state] of this.sessions) if (state.busy === 0 && now - state.idleSinceMs >= idleMs) socket.destroy();
  }

  /**
   * A response that still has to send its headers says `Connection: close`: the client then does not
   * reuse the connection, and Node ends it once the response is flushed. A client that was told nothing
   * could send its next request into a connection that is being closed.
   */
  startClosing(): void {
    this.closing = true;
    for (const res of this.responses) {
      if (!res.headersSent) res.setHeader('Connection', 'close');
    }
  }

  destroyAll(): void {
    for (const socket of this.sockets) socket.destroy();
  }
}
