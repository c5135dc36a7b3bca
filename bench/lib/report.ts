/** What every benchmark returns; bench/run.ts prints it as the RESULT line. */
export interface Result {
  readonly value: number;
  readonly floor: number;
  readonly ratio: number;
  /** The goal in one token, e.g. `p50<=20us,ratio<=1.5`. */
  readonly goal: string;
  readonly pass: boolean;
}

/** The shape of every module in bench/ that run.ts runs. */
export interface Benchmark {
  readonly name: string;
  run(): Promise<Result>;
}

/** The q-quantile (0..1) of already sorted values, nearest rank. */
export function quantile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[rank] as number;
}

export interface Summary {
  readonly count: number;
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
}

export function summarize(values: readonly number[]): Summary {
  const sorted = Float64Array.from(values).sort();
  return { count: sorted.length, p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), max: quantile(sorted, 1) };
}

/** Fixed precision without trailing noise: 3 significant decimals below 10, fewer above. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const abs = Math.abs(n);
  const digits = abs >= 1000 ? 0 : abs >= 100 ? 1 : abs >= 10 ? 2 : 3;
  return n.toFixed(digits);
}

/** A plain text table, columns padded to their widest cell. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)));
  const line = (cells: readonly string[]): string => cells.map((cell, i) => cell.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  return [line(header), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

export const verdict = (pass: boolean): string => (pass ? 'PASS' : 'MISS');

export function resultLine(name: string, result: Result): string {
  return `RESULT ${name} value=${fmt(result.value)} floor=${fmt(result.floor)} ratio=${result.ratio.toFixed(3)} goal=${result.goal} ${verdict(result.pass)}`;
}

/** A whole, positive count from the environment (`BENCH_*`), or the fallback when unset or not one. */
export const positiveCount = (env: string | undefined, fallback: number): number => (env && Number(env) > 0 ? Math.floor(Number(env)) : fallback);
