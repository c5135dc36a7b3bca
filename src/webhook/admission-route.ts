import type { IncomingMessage, ServerResponse } from 'node:http';
import { durationMs } from '../api/fields.js';
import type { OffThreadDecode } from './off-thread-decoder.js';
import { decodeReview, type Decoded } from './review-decoding.js';
import { reviewEnvelope } from './responses.js';
import type { Reviewer } from './reviewer.js';

/** The path the ValidatingWebhookConfiguration points at. */
export const VALIDATE_PATH = '/validate/workloadplacements';


const DEADLINE_MARGIN_MS = 500;

type HttpOutcome = { status: number; body: object };

const problem = (status: number, message: string): HttpOutcome => ({ status, body: { code: status, message } });

function send(res: ServerResponse, outcome: HttpOutcome): void {
  const body = JSON.stringify(outcome.body);
  res.writeHead(outcome.status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Reads the body up to `limit` bytes; undefined when it is larger (the rest is not read). It listens
 * for the stream's events instead of iterating it with `for await`: the async iterator (an async
 * generator, its promises and end-of-stream bookkeeping, for what is one or two chunks here) was
 * about 4 % of the server's CPU under load. A request that ends before its body did (the client hung
 * up, or the server's request timeout cut it off) rejects with the stream's error.
 */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return Promise.resolve(undefined);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // Unnamed and never removed: the first event to settle the promise wins, later ones change
    // nothing, and no listener outlives the request (tsx names every named closure per call).
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) return void chunks.push(chunk);
      req.pause(); // the rest stays unread; the 413 closes the connection
      resolve(undefined);
    });
    req.on('end', () => resolve(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size)));
    req.on('error', reject);
    // Node destroys a request whose connection closed early with an 'aborted' error first; this is
    // for a stream that closes without one, which must not leave the review waiting forever. (A
    // complete request closes too, after its end: no error is made for it.)
    req.on('close', () => {
      if (!req.complete) reject(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    });
  });
}

/** When the API server stops waiting: it sends its webhook timeout as `?timeout=5s`. */
export function deadlineOf(url: string | undefined, nowMs: number): number | undefined {
  const query = url?.split('?')[1];
  const timeout = query && new URLSearchParams(query).get('timeout');
  const ms = timeout ? durationMs(timeout) : undefined;
  return ms === undefined ? undefined : nowMs + ms;
}

/** Bodies from this size on are decoded off the event loop (when a decoder is given). */
export const OFFLOAD_BYTES = 256 * 1024;

function answer(decoded: Decoded, review: Reviewer, deadlineMs: number | undefined): HttpOutcome | Promise<HttpOutcome> {
  if (!decoded.ok) return problem(decoded.status, decoded.message);
  const response = review(decoded.request, deadlineMs);
  if (response instanceof Promise) return response.then((settled) => ({ status: 200, body: reviewEnvelope(settled) }));
  return { status: 200, body: reviewEnvelope(response) };
}

/**
 * Transport errors are HTTP errors (the API server's failurePolicy applies); decisions are
 * AdmissionReviews. A large body is decoded by `offThread` (same decoding, its objects cut to what a
 * decision reads), so no review holds the event loop for its JSON.parse.
 */
export function decodeAndReview(body: Buffer, review: Reviewer, deadlineMs?: number, offThread?: OffThreadDecode): HttpOutcome | Promise<HttpOutcome> {
  if (offThread && body.length >= OFFLOAD_BYTES) return offThread(body).then((decoded) => answer(decoded, review, deadlineMs));
  return answer(decodeReview(body), review, deadlineMs);
}

/**
 * The hot route, on bare node:http(s) request/response objects: no middleware stack, one buffer,
 * one JSON.parse, one zod pass. Express handles the cold routes.
 */
export async function handleValidate(req: IncomingMessage, res: ServerResponse, review: Reviewer, { bodyLimit, offThread }: { bodyLimit: number; offThread?: OffThreadDecode | undefined }): Promise<void> {
  if (req.method !== 'POST') return send(res, problem(405, 'use POST'));
  const type = req.headers['content-type'] ?? '';
  if (!type.startsWith('application/json')) return send(res, problem(400, `expected content-type application/json, got ${JSON.stringify(type)}`));
  const body = await readBody(req, bodyLimit);
  if (!body) {
    // Say so and close: the unread rest of the body must not be parsed as a next request.
    res.setHeader('connection', 'close');
    return send(res, problem(413, `body over the ${bodyLimit}-byte limit`));
  }
  // Keep a margin so the answer reaches the API server before it gives up.
  const deadline = deadlineOf(req.url, Date.now());
  const outcome = decodeAndReview(body, review, deadline && deadline - DEADLINE_MARGIN_MS, offThread);
  // Most reviews decide synchronously: answered in this turn, not after another microtask.
  if (outcome instanceof Promise) send(res, await outcome);
  else send(res, outcome);
}
