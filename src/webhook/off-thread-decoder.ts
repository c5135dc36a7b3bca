import { Worker } from 'node:worker_threads';
import type { Decoded } from './review-decoding.js';

/** Decodes a body on another thread; rejects when the thread fails. */
export type OffThreadDecode = (body: Buffer) => Promise<Decoded>;

/**
 * One worker thread, started on first use, that decodes large bodies (issue 14: a 1.3 MB review of
 * 100k resource names took 28-59 ms in JSON.parse alone, past the 50 ms an admission may hold the
 * event loop). It sends back only what a decision reads, so copying the result back stays small.
 * Run from TypeScript sources (tests, benchmarks), it loads the worker's .ts file through tsx.
 */
export function createOffThreadDecoder(): OffThreadDecode {
  let worker: Worker | undefined;
  let next = 0;
  const pending = new Map<number, { resolve: (decoded: Decoded) => void; reject: (error: Error) => void }>();
  const failAll = (error: Error): void => {
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
    worker = undefined;
  };
  const start = (): Worker => {
    const started = import.meta.url.endsWith('.ts') ? sourceWorker(new URL('./decode-worker.ts', import.meta.url)) : new Worker(new URL('./decode-worker.js', import.meta.url));
    started.on('message', ({ id, decoded }: { id: number; decoded: Decoded }) => {
      pending.get(id)?.resolve(decoded);
      pending.delete(id);
    });
    started.on('error', failAll);
    started.on('exit', (code) => failAll(new Error(`the decode worker exited with ${code}`)));
    // It must not keep a stopping process alive; an idle worker costs nothing.
    started.unref();
    return started;
  };
  return (body) =>
    new Promise((resolve, reject) => {
      worker ??= start();
      const id = next++;
      pending.set(id, { resolve, reject });
      worker.postMessage({ id, body });
    });
}

/** A worker on the .ts source (tests, benchmarks): Node 20 workers take no `--import`, so tsx is registered by hand. */
function sourceWorker(url: URL): Worker {
  return new Worker(`import('tsx/esm/api').then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); });`, { eval: true });
}
