/**
 * Status aggregation on the real API server (issue 17): syncers of three clusters write their
 * entries of status.clusterStatuses with kubectl (server-side apply of the status subresource, one
 * field manager per cluster, as a syncer would), and `kubectl get wp` shows what the leader made of
 * them for each strategy: PHASE, STATUS, READY, CLUSTERS, and in `-o wide` the winner and the
 * StatusConflict condition. Manual with two phases shows StatusConflict=True and no pick; agreeing
 * again clears it. Every change is written exactly once: the writer logs each write, and a barrier
 * placement created after the last change (written after anything due before it, the writer being
 * first-due first-written) proves no late write of the same placement is still to come.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import type { ConflictStrategy } from '../../src/api/resources.js';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

jest.setTimeout(120_000);

const CLUSTERS = ['us-east-1', 'eu-west-2', 'ap-south-1'];
const PRIORITY = ['ap-south-1', 'eu-west-2'];
// Other test files share the API server: their placements are this writer's backlog too, and at the
// default 20 writes a second this file's placements could wait behind hundreds of them.
const CONFIG = { statusAggregation: { debounceMs: 200, clusterPriority: PRIORITY, maxWritesPerSecond: 1000 } };

const must = async (args: string[], input?: string): Promise<string> => {
  const result = await kubectl(args, input === undefined ? {} : { input });
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
  return result.stdout;
};

const placement = (ns: string, name: string, strategy: ConflictStrategy, clusters = CLUSTERS) => ({
  apiVersion: 'tmc.kcp.io/v1alpha1',
  kind: 'WorkloadPlacement',
  metadata: { name, namespace: ns },
  spec: { targetClusters: clusters.map((cluster) => ({ name: cluster })), conflictStrategy: strategy },
});

const secondsAgo = (s: number): string => new Date(Date.now() - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

/** One cluster's syncer reports: server-side apply of its own clusterStatuses entry only. */
async function report(ns: string, name: string, cluster: string, phase: string, lastUpdated: string): Promise<void> {
  const body = {
    apiVersion: 'tmc.kcp.io/v1alpha1',
    kind: 'WorkloadPlacement',
    metadata: { name, namespace: ns },
    status: { clusterStatuses: [{ cluster, phase, observedGeneration: 1, lastUpdated }] },
  };
  await must(['apply', '--server-side', '--subresource=status', `--field-manager=syncer-${cluster}`, '-f', '-'], JSON.stringify(body));
}

/** `kubectl get wp <name> -o wide` as column → cell, cut at the header's column starts (an empty cell prints as spaces). */
async function row(ns: string, name: string): Promise<Record<string, string>> {
  const [header = '', line = ''] = (await must(['get', 'wp', name, '-n', ns, '-o', 'wide'])).trimEnd().split('\n');
  const starts = [...header.matchAll(/\S+/g)].map((match) => [match[0], match.index] as const);
  return Object.fromEntries(starts.map(([column, start], i) => [column, line.slice(start, starts[i + 1]?.[1] ?? line.length).trim()]));
}

/** Waits until kubectl shows these columns. */
// Files running beside this one keep creating placements (hundreds in a burst): each is a write due
// before this file's next one, so a step may wait a few seconds behind them.
const STEP_MS = 30_000;

const shows = (ns: string, name: string, wanted: Record<string, string>, timeoutMs = STEP_MS) =>
  eventually(async () => {
    const columns = await row(ns, name);
    expect(Object.fromEntries(Object.keys(wanted).map((column) => [column, columns[column]]))).toEqual(wanted);
    return columns;
  }, timeoutMs);

let webhook: TestWebhook;

/** The writes the leader logged for one placement. */
function writesOf(key: string): number {
  const log = readFileSync(webhook.set.replicas[0]!.log, 'utf8');
  return log.split('\n').filter((line) => line.includes('"aggregated status written"') && line.includes(`"placement":"${key}"`)).length;
}

/** Waits until the log shows this many writes (the log line follows the write's response). */
const writes = (key: string, count: number) => eventually(() => Promise.resolve(expect(writesOf(key)).toBe(count)), STEP_MS);

/** Waits until a fresh placement is written: every write due before it has been made. */
async function barrier(ns: string, name: string, timeoutMs?: number): Promise<void> {
  await must(['apply', '-f', '-'], JSON.stringify(placement(ns, `${name}-barrier`, 'UseNewest', ['barrier-1'])));
  await shows(ns, `${name}-barrier`, { READY: '0/1', CLUSTERS: 'barrier-1' }, timeoutMs);
}

beforeAll(async () => {
  webhook = await startTestWebhook('status-aggregation', { config: CONFIG });
  // The placements earlier test files left (thousands, most never aggregated: their webhooks stopped
  // first) are this leader's first backlog, read and written one by one. A barrier written means all
  // of it is: the steps below then wait only for their own writes, not for the backlog.
  const startedMs = Date.now();
  await barrier(await freshNamespace('aggregation-start'), 'backlog', 100_000);
  const stored = (await must(['get', 'wp', '-A', '--no-headers'])).trim().split('\n').length;
  console.log(`[status-aggregation] backlog written ${Date.now() - startedMs} ms after start (${stored} placements stored)`);
}, 220_000);

