/**
 * Direct access to the run's etcd through its HTTP/JSON gateway (etcdctl is not on this machine):
 * read the current revision, compact history away.
 */
import * as path from 'node:path';
import { z } from 'zod';
import { readState } from '../../../scripts/lib/control-plane.js';
import { STATE_ENV } from './cluster.js';

const header = z.object({ header: z.object({ revision: z.string() }) });

function etcdUrl(): string {
  const stateFile = process.env[STATE_ENV];
  if (!stateFile) throw new Error(`${STATE_ENV} is not set: run e2e tests through jest's e2e project (global setup)`);
  return readState(path.dirname(stateFile)).etcd.clientUrl;
}

async function post(endpoint: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${etcdUrl()}${endpoint}`, { method: 'POST', body: JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`etcd ${endpoint}: HTTP ${res.status}: ${text}`);
  return JSON.parse(text);
}

/** etcd's current revision (every write anywhere in the cluster moves it). */
export async function etcdRevision(): Promise<string> {
  // Any range request answers with the header; the key need not exist.
  return header.parse(await post('/v3/kv/range', { key: Buffer.from('/').toString('base64') })).header.revision;
}

/**
 * Compacts etcd's history up to its current revision (physically, before returning): every older
 * revision is gone, so a request that reaches etcd with one gets `410 Expired`. Returns the revision.
 */
export async function compactEtcd(): Promise<string> {
  const revision = await etcdRevision();
  try {
    await post('/v3/kv/compaction', { revision, physical: true });
  } catch (error) {
    // kube-apiserver compacts on its own schedule too; losing that race is fine.
    if (!String(error).includes('required revision has been compacted')) throw error;
  }
  return revision;
}
