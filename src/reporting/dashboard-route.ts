/**
 * The dashboard's two routes on the observability listener: GET /dashboard (behind the gate like
 * every path) and POST /dashboard/login, which takes a bearer token from the login form, checks it
 * with the same gate for `get /dashboard`, and keeps it in a cookie the page's scripts (there are
 * none) could not read anyway: HttpOnly, Secure, SameSite=Strict, never in a URL.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { TOKEN_COOKIE } from './access.js';
import { renderDashboard, renderLogin } from './dashboard.js';
import { PAGE_HEADERS, type ObservabilityRoute, type OpenRoute } from './observability-server.js';
import type { ReportLoop } from './report-loop.js';

/** A token is a few KiB at most; anything longer is not one. */
const LOGIN_BODY_LIMIT = 16 * 1024;

function page(res: ServerResponse, status: number, html: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...PAGE_HEADERS, ...headers }).end(html);
}

async function formToken(req: IncomingMessage): Promise<string | undefined> {
  let body = '';
  for await (const chunk of req as AsyncIterable<Buffer>) {
    body += chunk.toString('utf8');
    if (body.length > LOGIN_BODY_LIMIT) return undefined;
  }
  return new URLSearchParams(body).get('token')?.trim() || undefined;
}

/** GET /dashboard from the latest snapshot. */
export function dashboardRoute(loop: ReportLoop, refreshSeconds: number): ObservabilityRoute {
  return (_req, res) => {
    const latest = loop.latest();
    if (!latest) return page(res, 503, '<!doctype html><title>placement-quota</title><p>No report yet: the tracker has no complete view of the cluster. This page reloads itself.</p>\n', { Refresh: '5' });
    page(res, 200, renderDashboard(latest, loop.history.entries(), { refreshSeconds }));
  };
}

/** POST /dashboard/login: a token that may get /dashboard becomes the cookie, and the browser goes to the page. */
export const loginRoute: OpenRoute = async (req, res, gate) => {
  const token = await formToken(req);
  const verdict = token && gate ? await gate.check(token, '/dashboard', 'get') : token ? 'allowed' : 'unauthenticated';
  if (!token || verdict !== 'allowed') return page(res, 401, renderLogin('The token was not accepted.'));
  const cookie = `${TOKEN_COOKIE}=${encodeURIComponent(token)}; Path=/; HttpOnly; Secure; SameSite=Strict`;
  res.writeHead(303, { Location: '/dashboard', 'Set-Cookie': cookie, 'Cache-Control': 'no-store' }).end();
};

/** What a refused browser gets on /dashboard: the login form instead of a bare 401. */
export const dashboardLoginPage = (path: string): string | undefined => (path === '/dashboard' ? renderLogin() : undefined);
