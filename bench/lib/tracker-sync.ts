/**
 * One cold sync, in a process of its own so its memory is its own (bench/tracker-scale.ts forks it):
 * node --expose-gc --import tsx bench/lib/tracker-sync.ts <kubeconfig> [settle ms]
 *
 * Measures RSS and heap after the modules are loaded (the empty process), then starts the service's
 * tracker on an empty TrackedState, times it until ready (every kind listed, watches started),
 * collects garbage and measures again; then once more after sitting idle for the settle time (the
 * service's steady state: V8 gives back heap it committed during the sync only once allocation stops).
 * Prints one JSON line on stdout.
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { TrackedState } from '../../src/state/tracked-state.js';
import { TRACKED_KINDS } from '../../src/tracker/kinds.js';
import { createTracker, kubeSource } from '../../src/tracker/tracker.js';

export interface SyncFigures {
  readonly syncMs: number;
  readonly rssBytes: number;
  /** RSS above empty once the process has sat idle for `settleMs` (V8's memory reducer returns committed heap). */
  readonly settledRssBytes: number;
  readonly heapBytes: number;
  readonly objects: Readonly<Record<string, number>>;
}

async function settledMemory(): Promise<NodeJS.MemoryUsage> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  for (let i = 0; i < 3; i++) {
    gc();
    await sleep(50);
  }
  return process.memoryUsage();
}

async function main(kubeconfig: string, settleMs: number): Promise<SyncFigures> {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(kubeconfig);
  const state = new TrackedState();
  const tracker = createTracker({ source: kubeSource(kubeConfig), state, log: pino({ level: 'silent' }) });
  const empty = await settledMemory();
  const start = performance.now();
  await tracker.start();
  const syncMs = performance.now() - start;
  const full = await settledMemory();
  const objects = Object.fromEntries(TRACKED_KINDS.map(({ kind }) => [kind, state.keys(kind).length]));
  await sleep(settleMs);
  const settled = await settledMemory();
  await tracker.stop();
  return { syncMs, rssBytes: full.rss - empty.rss, settledRssBytes: settled.rss - empty.rss, heapBytes: full.heapUsed - empty.heapUsed, objects };
}

main(process.argv[2] ?? '', Number(process.argv[3] ?? 0)).then(
  (figures) => {
    process.stdout.write(`${JSON.stringify(figures)}\n`);
    process.exit(0);
  },
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
