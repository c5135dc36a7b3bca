import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import { DEFAULT_BODY_LIMIT } from '../api/admission-review.js';
import { handleValidate, VALIDATE_PATH } from './admission-route.js';
import { callerCheck, type CallerPolicy } from './caller-auth.js';
import type { OffThreadDecode } from './off-thread-decoder.js';
import type { Readiness, Reviewer } from './reviewer.js';

export interface AppOptions {
  readonly review: Reviewer;
  readonly readiness: Readiness;
  readonly bodyLimit?: number;
  readonly onError: (error: unknown) => void;
  /**
   * Set (with a server that asks for client certificates, `tls.clientCAFile`): only a caller with a
   * verified client certificate reaches the admission path; the probes stay open to all.
   */
  readonly callers?: CallerPolicy;
  /** A caller refused by `callers`, with why (for a debug line: anyone can cause one). */
  readonly onCallerRefused?: (reason: string, req: IncomingMessage) => void;
  /** A client that went away before its review was read: its problem, not the service's. */
  readonly onClientGone?: (error: Error) => void;
  /** Decodes large bodies off the event loop (admission-route.ts OFFLOAD_BYTES); inline without. */
  readonly offThread?: OffThreadDecode;
}

/** What the transport has seen since start; counters only grow (for the metrics endpoint to export). */
export interface TransportStats {
  /** Admission requests refused for want of a verified client certificate. */
  readonly callersRefused: number;
  /** Admission requests whose client disconnected (or was cut off) before its body was complete. */
  readonly clientsGone: number;
}

export type RequestListener = (req: IncomingMessage, res: ServerResponse) => void;

export interface WebhookRequestListener extends RequestListener {
  stats(): TransportStats;
}

/** The cold routes: probes now, reports and metrics later. */
function coldRoutes(readiness: Readiness): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.type('text/plain').send('ok\n');
  });
  app.get('/readyz', (_req, res) => {
    const status = readiness();
    if (status.ready) res.type('text/plain').send('ok\n');
    else res.status(503).type('text/plain').send(`not ready: ${status.why}\n`);
  });
  return app;
}

const UNAUTHORIZED = JSON.stringify({ code: 401, message: 'a verified client certificate is required: only the API server may call this webhook' });

/**
 * Answered before a byte of the body is read, so a forged review is never parsed, let alone reserved.
 * `Connection: close`, because the unread body must not be taken for the next request.
 */
function refuse(res: ServerResponse): void {
  res.writeHead(401, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(UNAUTHORIZED), connection: 'close' });
  res.end(UNAUTHORIZED);
}

/**
 * The request ended before its body did: the client hung up, or the server's request timeout cut it
 * off. Duck-typed, not `instanceof Error`: Node's own errors come from another realm under some
 * runners (jest's VM modules), and a miss would log a client's hang-up as the service's error.
 */
function clientWentAway(req: IncomingMessage, error: unknown): error is Error {
  const err = error as Partial<NodeJS.ErrnoException> | null;
  return typeof err?.message === 'string' && !req.complete && (req.destroyed || err.code === 'ECONNRESET');
}

/**
 * The request listener of the HTTPS server. The admission route skips express entirely (it costs
 * about two thirds of the throughput on a 2 KB review); everything else goes through express.
 */
export function createRequestListener(options: AppOptions): WebhookRequestListener {
  const { review, readiness, onError, callers } = options;
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = coldRoutes(readiness);
  const counts = { callersRefused: 0, clientsGone: 0 };
  const failed = (req: IncomingMessage, res: ServerResponse, error: unknown): void => {
    if (clientWentAway(req, error)) {
      counts.clientsGone += 1;
      options.onClientGone?.(error);
      return void res.destroy();
    }
    onError(error);
    if (!res.headersSent) res.writeHead(500).end();
    else res.destroy();
  };
  const refusalOf = callers && callerCheck(callers);
  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const path = req.url?.split('?', 1)[0];
    if (path !== VALIDATE_PATH) return void app(req, res);
    const refusal = refusalOf?.(req);
    if (refusal) {
      counts.callersRefused += 1;
      options.onCallerRefused?.(refusal, req);
      return refuse(res);
    }
    handleValidate(req, res, review, { bodyLimit, offThread: options.offThread }).catch((error: unknown) => failed(req, res, error));
  };
  return Object.assign(listener, { stats: (): TransportStats => ({ ...counts }) });
}
