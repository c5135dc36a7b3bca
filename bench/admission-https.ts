/**
 * Admission over HTTPS keep-alive (SPEC §12). Three servers in this process, on 127.0.0.1:
 *   real  createHttpsServer + createRequestListener + createReviewer on a TrackedState of
 *         1,000 clusters / 10,000 placements / 1,000 quotas (always ready) and a ReservationLedger;
 *   noop  the same stack with a reviewer that answers allowed:true (the floor of the RESULT);
 *   bare  node:https that JSON.parses the body and answers allowed:true (the physical floor).
 * A second process (bench/lib/load-client.ts) loads them in turn with ~2 KB AdmissionReviews: 80 %
 * allowed (dryRun, so nothing is reserved and the mix stays the same all run), 10 % denied by a full
 * quota, 10 % denied for cluster capacity (with its scan for clusters with room); BENCH_MIX changes
 * the proportions. The time is cut in rounds, each server a slice per round, so machine noise lands
 * on the three alike.
 *
 *   BENCH_HTTPS_SECONDS  measured seconds per server (default 10, in 5 rounds; plus 2 s warm-up each)
 *   BENCH_CONCURRENCY    keep-alive connections (default 16)
 *   BENCH_MIX            allowed/denied-by-quota/denied-for-capacity percentages (default 80/10/10)
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { decisionConfigSchema } from '../src/api/config.js';
import { ReservationLedger } from '../src/state/reservations.js';
import { createLogger } from '../src/ops/logger.js';
import { decodeAndReview, VALIDATE_PATH } from '../src/webhook/admission-route.js';
import { createRequestListener } from '../src/webhook/app.js';
import { createHttpsServer, type WebhookHttpsServer } from '../src/webhook/https-server.js';
import { createReviewer, type Reviewer } from '../src/webhook/reviewer.js';
import { makeCertificates } from '../scripts/lib/certs.js';
import { NOW } from '../test/builders/objects.js';
import type { Command, LoadReport } from './lib/load-client.js';
import { buildState, describeSize, MEDIUM, placementObject, placementSpec, seeded, type PlacementSpec, type ReviewKind } from './lib/population.js';
import { fmt, summarize, table, verdict, type Result } from './lib/report.js';

export const name = 'admission-https';

const GOAL_VS_NOOP = 0.8;
const GOAL_VS_BARE = 0.6;
const GOAL_P99_OVER_BARE_MS = 2;
const GOAL_P99_VS_NOOP = 1.5;
const ROUNDS = 5;
const WARMUP_MS = 2000;
const BODY_COUNT = 200;

const positive = (env: string | undefined, fallback: number): number => (env && Number(env) > 0 ? Number(env) : fallback);

/** An AdmissionReview as kube-apiserver sends it for `kubectl apply` of a new placement. */
function admissionReview(spec: PlacementSpec, n: number): string {
  const object = placementObject(spec) as { metadata: Record<string, unknown>; spec: unknown };
  const uid = `5f0c8a4e-${String(n).padStart(4, '0')}-4b7e-9c1d-${spec.kind === 'allowed' ? 'a' : 'd'}0b2c3d4e5f6`;
  const lastApplied = JSON.stringify({ apiVersion: 'tmc.kcp.io/v1alpha1', kind: 'WorkloadPlacement', metadata: { name: spec.name, namespace: spec.namespace, labels: spec.labels }, spec: object.spec });
  object.metadata = {
    ...object.metadata,
    uid: `0a1b2c3d-${String(n).padStart(4, '0')}-4e5f-8a9b-0c1d2e3f4a5b`,
    generation: 1,
    creationTimestamp: '2026-11-23T11:59:58Z',
    annotations: { 'kubectl.kubernetes.io/last-applied-configuration': `${lastApplied}\n` },
    managedFields: [
      {
        manager: 'kubectl-client-side-apply',
        operation: 'Update',
        apiVersion: 'tmc.kcp.io/v1alpha1',
        time: '2026-11-23T11:59:58Z',
        fieldsType: 'FieldsV1',
        fieldsV1: {
          'f:metadata': { 'f:annotations': { '.': {}, 'f:kubectl.kubernetes.io/last-applied-configuration': {} }, 'f:labels': { '.': {}, 'f:app': {}, 'f:tier': {} } },
          'f:spec': { '.': {}, 'f:priority': {}, 'f:resourceRequirements': { '.': {}, 'f:cpu': {}, 'f:memory': {} }, 'f:targetClusters': {} },
        },
      },
    ],
  };
  const gvk = { group: 'tmc.kcp.io', version: 'v1alpha1', kind: 'WorkloadPlacement' };
  const gvr = { group: 'tmc.kcp.io', version: 'v1alpha1', resource: 'workloadplacements' };
  return JSON.stringify({
    kind: 'AdmissionReview',
    apiVersion: 'admission.k8s.io/v1',
    request: {
      uid,
      kind: gvk,
      resource: gvr,
      requestKind: gvk,
      requestResource: gvr,
      name: spec.name,
      namespace: spec.namespace,
      operation: 'CREATE',
      userInfo: {
        username: 'system:serviceaccount:ci:deployer',
        uid: '7d6e5f4a-3b2c-4d1e-8f9a-0b1c2d3e4f5a',
        groups: ['system:serviceaccounts', 'system:serviceaccounts:ci', 'system:authenticated'],
        extra: { 'authentication.kubernetes.io/pod-name': ['deployer-7c9f8d6b5-x2k4q'] },
      },
      object,
      oldObject: null,
      dryRun: spec.kind === 'allowed',
      options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1', fieldManager: 'kubectl-client-side-apply', fieldValidation: 'Strict' },
    },
  });
}

