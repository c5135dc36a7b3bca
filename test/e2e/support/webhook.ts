/**
 * One webhook deployment per e2e test file: `placement-quota serve` replicas as real processes, with
 * the service identity's kubeconfig, registered through a ValidatingWebhookConfiguration that only
 * covers this file's namespaces (so files running at the same time do not see each other's webhook).
 */
import { once } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeCertificates } from '../../../scripts/lib/certs.js';
import { VALIDATE_PATH, webhookConfiguration } from '../../../scripts/lib/webhook-registration.js';
import { startReplica, startWebhooks, stopWebhooks, terminate, waitReady, webhookStateFile, type WebhookReplica, type WebhookSet } from '../../../scripts/lib/webhook-processes.js';
import { clusterInfo, kubectl, type KubectlResult } from './cluster.js';

export interface WebhookReply {
  readonly status: number;
  readonly json: Record<string, unknown>;
}

/** A client certificate and its key, PEM. */
export interface ClientIdentity {
  readonly cert: string;
  readonly key: string;
}

/** The client certificate kube-apiserver presents to webhooks (scripts/lib/control-plane.ts). */
export function apiServerIdentity(): ClientIdentity {
  const { webhookClient } = clusterInfo();
  return { cert: readFileSync(webhookClient.certFile, 'utf8'), key: readFileSync(webhookClient.keyFile, 'utf8') };
}

