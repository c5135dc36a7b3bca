/**
 * Runs the benchmarks in bench/ (every `*.ts` here but this file), or those named:
 *
 *   npx tsx bench/run.ts                    all
 *   npx tsx bench/run.ts decision-cost      one (or several)
 *
 * Each module exports `name` and `run(): Promise<Result>`; after its own figures this prints
 * `RESULT <name> value=<v> floor=<f> ratio=<r> goal=<g> PASS|MISS`. A MISS is a figure, not a
 * failure: the exit status is 1 only when a benchmark could not run, 2 for an unknown name.
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import * as path from 'node:path';
import { resultLine, type Benchmark } from './lib/report.js';

const benchDir = path.dirname(fileURLToPath(import.meta.url));

async function load(file: string): Promise<Benchmark> {
  const module = (await import(pathToFileURL(path.join(benchDir, file)).href)) as Partial<Benchmark>;
  if (typeof module.name !== 'string' || typeof module.run !== 'function') throw new Error(`bench/${file} does not export name and run()`);
  return { name: module.name, run: module.run };
}

async function main(names: readonly string[]): Promise<number> {
  const files = readdirSync(benchDir).filter((file) => file.endsWith('.ts') && file !== 'run.ts').sort();
  const all = await Promise.all(files.map(load));
  const unknown = names.filter((name) => !all.some((bench) => bench.name === name));
  if (unknown.length > 0) {
    console.error(`unknown benchmark ${unknown.join(', ')}; known: ${all.map((bench) => bench.name).join(', ')}`);
    return 2;
  }
  let failed = 0;
  for (const bench of all.filter((b) => names.length === 0 || names.includes(b.name))) {
    console.log(`\n=== ${bench.name} ===`);
    try {
      console.log(resultLine(bench.name, await bench.run()));
    } catch (error) {
      console.error(`${bench.name} failed:`, error);
      failed += 1;
    }
  }
  return failed > 0 ? 1 : 0;
}

// Exit explicitly: a benchmark that leaves a timer or socket behind must not hang the run.
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
