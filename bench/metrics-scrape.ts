/**
 * The cost of a `/metrics` scrape at the large population (10,000 clusters / 100,000 placements /
 * 10,000 quotas, bench/lib/population.ts), against a floor measured in the same run: prom-client
 * alone rendering the same number of series (one gauge, four labels, values already set), which is
 * the least any prom-client exposition of these series costs.
 *
 * - first scrape after a snapshot: the state families are filled from the report and rendered (what
 *   happens once per aggregation interval); goal <= 2 x floor;
 * - scrape between snapshots: the state text is kept, only the service's own families are rendered
 *   (what Prometheus pays every 15 s), printed beside it.
 *
 *   BENCH_METRICS_ROUNDS  timed rounds of each (default 5)
 */
import { performance } from 'node:perf_hooks';
import { Gauge, Registry } from 'prom-client';
import { decisionConfigSchema } from '../src/api/config.js';
import { createServiceMetrics } from '../src/reporting/metrics.js';
import { produceReports, type ReportSet } from '../src/reporting/report-set.js';
import { snapshotOf } from '../src/reporting/snapshot.js';
import { NOW } from '../test/builders/objects.js';
import { buildState, describeSize, LARGE } from './lib/population.js';
import { fmt, positiveCount, table, verdict, type Result } from './lib/report.js';

export const name = 'metrics-scrape';

const GOAL_RATIO = 2;
const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function timeMs(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

const seriesIn = (text: string): number => text.split('\n').filter((line) => line !== '' && !line.startsWith('#')).length;

/** The floor's registry: `count` series of one gauge with four labels, set once. */
function floorRegistry(count: number): Registry {
  const registry = new Registry();
  const gauge = new Gauge({ name: 'floor_series', help: 'floor', labelNames: ['a', 'b', 'resource', 'type'], registers: [registry] });
  const types = ['capacity', 'allocatable', 'limit', 'allocated', 'used'];
  for (let i = 0; i < count; i++) gauge.set({ a: `cluster-${String(i % 10_000).padStart(5, '0')}`, b: `loc-${i % 7}`, resource: `r${Math.floor(i / 50_000)}`, type: types[i % 5] }, i);
  return registry;
}

export async function run(): Promise<Result> {
  const rounds = positiveCount(process.env.BENCH_METRICS_ROUNDS, 5);
  console.log(`population: ${describeSize(LARGE)}`);
  const set: ReportSet = produceReports(snapshotOf(buildState(LARGE), decisionConfigSchema.parse({}), NOW), []);
  // A new object per round: the service re-renders the state families whenever the snapshot changes.
  let current: ReportSet = set;
  const metrics = createServiceMetrics({
    latest: () => current,
    tracker: () => ({ ready: true, perKind: { SyncTarget: { relists: 0, restarts: 0, lastEventMs: NOW } } }),
    objects: () => 0,
    clock: () => NOW,
  });
  const text = await metrics.render();
  const series = seriesIn(text);
  console.log(`  ${series} series, ${fmt(text.length / 2 ** 20)} MiB of text`);
  const floor = floorRegistry(series);
  await floor.metrics();

  const firsts: number[] = [];
  const cached: number[] = [];
  const floors: number[] = [];
  for (let i = 0; i < rounds; i++) {
    current = { ...set };
    firsts.push(await timeMs(() => metrics.render()));
    cached.push(await timeMs(() => metrics.render()));
    floors.push(await timeMs(() => floor.metrics()));
  }
  console.log(table(['round', 'first scrape ms', 'between snapshots ms', 'floor ms'], firsts.map((f, i) => [String(i + 1), fmt(f), fmt(cached[i] ?? NaN), fmt(floors[i] ?? NaN)])));
  const value = median(firsts);
  const floorMs = median(floors);
  const ratio = value / floorMs;
  const pass = ratio <= GOAL_RATIO;
  console.log(`first scrape after a snapshot ${fmt(value)} ms, floor (prom-client alone, ${series} series) ${fmt(floorMs)} ms: ratio ${ratio.toFixed(3)} (goal <= ${GOAL_RATIO}) ${verdict(pass)}`);
  console.log(`scrape between snapshots: ${fmt(median(cached))} ms`);
  return { value, floor: floorMs, ratio, goal: `ratio<=${GOAL_RATIO},cached=${fmt(median(cached))}ms`, pass };
}