/** POSTs a body to the admission path over TLS; `as` is the client certificate presented (none: undefined). */
export async function postTls(port: number, ca: string, body: string | Buffer, options: { contentType?: string; as?: ClientIdentity; timeout?: string } = {}): Promise<WebhookReply> {
  const headers = { 'content-type': options.contentType ?? 'application/json' };
  const req = request({ host: '127.0.0.1', port, path: `${VALIDATE_PATH}?timeout=${options.timeout ?? '10s'}`, method: 'POST', ca, servername: 'localhost', headers, agent: false, ...options.as });
  req.end(body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let text = '';
  for await (const chunk of res) text += String(chunk);
  return { status: res.statusCode ?? 0, json: JSON.parse(text) as Record<string, unknown> };
}

export interface ReportReply {
  readonly status: number;
  readonly contentType: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
}

/** How to ask: a bearer token, or other headers (a cookie), a method and a body. */
export interface GetOptions {
  readonly token?: string;
  readonly method?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

export async function getTls(port: number, ca: string, urlPath: string, options: GetOptions = {}): Promise<ReportReply> {
  const headers = { ...(options.token ? { authorization: `Bearer ${options.token}` } : {}), ...options.headers };
  const req = request({ host: '127.0.0.1', port, path: urlPath, ca, servername: 'localhost', method: options.method ?? 'GET', headers });
  req.end(options.body);
  const [res] = (await once(req, 'response')) as [IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, contentType: res.headers['content-type'] ?? '', headers: res.headers, body };
}

export interface TestWebhook {
  readonly set: WebhookSet;
  readonly label: Record<string, string>;
  /** Labels a namespace so that this webhook reviews its placements. */
  cover(namespace: string): Promise<void>;
  /**
   * POSTs a body to replica `index` over TLS, as the API server does: trusting only this webhook's CA
   * and presenting the API server's client certificate.
   */
  post(index: number, body: string | Buffer, contentType?: string, timeout?: string): Promise<WebhookReply>;
  /** The CA that signed the webhook's serving certificate (PEM). */
  readonly ca: string;
  /** GETs a path of replica `index`'s observability listener (/metrics, /reports/*, /dashboard) over TLS. */
  report(index: number, urlPath: string, options?: GetOptions): Promise<ReportReply>;
  /** GETs a path of replica `index`'s admission port over TLS. */
  admission(index: number, urlPath: string, options?: GetOptions): Promise<ReportReply>;
  /** Kills replica `index` at once (SIGKILL), as a crashed pod. */
  kill(index: number): Promise<void>;
  /**
   * One step of a rolling restart: stops replica `index` gracefully (SIGTERM; resolves once it has
   * drained and exited), starts a new one on the same port (its place behind the forwarder) and waits
   * until it is ready.
   */
  replace(index: number): Promise<void>;
  /** Stops every replica, runs `meanwhile`, starts them again on the same ports and waits until ready. */
  restart(meanwhile?: () => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

async function must(args: string[], input?: string): Promise<KubectlResult> {
  const result = await kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${result.stderr}`);
  return result;
}

/** The service's namespace, identity and least-privilege RBAC, and the reports reader's role, as `manifests/` defines them. */
export async function installRbac(): Promise<void> {
  await must(['apply', '-f', 'manifests/namespace.yaml', '-f', 'manifests/serviceaccount.yaml', '-f', 'manifests/rbac.yaml', '-f', 'manifests/reports-reader.yaml']);
}

export interface TestWebhookOptions {
  replicas?: number;
  env?: Record<string, string>;
  /** The config file's content (JSON is YAML), e.g. shorter enforcement intervals. */
  config?: Record<string, unknown>;
}

/** The Lease a test webhook leads with: its own, so webhooks of files running at once do not take turns. */
export const testLeaseName = (name: string): string => `e2e-${name}`;

export async function startTestWebhook(name: string, options: TestWebhookOptions = {}): Promise<TestWebhook> {
  await installRbac();
  const dir = mkdtempSync(path.join(tmpdir(), `webhook-${name}-`));
  const certDir = path.join(dir, 'certs');
  writeCertificates(certDir, {});
  const configFile = options.config ? path.join(dir, 'config.json') : undefined;
  if (configFile) writeFileSync(configFile, JSON.stringify(options.config));
  const env = { PLACEMENT_QUOTA_LEASE_NAME: testLeaseName(name), ...options.env };
  const { serviceKubeconfig, webhookClient } = clusterInfo();
  const startOptions = { dir, kubeconfig: serviceKubeconfig, certDir, replicas: options.replicas ?? 1, env, clientCAFile: webhookClient.caFile, ...(configFile ? { configFile } : {}) };
  const identity = apiServerIdentity();
  const set = await startWebhooks(startOptions);
  await waitReady(set);
  const label = { 'placement-quota.e2e/webhook': name };
  const ca = readFileSync(path.join(certDir, 'ca.crt'), 'utf8');
  const registration = webhookConfiguration(ca, { url: `https://127.0.0.1:${set.port}${VALIDATE_PATH}` }, { name: `e2e-${name}`, namespaceLabels: label });
  await must(['apply', '-f', '-'], JSON.stringify(registration));
  return {
    set,
    label,
    post: (index, body, contentType = 'application/json', timeout?: string) =>
      postTls((set.replicas[index] as WebhookReplica).port, ca, body, { contentType, as: identity, ...(timeout ? { timeout } : {}) }),
    ca,
    report: (index, urlPath, options) => getTls((set.replicas[index] as WebhookReplica).observabilityPort, ca, urlPath, options),
    admission: (index, urlPath, options) => getTls((set.replicas[index] as WebhookReplica).port, ca, urlPath, options),
    cover: async (namespace) => {
      await must(['label', 'namespace', namespace, `placement-quota.e2e/webhook=${name}`, '--overwrite']);
    },
    kill: async (index) => {
      await terminate((set.replicas[index] as WebhookReplica).pid, true);
    },
    replace: async (index) => {
      const old = set.replicas[index] as WebhookReplica;
      await terminate(old.pid);
      set.replicas[index] = await startReplica(startOptions, index, old.port);
      writeFileSync(webhookStateFile(dir), JSON.stringify(set));
      await waitReady(set);
    },
    restart: async (meanwhile) => {
      await Promise.all(set.replicas.map((replica) => terminate(replica.pid)));
      await meanwhile?.();
      set.replicas = await Promise.all(set.replicas.map((replica, i) => startReplica(startOptions, i, replica.port)));
      writeFileSync(webhookStateFile(dir), JSON.stringify(set));
      await waitReady(set);
    },
    stop: async () => {
      await kubectl(['delete', 'validatingwebhookconfiguration', `e2e-${name}`, '--ignore-not-found']);
      await stopWebhooks(dir);
      if (!process.env.KEEP_WEBHOOK_LOGS) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Retries an assertion until it passes or the time is up (watch-driven state settles in milliseconds). */
export async function eventually<T>(check: () => Promise<T>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
