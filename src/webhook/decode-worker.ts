/**
 * The worker thread of {@link createOffThreadDecoder}: decodes large AdmissionReview bodies so their
 * JSON.parse (tens of milliseconds for a few MB of small keys) does not hold the event loop.
 */
import { parentPort } from 'node:worker_threads';
import { decodeReview } from './review-decoding.js';

parentPort?.on('message', ({ id, body }: { id: number; body: Uint8Array }) => {
  parentPort?.postMessage({ id, decoded: decodeReview(body, { trim: true }) });
});
