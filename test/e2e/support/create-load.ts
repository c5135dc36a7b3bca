/**
 * A steady stream of WorkloadPlacement creates through the real API server (so through the webhook),
 * for tests that change the webhook's pods underneath it: every create that is not 201 is kept with
 * its status and message. Bounded: it stops by itself after `maxCreates` or `maxMs`.
 */
import * as https from 'node:https';
import * as tls from 'node:tls';

export interface CreateLoadOptions {
  server: string;
  ca: string;
  token: string;
  namespace: string;
  /** Creates in flight at once (default 2). */
  concurrency?: number;
  maxCreates?: number;
  maxMs?: number;
  /** The placements' spec (default: 1m cpu, 1Mi memory, no clusters). */
  spec?: Record<string, unknown>;
  /** Name prefix (default `load`). */
  prefix?: string;
  /**
   * Refusals a client would retry (the same create, after 100 ms, up to 20 times): kept apart in
   * `retried`, and the create's last answer is its outcome. None by default.
   */
  retry?: (refusal: Refusal) => boolean;
}

export interface Refusal {
  status: number;
  message: string;
  /** When the answer (or the transport error) came, ms since the epoch. */
  atMs: number;
}

export interface CreateLoad {
  /** Creates answered 201 so far. */
  created(): number;
  /** Creates not answered 201 so far (a copy). */
  refused(): Refusal[];
  /** Waits for the creates in flight, then reports. */
  stop(): Promise<LoadResult>;
  /** Waits until the load ends by itself (`maxCreates`, `maxMs`), then reports. */
  done(): Promise<LoadResult>;
}

export interface LoadResult {
  created: number;
  refused: Refusal[];
  /** Answers `retry` chose to retry, in order. */
  retried: Refusal[];
  seconds: number;
}

const RETRIES = 20;

export function startCreateLoad(opts: CreateLoadOptions): CreateLoad {
  const agent = new https.Agent({ keepAlive: true, ca: opts.ca, maxSockets: opts.concurrency ?? 2 });
  const url = new URL(`/apis/tmc.kcp.io/v1alpha1/namespaces/${opts.namespace}/workloadplacements`, opts.server);
  const started = Date.now();
  const deadline = started + (opts.maxMs ?? 300_000);
  const max = opts.maxCreates ?? 20_000;
  let stopped = false;
  let sent = 0;
  let created = 0;
  const refused: Refusal[] = [];
  const retried: Refusal[] = [];
  const pause = () => new Promise((resolve) => setTimeout(resolve, 100));

  /** One create, retried while `retry` says so; a retry answered 409 means an earlier attempt was stored. */
  const create = async (body: string): Promise<void> => {
    for (let attempt = 0; ; attempt++) {
      const res = await post(agent, url, opts.token, body);
      if (res.status === 201 || (res.status === 409 && attempt > 0)) created++;
      else if (attempt < RETRIES && opts.retry?.(res) && !stopped) {
        retried.push(res);
        await pause();
        continue;
      } else refused.push(res);
      // The API server itself is unreachable (a test stopped it): pace the next create instead of spinning.
      if (res.status === 0) await pause();
      return;
    }
  };

  const worker = async (): Promise<void> => {
    while (!stopped && sent < max && Date.now() < deadline) {
      const name = `${opts.prefix ?? 'load'}-${sent++}`;
      await create(
        JSON.stringify({
          apiVersion: 'tmc.kcp.io/v1alpha1',
          kind: 'WorkloadPlacement',
          metadata: { name },
          spec: opts.spec ?? { resourceRequirements: { cpu: '1m', memory: '1Mi' } },
        }),
      );
    }
  };
  const workers = Array.from({ length: opts.concurrency ?? 2 }, worker);
  const finished = async (): Promise<LoadResult> => {
    await Promise.all(workers);
    agent.destroy();
    return { created, refused, retried, seconds: (Date.now() - started) / 1000 };
  };
  return {
    created: () => created,
    refused: () => [...refused],
    stop: async () => {
      stopped = true;
      return finished();
    },
    done: finished,
  };
}

function post(agent: https.Agent, url: URL, token: string, body: string): Promise<Refusal> {
  return new Promise((resolve) => {
    const req = https.request(url, {
      method: 'POST',
      agent,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      timeout: 30_000,
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', (err) => resolve({ status: 0, message: err.message, atMs: Date.now() }));
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, message: res.statusCode === 201 ? '' : text.slice(0, 500), atMs: Date.now() }));
    });
    req.end(body);
  });
}

/** The SHA-256 fingerprint of the certificate a TLS server presents (`AA:BB:…`, as X509Certificate gives it). */
export function servedFingerprint(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    // Only the certificate is read here, not trusted: verification is the API server's job.
    const socket = tls.connect({ host, port, rejectUnauthorized: false, servername: 'placement-quota-webhook.placement-quota-system.svc' }, () => {
      const cert = socket.getPeerCertificate();
      socket.end();
      resolve(cert.fingerprint256);
    });
    socket.setTimeout(5_000, () => socket.destroy(new Error(`TLS to ${host}:${port} timed out`)));
    socket.on('error', reject);
  });
}
