/**
 * Issue 14's fault suite, bad input (SPEC §9): a few thousand mutations of one valid AdmissionReview
 * (fast-check, seeded; the seed is printed, FUZZ_SEED=<n> replays a run and FUZZ_RUNS=<n> sets the
 * count) POSTed to a real replica as the API server posts them (its client certificate, one
 * keep-alive connection). Every answer is an AdmissionReview or a 4xx, never a 5xx nor a dropped
 * connection; the uid is echoed whenever the envelope was a valid AdmissionReview; every answer comes
 * within 100 ms; the replica is still up and logged no error after.
 *
 * The 100 ms is measured per request at the client, from the first byte written to the last read, on
 * one connection reused throughout (no handshake in it): that is the service's time plus loopback and
 * this process's own event loop, an upper bound on the server's, on a machine whose two cores other
 * test runs share. An answer over it is asked for once more, and the input fails only if it is slow
 * again: the bound is on what an input costs (a quadratic path is slow every time), not on a one-off
 * stall of the machine (seen: 2 of 3,000 at 102 and 122 ms, load average ~8).
 */
import type { IncomingMessage } from 'node:http';
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { admissionReviewSchema } from '../../src/api/admission-review.js';
import { VALIDATE_PATH } from '../../scripts/lib/webhook-registration.js';
import { probe, type WebhookReplica } from '../../scripts/lib/webhook-processes.js';
import { anAdmissionReview } from '../builders/objects.js';
import { deleteFreshNamespaces, kubectl, readySyncTarget } from './support/cluster.js';
import { placement, quotaNamespace, say, spread } from './support/faults.js';
import { apiServerIdentity, startTestWebhook, type TestWebhook } from './support/webhook.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 3000);
const SEED = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const WITHIN_MS = 100;

let webhook: TestWebhook;
let cluster: string;
let ns: string;

beforeAll(async () => {
  // A short TTL: the few mutations that turn the dry run into a real create hold quota only briefly.
  webhook = await startTestWebhook('faults-fuzz', { replicas: 1, env: { PLACEMENT_QUOTA_RESERVATION_TTL_SECONDS: '2' } });
  cluster = await readySyncTarget('faults-fuzz', { cpu: '1000000', memory: '1Pi' });
  ns = await quotaNamespace(webhook, 'fuzz', { cpu: '1000' }, cluster);
}, 120_000);

afterAll(async () => {
  await Promise.all([webhook?.stop(), cluster && kubectl(['delete', 'synctarget', cluster, '--ignore-not-found']), deleteFreshNamespaces()]);
}, 60_000);

type Json = unknown;

/** Every path into a JSON value (objects and arrays), the root included. */
function paths(value: Json, prefix: (string | number)[] = []): (string | number)[][] {
  const here = [prefix];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => paths(item, [...prefix, i]))];
  if (value !== null && typeof value === 'object') return [...here, ...Object.entries(value).flatMap(([key, item]) => paths(item, [...prefix, key]))];
  return here;
}

type Mutation =
  | { kind: 'delete'; at: number }
  | { kind: 'replace'; at: number; value: Json }
  | { kind: 'add'; at: number; key: string; value: Json };

/** Strange values: any JSON, and the ones that probe limits and types. */
const oddValue: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(null, true, 0, -1, 1e308, -0.5, '', '-1', '1e400', 'NaN', '1.5.3', '∞', '\u0000', '99999999999999999999999Ei', '1Ki', '0.000001m'),
  fc.string({ minLength: 250, maxLength: 400 }),
  fc.integer({ min: 1, max: 300_000 }).map((n) => 'x'.repeat(n)),
  fc.array(fc.constantFrom({ name: 'c' }, 'c', null, {}), { maxLength: 300 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 100 }),
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat() }),
  fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), value: oddValue }),
  fc.record({ kind: fc.constant('add' as const), at: fc.nat(), key: fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom('__proto__', 'constructor', 'uid', 'dryRun', 'cpu')), value: oddValue }),
);

/** A fresh copy of a generated value (fast-check reuses them; JSON keeps an own `__proto__` key as data). */
const copy = (value: Json): Json => (value === undefined ? undefined : (JSON.parse(JSON.stringify(value)) as Json));

function apply(review: Json, change: Mutation): Json {
  const all = paths(review);
  const at = all[change.at % all.length] as (string | number)[];
  if (at.length === 0) return change.kind === 'replace' ? copy(change.value) : review;
  const parent = at.slice(0, -1).reduce<Json>((node, key) => (node as Record<string | number, Json>)[key], review) as Record<string | number, Json> | Json[];
  const key = at.at(-1) as string | number;
  const target = (parent as Record<string | number, Json>)[key];
  if (change.kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(key as number, 1);
    else delete parent[key];
  } else if (change.kind === 'replace') (parent as Record<string | number, Json>)[key] = copy(change.value);
  else if (target !== null && typeof target === 'object' && !Array.isArray(target)) Object.defineProperty(target, change.key, { value: copy(change.value), enumerable: true, configurable: true, writable: true });
  else if (Array.isArray(target)) target.push(copy(change.value));
  return review;
}

interface Case {
  body: string;
  /** The text sent is JSON (a byte-level mutation may break it). */
  label: string;
}

