/**
 * Aggregation at scale (SPEC §7, issue 15): one aggregate() of the snapshot of 10,000 clusters /
 * 100,000 placements / 10,000 quotas (bench/lib/population.ts), against a floor measured in the same
 * run: one pass that only reads every object of the snapshot (every quantity of every list, every name,
 * every quota's clusters). Goal: aggregation <= 3 x floor. Rounds alternate floor and aggregation so
 * noise lands on both; medians are reported.
 *
 * Then the history: 1,000 rounds of historyEntry() + append() into a ring of BENCH_HISTORY_ENTRIES
 * entries, 30 s apart. Heap (after a full GC) is sampled every 100 rounds; the goal is that it never
 * grows past the ring's own size, measured when the ring first fills, by more than 10 %: after that,
 * every append drops an entry, so memory stays flat whatever the population.
 *
 *   BENCH_AGGREGATION_ROUNDS  timed rounds of each (default 7)
 *   BENCH_HISTORY_ENTRIES     the ring's maxEntries (default 200, so 1,000 rounds wrap it 5 times)
 */
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { decisionConfigSchema } from '../src/api/config.js';
import type { ResourceList } from '../src/quantity/index.js';
import { aggregate, type ReportSnapshot } from '../src/reporting/aggregate.js';
import { historyEntry, ReportHistory } from '../src/reporting/history.js';
import { snapshotOf } from '../src/reporting/snapshot.js';
import { NOW } from '../test/builders/objects.js';
import { buildState, describeSize, LARGE } from './lib/population.js';
import { fmt, positiveCount, table, verdict, type Result } from './lib/report.js';

export const name = 'aggregation';

const GOAL_RATIO = 3;
const HISTORY_ROUNDS = 1000;
const SAMPLE_EVERY = 100;
const HISTORY_SLACK = 1.1;
const INTERVAL_MS = 30_000;


/** A full GC on demand: the heap figures must not depend on when V8 last collected. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

function snapshotOfPopulation(): ReportSnapshot {
  return snapshotOf(buildState(LARGE), decisionConfigSchema.parse({}), NOW);
}

/** Reads every quantity of a list; the sum keeps the reads from being optimized away. */
function readList(list: ResourceList | undefined): bigint {
  let sum = 0n;
  if (!list) return sum;
  for (const name of Object.keys(list)) sum += (list[name] as { nanos: bigint }).nanos;
  return sum;
}

/** The floor: every object of the snapshot read once, nothing computed from it. */
function readEverything(snapshot: ReportSnapshot): bigint {
  let sum = readList(snapshot.overcommit);
  for (const c of snapshot.clusters) {
    sum += readList(c.capacity) + readList(c.allocatable) + readList(c.used) + readList(c.allocated);
    sum += BigInt(c.name.length + c.location.length + c.placementCount + (c.nodes?.total ?? 0) + (c.unschedulable ? 1 : 0) + c.readiness.length);
  }
  for (const q of snapshot.quotas) {
    sum += readList(q.hard) + readList(q.soft) + readList(q.used);
    sum += BigInt(q.key.length + q.workspace.length + q.name.length + q.placementCount + (q.scoped ? 1 : 0));
    for (const cluster of q.clusters) sum += BigInt(cluster.length);
  }
  return sum;
}

function timeMs(work: () => unknown): number {
  const start = performance.now();
  work();
  return performance.now() - start;
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

function timeAggregation(snapshot: ReportSnapshot, rounds: number): { floorMs: number; aggregateMs: number } {
  for (let i = 0; i < 2; i++) {
    readEverything(snapshot);
    aggregate(snapshot);
  }
  const floors: number[] = [];
  const aggregations: number[] = [];
  for (let i = 0; i < rounds; i++) {
    floors.push(timeMs(() => readEverything(snapshot)));
    aggregations.push(timeMs(() => aggregate(snapshot)));
  }
  console.log(table(['round', 'floor ms', 'aggregate ms'], floors.map((f, i) => [String(i + 1), fmt(f), fmt(aggregations[i] ?? NaN)])));
  return { floorMs: median(floors), aggregateMs: median(aggregations) };
}

interface HistoryFigures {
  readonly ringBytes: number;
  readonly maxGrowthBytes: number;
  readonly pass: boolean;
}

function historyMemory(snapshot: ReportSnapshot, maxEntries: number, gc: () => void): HistoryFigures {
  const report = aggregate(snapshot);
  const heap = (): number => {
    gc();
    return process.memoryUsage().heapUsed;
  };
  const history = new ReportHistory({ maxEntries });
  const before = heap();
  let ringBytes = NaN;
  const samples: string[][] = [];
  let maxGrowthBytes = 0;
  for (let round = 1; round <= HISTORY_ROUNDS; round++) {
    history.append(historyEntry({ ...report, atMs: NOW + round * INTERVAL_MS }));
    if (round === maxEntries) ringBytes = heap() - before;
    if (round % SAMPLE_EVERY === 0) {
      const growth = heap() - before;
      maxGrowthBytes = Math.max(maxGrowthBytes, growth);
      samples.push([String(round), String(history.size), fmt(growth / 2 ** 20)]);
    }
  }
  console.log(table(['round', 'entries', 'heap above empty ring, MiB'], samples));
  const pass = Number.isFinite(ringBytes) && maxGrowthBytes <= ringBytes * HISTORY_SLACK;
  return { ringBytes, maxGrowthBytes, pass };
}

export function run(): Promise<Result> {
  const gc = collector();
  const rounds = positiveCount(process.env.BENCH_AGGREGATION_ROUNDS, 7);
  const maxEntries = Math.min(positiveCount(process.env.BENCH_HISTORY_ENTRIES, 200), HISTORY_ROUNDS);
  console.log(`population: ${describeSize(LARGE)}`);
  let snapshot: ReportSnapshot | undefined;
  const buildMs = timeMs(() => (snapshot = snapshotOfPopulation()));
  if (!snapshot) throw new Error('no snapshot');
  console.log(`  parsed and counted into a snapshot in ${fmt(buildMs / 1000)} s (snapshotOf, informational)`);

  console.log('\none aggregate() against one read of every object of its input:');
  const { floorMs, aggregateMs } = timeAggregation(snapshot, rounds);
  const ratio = aggregateMs / floorMs;
  const ratioPass = ratio <= GOAL_RATIO;
  console.log(`aggregate ${fmt(aggregateMs)} ms, floor ${fmt(floorMs)} ms: ratio ${ratio.toFixed(3)} (goal <= ${GOAL_RATIO}) ${verdict(ratioPass)}`);

  console.log(`\nhistory: ${HISTORY_ROUNDS} rounds into a ring of ${maxEntries} entries:`);
  const memory = historyMemory(snapshot, maxEntries, gc);
  console.log(
    `ring full at ${fmt(memory.ringBytes / 2 ** 20)} MiB (${fmt(memory.ringBytes / maxEntries / 1024)} KiB an entry); ` +
      `largest heap above the empty ring ${fmt(memory.maxGrowthBytes / 2 ** 20)} MiB (goal <= ${HISTORY_SLACK} x ring) ${verdict(memory.pass)}`,
  );
  return Promise.resolve({
    value: aggregateMs,
    floor: floorMs,
    ratio,
    goal: `ratio<=${GOAL_RATIO},history<=${HISTORY_SLACK}xring(${fmt(memory.maxGrowthBytes / 2 ** 20)}/${fmt(memory.ringBytes / 2 ** 20)}MiB)`,
    pass: ratioPass && memory.pass,
  });
}
