/**
 * How the admission route reads a body, on in-process streams whose chunks and endings the test
 * chooses: every way a body can arrive (one chunk, many, empty, over the limit at any chunk) and
 * every way it can stop (the client's error, a close without one).
 */
import { describe, expect, it } from '@jest/globals';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import { handleValidate, VALIDATE_PATH } from '../../../src/webhook/admission-route.js';
import type { Reviewer } from '../../../src/webhook/reviewer.js';
import { anAdmissionReview } from '../../builders/objects.js';

const LIMIT = 64;

/** A request whose body arrives as `chunks`; `ending` says how the stream stops after them. */
function aRequest(chunks: readonly Buffer[], ending: 'end' | 'error' | 'close' | 'stall', declared?: number): IncomingMessage {
  const stream = new Readable({ read: () => undefined });
  const req = Object.assign(stream, { method: 'POST', url: VALIDATE_PATH, headers: { 'content-type': 'application/json', ...(declared === undefined ? {} : { 'content-length': String(declared) }) }, complete: false });
  setImmediate(() => {
    for (const chunk of chunks) stream.push(chunk);
    if (ending === 'end') {
      req.complete = true;
      stream.push(null);
    } else if (ending === 'error') stream.destroy(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
    else if (ending === 'close') stream.destroy();
  });
  return req as unknown as IncomingMessage;
}

interface Answer {
  status?: number;
  headers: Record<string, unknown>;
  body?: string;
}

function aResponse(): { res: ServerResponse; answer: Answer } {
  const answer: Answer = { headers: {} };
  const res = {
    setHeader: (name: string, value: unknown) => void (answer.headers[name.toLowerCase()] = value),
    writeHead: (status: number, headers: Record<string, unknown>) => {
      answer.status = status;
      Object.assign(answer.headers, headers);
    },
    end: (body: string) => void (answer.body = body),
  };
  return { res: res as unknown as ServerResponse, answer };
}

/** Answers allowed and remembers the uids it saw. */
function aReviewer(): { review: Reviewer; seen: string[] } {
  const seen: string[] = [];
  return { review: (request) => (seen.push(request.uid), { uid: request.uid, allowed: true }), seen };
}

const body = Buffer.from(JSON.stringify(anAdmissionReview({ uid: 'u' })));
const pieces = (bytes: Buffer, size: number): Buffer[] => Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));

describe('the admission route reads the body', () => {
  it.each([
    { name: 'in one chunk', chunks: [body] },
    { name: 'in chunks of 7 bytes', chunks: pieces(body, 7) },
    { name: 'a byte at a time', chunks: pieces(body, 1) },
  ])('$name: the review gets the whole of it', async ({ chunks }) => {
    const { review, seen } = aReviewer();
    const { res, answer } = aResponse();
    await handleValidate(aRequest(chunks, 'end'), res, review, { bodyLimit: body.length });
    expect(seen).toEqual(['u']);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body ?? '')).toEqual({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'u', allowed: true } });
  });

  it('answers an empty body 400, not JSON', async () => {
    const { review, seen } = aReviewer();
    const { res, answer } = aResponse();
    await handleValidate(aRequest([], 'end'), res, review, { bodyLimit: LIMIT });
    expect(seen).toEqual([]);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatch(/"message":"body is not JSON: /);
  });

  it.each([
    { name: 'declared over the limit (nothing read)', chunks: [], ending: 'stall' as const, declared: LIMIT + 1 },
    { name: 'one chunk over the limit', chunks: [Buffer.alloc(LIMIT + 1, 0x20)], ending: 'stall' as const },
    { name: 'the limit reached exactly, then one byte more', chunks: [Buffer.alloc(LIMIT, 0x20), Buffer.from(' ')], ending: 'stall' as const },
    { name: 'over the limit, then an ending that comes anyway', chunks: [Buffer.alloc(LIMIT + 10, 0x20)], ending: 'end' as const },
  ])('$name: 413 and the connection closed, nothing reviewed', async ({ chunks, ending, declared }) => {
    const { review, seen } = aReviewer();
    const { res, answer } = aResponse();
    await handleValidate(aRequest(chunks, ending, declared), res, review, { bodyLimit: LIMIT });
    expect(seen).toEqual([]);
    expect(answer).toEqual({ status: 413, headers: { connection: 'close', 'content-type': 'application/json', 'content-length': expect.any(Number) }, body: `{"code":413,"message":"body over the ${LIMIT}-byte limit"}` });
  });

  it.each([
    { name: "the client's error (Node's 'aborted')", ending: 'error' as const },
    { name: 'a close without an error', ending: 'close' as const },
  ])('a body cut off by $name: rejected as aborted, nothing reviewed or answered', async ({ ending }) => {
    const { review, seen } = aReviewer();
    const { res, answer } = aResponse();
    await expect(handleValidate(aRequest([body.subarray(0, 10)], ending), res, review, { bodyLimit: LIMIT })).rejects.toMatchObject({ message: 'aborted', code: 'ECONNRESET' });
    expect(seen).toEqual([]);
    expect(answer).toEqual({ headers: {} });
  });
});
