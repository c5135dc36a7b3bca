import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { z } from 'zod';
import { describeIssues } from '../api/errors.js';
import { timestampMs } from '../api/fields.js';
import { TrackedState } from '../state/tracked-state.js';
import { yamlProblem } from '../ops/config.js';
import { GROUP, isTrackedKind, type TrackedKind, type TrackedObject } from '../api/resources.js';
import { parseTrackedObject } from '../api/tracked-parse.js';

/** Bad input: the message names the file, the document and the field. */
export class InputError extends Error {
  override readonly name = 'InputError';
}

/** One document of a file, with where it came from for error messages. */
export interface Document {
  readonly file: string;
  readonly index: number;
  readonly value: unknown;
}

const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

/** Files named on the command line, with folders expanded one level (as `kubectl apply -f <dir>`). */
export async function expandPaths(paths: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  for (const path of paths) {
    const info = await stat(path).catch(() => undefined);
    if (!info) throw new InputError(`${path}: no such file or folder`);
    if (!info.isDirectory()) {
      files.push(path);
      continue;
    }
    const names = (await readdir(path)).filter((name) => MANIFEST_EXTENSIONS.has(extname(name))).sort();
    files.push(...names.map((name) => join(path, name)));
  }
  return files;
}

/** Every document of a YAML or JSON file; `kind: List` is unwrapped into its items, as kubectl does. */
export async function readDocuments(file: string): Promise<Document[]> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new InputError(`${file}: cannot read: ${error.code ?? error.message}`);
  });
  const docs: Document[] = [];
  parseAllDocuments(text).forEach((doc, i) => {
    const where = `${file}: document ${i + 1}`;
    if (doc.errors[0]) throw new InputError(`${where}: ${yamlProblem(doc.errors[0])}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const items = isList(value) ? value.items : [value];
    docs.push(...items.map((item) => ({ file, index: i + 1, value: item })));
  });
  return docs;
}

// The envelope every document must have, as kubectl requires it: apiVersion and kind, and enough of
// the metadata to name it in messages. Read with zod, like everything else that comes from outside.
const envelopeSchema = z.looseObject({
  apiVersion: z.string({ error: 'apiVersion: must be a string' }),
  kind: z.string({ error: 'kind: must be a string' }),
});

const listSchema = z.looseObject({ kind: z.literal('List'), items: z.array(z.unknown()) });

function isList(value: unknown): value is { items: unknown[] } {
  return listSchema.safeParse(value).success;
}

const nameOf = (value: unknown): string => {
  const meta = z.looseObject({ metadata: z.looseObject({ name: z.unknown().optional(), namespace: z.unknown().optional() }) }).safeParse(value);
  if (!meta.success) return '';
  const { namespace, name } = meta.data.metadata;
  return [namespace, name].filter((part) => typeof part === 'string').join('/');
};

function describe(doc: Document): string {
  const name = nameOf(doc.value);
  return `${doc.file}: document ${doc.index}${name ? ` (${name})` : ''}`;
}

/** Parses a document as one of our kinds, or throws InputError naming the file and field. */
export function parseDocument(doc: Document, kind: TrackedKind): TrackedObject {
  const parsed = parseTrackedObject(kind, doc.value);
  if (!parsed.success) throw new InputError(`${describe(doc)}: invalid ${kind}: ${describeIssues(parsed.error)}`);
  return parsed.tracked;
}

/** The kind of one of our documents; undefined for documents of other API groups (Namespaces, …). */
function kindOf(doc: Document): TrackedKind | undefined {
  const envelope = envelopeSchema.safeParse(doc.value);
  if (!envelope.success) throw new InputError(`${describe(doc)}: ${envelope.error.issues.map((issue) => issue.message).join('; ')}`);
  const { apiVersion, kind } = envelope.data;
  if (!apiVersion.startsWith(`${GROUP}/`)) return undefined;
  if (isTrackedKind(kind)) return kind;
  throw new InputError(`${describe(doc)}: unknown kind ${JSON.stringify(kind)} in ${apiVersion}`);
}

/** Our objects among the documents; objects of other API groups are skipped. */
export function trackedObjects(docs: readonly Document[]): TrackedObject[] {
  return docs.flatMap((doc): TrackedObject[] => {
    const kind = kindOf(doc);
    return kind === undefined ? [] : [parseDocument(doc, kind)];
  });
}

/** The state the files hold, built as the webhook's tracker builds it from watches. */
export async function loadState(paths: readonly string[]): Promise<TrackedState> {
  const state = new TrackedState();
  for (const file of await expandPaths(paths)) {
    // An object without a namespace is in `default`, as kubectl assumes (workspaceKey applies it).
    for (const tracked of trackedObjects(await readDocuments(file))) state.upsert(tracked);
  }
  return state;
}

/** `--now`: the clock of an offline run (default: the real one), so results are reproducible. */
export function parseNow(now: string | undefined): number {
  if (now === undefined) return Date.now();
  const ms = timestampMs(now);
  if (Number.isNaN(ms)) throw new InputError(`--now: not an RFC 3339 time: ${JSON.stringify(now)}`);
  return ms;
}