/** `BENCH_MIX` allowed/denied-by-quota/denied-for-capacity in percent, e.g. `80/10/10` (the default). */
function mix(): [number, number, number] {
  const parts = (process.env.BENCH_MIX ?? '80/10/10').split('/').map(Number);
  if (parts.length !== 3 || parts.some((p) => !Number.isInteger(p) || p < 0) || parts.reduce((a, b) => a + b, 0) !== 100) {
    throw new Error(`BENCH_MIX must be three whole percentages summing to 100, like 80/10/10; got ${process.env.BENCH_MIX}`);
  }
  return parts as [number, number, number];
}

/** The bodies in the mix's proportions, in a shuffled but fixed order. */
function reviewBodies(percent: readonly [number, number, number]): { kind: ReviewKind; body: string }[] {
  const random = seeded(3);
  const [allowed, quota] = percent.map((p) => (p * BODY_COUNT) / 100) as [number, number];
  const kinds: ReviewKind[] = Array.from({ length: BODY_COUNT }, (_, i) => (i < allowed ? 'allowed' : i < allowed + quota ? 'denied-quota' : 'denied-capacity'));
  for (let i = kinds.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [kinds[i], kinds[j]] = [kinds[j] as ReviewKind, kinds[i] as ReviewKind];
  }
  return kinds.map((kind, n) => ({ kind, body: admissionReview(placementSpec(kind, MEDIUM, random, n), n) }));
}

const noopReviewer: Reviewer = (request) => ({ uid: request.uid, allowed: true });

function bareServer(material: { cert: string; key: string }): https.Server {
  const server = https.createServer({ cert: material.cert, key: material.key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { request: { uid: string } };
      const body = JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true } });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      res.end(body);
    });
  });
  server.keepAliveTimeout = 120_000; // as the webhook's: connections stay open between slices
  return server;
}

async function listen(server: https.Server): Promise<number> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}

interface Target {
  readonly label: string;
  readonly port: number;
  readonly reports: LoadReport[];
  serverCpuMs: number;
}

async function loadOnce(client: ChildProcess, crashed: Promise<never>, target: Target, ms: number): Promise<LoadReport> {
  const cpu = process.cpuUsage();
  client.send({ type: 'load', port: target.port, ms } satisfies Command);
  const [report] = (await Promise.race([once(client, 'message'), crashed])) as [LoadReport];
  const used = process.cpuUsage(cpu);
  if (report.firstError) console.log(`  ${target.label}: ${report.errors} errors, first: ${report.firstError}`);
  target.serverCpuMs += (used.user + used.system) / 1000;
  return report;
}

interface Figures {
  readonly rps: number;
  readonly p50: number;
  readonly p99: number;
  readonly errors: number;
  readonly allowedShare: number;
  readonly serverCpuUs: number;
  readonly clientCpuUs: number;
  readonly clientBusy: number;
}

