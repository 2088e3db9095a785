import { APIRequestContext, Browser, expect, Page } from '@playwright/test';
import { create, daysAgo, record, seedCatalog } from './api';
import { unique } from './helpers';

/** The time zone the browser tests run in: not UTC, and not a whole-hour offset either. */
export const TIME_ZONE = 'Asia/Kolkata';

/**
 * Seeds one of everything and returns every page of the app by URL, with and without its query
 * (tabs, filters, `?at=`), plus a viewer's credentials.
 */
export async function seedEveryPage(api: APIRequestContext) {
  const suffix = unique();
  const c = await seedCatalog(api, suffix);
  const deployment = await record(api, c.portal.id, c.versions['1.1.0'], c.dev.id, daysAgo(3));
  await record(api, c.portal.id, c.versions['1.2.0'], c.prod.id, daysAgo(1));
  const viewer = { username: `viewer${suffix}`, password: 'viewer-password-123' };
  await create(api, '/api/users', { ...viewer, role: 'viewer' });
  const hook = await create(api, '/api/hooks', { provider: 'github', name: `org ${suffix}` });
  const at = encodeURIComponent(daysAgo(2));
  const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
  const routes = [
    '/',
    `/?at=${at}`,
    `/?q=${encodeURIComponent(c.portal.name)}`,
    `/?at=${at}&q=${encodeURIComponent(c.portal.name)}&page=2`,
    '/deployments',
    `/deployments?applicationId=${c.portal.id}&environmentId=${c.dev.id}&dateFrom=${day}&q=1.1`,
    `/deployments/${deployment.id}`,
    '/deployments/new',
    `/deployments/new?applicationId=${c.portal.id}&environmentId=${c.prod.id}`,
    '/applications',
    `/applications/${c.portal.id}`,
    `/applications/${c.portal.id}?tab=versions`,
    `/applications/${c.portal.id}?tab=deployments`,
    `/applications/${c.portal.id}?tab=deployments&environmentId=${c.dev.id}&dateFrom=${day}`,
    '/environments',
    `/environments/${c.prod.id}`,
    `/environments/${c.prod.id}?tab=deployments`,
    '/compare',
    `/compare?from=${c.dev.id}&to=${c.prod.id}`,
    '/settings/tokens',
    '/admin/users',
    '/settings/hooks',
    `/settings/hooks?hook=${hook.id}`,
    '/insights',
    `/insights?applicationId=${c.portal.id}&environmentId=${c.prod.id}&dateFrom=${day}`,
    '/settings/webhooks',
    '/policy',
    '/deployments?violations=true',
    '/admin/audit',
    `/admin/audit?action=deployment.recorded&dateFrom=${day}`,
    `/admin/audit?targetId=${deployment.id}`,
  ];
  return { catalog: c, deployment, viewer, routes };
}

/** A signed-in page in its own browser context (time zone and viewport as given). */
export async function signedInPage(
  browser: Browser,
  baseURL: string,
  who: { username: string; password: string },
  viewport = { width: 1280, height: 800 },
): Promise<Page> {
  const context = await browser.newContext({ baseURL, timezoneId: TIME_ZONE, viewport });
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.locator('#login input[name=username]').fill(who.username);
  await page.locator('#login input[name=password]').fill(who.password);
  await page.locator('#login').getByRole('button', { name: 'Sign in' }).click();
  await expect(page).not.toHaveURL(/\/login/);
  // The sign-in's redirect may still be loading the next page: let it finish, or the caller's
  // first goto races it ("navigation interrupted by another navigation").
  await page.waitForLoadState('networkidle');
  await expect(page.locator('.user-menu .user-name')).toBeAttached();
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.waitForLoadState('networkidle');
  return page;
}

export const admin = () => ({ username: 'admin', password: process.env.ADMIN_PASSWORD ?? '' });

/** Collects what must never happen on a page: uncaught errors, console errors, 5xx answers. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.push(`console: ${msg.text()}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 500) problems.push(`${response.status()} ${response.url()}`);
  });
  return problems;
}

export async function openHydrated(page: Page, route: string) {
  await page.goto(route);
  await expect(page.locator('body[data-hydrated="true"]'), route).toBeAttached();
  await page.waitForLoadState('networkidle');
}
