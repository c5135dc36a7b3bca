/**
 * Debian's Prometheus scrapes a webhook replica the way it would in a cluster (HTTPS, the serving
 * CA, a service-account token bound to the reader role), and PromQL over its HTTP API finds the
 * quota and cluster series equal to what kubectl created. A scrape also passes `promtool check metrics`.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { promtool } from '../support/promtool.js';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { addCluster, addQuota, place } from './support/objects.js';
import { startPrometheus, type Sample, type TestPrometheus } from './support/prometheus.js';
import { deleteTokenBindings, READER_ROLE, serviceAccountToken } from './support/tokens.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

jest.setTimeout(90_000);

const GI = 1024 ** 3;
let webhook: TestWebhook;
let prometheus: TestPrometheus;
let ns: string;
let token: string;
let clusters: string[];

/** Series as `labels=value` lines, sorted: a readable, order-free comparison. */
const lines = (samples: Sample[], labels: string[]): string[] => samples.map((s) => `${labels.map((l) => s.metric[l]).join(' ')}=${s.value}`).sort();

beforeAll(async () => {
  webhook = await startTestWebhook('prometheus', { env: { PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: '1' } });
  ns = await freshNamespace('prometheus');
  await webhook.cover(ns);
  const location = `${ns}-loc`;
  clusters = [await addCluster(`${ns}-big`, { capacity: { cpu: '8', memory: '16Gi' }, location }), await addCluster(`${ns}-down`, { capacity: { cpu: '4', memory: '8Gi' }, location, ready: false })];
  await addQuota(ns, { hard: { cpu: '10', memory: '20Gi' }, soft: { cpu: '6' } });
  await place(ns, 'web', { cpu: '3', memory: '2Gi' }, clusters[0] as string);
  token = await serviceAccountToken(ns, 'prometheus', READER_ROLE);
  prometheus = await startPrometheus({ port: webhook.set.replicas[0]?.observabilityPort ?? 0, ca: webhook.ca, token });
});

afterAll(async () => {
  await prometheus?.stop();
  await kubectl(['delete', 'synctarget', ...(clusters ?? []), '--ignore-not-found']);
  await deleteTokenBindings();
  await deleteFreshNamespaces();
  await webhook.stop();
});

describe('Prometheus scraping the webhook', () => {
  it('the target is up: TLS with the serving CA and the reader token are accepted', async () => {
    await eventually(async () => expect(await prometheus.targets()).toEqual([expect.objectContaining({ health: 'up', lastError: '' })]), 30_000);
  });

  it('the quota series equal what kubectl created (hard, soft, and used as charged)', async () => {
    const series = await eventually(async () => {
      const found = await prometheus.query(`placement_quota_workspacequota{namespace="${ns}"}`);
      // The placement is charged once the snapshot after its watch event is scraped.
      expect(found.some((s) => s.metric.type === 'used' && s.metric.resource === 'placements')).toBe(true);
      return found;
    }, 30_000);
    expect(lines(series, ['workspacequota', 'resource', 'type'])).toEqual(
      [`compute cpu hard=10`, `compute memory hard=${20 * GI}`, `compute cpu soft=6`, `compute cpu used=3`, `compute memory used=${2 * GI}`, `compute placements used=1`,
        // The placement asks for no storage: charged 0, as the status writer writes it.
        'compute storage used=0'].sort(),
    );
  });

  it('the cluster series equal the SyncTargets: capacity, allocatable, limit with overcommit, allocated; readiness', async () => {
    const [big, down] = clusters as [string, string];
    const resources = await eventually(async () => {
      const found = await prometheus.query(`placement_quota_cluster_resource{cluster=~"${ns}-.*", resource="cpu"}`);
      expect(found.some((s) => s.metric.cluster === big && s.metric.type === 'allocated')).toBe(true);
      return found;
    }, 30_000);
    expect(lines(resources, ['cluster', 'location', 'type'])).toEqual(
      [
        `${big} ${ns}-loc capacity=8`, `${big} ${ns}-loc allocatable=8`, `${big} ${ns}-loc limit=12`, `${big} ${ns}-loc allocated=3`,
        `${down} ${ns}-loc capacity=4`, `${down} ${ns}-loc allocatable=4`, `${down} ${ns}-loc limit=6`, `${down} ${ns}-loc allocated=0`,
      ].sort(),
    );
    expect(lines(await prometheus.query(`placement_quota_cluster_ready{cluster=~"${ns}-.*"}`), ['cluster'])).toEqual([`${big}=1`, `${down}=0`]);
  });

  it('the admission histogram counted the review that kubectl sent, and the tracker families are there', async () => {
    const allowed = await prometheus.query('sum(placement_quota_admission_duration_seconds_count{decision="allowed", operation="CREATE"})');
    expect(allowed[0]?.value).toBeGreaterThanOrEqual(1);
    const kinds = await prometheus.query('placement_quota_tracker_seconds_since_last_event');
    expect(kinds.map((s) => s.metric.kind).sort()).toEqual(['SyncTarget', 'WorkloadPlacement', 'WorkspaceQuota']);
    expect((await prometheus.query('placement_quota_ready'))[0]?.value).toBe(1);
  });

  it('a scrape of the real service passes promtool check metrics with no lint problems', async () => {
    const scrape = await webhook.report(0, '/metrics', { token });
    expect([scrape.status, scrape.contentType]).toEqual([200, 'text/plain; version=0.0.4; charset=utf-8']);
    const checked = await promtool(['check', 'metrics'], scrape.body);
    expect({ code: checked.code, output: `${checked.stdout}${checked.stderr}` }).toEqual({ code: 0, output: '' });
  });
});
