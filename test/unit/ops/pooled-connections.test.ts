/**
 * client-node builds a new HTTPS agent for every request; the service's API clients share one
 * keep-alive agent instead, made from the same options (so the same CA and client certificate).
 */
import { describe, expect, it } from '@jest/globals';
import { Agent } from 'node:https';
import { HttpMethod, KubeConfig, RequestContext } from '@kubernetes/client-node';
import { withPooledConnections } from '../../../src/ops/kube-request.js';

const CA = Buffer.from('-----BEGIN CERTIFICATE-----\nnot parsed here\n-----END CERTIFICATE-----\n').toString('base64');

function kubeConfig(): KubeConfig {
  const config = new KubeConfig();
  config.loadFromOptions({
    clusters: [{ name: 'c', server: 'https://127.0.0.1:6443', caData: CA }],
    users: [{ name: 'u', token: 'secret-token' }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return config;
}

async function agentOf(config: KubeConfig): Promise<{ agent: Agent; authorization: string | undefined }> {
  const context = new RequestContext('https://127.0.0.1:6443/api', HttpMethod.GET);
  await config.applySecurityAuthentication(context);
  return { agent: context.getAgent() as Agent, authorization: context.getHeaders().Authorization };
}

describe('withPooledConnections', () => {
  it('gives every request one keep-alive agent with the options client-node chose, and keeps per-request headers', async () => {
    const pooled = withPooledConnections(kubeConfig());
    const [first, second] = [await agentOf(pooled), await agentOf(pooled)];
    expect(second.agent).toBe(first.agent);
    expect(first.agent.options).toMatchObject({ keepAlive: true, ca: Buffer.from(CA, 'base64') });
    expect([first.authorization, second.authorization]).toEqual(['Bearer secret-token', 'Bearer secret-token']);
  });

  it('without it, client-node makes a new agent per request (what this fixes)', async () => {
    const plain = kubeConfig();
    const [first, second] = [await agentOf(plain), await agentOf(plain)];
    expect(second.agent).not.toBe(first.agent);
  });
});
