import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCheck, type CheckOptions } from '../../../src/cli/check.js';

const examples = 'docs/examples';
const NOW = '2026-11-23T12:00:00Z';
const base = { files: [`${examples}/state`], now: NOW, json: false };

describe('check on the documented examples', () => {
  it.each([
    { review: 'review-allowed.yaml', exitCode: 0, output: 'allowed' },
    {
      review: 'review-warned.yaml',
      exitCode: 0,
      output: 'allowed\nwarning: quota team-a/compute is over its soft limit: cpu requested 2, used 5, soft 6, hard 10',
    },
    {
      review: 'review-denied.yaml',
      exitCode: 1,
      output:
        'denied: exceeded quota team-a/compute: cpu requested 6, used 5, hard 10; ' +
        'cluster us-east-1 lacks memory: requested 4Gi, free 1Gi (allocatable 16Gi x 1.2 overcommit, allocated 18.2Gi); ' +
        'clusters with room: eu-west-2',
    },
  ])('$review', async ({ review, exitCode, output }) => {
    await expect(runCheck({ ...base, review: `${examples}/${review}` })).resolves.toEqual({ exitCode, output });
  });

  it('prints the same decision as JSON', async () => {
    const result = await runCheck({ ...base, review: `${examples}/review-warned.yaml`, json: true });
    expect(JSON.parse(result.output)).toEqual({
      allowed: true,
      code: 200,
      message: '',
      warnings: ['quota team-a/compute is over its soft limit: cpu requested 2, used 5, soft 6, hard 10'],
    });
  });

  it('applies the config file (default quota for a bare workspace)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'check-'));
    const review = join(dir, 'review.yaml');
    await writeFile(review, 'apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: big}\nspec:\n  resourceRequirements: {cpu: "5"}\n');
    const result = await runCheck({ ...base, review, config: `${examples}/config.yaml` });
    await rm(dir, { recursive: true });
    expect(result).toEqual({ exitCode: 1, output: 'denied: exceeded default quota of workspace default: cpu requested 5, used 0, hard 4' });
  });

  it('judges an UPDATE by its difference from --old', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'check-'));
    const write = async (name: string, cpu: string) => {
      const file = join(dir, name);
      await writeFile(file, `apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: api, namespace: team-a}\nspec:\n  resourceRequirements: {cpu: "${cpu}", memory: 8Gi}\n  targetClusters: [{name: us-east-1}]\n`);
      return file;
    };
    const old = await write('old.yaml', '4');
    const lower = await runCheck({ ...base, review: await write('lower.yaml', '3'), old });
    const raise = await runCheck({ ...base, review: await write('raise.yaml', '10'), old });
    await rm(dir, { recursive: true });
    expect(lower).toEqual({ exitCode: 0, output: 'allowed' });
    expect(raise).toEqual({ exitCode: 1, output: 'denied: exceeded quota team-a/compute: cpu requested 6, used 5, hard 10' });
  });
});

