import * as http from 'node:http';
import * as https from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { statusSchema, type Status } from './events.js';

/** A non-200 answer to a watch request, with the Status the API server sent when it sent one. */
export class WatchHttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly status: Status | undefined,
  ) {
    super(`watch refused: HTTP ${statusCode}${status?.message ? `: ${status.message}` : ''}`);
    this.name = 'WatchHttpError';
  }
}

export interface WatchStreamHandlers {
  /** The API server accepted the request (HTTP 200); events follow. */
  onOpen(): void;
  /** One complete line of the stream: one JSON-encoded watch event. */
  onLine(line: string): void;
}

export type StreamEnd =
  /** The server ended the response cleanly. */
  | { readonly type: 'ended' }
  /** The request failed, the connection broke, or the server answered other than 200. */
  | { readonly type: 'failed'; readonly error: Error }
  /** `signal` aborted it; `reason` is the signal's reason. */
  | { readonly type: 'aborted'; readonly reason: unknown };

// The API server caps an object at about 1.5 MiB; a line this long means a broken stream.
const MAX_LINE_CHARS = 16 * 1024 * 1024;
const MAX_ERROR_BODY_CHARS = 64 * 1024;
// TCP keep-alive probes notice a peer that vanished without a FIN; the watchdog covers the rest.
const KEEPALIVE_MS = 30_000;

/**
 * Streams one watch request and resolves when it ends — never rejects. Written on node:https rather
 * than client-node 1.4.0's `Watch`, which hands back its abort handle only once response headers
 * arrive (a request that hangs before them cannot be aborted), discards the error body (the Status
 * saying why), and swallows exceptions thrown by the event callback.
 */
export async function streamWatch(kubeConfig: KubeConfig, url: URL, handlers: WatchStreamHandlers, signal: AbortSignal): Promise<StreamEnd> {
  const options: https.RequestOptions = { method: 'GET', headers: { Accept: 'application/json' } };
  // Credentials, CA and client certificate exactly as the library's own requests get them.
  await kubeConfig.applyToHTTPSOptions(options);
  if (signal.aborted) return { type: 'aborted', reason: signal.reason };
  return new Promise<StreamEnd>((resolve) => {
    let settled = false;
    const finish = (end: StreamEnd): void => {
      if (settled) return;
      settled = true;
      signal.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(end);
    };
    const onAbort = (): void => finish({ type: 'aborted', reason: signal.reason });
    const transport = url.protocol === 'http:' ? http : https;
    const request = transport.request(url, options, (response) => {
      if (response.statusCode === 200) {
        handlers.onOpen();
        readLines(response, (line) => handlers.onLine(line), finish, () => settled);
      } else {
        void readError(response).then((error) => finish({ type: 'failed', error }));
      }
    });
    request.on('socket', (socket) => socket.setKeepAlive(true, KEEPALIVE_MS));
    request.on('error', (error) => finish({ type: 'failed', error }));
    signal.addEventListener('abort', onAbort, { once: true });
    request.end();
  });
}

function readLines(response: http.IncomingMessage, onLine: (line: string) => void, finish: (end: StreamEnd) => void, done: () => boolean): void {
  let pending = '';
  response.setEncoding('utf8');
  response.on('data', (chunk: string) => {
    const lines = (pending + chunk).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      // A handler may end the watch mid-chunk (an ERROR event): nothing after that is applied.
      if (done()) return;
      if (line.trim() !== '') onLine(line);
    }
    if (pending.length > MAX_LINE_CHARS) finish({ type: 'failed', error: new Error(`watch stream line longer than ${MAX_LINE_CHARS} characters`) });
  });
  response.on('error', (error) => finish({ type: 'failed', error }));
  // `complete` tells a clean end of the chunked body from a connection that dropped mid-stream.
  response.on('close', () =>
    finish(response.complete ? { type: 'ended' } : { type: 'failed', error: new Error('watch connection closed before the stream ended') }),
  );
}

async function readError(response: http.IncomingMessage): Promise<WatchHttpError> {
  let body = '';
  response.setEncoding('utf8');
  try {
    for await (const chunk of response) {
      body += String(chunk);
      if (body.length > MAX_ERROR_BODY_CHARS) break;
    }
  } catch {
    // The status code alone still says what happened.
  }
  return new WatchHttpError(response.statusCode ?? 0, parseStatus(body));
}

function parseStatus(body: string): Status | undefined {
  try {
    const status = statusSchema.safeParse(JSON.parse(body));
    return status.success ? status.data : undefined;
  } catch {
    return undefined;
  }
}
