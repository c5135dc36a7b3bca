/**
 * The request listener of the observability port: `/metrics`, `/reports/*`, `/dashboard`, each
 * behind the access gate (TokenReview, then SubjectAccessReview on the path with verb get). Nothing
 * of admission is here, and nothing of this is on the admission port.
 *
 * What a caller learns without permission is only its status: 401 without a valid token, 403 with a
 * valid one that lacks the role, with the same short bodies whatever the path (so an unauthenticated
 * caller cannot even tell which paths exist), and 503 when the API server cannot be asked.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { bearerToken, type AccessGate, type AccessVerdict } from './access.js';

/** One route of the listener; it answers GET (and HEAD) only, after the gate let the request in. */
export type ObservabilityRoute = (req: IncomingMessage, res: ServerResponse, url: URL) => void | Promise<void>;

/** A route that runs before the gate, such as the dashboard's login form, which checks its own token. */
export type OpenRoute = (req: IncomingMessage, res: ServerResponse, gate: AccessGate | undefined) => Promise<void>;

export interface ObservabilityLog {
  warn(fields: object, message: string): void;
}

export interface ObservabilityOptions {
  /** Undefined: `observability.auth: none` (the listener is bound to loopback then). */
  readonly gate: AccessGate | undefined;
  /** By exact path, or by prefix when the key ends in `/*` (as RBAC's nonResourceURLs read). */
  readonly routes: Readonly<Record<string, ObservabilityRoute>>;
  /** By exact path and method `POST`. */
  readonly open?: Readonly<Record<string, OpenRoute>>;
  /** What a browser that is refused gets instead of the plain 401 body (the dashboard's login form). */
  readonly loginPage?: (path: string) => string | undefined;
  readonly log: ObservabilityLog;
}

function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store', ...headers }).end(body);
}

function routeOf(routes: Readonly<Record<string, ObservabilityRoute>>, path: string): ObservabilityRoute | undefined {
  if (Object.hasOwn(routes, path)) return routes[path];
  for (const [pattern, route] of Object.entries(routes)) {
    if (pattern.endsWith('/*') && path.startsWith(pattern.slice(0, -1))) return route;
  }
  return undefined;
}

function refuse(res: ServerResponse, verdict: Exclude<AccessVerdict, 'allowed'>, login: string | undefined): void {
  if (verdict === 'forbidden') return plain(res, 403, 'Forbidden\n');
  const challenge = { 'WWW-Authenticate': 'Bearer realm="placement-quota"' };
  if (login !== undefined) {
    res.writeHead(401, { ...challenge, 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...PAGE_HEADERS }).end(login);
    return;
  }
  plain(res, 401, 'Unauthorized\n', challenge);
}

/**
 * What every page of this listener sends: no framing, no sniffing, and a policy that lets a page load
 * nothing from anywhere (the dashboard is one self-contained document), post its form only here.
 */
export const PAGE_HEADERS: Readonly<Record<string, string>> = {
  'Content-Security-Policy': "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Whether the gate lets the request in; answers the refusal itself when not. */
async function admitted(options: ObservabilityOptions, req: IncomingMessage, res: ServerResponse, path: string): Promise<boolean> {
  if (!options.gate) return true;
  const verdict = await options.gate.check(bearerToken(req.headers.authorization, req.headers.cookie), path, 'get');
  if (verdict === 'allowed') return true;
  refuse(res, verdict, options.loginPage?.(path));
  return false;
}

async function serve(options: ObservabilityOptions, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'https://observability.invalid');
  const path = url.pathname;
  const open = req.method === 'POST' && options.open && Object.hasOwn(options.open, path) ? options.open[path] : undefined;
  if (open) return open(req, res, options.gate);
  if (req.method !== 'GET' && req.method !== 'HEAD') return plain(res, 405, 'only GET\n', { Allow: 'GET, HEAD' });
  if (!(await admitted(options, req, res, path))) return;
  const route = routeOf(options.routes, path);
  if (!route) return plain(res, 404, 'not found\n');
  return route(req, res, url);
}

/** The listener's request handler. */
export function observabilityHandler(options: ObservabilityOptions): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    serve(options, req, res).catch((err: unknown) => {
      // The API server could not be asked (or a route failed): say nothing more than that.
      options.log.warn({ err, path: req.url?.split('?', 1)[0] }, 'observability request failed');
      if (!res.headersSent) plain(res, 503, 'Service Unavailable\n');
      else res.destroy();
    });
  };
}
