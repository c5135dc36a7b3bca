/**
 * The pure decision core alone: decide() on a TrackedState of 10,000 clusters / 100,000 placements /
 * 10,000 quotas against the same decision on 10 / 100 / 10 (SPEC §12). A CREATE of a placement on 1–3
 * clusters in a workspace with 1–2 quotas, allowed. Goal: p50 ≤ 20 µs and large/small p50 ≤ 1.5.
 *
 * Both states live in the heap at once and are timed in alternating 50 ms slices, so machine noise
 * lands on both alike. The denied-for-capacity decision (it scans every cluster for ones with room)
 * is timed too, at three sizes, and only printed.
 *
 *   BENCH_DECISION_SECONDS  seconds of timing per population for the allowed case (default 3)
 */
import { performance } from 'node:perf_hooks';
import { decisionConfigSchema, type DecisionConfig } from '../src/api/config.js';
import { decide, type Review } from '../src/core/decide.js';
import type { TrackedState } from '../src/state/tracked-state.js';
import { NOW } from '../test/builders/objects.js';
import { buildState, describeSize, LARGE, MEDIUM, placementObject, placementSpec, seeded, SMALL, type PopulationSize, type ReviewKind } from './lib/population.js';
import { fmt, summarize, table, verdict, type Result, type Summary } from './lib/report.js';

export const name = 'decision-cost';

const GOAL_P50_US = 20;
const GOAL_RATIO = 1.5;
const SLICE_MS = 50;

interface Case {
  readonly label: string;
  readonly state: TrackedState;
  readonly reviews: readonly Review[];
}

const seconds = (env: string | undefined, fallback: number): number => (env && Number(env) > 0 ? Number(env) : fallback);

function reviewsFor(kind: ReviewKind, size: PopulationSize, count: number): Review[] {
  const random = seeded(kind === 'allowed' ? 7 : 11);
  return Array.from({ length: count }, (_, n) => ({
    operation: 'CREATE',
    kind: { group: 'tmc.kcp.io', kind: 'WorkloadPlacement' },
    object: placementObject(placementSpec(kind, size, random, n)),
  }));
}

/** Every review must decide as its case says, or the timing measures the wrong path. */
function check(c: Case, config: DecisionConfig, allowed: boolean): void {
  for (const review of c.reviews) {
    const decision = decide(review, c.state, config, NOW);
    if (decision.allowed !== allowed) throw new Error(`${c.label}: expected allowed=${allowed}, got ${decision.allowed ? 'allowed' : decision.message}`);
    if (!decision.allowed && !decision.message.includes('clusters with room')) throw new Error(`${c.label}: no clusters with room in: ${decision.message}`);
  }
}

/** Times decide() per call, in µs, round-robin over the cases in slices, `totalMs` per case. */
function sample(cases: readonly Case[], config: DecisionConfig, totalMs: number): number[][] {
  const samples = cases.map((): number[] => []);
  const spent = cases.map(() => 0);
  const counters = cases.map(() => 0);
  while (spent.some((ms) => ms < totalMs)) {
    cases.forEach((c, i) => {
      if ((spent[i] ?? 0) >= totalMs) return;
      const into = samples[i] as number[];
      const start = performance.now();
      const end = start + SLICE_MS;
      let n = counters[i] ?? 0;
      for (let t = start; t < end; ) {
        const review = c.reviews[n++ % c.reviews.length] as Review;
        decide(review, c.state, config, NOW);
        const after = performance.now();
        into.push((after - t) * 1000);
        t = after;
      }
      counters[i] = n;
      spent[i] = (spent[i] ?? 0) + (performance.now() - start);
    });
  }
  return samples;
}

function timed<T>(what: string, build: () => T): T {
  const start = performance.now();
  const value = build();
  console.log(`  built ${what} in ${fmt((performance.now() - start) / 1000)} s`);
  return value;
}

function rows(labels: readonly string[], summaries: readonly Summary[]): string[][] {
  return summaries.map((s, i) => [labels[i] ?? '', String(s.count), fmt(s.p50), fmt(s.p99), fmt(s.max)]);
}

export function run(): Promise<Result> {
  const config = decisionConfigSchema.parse({});
  const sizes = [SMALL, MEDIUM, LARGE];
  console.log('populations (every object parsed by its zod schema, then upserted):');
  const states = sizes.map((size) => timed(describeSize(size), () => buildState(size)));
  console.log(`  heap used with all three: ${fmt(process.memoryUsage().heapUsed / 2 ** 20)} MiB`);
  const allowed = sizes.map((size, i): Case => ({ label: `${size.clusters} clusters`, state: states[i] as TrackedState, reviews: reviewsFor('allowed', size, 1000) }));
  const denied = sizes.map((size, i): Case => ({ label: `${size.clusters} clusters`, state: states[i] as TrackedState, reviews: reviewsFor('denied-capacity', size, 100) }));
  for (const c of allowed) check(c, config, true);
  for (const c of denied) check(c, config, false);

  const allowedMs = seconds(process.env.BENCH_DECISION_SECONDS, 3) * 1000;
  sample(allowed, config, 500); // warm-up: JIT and inline caches
  const allowedSummaries = sample(allowed, config, allowedMs).map(summarize);
  console.log('\nallowed CREATE, 1–3 clusters, 1–2 quotas (µs per decide()):');
  console.log(table(['population', 'n', 'p50', 'p99', 'max'], rows(allowed.map((c) => c.label), allowedSummaries)));

  sample(denied, config, 300);
  const deniedSummaries = sample(denied, config, 1500).map(summarize);
  console.log('\ndenied for capacity, with "clusters with room" (µs per decide(); informational):');
  console.log(table(['population', 'n', 'p50', 'p99', 'max', 'p50 per cluster'], rows(denied.map((c) => c.label), deniedSummaries).map((row, i) => [...row, fmt((deniedSummaries[i]?.p50 ?? 0) / (sizes[i]?.clusters ?? 1))])));

  const small = allowedSummaries[0] as Summary;
  const large = allowedSummaries[2] as Summary;
  const ratio = large.p50 / small.p50;
  const p50Pass = large.p50 <= GOAL_P50_US;
  const ratioPass = ratio <= GOAL_RATIO;
  console.log(`\np50 at ${LARGE.clusters} clusters: ${fmt(large.p50)} µs (goal ≤ ${GOAL_P50_US} µs) ${verdict(p50Pass)}`);
  console.log(`p50 ratio ${LARGE.clusters} / ${SMALL.clusters} clusters: ${ratio.toFixed(3)} (goal ≤ ${GOAL_RATIO}) ${verdict(ratioPass)}`);
  return Promise.resolve({ value: large.p50, floor: small.p50, ratio, goal: `p50<=${GOAL_P50_US}us,ratio<=${GOAL_RATIO}`, pass: p50Pass && ratioPass });
}
