import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { loadServiceConfig } from '../../../src/ops/config.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pq-config-'));
});
afterEach(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

const fromFile = async (yaml: string, env: NodeJS.ProcessEnv = {}) => {
  const file = path.join(dir, 'config.yaml');
  fs.writeFileSync(file, yaml);
  return loadServiceConfig(env, file);
};

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
