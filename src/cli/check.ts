import type { WorkloadPlacement } from '../api/resources.js';
import { decide, type Decision } from '../core/decide.js';
import { objectKey } from '../core/workspace.js';
import { loadServiceConfig } from '../ops/config.js';
import { InputError, loadState, parseDocument, parseNow, readDocuments } from './load.js';

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
  const state = await loadState(options.files);
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
