import { once } from 'node:events';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { AccessGate, AccessVerdict } from '../../../src/reporting/access.js';
import { observabilityHandler } from '../../../src/reporting/observability-server.js';

/** token → verdict per path; 'down' makes the gate fail as when the API server cannot be asked. */
const gate: AccessGate = {
  check: async (token, path) => {
    await Promise.resolve();
    if (token === 'down') throw new Error('API server unreachable');
    if (token === 'reader') return 'allowed';
    if (token === 'metrics-only') return path === '/metrics' ? 'allowed' : 'forbidden';
    return 'unauthenticated' satisfies AccessVerdict;
  },
};

const warnings: unknown[] = [];
let server: Server;
let port: number;

beforeAll(async () => {
  const handler = observabilityHandler({
    gate,
    routes: {
      '/metrics': (_req, res) => void res.writeHead(200, { 'Content-Type': 'text/plain' }).end('m 1\n'),
      '/reports/*': (_req, res, url) => void res.writeHead(200).end(`report ${url.pathname}`),
    },
    loginPage: (path) => (path === '/dashboard' ? '<form>login</form>' : undefined),
    log: { warn: (fields) => void warnings.push(fields) },
  });
  server = createServer(handler).listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => void server.close());

async function get(path: string, token?: string, method = 'GET'): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  const req = request({ host: '127.0.0.1', port, path, method, headers: token ? { authorization: `Bearer ${token}` } : {} });
  req.end();
  const [res] = (await once(req, 'response')) as [import('node:http').IncomingMessage];
  let body = '';
  for await (const chunk of res) body += String(chunk);
  return { status: res.statusCode ?? 0, body, headers: res.headers };
}

describe('observabilityHandler', () => {
  it.each([
    ['/metrics', undefined, 401, 'Unauthorized\n'],
    ['/metrics', 'forged', 401, 'Unauthorized\n'],
    ['/reports/summary', 'metrics-only', 403, 'Forbidden\n'],
    ['/metrics', 'metrics-only', 200, 'm 1\n'],
    ['/reports/summary', 'reader', 200, 'report /reports/summary'],
    ['/reports/history?since=1h', 'reader', 200, 'report /reports/history'],
    // Unknown paths are refused like known ones until the caller is let in: nothing to enumerate.
    ['/nothing-here', undefined, 401, 'Unauthorized\n'],
    ['/nothing-here', 'reader', 404, 'not found\n'],
    ['/metrics', 'down', 503, 'Service Unavailable\n'],
  ])('GET %s with token %s: %i', async (path, token, status, body) => {
    expect(await get(path, token)).toMatchObject({ status, body });
  });

  it('a 401 carries the Bearer challenge; a refused browser on /dashboard gets the login form', async () => {
    expect((await get('/metrics')).headers['www-authenticate']).toBe('Bearer realm="placement-quota"');
    const dashboard = await get('/dashboard');
    expect([dashboard.status, dashboard.body, dashboard.headers['content-type']]).toEqual([401, '<form>login</form>', 'text/html; charset=utf-8']);
  });

  it('only GET and HEAD: other methods are refused before the gate', async () => {
    expect(await get('/metrics', 'reader', 'DELETE')).toMatchObject({ status: 405, headers: { allow: 'GET, HEAD' } });
  });

  it('a failed review is logged with the path, without the query', async () => {
    warnings.length = 0;
    await get('/metrics?x=1', 'down');
    expect(warnings).toEqual([expect.objectContaining({ path: '/metrics' })]);
  });
});
