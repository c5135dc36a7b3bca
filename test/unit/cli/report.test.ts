import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { runReport } from '../../../src/cli/report.js';

const examples = 'docs/examples/state';
const NOW = '2026-11-23T12:00:00Z';
const SPAWN_TIMEOUT_MS = 30_000;

describe('placement-quota report on the documented example state', () => {
  it('text: the summary names every cluster and the quota with its numbers', async () => {
    const text = await runReport({ files: [examples], now: NOW, format: 'text' });
    expect(text).toMatch(/^placement-quota report at 2026-11-23T12:00:00\.000Z\n/);
    expect(text).toContain('team-a/compute  Active  50% cpu  cpu 5/10, memory 18.2Gi/40Gi, placements 2/20');
    for (const cluster of ['us-east-1', 'eu-west-1', 'eu-west-2', 'ap-south-1', 'us-west-1']) expect(text).toContain(cluster);
  });

  it('json: the same figures as the service serves, quantities as strings and base units', async () => {
    const report = JSON.parse(await runReport({ files: [examples], now: NOW, format: 'json' })) as { clusters: { name: string }[] };
    expect(report.clusters.map((cluster) => cluster.name).sort()).toEqual(['ap-south-1', 'eu-west-1', 'eu-west-2', 'us-east-1', 'us-west-1']);
  });

  it('csv: a header row and one row per cluster', async () => {
    const rows = (await runReport({ files: [examples], now: NOW, format: 'csv' })).trim().split(/\r?\n/);
    expect(rows).toHaveLength(6);
    expect(rows[0]).toMatch(/^cluster,/);
  });

  it('exits 2 naming the file on bad input', async () => {
    const result = await promisify(execFile)('bin/placement-quota', ['report', '-f', 'nope.yaml']).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2, stderr: 'error: nope.yaml: no such file or folder\n' });
  }, SPAWN_TIMEOUT_MS);
});
