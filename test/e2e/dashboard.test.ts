/**
 * The dashboard in a real browser (Debian's Chromium driven by playwright-core) on a real service:
 * sign in with a reader token, the bars and numbers equal what kubectl created, the page loads
 * nothing from outside its origin, the token lives in an HttpOnly, Secure, SameSite=Strict cookie and
 * never in a URL, and it stays readable on a phone. Saves a screenshot: to docs/dashboard.png
 * (the README's) with UPDATE_SCREENSHOT=1, else beside the run's other outputs, so a test run leaves
 * the checkout as it found it.
 */
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { deleteFreshNamespaces, freshNamespace, kubectl } from './support/cluster.js';
import { addCluster, addQuota, place } from './support/objects.js';
import { deleteTokenBindings, READER_ROLE, serviceAccountToken } from './support/tokens.js';
import { eventually, startTestWebhook, type TestWebhook } from './support/webhook.js';

jest.setTimeout(120_000);

const SCREENSHOT = process.env.UPDATE_SCREENSHOT === '1' ? path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../docs/dashboard.png') : path.join(os.tmpdir(), 'placement-quota-dashboard.png');
// The flags that work on this kind of machine (no GPU, no sandbox as root, no background network).
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

let webhook: TestWebhook;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let origin: string;
let ns: string;
let token: string;
let clusters: string[];
const requested: string[] = [];

beforeAll(async () => {
  webhook = await startTestWebhook('dashboard', { env: { PLACEMENT_QUOTA_REPORTS_INTERVAL_SECONDS: '1' } });
  ns = await freshNamespace('dashboard');
  await webhook.cover(ns);
  const location = `${ns}-loc`;
  clusters = [
    await addCluster(`${ns}-east`, { capacity: { cpu: '8', memory: '16Gi' }, location }),
    await addCluster(`${ns}-west`, { capacity: { cpu: '16', memory: '32Gi' }, location }),
    await addCluster(`${ns}-down`, { capacity: { cpu: '4', memory: '8Gi' }, location, ready: false }),
  ];
  await addQuota(ns, { hard: { cpu: '20', memory: '40Gi' }, soft: { cpu: '10' } });
  await place(ns, 'web', { cpu: '6', memory: '4Gi' }, clusters[0] as string);
  await place(ns, 'batch', { cpu: '3', memory: '2Gi' }, clusters[1] as string);
  token = await serviceAccountToken(ns, 'viewer', READER_ROLE);
  origin = `https://127.0.0.1:${webhook.set.replicas[0]?.observabilityPort}`;
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
  context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  page = await context.newPage();
  page.on('request', (request) => void requested.push(request.url()));
});

afterAll(async () => {
  await browser?.close();
  await kubectl(['delete', 'synctarget', ...(clusters ?? []), '--ignore-not-found']);
  await deleteTokenBindings();
  await deleteFreshNamespaces();
  await webhook.stop();
});

const cell = (cluster: string, resource: string) => page.locator(`tr[data-cluster="${cluster}"] td[data-resource="${resource}"]`);

describe('the dashboard in Chromium', () => {
  it('without a token it shows the login form (401); a reader token signs in', async () => {
    const first = await page.goto(`${origin}/dashboard`);
    expect(first?.status()).toBe(401);
    await page.fill('textarea[name=token]', token);
    await Promise.all([page.waitForURL(`${origin}/dashboard`), page.click('button[type=submit]')]);
    expect(page.url()).toBe(`${origin}/dashboard`);
    const cookies = await context.cookies(origin);
    expect(cookies.map(({ name, httpOnly, secure, sameSite }) => ({ name, httpOnly, secure, sameSite }))).toEqual([{ name: 'placement_quota_token', httpOnly: true, secure: true, sameSite: 'Strict' }]);
    expect(requested.some((url) => url.includes(token.slice(-16)))).toBe(false);
  });

  it('a wrong token is refused with the form again', async () => {
    const other = await context.browser()?.newContext({ ignoreHTTPSErrors: true });
    const stranger = await other?.newPage();
    await stranger?.goto(`${origin}/dashboard`);
    await stranger?.fill('textarea[name=token]', 'not-a-token');
    const [response] = await Promise.all([stranger?.waitForResponse(`${origin}/dashboard/login`), stranger?.click('button[type=submit]')]);
    expect(response?.status()).toBe(401);
    expect(await stranger?.locator('[role=alert]').textContent()).toBe('The token was not accepted.');
    await other?.close();
  });

  it('cluster bars and numbers equal the state: allocated against allocatable x overcommit, health', async () => {
    const [east, west, down] = clusters as [string, string, string];
    // The page shows the latest snapshot; the placements are in it once their watch events are.
    await eventually(async () => {
      await page.reload();
      expect(await cell(east, 'cpu').getAttribute('data-allocated')).toBe('6');
      expect(await cell(west, 'cpu').getAttribute('data-allocated')).toBe('3');
    }, 30_000);
    expect([await cell(east, 'cpu').getAttribute('data-limit'), await cell(east, 'memory').getAttribute('data-limit')]).toEqual(['12', '19.2Gi']);
    // 6 of 12 cpu: the bar is half full; 4Gi of 19.2Gi memory.
    expect(await cell(east, 'cpu').locator('.fill').getAttribute('style')).toBe('width:50.0%');
    expect(await cell(east, 'memory').locator('.fill').getAttribute('style')).toBe(`width:${((4 / 19.2) * 100).toFixed(1)}%`);
    expect(await cell(west, 'cpu').locator('.fill').getAttribute('style')).toBe('width:12.5%');
    expect(await page.locator(`tr[data-cluster="${down}"] .health`).textContent()).toBe('NotReady');
    expect(await page.locator(`tr[data-cluster="${east}"] .health`).textContent()).toBe('Ready');
  });

  it('the quota bar: used against hard, with the soft limit marked', async () => {
    const cpu = page.locator(`tr[data-quota="${ns}/compute"] [data-resource="cpu"]`);
    expect([await cpu.getAttribute('data-used'), await cpu.getAttribute('data-hard')]).toEqual(['9', '20']);
    expect(await cpu.locator('.fill').getAttribute('style')).toBe('width:45.0%');
    expect(await cpu.locator('.soft').getAttribute('style')).toBe('left:50.0%');
  });

  it('sparklines of the history, and the page refreshes itself', async () => {
    // The latest report is refreshed between history entries (on changes), so the trend can be there
    // one entry before the sparkline has three points: wait for both.
    await eventually(async () => {
      await page.reload();
      expect(await page.locator('figure[data-spark="cpu"] line.trend').count()).toBe(1);
      expect(await page.locator('figure[data-spark="cpu"] polyline').getAttribute('points')).toMatch(/^[\d.]+,[\d.]+( [\d.]+,[\d.]+){2,}$/);
    }, 30_000);
    expect(await page.locator('meta[http-equiv=refresh]').getAttribute('content')).toBe('5');
  });

  it('loads nothing from outside its origin', () => {
    expect(requested.length).toBeGreaterThan(3);
    expect(requested.filter((url) => new URL(url).origin !== origin)).toEqual([]);
  });

  it('fits a phone: no sideways scrolling of the page', async () => {
    await page.setViewportSize({ width: 1280, height: 900 });
    await page.screenshot({ path: SCREENSHOT });
    await page.setViewportSize({ width: 390, height: 844 });
    await page.reload();
    expect(await page.evaluate<number>('document.documentElement.scrollWidth')).toBeLessThanOrEqual(390);
  });
});