function figures(target: Target): Figures {
  const requests = target.reports.reduce((sum, r) => sum + r.requests, 0);
  const wallMs = target.reports.reduce((sum, r) => sum + r.wallMs, 0);
  const clientCpuMs = target.reports.reduce((sum, r) => sum + r.cpuMs, 0);
  const latency = summarize(target.reports.flatMap((r) => r.latenciesUs));
  return {
    rps: (requests / wallMs) * 1000,
    p50: latency.p50 / 1000,
    p99: latency.p99 / 1000,
    errors: target.reports.reduce((sum, r) => sum + r.errors, 0),
    allowedShare: target.reports.reduce((sum, r) => sum + r.allowed, 0) / requests,
    serverCpuUs: (target.serverCpuMs * 1000) / requests,
    clientCpuUs: (clientCpuMs * 1000) / requests,
    clientBusy: clientCpuMs / wallMs,
  };
}

/** Decodes every body through the real reviewer once: each must decide as its kind says. */
async function checkBodies(bodies: readonly { kind: ReviewKind; body: string }[], review: Reviewer): Promise<void> {
  for (const { kind, body } of bodies) {
    const outcome = await decodeAndReview(Buffer.from(body), review);
    if ((outcome.body as { response?: { allowed: boolean } }).response?.allowed !== (kind === 'allowed')) throw new Error(`a ${kind} review was answered ${JSON.stringify(outcome)}`);
  }
}

/** In-process µs per body of each kind through decodeAndReview (JSON.parse, zod, review, log): where the time goes. */
function reviewCosts(bodies: readonly { kind: ReviewKind; body: string }[], reviewers: Record<string, Reviewer>): string[][] {
  const rows: string[][] = [];
  for (const [label, review] of Object.entries(reviewers)) {
    for (const kind of ['allowed', 'denied-quota', 'denied-capacity'] as const) {
      const buffers = bodies.filter((b) => b.kind === kind).map((b) => Buffer.from(b.body));
      if (buffers.length === 0) continue;
      const samples: number[] = [];
      for (let end = performance.now() + 400, i = 0; performance.now() < end; i++) {
        const start = performance.now();
        void decodeAndReview(buffers[i % buffers.length] as Buffer, review); // synchronous: no reserver here
        samples.push((performance.now() - start) * 1000);
      }
      const s = summarize(samples.slice(samples.length >> 2)); // the first quarter is warm-up
      rows.push([label, kind, fmt(s.p50), fmt(s.p99)]);
    }
  }
  return rows;
}

