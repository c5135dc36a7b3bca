import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { z } from 'zod';
import { describeIssues } from '../api/errors.js';
import { GROUP, trackedKinds, type TrackedObject } from '../api/resources.js';

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
    if (doc.errors.length > 0) throw new InputError(`${where}: not valid YAML: ${doc.errors[0]?.message ?? ''}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const items = isList(value) ? value.items : [value];
    docs.push(...items.map((item) => ({ file, index: i + 1, value: item })));
  });
  return docs;
}

function isList(value: unknown): value is { items: unknown[] } {
  const v = value as { kind?: unknown; items?: unknown };
  return typeof value === 'object' && v.kind === 'List' && Array.isArray(v.items);
}

function describe(doc: Document): string {
  const meta = (doc.value as { metadata?: { name?: unknown; namespace?: unknown } }).metadata;
  const name = [meta?.namespace, meta?.name].filter((part) => typeof part === 'string').join('/');
  return `${doc.file}: document ${doc.index}${name ? ` (${name})` : ''}`;
}

/** Parses a document as one of our kinds, or throws InputError naming the file and field. */
export function parseDocument<K extends keyof typeof trackedKinds>(doc: Document, kind: K): z.output<(typeof trackedKinds)[K]> {
  const parsed = trackedKinds[kind].safeParse(doc.value);
  if (!parsed.success) throw new InputError(`${describe(doc)}: invalid ${kind}: ${describeIssues(parsed.error)}`);
  return parsed.data as z.output<(typeof trackedKinds)[K]>;
}

function kindOf(doc: Document): keyof typeof trackedKinds | undefined {
  const { apiVersion, kind } = doc.value as { apiVersion?: unknown; kind?: unknown };
  if (typeof apiVersion !== 'string' || !apiVersion.startsWith(`${GROUP}/`)) return undefined;
  if (typeof kind === 'string' && kind in trackedKinds) return kind as keyof typeof trackedKinds;
  throw new InputError(`${describe(doc)}: unknown kind ${JSON.stringify(kind)} in ${apiVersion}`);
}

/** Our objects among the documents; objects of other API groups (Namespaces, …) are skipped. */
export function trackedObjects(docs: readonly Document[]): TrackedObject[] {
  return docs.flatMap((doc): TrackedObject[] => {
    const kind = kindOf(doc);
    if (kind === undefined) return [];
    return [{ kind, object: parseDocument(doc, kind) } as TrackedObject];
  });
}
