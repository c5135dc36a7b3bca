/**
 * Status aggregation at scale (issue 17): aggregateClusterStatuses() of 100,000 placements with 3
 * clusters each (src/core/status-aggregation.ts), against a floor measured in the same run: one pass
 * that reads the same entries without deciding anything (each cluster of C, each entry's cluster,
 * phase and observedGeneration, and its lastUpdated read as a time, since no decision can use it as
 * text). Goal: aggregation <= 2 x floor. The population mixes what syncers write: a third agree, a
 * third disagree on phase (resolved by the four strategies in turn), a third have a cluster behind or
 * missing. Rounds alternate floor and aggregation so noise lands on both; medians are reported.
 *
 *   BENCH_STATUS_PLACEMENTS  placements (default 100000)
 *   BENCH_STATUS_ROUNDS      timed rounds of each (default 7)
 */
import { timestampMs } from '../src/api/fields.js';
import { conflictStrategies } from '../src/api/resources.js';
import { aggregateClusterStatuses, type AggregationInput, type AggregationSettings } from '../src/core/status-aggregation.js';
import { fmt, positiveCount, verdict, type Result } from './lib/report.js';
import { alternate } from './lib/timing.js';

export const name = 'status-aggregation';

const GOAL_RATIO = 2;
const NOW = Date.parse('2026-11-23T12:00:00Z');
const SETTINGS: AggregationSettings = { staleAfterMs: 300_000, clusterPriority: ['eu-west-2', 'us-east-1'] };
const REGIONS = ['us-east', 'us-west', 'eu-west', 'eu-central', 'ap-south', 'ap-northeast'];


/** Placement i: three clusters of 60, entries as syncers write them (RFC 3339 times, seconds apart). */
function population(count: number): AggregationInput[] {
  const clusterNames = Array.from({ length: 60 }, (_, i) => `${REGIONS[i % REGIONS.length]}-${Math.floor(i / REGIONS.length) + 1}`);
  const times = Array.from({ length: 600 }, (_, s) => new Date(NOW - s * 1000).toISOString().replace(/\.000Z$/, 'Z'));
  const inputs: AggregationInput[] = [];
  for (let i = 0; i < count; i++) {
    const clusters = [0, 1, 2].map((k) => clusterNames[(i * 7 + k * 13) % clusterNames.length] as string);
    const kind = i % 3;
    const entries = clusters
      .filter((_, k) => !(kind === 2 && k === 2 && i % 2 === 0))
      .map((cluster, k) => ({
        cluster,
        phase: kind === 1 && k === 1 ? 'Failed' : 'Running',
        observedGeneration: kind === 2 && k === 1 ? 1 : 2,
        lastUpdated: times[(i + k * 17) % times.length] as string,
        message: '',
      }));
    inputs.push({ generation: 2, clusters, entries, strategy: conflictStrategies[i % conflictStrategies.length] ?? 'UseNewest' });
  }
  return inputs;
}

/** The floor: every entry read once, its time parsed, nothing decided. The sum keeps the reads alive. */
function readEntries(inputs: readonly AggregationInput[]): number {
  let sum = 0;
  for (const input of inputs) {
    sum += input.generation + input.strategy.length;
    for (const cluster of input.clusters) sum += cluster.length;
    for (const entry of input.entries) {
      sum += entry.cluster.length + entry.phase.length + (entry.observedGeneration ?? 0);
      sum += entry.lastUpdated === undefined ? 0 : timestampMs(entry.lastUpdated) % 7;
    }
  }
  return sum;
}

function aggregateAll(inputs: readonly AggregationInput[]): number {
  let sum = 0;
  for (const input of inputs) sum += aggregateClusterStatuses(input, SETTINGS, NOW).status.clusters.running;
  return sum;
}

export function run(): Promise<Result> {
  const count = positiveCount(process.env.BENCH_STATUS_PLACEMENTS, 100_000);
  const rounds = positiveCount(process.env.BENCH_STATUS_ROUNDS, 7);
  const inputs = population(count);
  console.log(`population: ${count} placements x 3 clusters (${inputs.reduce((n, input) => n + input.entries.length, 0)} entries), strategies in turn`);
  const { floorMs, workMs: aggregateMs } = alternate(rounds, () => readEntries(inputs), () => aggregateAll(inputs), 'aggregate');
  const ratio = aggregateMs / floorMs;
  const pass = ratio <= GOAL_RATIO;
  console.log(
    `aggregate ${fmt(aggregateMs)} ms (${fmt((aggregateMs * 1000) / count)} us a placement), floor ${fmt(floorMs)} ms: ratio ${ratio.toFixed(3)} (goal <= ${GOAL_RATIO}) ${verdict(pass)}`,
  );
  return Promise.resolve({ value: aggregateMs, floor: floorMs, ratio, goal: `ratio<=${GOAL_RATIO}`, pass });
}
