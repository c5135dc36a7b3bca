/**
 * The observability port behind Kubernetes authentication, on a real API server: a token that the
 * API server does not know is 401, a real service account without the reader role is 403, one bound
 * to it is 200, on every path; the admission port serves none of these paths.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { deleteTokenBindings, READER_ROLE, serviceAccountToken } from './support/tokens.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

// The project's testTimeout is not applied to hooks here: startup runs kubectl several times on a shared 2-core machine.
jest.setTimeout(60_000);

const PATHS = ['/metrics', '/dashboard', '/reports/summary', '/reports/latest.json', '/reports/clusters.csv', '/reports/trends', '/reports/history?since=1h'];

const CACHE_TTL_SECONDS = 2;
let webhook: TestWebhook;
let reader: string;
let stranger: string;

beforeAll(async () => {
  webhook = await startTestWebhook('observability', { env: { PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: '1', PLACEMENT_QUOTA_OBSERVABILITY_AUTH_CACHE_TTL_SECONDS: String(CACHE_TTL_SECONDS) } });
  const ns = await freshNamespace('observability');
  [reader, stranger] = await Promise.all([serviceAccountToken(ns, 'reader', READER_ROLE), serviceAccountToken(ns, 'stranger')]);
  // The first snapshot exists once the tracker synced: after that a 200 means the route answered.
  await eventually(async () => expect((await webhook.report(0, '/reports/summary', { token: reader })).status).toBe(200));
});

afterAll(async () => {
  await deleteTokenBindings();
  await deleteFreshNamespaces();
  await webhook.stop();
});

describe.each(PATHS)('%s', (urlPath) => {
  it('401 without a token, with a challenge and nothing else', async () => {
    const reply = await webhook.report(0, urlPath);
    // A browser on /dashboard gets the login form instead of the bare word; it names no user, quota or cluster.
    const body = urlPath === '/dashboard' ? expect.stringContaining('<form method="post" action="/dashboard/login">') : 'Unauthorized\n';
    expect([reply.status, reply.body, reply.headers['www-authenticate']]).toEqual([401, body, 'Bearer realm="placement-quota"']);
  });

  it('401 with a token the API server does not know', async () => {
    const forged = `${reader.slice(0, -8)}AAAAAAAA`;
    expect((await webhook.report(0, urlPath, { token: forged })).status).toBe(401);
  });

  it('403 with a real token lacking the reader role', async () => {
    expect(await webhook.report(0, urlPath, { token: stranger })).toMatchObject({ status: 403, body: 'Forbidden\n' });
  });

  it('200 with a token bound to the reader role', async () => {
    expect((await webhook.report(0, urlPath, { token: reader })).status).toBe(200);
  });

  it('the admission port does not serve it, even with the reader token', async () => {
    expect((await webhook.admission(0, urlPath, { token: reader })).status).toBe(404);
  });
});

it('a token whose role binding is removed is refused once the cached verdict expires', async () => {
  const ns = await freshNamespace('observability-revoked');
  const token = await serviceAccountToken(ns, 'leaving', READER_ROLE);
  expect((await webhook.report(0, '/reports/trends', { token })).status).toBe(200);
  const removed = await kubectl(['delete', 'clusterrolebinding', `${ns}-leaving`]);
  expect(removed.code).toBe(0);
  await eventually(async () => expect((await webhook.report(0, '/reports/trends', { token })).status).toBe(403), (CACHE_TTL_SECONDS + 10) * 1000);
});
