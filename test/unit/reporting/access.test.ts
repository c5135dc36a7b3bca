import { describe, expect, it } from '@jest/globals';
import { bearerToken, createAccessGate, TOKEN_COOKIE, type AccessReviewApi, type ReviewedUser } from '../../../src/reporting/access.js';

/** Tokens the fake API server knows: who they are, and which paths they may get. */
const USERS: Record<string, { user: ReviewedUser; paths: string[] }> = {
  reader: { user: { username: 'system:serviceaccount:mon:prometheus', groups: ['system:serviceaccounts'], extra: {} }, paths: ['/metrics', '/reports/summary'] },
  nobody: { user: { username: 'someone', groups: [], extra: {} }, paths: [] },
};

function fakeApi(): AccessReviewApi & { calls: string[]; failNext: boolean; pending: (() => void)[] } {
  const api = {
    calls: [] as string[],
    failNext: false,
    pending: [] as (() => void)[],
    authenticate: async (token: string) => {
      await Promise.resolve();
      api.calls.push(`token ${token}`);
      if (api.failNext) {
        api.failNext = false;
        throw new Error('connection refused');
      }
      return USERS[token]?.user;
    },
    authorize: async (user: ReviewedUser, path: string, verb: string) => {
      await Promise.resolve();
      api.calls.push(`access ${user.username} ${verb} ${path}`);
      return verb === 'get' && Object.values(USERS).some((u) => u.user === user && u.paths.includes(path));
    },
  };
  return api;
}

const setup = (ttlMs = 10_000) => {
  const api = fakeApi();
  let now = 1_000;
  const gate = createAccessGate({ api, ttlMs, maxEntries: 2, clock: () => now });
  return { api, gate, advance: (ms: number) => (now += ms) };
};

describe('createAccessGate', () => {
  it.each([
    [undefined, '/metrics', 'unauthenticated', []],
    ['forged', '/metrics', 'unauthenticated', ['token forged']],
    ['nobody', '/metrics', 'forbidden', ['token nobody', 'access someone get /metrics']],
    ['reader', '/reports/summary', 'allowed', ['token reader', 'access system:serviceaccount:mon:prometheus get /reports/summary']],
    ['reader', '/dashboard', 'forbidden', ['token reader', 'access system:serviceaccount:mon:prometheus get /dashboard']],
  ])('token %s on %s: %s, after the reviews %j', async (token, path, verdict, calls) => {
    const { api, gate } = setup();
    await expect(gate.check(token, path, 'get')).resolves.toBe(verdict);
    expect(api.calls).toEqual(calls);
  });

  it('reuses a verdict until it expires, then asks again', async () => {
    const { api, gate, advance } = setup(10_000);
    await gate.check('reader', '/metrics', 'get');
    advance(9_999);
    await expect(gate.check('reader', '/metrics', 'get')).resolves.toBe('allowed');
    expect(api.calls).toHaveLength(2);
    advance(1);
    await expect(gate.check('reader', '/metrics', 'get')).resolves.toBe('allowed');
    expect(api.calls).toHaveLength(4);
  });

  it('keeps one verdict per token and path: another path is reviewed on its own', async () => {
    const { api, gate } = setup();
    await gate.check('reader', '/metrics', 'get');
    await expect(gate.check('reader', '/dashboard', 'get')).resolves.toBe('forbidden');
    expect(api.calls.filter((c) => c.startsWith('access'))).toHaveLength(2);
  });

  it('concurrent checks of one token share one review', async () => {
    const { api, gate } = setup();
    const verdicts = await Promise.all([1, 2, 3].map(() => gate.check('reader', '/metrics', 'get')));
    expect([verdicts, api.calls.length]).toEqual([['allowed', 'allowed', 'allowed'], 2]);
  });

  it('is bounded: the least recently used verdict is forgotten', async () => {
    const { api, gate } = setup();
    await gate.check('reader', '/metrics', 'get');
    await gate.check('nobody', '/metrics', 'get');
    await gate.check('forged', '/metrics', 'get');
    api.calls.length = 0;
    await gate.check('reader', '/metrics', 'get');
    expect(api.calls).toEqual(['token reader', 'access system:serviceaccount:mon:prometheus get /metrics']);
  });

  it('a failed review rejects and is not remembered: the next check asks again', async () => {
    const { api, gate } = setup();
    api.failNext = true;
    await expect(gate.check('reader', '/metrics', 'get')).rejects.toThrow('connection refused');
    await expect(gate.check('reader', '/metrics', 'get')).resolves.toBe('allowed');
  });
});

describe('bearerToken', () => {
  it.each([
    ['Bearer abc.def', undefined, 'abc.def'],
    ['bearer   abc', undefined, 'abc'],
    ['Basic YWJj', undefined, undefined],
    [undefined, `theme=dark; ${TOKEN_COOKIE}=a%2Eb`, 'a.b'],
    ['Bearer header-wins', `${TOKEN_COOKIE}=cookie`, 'header-wins'],
    [undefined, `${TOKEN_COOKIE}=%E0%A4%A`, undefined],
    [undefined, `${TOKEN_COOKIE}=`, undefined],
    [undefined, 'other=1', undefined],
  ])('authorization %j, cookie %j: %j', (authorization, cookie, token) => {
    expect(bearerToken(authorization, cookie)).toBe(token);
  });
});
