import { performance } from 'node:perf_hooks';
import { fmt, table } from './report.js';

export function timeMs(work: () => unknown): number {
  const start = performance.now();
  work();
  return performance.now() - start;
}

export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

/**
 * Two warm-up rounds of each, then `rounds` timed rounds alternating floor and work, so noise from a
 * shared machine lands on both; prints every round and returns the medians.
 */
export function alternate(rounds: number, floor: () => unknown, work: () => unknown, label: string): { floorMs: number; workMs: number } {
  for (let i = 0; i < 2; i++) {
    floor();
    work();
  }
  const floors: number[] = [];
  const works: number[] = [];
  for (let i = 0; i < rounds; i++) {
    floors.push(timeMs(floor));
    works.push(timeMs(work));
  }
  console.log(table(['round', 'floor ms', `${label} ms`], floors.map((f, i) => [String(i + 1), fmt(f), fmt(works[i] ?? NaN)])));
  return { floorMs: median(floors), workMs: median(works) };
}