describe('check on bad input names the file and the field', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'check-bad-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true });
  });

  const file = async (name: string, text: string) => {
    const path = join(dir, name);
    await writeFile(path, text);
    return path;
  };

  it.each<{ name: string; files: Record<string, string>; review: string; error: RegExp; config?: string }>([
    {
      name: 'a bad quantity in a state file',
      files: { 'state.yaml': 'apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkspaceQuota\nmetadata: {name: q, namespace: a}\nspec:\n  hard: {cpu: 2 cores}\n' },
      review: `${examples}/review-allowed.yaml`,
      error: /state\.yaml: document 1 \(a\/q\): invalid WorkspaceQuota: spec\.hard\.cpu: invalid quantity "2 cores"/,
    },
    {
      name: 'broken YAML in the second document',
      files: { 'state.yaml': 'apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\nkind: [\n' },
      review: `${examples}/review-allowed.yaml`,
      error: /state\.yaml: document 2: line 6, column 1: not valid YAML: Flow sequence/,
    },
    {
      name: 'an unknown kind of our group',
      files: { 'state.yaml': 'apiVersion: tmc.kcp.io/v1alpha1\nkind: Cluster\nmetadata: {name: a}\n' },
      review: `${examples}/review-allowed.yaml`,
      error: /state\.yaml: document 1 \(a\): unknown kind "Cluster" in tmc\.kcp\.io\/v1alpha1/,
    },
    {
      name: 'a review with a wrong type',
      files: { 'review.yaml': 'apiVersion: tmc.kcp.io/v1alpha1\nkind: WorkloadPlacement\nmetadata: {name: w}\nspec: {priority: high}\n' },
      review: 'review.yaml',
      error: /review\.yaml: document 1 \(w\): invalid WorkloadPlacement: spec\.priority: /,
    },
    {
      name: 'a review that is two documents',
      files: { 'review.yaml': 'kind: A\n---\nkind: B\n' },
      review: 'review.yaml',
      error: /review\.yaml: expected exactly one WorkloadPlacement, found 2 documents/,
    },
    {
      name: 'a kind named like an Object.prototype member',
      files: { 'state.yaml': 'apiVersion: tmc.kcp.io/v1alpha1\nkind: constructor\nmetadata: {name: a}\n' },
      review: `${examples}/review-allowed.yaml`,
      error: /state\.yaml: document 1 \(a\): unknown kind "constructor" in tmc\.kcp\.io\/v1alpha1/,
    },
    {
      name: 'a kind that is not a string',
      files: { 'state.yaml': 'apiVersion: tmc.kcp.io/v1alpha1\nkind: {toString: 1}\nmetadata: {name: a}\n' },
      review: `${examples}/review-allowed.yaml`,
      error: /state\.yaml: document 1 \(a\): kind: must be a string/,
    },
    {
      name: 'a config file with a YAML syntax error names the file and line',
      files: { 'config.yaml': 'overcommit:\n  cpu: "1.5"\n  memory: [1.2\n' },
      review: `${examples}/review-allowed.yaml`,
      config: 'config.yaml',
      error: /config\.yaml: line 4, column 1: not valid YAML: /,
    },
    {
      name: 'a config file with an unknown key is refused, as serve refuses it',
      files: { 'config.yaml': 'overcomit:\n  cpu: "2"\n' },
      review: `${examples}/review-allowed.yaml`,
      config: 'config.yaml',
      error: /invalid configuration: \(top level\) \(from .*config\.yaml\): Unrecognized key: "overcomit"/,
    },
    {
      name: 'a missing file',
      files: {},
      review: 'nope.yaml',
      error: /nope\.yaml: cannot read: ENOENT/,
    },
  ])('$name', async ({ files, review, error, config }) => {
    const paths = await Promise.all(Object.entries(files).map(([name, text]) => file(name, text)));
    const options: CheckOptions = {
      ...base,
      files: paths.filter((path) => !path.endsWith(review) && !(config && path.endsWith(config))),
      review: review.startsWith(examples) ? review : join(dir, review),
      config: config && join(dir, config),
    };
    await expect(runCheck(options)).rejects.toThrow(error);
  });
});

/** A fresh node process on a loaded CI machine can take seconds to start. */
const SPAWN_TIMEOUT_MS = 30_000;

describe('bin/placement-quota', () => {
  const run = promisify(execFile);
  const cli = (...args: string[]) => run('bin/placement-quota', args).then(
    ({ stdout }) => ({ code: 0, stdout, stderr: '' }),
    (error: { code: number; stdout: string; stderr: string }) => ({ code: error.code, stdout: error.stdout, stderr: error.stderr }),
  );

  it.each([
    { review: 'review-allowed.yaml', code: 0, stdout: /^allowed\n$/ },
    { review: 'review-denied.yaml', code: 1, stdout: /^denied: exceeded quota team-a\/compute: .*clusters with room: eu-west-2\n$/ },
  ])('exits $code for $review', async ({ review, code, stdout }) => {
    const result = await cli('check', '-f', `${examples}/state`, '--review', `${examples}/${review}`, '--now', NOW);
    expect(result.code).toBe(code);
    expect(result.stdout).toMatch(stdout);
  }, SPAWN_TIMEOUT_MS);

  it('exits 2 with a message on bad input', async () => {
    const result = await cli('check', '-f', `${examples}/state`, '--review', `${examples}/review-allowed.yaml`, '--now', 'yesterday');
    expect(result).toEqual({ code: 2, stdout: '', stderr: 'error: --now: not an RFC 3339 time: "yesterday"\n' });
  }, SPAWN_TIMEOUT_MS);

  it('exits 2 on an unknown option', async () => {
    const result = await cli('check', '--reveiw', 'x');
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/Unknown option '--reveiw'/);
  }, SPAWN_TIMEOUT_MS);

  it('exits 2 naming the file and line of a config file that is not YAML', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'check-config-'));
    const config = join(dir, 'config.yaml');
    await writeFile(config, 'overcommit: {cpu: 1.5\n');
    const result = await cli('check', '-f', `${examples}/state`, '--review', `${examples}/review-allowed.yaml`, '--now', NOW, '--config', config);
    await rm(dir, { recursive: true });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(new RegExp(`^error: config file ${config}: line 2, column 1: not valid YAML: [^\n]+\n$`));
  }, SPAWN_TIMEOUT_MS);

  it('exits 2 naming the key of an invalid configuration', async () => {
    const result = await run('bin/placement-quota', ['serve'], { env: { ...process.env, PLACEMENT_QUOTA_PORT: '99999' } }).catch((error: { code: number; stderr: string }) => error);
    expect(result).toMatchObject({ code: 2, stderr: 'error: invalid configuration: port (from PLACEMENT_QUOTA_PORT): Too big: expected number to be <=65535\n' });
  }, SPAWN_TIMEOUT_MS);
});