export async function run(): Promise<Result> {
  const seconds = positive(process.env.BENCH_HTTPS_SECONDS, 10);
  const concurrency = positive(process.env.BENCH_CONCURRENCY, 16);
  const material = makeCertificates();
  const state = buildState(MEDIUM);
  // As in production: JSON lines at info (denials are logged, admissions are debug), here written
  // synchronously into /dev/null. Production's stdout is not written this way: createLogger without
  // a destination gets pino's default, asynchronous (docs/benchmarks.md, "The log destination").
  const log = createLogger('info', pino.destination({ dest: '/dev/null', sync: true }));
  const reviewer = createReviewer({
    state,
    ledger: new ReservationLedger(),
    readiness: () => ({ ready: true }),
    config: decisionConfigSchema.parse({}),
    reservationTtlMs: 30_000,
    clock: () => NOW, // the builders' heartbeats are fresh at NOW
    log,
  });
  const percent = mix();
  const bodies = reviewBodies(percent);
  await checkBodies(bodies, reviewer);
  const sizes = bodies.map(({ body }) => Buffer.byteLength(body));
  console.log(`state: ${describeSize(MEDIUM)}`);
  console.log(`bodies: ${bodies.length}, ${fmt(sizes.reduce((a, b) => a + b, 0) / sizes.length)} bytes on average (${Math.min(...sizes)}-${Math.max(...sizes)}); ${percent[0]} % allowed (dryRun), ${percent[1]} % denied by quota, ${percent[2]} % denied for capacity`);

  console.log('\nin-process cost of one review, no HTTPS (µs):');
  console.log(table(['reviewer', 'body', 'p50', 'p99'], reviewCosts(bodies, { real: reviewer, noop: noopReviewer })));
  console.log('');

  const onError = (error: unknown): void => console.error('admission route failed:', error);
  const webhooks: WebhookHttpsServer[] = [reviewer, noopReviewer].map((review) =>
    createHttpsServer({ material, handler: createRequestListener({ review, readiness: () => ({ ready: true }), onError }), log }),
  );
  const bare = bareServer(material);
  const servers = [...webhooks.map((w) => w.server), bare];
  const ports = await Promise.all(servers.map(listen));
  const targets: Target[] = ['real', 'noop', 'bare'].map((label, i) => ({ label, port: ports[i] as number, reports: [], serverCpuMs: 0 }));

  const tsx = import.meta.resolve('tsx');
  const client = fork(fileURLToPath(new URL('lib/load-client.ts', import.meta.url)), [], { execArgv: ['--import', tsx], stdio: 'inherit' });
  const crashed = new Promise<never>((_, reject) => client.once('exit', (code) => code !== 0 && reject(new Error(`the load client exited with ${code}`))));
  crashed.catch(() => undefined); // raced below; a crash after the last round is not an error of its own
  try {
    client.send({ type: 'init', ca: material.caCert, path: VALIDATE_PATH, bodies: bodies.map((b) => b.body), concurrency } satisfies Command);
    console.log(`load: ${concurrency} keep-alive connections from a second process, ${seconds} s per server in ${ROUNDS} rounds after ${WARMUP_MS / 1000} s warm-up each`);
    for (const target of targets) await loadOnce(client, crashed, { ...target, reports: [], serverCpuMs: 0 }, WARMUP_MS);
    for (let round = 0; round < ROUNDS; round++) {
      for (let k = 0; k < targets.length; k++) {
        const target = targets[(round + k) % targets.length] as Target;
        target.reports.push(await loadOnce(client, crashed, target, (seconds * 1000) / ROUNDS));
      }
    }
  } finally {
    if (client.connected) client.send({ type: 'exit' } satisfies Command);
    await Promise.all([...webhooks.map((w) => w.close(1000)), new Promise((resolve) => bare.close(resolve))]);
    bare.closeAllConnections();
  }

  const all = targets.map(figures);
  const [real, noop, floor] = all as [Figures, Figures, Figures];
  const rows = all.map((f, i) => [targets[i]?.label ?? '', fmt(f.rps), fmt(f.p50), fmt(f.p99), String(f.errors), `${fmt(f.allowedShare * 100)}%`, fmt(f.serverCpuUs), fmt(f.clientCpuUs), `${fmt(f.clientBusy * 100)}%`]);
  console.log(table(['server', 'req/s', 'p50 ms', 'p99 ms', 'errors', 'allowed', 'server CPU µs/req', 'client CPU µs/req', 'client busy'], rows));

  const vsNoop = real.rps / noop.rps;
  const vsBare = real.rps / floor.rps;
  const p99OverBare = real.p99 - floor.p99;
  const p99VsNoop = real.p99 / noop.p99;
  console.log(`\nthroughput real / noop: ${vsNoop.toFixed(3)} (goal ≥ ${GOAL_VS_NOOP}) ${verdict(vsNoop >= GOAL_VS_NOOP)}`);
  console.log(`throughput real / bare: ${vsBare.toFixed(3)} (goal ≥ ${GOAL_VS_BARE}) ${verdict(vsBare >= GOAL_VS_BARE)}`);
  console.log(`p99 real - bare: ${fmt(p99OverBare)} ms (goal ≤ +${GOAL_P99_OVER_BARE_MS} ms) ${verdict(p99OverBare <= GOAL_P99_OVER_BARE_MS)}`);
  console.log(`p99 real / noop: ${p99VsNoop.toFixed(3)} (SPEC §12 goal ≤ ${GOAL_P99_VS_NOOP}) ${verdict(p99VsNoop <= GOAL_P99_VS_NOOP)}`);
  // The client is not the limit when it needs less CPU per request than each server and is not
  // itself using a whole core: then the server saturates first and the client waits on it.
  const clientBound = all.filter((f) => f.clientCpuUs >= f.serverCpuUs || f.clientBusy >= 0.9);
  console.log(
    clientBound.length === 0
      ? 'load generator: not the bottleneck (it spends less CPU per request than every server and stays under 90 % of a core)'
      : `load generator: MAY BE THE BOTTLENECK for ${clientBound.length} server(s): client CPU per request ≥ server's, or client ≥ 90 % busy`,
  );
  return { value: real.rps, floor: noop.rps, ratio: vsNoop, goal: `ratio>=${GOAL_VS_NOOP}`, pass: vsNoop >= GOAL_VS_NOOP };
}
