import type { WorkloadPlacement } from '../api/resources.js';
import { decide, type Decision } from '../core/decide.js';
import { TrackedState } from '../state/tracked-state.js';
import { objectKey } from '../core/workspace.js';
import { loadServiceConfig } from '../ops/config.js';
import { expandPaths, InputError, parseDocument, readDocuments, trackedObjects } from './load.js';

export interface CheckOptions {
  readonly files: readonly string[];
  readonly review: string;
  readonly old?: string | undefined;
  readonly now?: string | undefined;
  readonly config?: string | undefined;
  readonly json: boolean;
}

export interface CheckResult {
  readonly exitCode: 0 | 1;
  readonly output: string;
}

function parseNow(now: string | undefined): number {
  if (now === undefined) return Date.now();
  const ms = /^\d{4}-\d{2}-\d{2}T/.test(now) ? Date.parse(now) : NaN;
  if (Number.isNaN(ms)) throw new InputError(`--now: not an RFC 3339 time: ${JSON.stringify(now)}`);
  return ms;
}

/** The single placement document of a --review / --old file, raw (the decision parses it) and parsed. */
async function readPlacement(file: string): Promise<{ raw: unknown; placement: WorkloadPlacement }> {
  const docs = await readDocuments(file);
  const [doc] = docs;
  if (docs.length !== 1 || !doc) throw new InputError(`${file}: expected exactly one WorkloadPlacement, found ${docs.length} documents`);
  const parsed = parseDocument(doc, 'WorkloadPlacement');
  if (parsed.kind !== 'WorkloadPlacement') throw new InputError(`${file}: expected a WorkloadPlacement`);
  return { raw: doc.value, placement: parsed.object };
}

function render(decision: Decision, json: boolean): string {
  if (json) {
    const code = decision.allowed ? 200 : decision.code;
    const message = decision.allowed ? '' : decision.message;
    return JSON.stringify({ allowed: decision.allowed, code, message, warnings: decision.warnings });
  }
  const head = decision.allowed ? 'allowed' : `denied: ${decision.message}`;
  return [head, ...decision.warnings.map((warning) => `warning: ${warning}`)].join('\n');
}

/**
 * `placement-quota check`: builds the same state view the webhook builds from watches, from files,
 * and asks the same decision core. Throws InputError for bad input (exit 2).
 */
export async function runCheck(options: CheckOptions): Promise<CheckResult> {
  // The service's own loader, without the environment: a file `serve` refuses is refused here too.
  const config = await loadServiceConfig({}, options.config);
  const nowMs = parseNow(options.now);
  const state = new TrackedState();
  for (const file of await expandPaths(options.files)) {
    // An object without a namespace is in `default`, as kubectl assumes (workspaceKey applies it).
    for (const tracked of trackedObjects(await readDocuments(file))) state.upsert(tracked);
  }
  const review = await readPlacement(options.review);
  const old = options.old ? await readPlacement(options.old) : undefined;
  if (old) {
    // The webhook's tracker always holds the stored version of an object being updated.
    state.upsertPlacement(old.placement);
  } else if (state.hasPlacement(objectKey(review.placement.metadata))) {
    throw new InputError(`${options.review}: ${objectKey(review.placement.metadata)} already exists in the state files; pass --old to check an update`);
  }
  const decision = decide(
    { operation: old ? 'UPDATE' : 'CREATE', object: review.raw, oldObject: old?.raw },
    state,
    config,
    nowMs,
  );
  return { exitCode: decision.allowed ? 0 : 1, output: render(decision, options.json) };
}
