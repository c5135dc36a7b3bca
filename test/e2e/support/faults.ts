/**
 * What the fault suites (test/e2e/faults-*.test.ts) share: a sampler that records a probe's answers
 * over time (so a test can say when something turned ready, from what it saw, not from a sleep), the
 * API server's own /readyz, and a namespace with a quota every replica has seen.
 */
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { aPlacement, aQuota, anAdmissionReview } from '../../builders/objects.js';
import { apiServerProcess, freshNamespace, kubectl } from './cluster.js';
import { eventually, type TestWebhook } from './webhook.js';

export interface Sample {
  readonly atMs: number;
  readonly status: number;
}

export interface Sampler {
  readonly samples: readonly Sample[];
  /** Stops sampling (after the probe in progress) and returns what was seen. */
  stop(): Promise<Sample[]>;
}

/** Calls `probe` every `everyMs` (after the previous one answered) and records each answer with its time. */
export function sample(probe: () => Promise<number>, everyMs = 50): Sampler {
  const samples: Sample[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const status = await probe();
      samples.push({ atMs: Date.now(), status });
      await sleep(everyMs);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
      return samples;
    },
  };
}

/**
 * When a sampled thing last became ready: the first 200 after its last non-200, or undefined when it
 * never answered anything else (it never went unready).
 */
export function lastBecameReady(samples: readonly Sample[]): number | undefined {
  const lastDown = samples.findLastIndex((s) => s.status !== 200);
  if (lastDown < 0) return undefined;
  return samples.slice(lastDown + 1).find((s) => s.status === 200)?.atMs;
}

/** The API server's /readyz status (0 when it does not answer within a second). */
export function apiServerReadyz(): Promise<number> {
  const { server, ca, adminToken } = apiServerProcess();
  return new Promise((resolve) => {
    const req = request(new URL('/readyz', server), { ca, headers: { authorization: `Bearer ${adminToken}` }, timeout: 1_000, agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve(0));
    req.end();
  });
}

type Manifest = Record<string, unknown>;

/** A WorkloadPlacement manifest charging `cpu` on `cluster` (no status). */
export function placement(ns: string, name: string, cpu: string, cluster: string): Manifest {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, requirements: { cpu }, clusters: [cluster] });
  return { ...rest, metadata: { name, namespace: ns } };
}

/** A non-dry-run CREATE review of `placement(ns, name, cpu, cluster)` under request uid `uid`. */
export function createReview(ns: string, name: string, uid: string, cpu: string, cluster: string): Manifest {
  return anAdmissionReview({ uid, object: { ...placement(ns, name, cpu, cluster), metadata: { name, namespace: ns, uid: `obj-${uid}` } } });
}

/** A namespace `webhook` covers, with quota `limit` of `hard`, once every replica refuses a dry run over it. */
export async function quotaNamespace(webhook: TestWebhook, prefix: string, hard: Record<string, string>, cluster: string): Promise<string> {
  const ns = await freshNamespace(prefix);
  await webhook.cover(ns);
  const applied = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(aQuota('limit', { namespace: ns, hard })) });
  if (applied.code !== 0) throw new Error(`kubectl apply quota failed: ${applied.stderr}`);
  for (const [index, replica] of webhook.set.replicas.entries()) {
    await eventually(async () => {
      const dryRun = anAdmissionReview({ uid: `probe-${replica.port}`, dryRun: true, object: placement(ns, 'probe', '100000', cluster) });
      const message = ((await webhook.post(index, JSON.stringify(dryRun))).json.response as { status?: { message?: string } }).status?.message ?? '';
      if (!message.includes(`exceeded quota ${ns}/limit`)) throw new Error(`replica ${index} has not seen the quota yet: ${message}`);
    });
  }
  return ns;
}

/** Milliseconds from a list's figures: `n`, min, median, p99, max. */
export function spread(values: readonly number[]): { n: number; min: number; p50: number; p99: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => Math.round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN);
  return { n: sorted.length, min: at(0), p50: at(0.5), p99: at(0.99), max: Math.round(sorted.at(-1) ?? NaN) };
}

export const say = (line: string): void => void process.stderr.write(`[e2e faults] ${line}\n`);