function aCase(base: Json): fc.Arbitrary<Case> {
  const structural = fc.array(mutation, { minLength: 1, maxLength: 4 }).map((changes) => {
    const review = changes.reduce((node, change) => apply(node, change), structuredClone(base));
    return { body: JSON.stringify(review) ?? 'undefined', label: changes.map((c) => c.kind).join('+') };
  });
  const text = JSON.stringify(base);
  const bytes = fc.oneof(
    fc.nat({ max: text.length }).map((cut) => ({ body: text.slice(0, cut), label: 'truncated' })),
    fc.tuple(fc.nat({ max: text.length }), fc.string({ minLength: 1, maxLength: 8 })).map(([at, junk]) => ({ body: text.slice(0, at) + junk + text.slice(at), label: 'junk' })),
  );
  return fc.oneof({ weight: 9, arbitrary: structural }, { weight: 1, arbitrary: bytes });
}

interface Reply {
  status: number;
  text: string;
  ms: number;
}

function post(agent: Agent, port: number, ca: string, body: string): Promise<Reply> {
  return new Promise((resolve) => {
    const started = performance.now();
    const req = request({ host: '127.0.0.1', port, path: `${VALIDATE_PATH}?timeout=5s`, method: 'POST', ca, servername: 'localhost', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } });
    req.on('error', (err) => resolve({ status: 0, text: err.message, ms: performance.now() - started }));
    req.on('response', (res: IncomingMessage) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text, ms: performance.now() - started }));
    });
    req.end(body);
  });
}

describe('fuzzed AdmissionReviews, straight to a replica', () => {
  it(`answers ${RUNS} mutations of a valid review: no 5xx, no crash, the uid echoed whenever valid, each within ${WITHIN_MS} ms`, async () => {
    const replica = webhook.set.replicas[0] as WebhookReplica;
    const ca = readFileSync(webhook.set.caFile, 'utf8');
    const valid = anAdmissionReview({ uid: 'fuzz-0', dryRun: true, object: { ...placement(ns, 'fuzzed', '1', cluster), metadata: { name: 'fuzzed', namespace: ns, uid: 'obj-fuzz' } } });
    say(`fuzz: seed ${SEED}, ${RUNS} cases (FUZZ_SEED=${SEED} replays them)`);
    const cases = fc.sample(aCase(valid), { seed: SEED, numRuns: RUNS });
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ...apiServerIdentity() });
    const problems: string[] = [];
    const retried: string[] = [];
    const times: number[] = [];
    const statuses = new Map<number, number>();
    let echoed = 0;
    try {
      // The unmutated review first: the oracle below must be able to say yes.
      for (const [i, c] of [{ body: JSON.stringify(valid), label: 'valid' }, ...cases].entries()) {
        const reply = await post(agent, replica.port, ca, c.body);
        times.push(reply.ms);
        statuses.set(reply.status, (statuses.get(reply.status) ?? 0) + 1);
        const sent = (() => {
          try {
            return admissionReviewSchema.safeParse(JSON.parse(c.body));
          } catch {
            return undefined;
          }
        })();
        const answer = (() => {
          try {
            return JSON.parse(reply.text) as { response?: { uid?: unknown } };
          } catch {
            return undefined;
          }
        })();
        const wrong: string[] = [];
        if (![200, 400, 413].includes(reply.status)) wrong.push(`HTTP ${reply.status}`);
        // The bound is on what an input costs, not on the machine: a slow answer is sent once more,
        // and only an input slow both times counts (a one-off stall of this shared machine, its GC
        // or this process's own event loop, is not the input's cost; an input that is costly is slow again).
        const againMs = reply.ms > WITHIN_MS ? (await post(agent, replica.port, ca, c.body)).ms : undefined;
        const slow = againMs === undefined ? undefined : `${Math.round(reply.ms)} ms, then ${Math.round(againMs)} ms`;
        if (slow && (againMs as number) > WITHIN_MS) wrong.push(slow);
        else if (slow) retried.push(`#${i}: ${slow}`);
        if (answer === undefined) wrong.push('answer not JSON');
        if (sent?.success && !(reply.status === 200 && answer?.response?.uid === sent.data.request.uid)) wrong.push('valid envelope, uid not echoed');
        if (reply.status === 200 && !sent?.success) wrong.push('200 for an invalid envelope');
        if (reply.status === 200 && answer?.response?.uid !== undefined) echoed++;
        if (wrong.length > 0) problems.push(`#${i} (${c.label}): ${wrong.join(', ')}: sent ${c.body.slice(0, 200)} got ${reply.text.slice(0, 200)}`);
      }
    } finally {
      agent.destroy();
    }
    const s = spread(times);
    if (retried.length > 0) say(`fuzz: slow once, in time when sent again: ${retried.join('; ')}`);
    say(`fuzz: ${times.length} answers (${[...statuses].map(([status, n]) => `${n}× ${status}`).join(', ')}), uid echoed ${echoed}; client-side ms ${JSON.stringify(s)}; seed ${SEED}`);
    expect(problems.slice(0, 10)).toEqual([]);
    expect(statuses.get(200) ?? 0).toBeGreaterThan(RUNS / 10);
    expect(statuses.get(400) ?? 0).toBeGreaterThan(RUNS / 10);
    // Up, and nothing it would call its own failure in its log.
    expect(await probe(replica.port, '/healthz', ca)).toBe(200);
    const errors = readFileSync(replica.log, 'utf8').split('\n').filter((line) => /"level":(50|60)/.test(line));
    expect(errors).toEqual([]);
  }, 180_000);
});
