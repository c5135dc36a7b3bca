/**
 * Issue 14's fault suite, the replicas' half (SPEC §8): two replicas behind the local round-robin
 * forwarder, called by the real API server under a steady stream of creates, while they are replaced
 * one at a time (SIGTERM: a rolling restart) and while their serving certificate is rotated. Neither
 * may refuse a single create. (A replica SIGKILLed mid-burst never lets more than K in:
 * test/e2e/consistency.test.ts.)
 *
 * The stream runs in a namespace without a WorkspaceQuota (the default quota is off), so every create
 * is a review some replica must answer and a refusal can only mean none did; strict-quota contention
 * is the consistency suite's subject, not this one's.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeCertificates } from '../../scripts/lib/certs.js';
import type { WebhookReplica } from '../../scripts/lib/webhook-processes.js';
import { until } from '../support/until.js';
import { apiServerProcess, deleteFreshNamespaces, freshNamespace } from './support/cluster.js';
import { servedFingerprint, startCreateLoad, type CreateLoad } from './support/create-load.js';
import { say } from './support/faults.js';
import { startTestWebhook, type TestWebhook } from './support/webhook.js';

/** Creates between two steps, so every step happens under load (counted, not timed). */
const BETWEEN_STEPS = 25;
const ROTATIONS = 3;

let webhook: TestWebhook;
let ns: string;

beforeAll(async () => {
  webhook = await startTestWebhook('faults-replicas', { replicas: 2 });
  ns = await freshNamespace('faults-replicas');
  await webhook.cover(ns);
}, 120_000);

afterAll(async () => {
  await webhook?.stop();
  await deleteFreshNamespaces();
}, 60_000);

function load(prefix: string): CreateLoad {
  const { server, ca, adminToken } = apiServerProcess();
  return startCreateLoad({ server, ca, token: adminToken, namespace: ns, concurrency: 2, prefix, maxMs: 120_000 });
}

/** Waits until the load has created `count` more than now. */
async function moreCreated(stream: CreateLoad, count: number, what: string): Promise<void> {
  const from = stream.created();
  await until(() => stream.created() >= from + count || stream.refused().length > 0, `${count} creates ${what}`, { timeoutMs: 60_000 });
}

const describeRefusals = (refused: readonly { status: number; message: string }[]): string => refused.map((r) => `${r.status} ${r.message}`).join('\n');

describe('under a stream of creates through the API server', () => {
  it('refuses none while the replicas are replaced one at a time (SIGTERM: drain, exit, start, ready)', async () => {
    const stream = load('rolling');
    const pids = webhook.set.replicas.map((replica) => replica.pid);
    try {
      await moreCreated(stream, BETWEEN_STEPS, 'before the restart');
      for (const index of webhook.set.replicas.keys()) {
        const started = Date.now();
        const before = stream.created();
        await webhook.replace(index);
        say(`rolling restart: replica ${index} replaced in ${Date.now() - started} ms, ${stream.created() - before} creates meanwhile`);
        await moreCreated(stream, BETWEEN_STEPS, `after replacing replica ${index}`);
      }
    } finally {
      const result = await stream.stop();
      say(`rolling restart: ${result.created} created, ${result.refused.length} refused in ${result.seconds} s`);
      expect(describeRefusals(result.refused)).toBe('');
      expect(result.created).toBeGreaterThanOrEqual(BETWEEN_STEPS * (webhook.set.replicas.length + 1));
    }
    // Both were replaced: new processes on the old ports.
    expect(webhook.set.replicas.map((replica) => pids.includes(replica.pid))).toEqual([false, false]);
  }, 120_000);

  it(`refuses none while the serving certificate is rotated ${ROTATIONS} times, each replica serving the new one without a restart`, async () => {
    const certDir = path.dirname(webhook.set.caFile);
    const ca = readFileSync(webhook.set.caFile, 'utf8');
    const pids = webhook.set.replicas.map((replica) => replica.pid);
    const stream = load('rotation');
    const served = (replica: WebhookReplica) => servedFingerprint('127.0.0.1', replica.port);
    try {
      await moreCreated(stream, BETWEEN_STEPS, 'before the first rotation');
      for (let rotation = 1; rotation <= ROTATIONS; rotation++) {
        const old = await served(webhook.set.replicas[0] as WebhookReplica);
        const written = writeCertificates(certDir, {});
        // Same CA (the API server's caBundle still holds), a new serving certificate.
        expect(written.caReused).toBe(true);
        const fresh = new X509Certificate(written.cert).fingerprint256;
        expect(fresh).not.toBe(old);
        const started = Date.now();
        for (const replica of webhook.set.replicas) await until(async () => (await served(replica)) === fresh, `replica on ${replica.port} serving rotation ${rotation}`, { timeoutMs: 20_000 });
        say(`rotation ${rotation}: both replicas serve the new certificate ${Date.now() - started} ms after it was written`);
        await moreCreated(stream, BETWEEN_STEPS, `after rotation ${rotation}`);
      }
    } finally {
      const result = await stream.stop();
      say(`certificate rotation: ${result.created} created, ${result.refused.length} refused in ${result.seconds} s`);
      expect(describeRefusals(result.refused)).toBe('');
      expect(result.created).toBeGreaterThanOrEqual(BETWEEN_STEPS * (ROTATIONS + 1));
    }
    expect(readFileSync(webhook.set.caFile, 'utf8')).toBe(ca);
    expect(webhook.set.replicas.map((replica) => replica.pid)).toEqual(pids);
  }, 120_000);
});
