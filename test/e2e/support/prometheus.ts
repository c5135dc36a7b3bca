/**
 * A real Prometheus (Debian's package) on 127.0.0.1 for one test file: a temporary folder with its
 * config and TSDB, a free port, and the PromQL HTTP API. It scrapes targets the way it would in a
 * cluster: HTTPS, the target's CA, a service-account bearer token from a file.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../../../scripts/lib/webhook-processes.js';

export interface ScrapeTarget {
  readonly port: number;
  readonly ca: string;
  readonly token: string;
}

export interface Sample {
  readonly metric: Record<string, string>;
  readonly value: number;
}

export interface TestPrometheus {
  readonly url: string;
  /** An instant PromQL query; rejects when Prometheus answers with an error. */
  query(promql: string): Promise<Sample[]>;
  /** The health of each active target, as /api/v1/targets tells it (`up`, `down`, `unknown`), with its last error. */
  targets(): Promise<{ health: string; lastError: string }[]>;
  stop(): Promise<void>;
}

async function api<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; data: T; error?: string };
  if (body.status !== 'success') throw new Error(`prometheus: ${body.error ?? res.status}`);
  return body.data;
}

/** Starts Prometheus scraping `target` every second; resolves once its HTTP API is ready. */
export async function startPrometheus(target: ScrapeTarget): Promise<TestPrometheus> {
  const dir = mkdtempSync(path.join(tmpdir(), 'prometheus-e2e-'));
  writeFileSync(path.join(dir, 'token'), target.token, { mode: 0o600 });
  writeFileSync(path.join(dir, 'ca.crt'), target.ca);
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    scrape_configs: [
      {
        job_name: 'placement-quota-webhook',
        scheme: 'https',
        authorization: { type: 'Bearer', credentials_file: path.join(dir, 'token') },
        tls_config: { ca_file: path.join(dir, 'ca.crt'), server_name: 'localhost' },
        static_configs: [{ targets: [`127.0.0.1:${target.port}`] }],
      },
    ],
  };
  writeFileSync(path.join(dir, 'prometheus.yml'), stringify(config));
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.env.PROMETHEUS ?? 'prometheus',
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = once(child, 'exit');
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`${url}/-/ready`).then((res) => res.ok, () => false);
    if (ready) break;
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`prometheus did not become ready:\n${stderr}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    url,
    query: async (promql) => {
      const data = await api<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
      return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
    },
    targets: async () => {
      const data = await api<{ activeTargets: { health: string; lastError: string }[] }>(`${url}/api/v1/targets?state=active`);
      return data.activeTargets;
    },
    stop: async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
