/**
 * Who may read the observability listener, decided the way Kubernetes' own components decide it for
 * their metrics (controller-runtime's secure metrics filter, kube-rbac-proxy): the bearer token is
 * checked with a TokenReview, then the user it names is checked with a SubjectAccessReview for the
 * non-resource URL and the verb. Verdicts are kept briefly in a bounded cache, keyed by a hash of the
 * token (the token itself is never kept as a key), so a scrape every 15 s costs an API call only
 * when the verdict has expired.
 */
import { createHash } from 'node:crypto';
import { AuthenticationV1Api, AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { BoundedCache } from '../state/bounded-cache.js';

/** The user a TokenReview names. */
export interface ReviewedUser {
  readonly username: string;
  readonly uid?: string | undefined;
  readonly groups: readonly string[];
  readonly extra: Readonly<Record<string, readonly string[]>>;
}

/** The two API calls of the check; injectable so tests can count and script them. */
export interface AccessReviewApi {
  /** The token's user, or undefined when the API server does not authenticate it. Rejects on API errors. */
  authenticate(token: string): Promise<ReviewedUser | undefined>;
  /** Whether `user` may `verb` the non-resource URL `path`. Rejects on API errors. */
  authorize(user: ReviewedUser, path: string, verb: string): Promise<boolean>;
}

/** allowed; no valid token (401); a valid token without permission (403). */
export type AccessVerdict = 'allowed' | 'unauthenticated' | 'forbidden';

export interface AccessGateOptions {
  readonly api: AccessReviewApi;
  readonly ttlMs: number;
  readonly maxEntries: number;
  readonly clock: () => number;
}

export interface AccessGate {
  /** The verdict for a token (undefined: none was sent) on a path and verb. Rejects when the API server cannot be asked. */
  check(token: string | undefined, path: string, verb: string): Promise<AccessVerdict>;
}

interface Kept {
  readonly verdict: Promise<AccessVerdict>;
  readonly expiresAtMs: number;
}

const tokenHash = (token: string): string => createHash('sha256').update(token).digest('base64url');

/**
 * The gate in front of the listener. Concurrent requests with the same token and path share one
 * review (the pending promise is what is kept); a review that fails is forgotten at once, so an API
 * server outage is not remembered as a refusal.
 */
export function createAccessGate(options: AccessGateOptions): AccessGate {
  const { api, ttlMs, clock } = options;
  const kept = new BoundedCache<Kept>(options.maxEntries);

  const review = async (token: string, path: string, verb: string): Promise<AccessVerdict> => {
    const user = await api.authenticate(token);
    if (!user) return 'unauthenticated';
    return (await api.authorize(user, path, verb)) ? 'allowed' : 'forbidden';
  };

  return {
    check(token, path, verb) {
      if (!token) return Promise.resolve('unauthenticated');
      const key = `${tokenHash(token)} ${verb} ${path}`;
      const nowMs = clock();
      const hit = kept.get(key);
      if (hit && hit.expiresAtMs > nowMs) return hit.verdict;
      const verdict = review(token, path, verb);
      kept.set(key, { verdict, expiresAtMs: nowMs + ttlMs });
      verdict.catch(() => kept.delete(key));
      return verdict;
    },
  };
}

/** The reviews through the service's own identity (it needs `create` on tokenreviews and subjectaccessreviews). */
export function kubernetesAccessReviewApi(kubeConfig: KubeConfig): AccessReviewApi {
  const authentication = kubeConfig.makeApiClient(AuthenticationV1Api);
  const authorization = kubeConfig.makeApiClient(AuthorizationV1Api);
  return {
    authenticate: async (token) => {
      const review = await authentication.createTokenReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token } } });
      const user = review.status?.user;
      if (!review.status?.authenticated || !user?.username) return undefined;
      return { username: user.username, uid: user.uid, groups: user.groups ?? [], extra: user.extra ?? {} };
    },
    authorize: async (user, path, verb) => {
      const review = await authorization.createSubjectAccessReview({
        body: {
          apiVersion: 'authorization.k8s.io/v1',
          kind: 'SubjectAccessReview',
          spec: {
            user: user.username,
            uid: user.uid,
            groups: [...user.groups],
            extra: Object.fromEntries(Object.entries(user.extra).map(([name, values]) => [name, [...values]])),
            nonResourceAttributes: { path, verb },
          },
        },
      });
      return review.status?.allowed === true && review.status.denied !== true;
    },
  };
}

const safeDecode = (text: string): string | undefined => {
  try {
    return decodeURIComponent(text) || undefined;
  } catch {
    return undefined;
  }
};

/** The bearer token of a request: the Authorization header, else the dashboard's cookie. */
export function bearerToken(authorization: string | undefined, cookie: string | undefined): string | undefined {
  const match = /^Bearer +(\S+)\s*$/i.exec(authorization ?? '');
  if (match) return match[1];
  for (const part of (cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === TOKEN_COOKIE && value.length > 0) return safeDecode(value.join('='));
  }
  return undefined;
}

/** The cookie the dashboard's login form stores the token in. */
export const TOKEN_COOKIE = 'placement_quota_token';
