/**
 * The side loop of SPEC §7 through the real API server: objects made with kubectl, figures read from
 * a replica's /reports/* and compared with what the test computes by hand. Other test files share
 * the API server, so every check looks at this file's own clusters and quota only.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { aPlacement, aQuota, aSyncTarget } from '../builders/objects.js';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { deleteTokenBindings, READER_ROLE, serviceAccountToken } from './support/tokens.js';
import { eventually, startTestWebhook, type ReportReply, type TestWebhook } from './support/webhook.js';

// The project's testTimeout is not applied to hooks here: startup runs kubectl several times on a shared 2-core machine.
jest.setTimeout(60_000);

type Manifest = Record<string, unknown>;
interface Figure {
  quantity: string;
  value: number;
}
interface ClusterReport {
  name: string;
  placementCount: number;
  health: { status: string };
  limit: Record<string, Figure>;
  allocated: Record<string, Figure>;
  available: Record<string, Figure>;
}
interface QuotaReport {
  key: string;
  placementCount: number;
  clusters: string[];
  hard: Record<string, Figure>;
  used: Record<string, Figure>;
  phase: string;
}
interface LatestReport {
  atMs: number;
  clusters: ClusterReport[];
  quotas: QuotaReport[];
}

const INTERVAL_SECONDS = 1;
let webhook: TestWebhook;
let ns: string;
let c1: string;
let c2: string;
let token: string;

/** Reads as a service account bound to the reader role (the listener is behind TokenReview + SubjectAccessReview). */
const read = (urlPath: string): Promise<ReportReply> => webhook.report(0, urlPath, { token });

const apply = async (manifest: Manifest): Promise<void> => {
  const res = await kubectl(['apply', '-f', '-'], { input: JSON.stringify(manifest) });
  expect(res.stderr).toBe('');
};

async function addCluster(name: string): Promise<string> {
  const manifest = aSyncTarget(name, { heartbeatInterval: '1h', capacity: { cpu: '8', memory: '16Gi' }, location: `${ns}-loc` });
  const { status, ...spec } = manifest;
  await apply(spec);
  const patched = await kubectl(['patch', 'synctarget', name, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { ...(status as Manifest), lastHeartbeatTime: new Date().toISOString() } })]);
  expect(patched.stderr).toBe('');
  return name;
}

const placement = (name: string, cpu: string, clusters: string[]): Manifest => {
  const { status: _status, ...rest } = aPlacement(name, { namespace: ns, requirements: { cpu, memory: '1Gi' }, clusters });
  return { ...rest, metadata: { name, namespace: ns } };
};

async function latest(after = 0): Promise<LatestReport> {
  const reply = await read('/reports/latest.json');
  expect([reply.status, reply.contentType]).toEqual([200, 'application/json']);
  const report = JSON.parse(reply.body) as LatestReport;
  if (report.atMs <= after) throw new Error('no snapshot after the change yet');
  return report;
}

const cluster = (report: LatestReport, name: string): ClusterReport => {
  const found = report.clusters.find((c) => c.name === name);
  if (!found) throw new Error(`${name} is not in the report yet`);
  return found;
};

beforeAll(async () => {
  webhook = await startTestWebhook('reports', { env: { PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: String(INTERVAL_SECONDS) } });
  ns = await freshNamespace('reports');
  await webhook.cover(ns);
  token = await serviceAccountToken(ns, 'reports-reader', READER_ROLE);
  c1 = await addCluster(`${ns}-c1`);
  c2 = await addCluster(`${ns}-c2`);
  const quota = aQuota('compute', { hard: { cpu: '10', placements: '5' } });
  await apply({ ...quota, metadata: { ...(quota.metadata as Manifest), namespace: ns } });
  await apply(placement('one', '2', [c1]));
  await apply(placement('two', '1', [c1, c2]));
});

afterAll(async () => {
  await kubectl(['delete', 'synctarget', c1, c2, '--ignore-not-found']);
  await deleteFreshNamespaces();
  await deleteTokenBindings();
  await webhook.stop();
});