afterAll(async () => {
  await webhook?.stop();
  await deleteFreshNamespaces();
}, 60_000);

/**
 * For every strategy, one placement, then the same reports: us-east-1 Running (30 s ago), eu-west-2
 * Failed (10 s ago), ap-south-1 Pending (20 s ago): three phases. Then eu-west-2 and ap-south-1 run.
 */
const DISAGREEMENT: Record<ConflictStrategy, { STATUS: string; WINNER: string; CONFLICT: string }> = {
  UseNewest: { STATUS: 'Failed', WINNER: 'eu-west-2', CONFLICT: 'False' },
  UseOldest: { STATUS: 'Running', WINNER: 'us-east-1', CONFLICT: 'False' },
  Priority: { STATUS: 'Pending', WINNER: 'ap-south-1', CONFLICT: 'False' },
  Manual: { STATUS: 'Unknown', WINNER: '', CONFLICT: 'True' },
};

describe('kubectl get wp shows the aggregated status of three clusters', () => {
  it.concurrent.each(['UseNewest', 'UseOldest', 'Priority', 'Manual'] as const)('%s', async (strategy) => {
    const ns = await freshNamespace(`aggregation-${strategy}`);
    const name = 'web';
    const key = `${ns}/${name}`;
    await must(['apply', '-f', '-'], JSON.stringify(placement(ns, name, strategy)));
    // Before any report: Pending, nothing ready, every cluster named.
    await shows(ns, name, { PHASE: 'Pending', STATUS: 'Unknown', READY: '0/3', CLUSTERS: 'ap-south-1,eu-west-2,us-east-1', STRATEGY: strategy, CONFLICT: 'False', GENERATION: '1' });
    await writes(key, 1);

    await report(ns, name, 'us-east-1', 'Running', secondsAgo(30));
    await shows(ns, name, { STATUS: 'Running', READY: '1/3' });
    await writes(key, 2);
    await report(ns, name, 'eu-west-2', 'Failed', secondsAgo(10));
    await shows(ns, name, { READY: '1/3', CONFLICT: DISAGREEMENT[strategy].CONFLICT, ...(strategy === 'Manual' ? { STATUS: 'Unknown' } : {}) });
    await writes(key, 3);
    await report(ns, name, 'ap-south-1', 'Pending', secondsAgo(20));
    await shows(ns, name, { PHASE: 'Pending', READY: '1/3', ...DISAGREEMENT[strategy] });
    await writes(key, 4);
    const conflict = await must(['get', 'wp', name, '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="StatusConflict")].reason}']);
    expect(conflict).toBe(strategy === 'Manual' ? 'ManualResolutionRequired' : `ResolvedBy${strategy}`);

    // Agreeing again: every cluster Running at generation 1, so Placed, and no conflict left.
    await report(ns, name, 'eu-west-2', 'Running', secondsAgo(0));
    await shows(ns, name, { READY: '2/3' });
    await writes(key, 5);
    await report(ns, name, 'ap-south-1', 'Running', secondsAgo(0));
    const agreed = await shows(ns, name, { PHASE: 'Placed', STATUS: 'Running', READY: '3/3', WINNER: '', CONFLICT: 'False' });
    expect(agreed.CLUSTERS).toBe('ap-south-1,eu-west-2,us-east-1');
    const reason = await must(['get', 'wp', name, '-n', ns, '-o', 'jsonpath={.status.conditions[?(@.type=="StatusConflict")].reason}']);
    expect(reason).toBe('ClustersAgree');

    // Written once per change: six changes, six writes, and none still to come.
    const version = await must(['get', 'wp', name, '-n', ns, '-o', 'jsonpath={.metadata.resourceVersion}']);
    await barrier(ns, name);
    await writes(key, 6);
    expect(await must(['get', 'wp', name, '-n', ns, '-o', 'jsonpath={.metadata.resourceVersion}'])).toBe(version);
  });
});

describe('entries the aggregation does not count', () => {
  it('names entries from clusters outside the placement as ignored', async () => {
    const ns = await freshNamespace('aggregation-ignored');
    await must(['apply', '-f', '-'], JSON.stringify(placement(ns, 'api', 'UseNewest', ['us-east-1'])));
    await report(ns, 'api', 'us-east-1', 'Running', secondsAgo(1));
    await report(ns, 'api', 'old-cluster', 'Failed', secondsAgo(1));
    await eventually(async () => {
      const conflicts = await must(['get', 'wp', 'api', '-n', ns, '-o', 'jsonpath={.status.aggregatedStatus.conflicts[*].type}={.status.aggregatedStatus.conflicts[*].clusters[*]}']);
      expect(conflicts).toBe('NotTargeted=old-cluster');
    }, STEP_MS);
    await shows(ns, 'api', { PHASE: 'Placed', STATUS: 'Running', READY: '1/1', CLUSTERS: 'us-east-1' });
  });
});
