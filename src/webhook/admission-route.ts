import type { IncomingMessage, ServerResponse } from 'node:http';
import { admissionReviewSchema } from '../api/admission-review.js';
import { describeIssues } from '../api/errors.js';
import { durationMs } from '../api/fields.js';
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

/** Reads the body up to `limit` bytes; undefined when it is larger (the rest is not read). */
async function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  const declared = Number(req.headers['content-length'] ?? 0);
  if (declared > limit) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) return undefined;
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, size);
}

/** When the API server stops waiting: it sends its webhook timeout as `?timeout=5s`. */
export function deadlineOf(url: string | undefined, nowMs: number): number | undefined {
  const query = url?.split('?')[1];
  const timeout = query && new URLSearchParams(query).get('timeout');
  const ms = timeout ? durationMs(timeout) : undefined;
  return ms === undefined ? undefined : nowMs + ms;
}

/** Transport errors are HTTP errors (the API server's failurePolicy applies); decisions are AdmissionReviews. */
export function decodeAndReview(body: Buffer, review: Reviewer, deadlineMs?: number): HttpOutcome | Promise<HttpOutcome> {
  let json: unknown;
  try {
    json = JSON.parse(body.toString('utf8'));
  } catch (error) {
    return problem(400, `body is not JSON: ${(error as Error).message}`);
  }
  const parsed = admissionReviewSchema.safeParse(json);
  if (!parsed.success) return problem(400, `not an AdmissionReview admission.k8s.io/v1: ${describeIssues(parsed.error)}`);
  const response = review(parsed.data.request, deadlineMs);
  if (response instanceof Promise) return response.then((settled) => ({ status: 200, body: reviewEnvelope(settled) }));
  return { status: 200, body: reviewEnvelope(response) };
}

/**
 * The hot route, on bare node:http(s) request/response objects: no middleware stack, one buffer,
 * one JSON.parse, one zod pass. Express handles the cold routes.
 */
export async function handleValidate(req: IncomingMessage, res: ServerResponse, review: Reviewer, bodyLimit: number): Promise<void> {
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
  send(res, await decodeAndReview(body, review, deadline && deadline - DEADLINE_MARGIN_MS));
}