describe('/reports on a real API server', () => {
  it('latest.json: cluster and quota figures equal the ones computed by hand', async () => {
    const report = await eventually(async () => {
      const r = await latest();
      if (cluster(r, c1).placementCount !== 2 || cluster(r, c2).placementCount !== 1) throw new Error('placements not counted yet');
      return r;
    });
    // c1: 2 + 1 cpu allocated, limit 8 x 1.5 = 12, available 9; c2: 1 allocated.
    const one = cluster(report, c1);
    expect([one.health.status, one.limit.cpu?.quantity, one.allocated.cpu?.quantity, one.available.cpu?.quantity, one.allocated.memory?.quantity]).toEqual(['Ready', '12', '3', '9', '2Gi']);
    expect([cluster(report, c2).allocated.cpu?.quantity, cluster(report, c2).available.cpu?.value]).toEqual(['1', 11]);
    // The quota is charged requirements x |C|: 2 x 1 + 1 x 2 = 4 cpu, 2 placements.
    const quota = report.quotas.find((q) => q.key === `${ns}/compute`);
    expect([quota?.used.cpu?.quantity, quota?.used.placements?.quantity, quota?.placementCount, quota?.clusters, quota?.phase]).toEqual(['4', '2', 2, [c1, c2].sort(), 'Active']);
  });

  it('summary, clusters.csv, trends and history answer with their content types', async () => {
    const summary = await read('/reports/summary');
    expect([summary.status, summary.contentType]).toEqual([200, 'text/plain; charset=utf-8']);
    // Other test files share the API server, so the summary's top lists need not show this file's
    // quota; its headline counts must be those of the same snapshot's JSON.
    await eventually(async () => {
      const before = await latest();
      const text = (await read('/reports/summary')).body;
      const after = await latest();
      if (before.atMs !== after.atMs) throw new Error('a snapshot was taken in between; again');
      expect(text.split('\n')[0]).toBe(`placement-quota report at ${new Date(before.atMs).toISOString()}`);
      expect(text).toContain(`${before.clusters.length} clusters: `);
      expect(text).toContain(`; ${before.quotas.length} quotas`);
    });
    const csv = await read('/reports/clusters.csv');
    expect([csv.status, csv.contentType]).toEqual([200, 'text/csv; charset=utf-8; header=present']);
    const rows = csv.body.trim().split(/\r?\n/);
    const header = (rows[0] ?? '').split(',');
    const row = (rows.find((line) => line.startsWith(`${c1},`)) ?? '').split(',');
    expect([row[header.indexOf('cpu_limit')], row[header.indexOf('cpu_allocated')], row[header.indexOf('placements')]]).toEqual(['12', '3', '2']);
    expect((await read('/reports/trends')).status).toBe(200);
    const history = await read('/reports/history?since=1h');
    expect((JSON.parse(history.body) as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    const bad = await read('/reports/history?since=yesterday');
    expect([bad.status, bad.body]).toEqual([400, 'since: not a positive duration such as 30m or 1h: "yesterday"\n']);
  });

  it('a quota or capacity change shows in the next snapshot', async () => {
    const before = (await latest()).atMs;
    const raised = await kubectl(['patch', 'wq', 'compute', '-n', ns, '--type=merge', '-p', JSON.stringify({ spec: { hard: { cpu: '20', placements: '5' } } })]);
    expect(raised.stderr).toBe('');
    const shrunk = await kubectl(['patch', 'synctarget', c2, '--subresource=status', '--type=merge', '-p', JSON.stringify({ status: { capacity: { cpu: '4', memory: '16Gi' }, allocatable: { cpu: '4', memory: '16Gi' } } })]);
    expect(shrunk.stderr).toBe('');
    await eventually(async () => {
      const report = await latest(before);
      expect(report.quotas.find((q) => q.key === `${ns}/compute`)?.hard.cpu?.quantity).toBe('20');
      expect(cluster(report, c2).limit.cpu?.quantity).toBe('6');
    }, (INTERVAL_SECONDS * 3 + 5) * 1000);
  });
});
