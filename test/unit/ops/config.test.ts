import { describe, expect, it } from '@jest/globals';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadServiceConfig, replicaIdentity } from '../../../src/ops/config.js';

async function withFile(text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pq-config-'));
  const file = join(dir, 'config.yaml');
  await writeFile(file, text);
  return file;
}

const fromFile = async (yaml: string, env: NodeJS.ProcessEnv = {}) => loadServiceConfig(env, await withFile(yaml));

describe('enforcement and leader election settings', () => {
  it('defaults to Soft everywhere and client-go timings', async () => {
    const config = await loadServiceConfig({});
    expect(config.enforcement).toEqual({ defaultMode: 'Soft', clusterMode: 'Soft', notReadyGraceSeconds: 300, intervalSeconds: 60, maxWritesPerRound: 50, debounceMs: 1000 });
    expect(config.leaderElection).toEqual({
      namespace: 'placement-quota-system',
      name: 'placement-quota-webhook',
      leaseDurationSeconds: 15,
      renewDeadlineSeconds: 10,
      retryPeriodSeconds: 2,
      identity: undefined,
    });
  });

  it('takes the identity from POD_NAME and the Lease namespace from the environment', async () => {
    const config = await loadServiceConfig({ POD_NAME: 'webhook-7d9-abc', PLACEMENT_QUOTA_LEASE_NAMESPACE: 'quota' });
    expect(replicaIdentity(config)).toBe('webhook-7d9-abc');
    expect(config.leaderElection.namespace).toBe('quota');
  });

  it('falls back to hostname-pid, unique per process', async () => {
    expect(replicaIdentity(await loadServiceConfig({}))).toMatch(new RegExp(`-${process.pid}$`));
  });

  it.each([
    ['enforcement:\n  defaultMode: Strict\n', /enforcement\.defaultMode/],
    ['enforcement:\n  intervalSecs: 5\n', /enforcement.*intervalSecs/],
    ['leaderElection:\n  leaseDurationSeconds: 10\n  renewDeadlineSeconds: 10\n', /leaseDuration \(in whole seconds\) must be longer than renewDeadline/],
    ['leaderElection:\n  renewDeadlineSeconds: 1\n  retryPeriodSeconds: 5\n', /renewDeadline must be longer than retryPeriod x 0.2/],
  ])('refuses %j', async (text, message) => {
    const file = await withFile(text);
    const loading = loadServiceConfig({}, file);
    await expect(loading).rejects.toThrow(ConfigError);
    await expect(loadServiceConfig({}, file)).rejects.toThrow(message);
  });
});

describe('manifests/configmap.yaml', () => {
  it('is a valid config file whose enforcement and leader election settings are the defaults', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const manifest = parse(await readFile(new URL('../../../manifests/configmap.yaml', import.meta.url), 'utf8')) as { data: Record<string, string> };
    const config = await loadServiceConfig({}, await withFile(manifest.data['config.yaml'] ?? ''));
    const defaults = await loadServiceConfig({});
    expect(config.enforcement).toEqual(defaults.enforcement);
    expect(config.leaderElection).toEqual(defaults.leaderElection);
  });
});

describe('tls caller authentication settings', () => {
  it('is off by default', async () => {
    expect((await loadServiceConfig({})).tls).toEqual({ certFile: 'certs/tls.crt', keyFile: 'certs/tls.key' });
  });

  it('takes clientCAFile from the environment and clientNames from the file', async () => {
    const config = await fromFile('tls:\n  clientNames: [kube-apiserver-webhook-client]\n', { PLACEMENT_QUOTA_TLS_CLIENT_CA_FILE: '/etc/ca/ca.crt' });
    expect(config.tls).toMatchObject({ clientCAFile: '/etc/ca/ca.crt', clientNames: ['kube-apiserver-webhook-client'] });
  });

  it.each([
    { what: 'clientNames without clientCAFile', yaml: 'tls:\n  clientNames: [a]\n', message: /tls\.clientNames .*clientNames needs clientCAFile/ },
    { what: 'a misspelt key (the check would silently be off)', yaml: 'tls:\n  clientCaFile: /etc/ca.crt\n', message: /clientCaFile/ },
    { what: 'an empty list of names', yaml: 'tls:\n  clientCAFile: /ca.crt\n  clientNames: []\n', message: /tls\.clientNames/ },
  ])('refuses $what, naming the key', async ({ yaml, message }) => {
    await expect(fromFile(yaml)).rejects.toThrow(message);
  });
});

describe('observability settings', () => {
  it('default: port 8444 on every address, behind Kubernetes authentication', async () => {
    const config = await loadServiceConfig({});
    expect(config.observability).toMatchObject({ host: '0.0.0.0', port: 8444, auth: 'kubernetes' });
  });

  it.each(['127.0.0.1', '::1'])('auth none is accepted on loopback (%s)', async (host) => {
    const config = await loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_HOST: host, PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'none' });
    expect(config.observability).toMatchObject({ host, auth: 'none' });
  });

  it.each(['0.0.0.0', '10.0.0.5', 'localhost'])('auth none on %s is refused, naming the key', async (host) => {
    await expect(loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_HOST: host, PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'none' })).rejects.toThrow(
      /^invalid configuration: observability\.auth \(from .*\): "none" is allowed only with observability\.host 127\.0\.0\.1 or ::1/,
    );
  });

  it('an unknown auth mode is refused, naming the variable it came from', async () => {
    await expect(loadServiceConfig({ PLACEMENT_QUOTA_OBSERVABILITY_AUTH: 'basic' })).rejects.toThrow(/observability\.auth \(from PLACEMENT_QUOTA_OBSERVABILITY_AUTH\)/);
  });
});
