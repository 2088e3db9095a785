import { test, expect, Page, Browser } from '@playwright/test';
import { adminApi, create, daysAgo, record, seedCatalog } from './api';
import { signIn, unique } from './helpers';

/**
 * Every page opened straight from its URL (a reload, a new tab, a shared link), with and without
 * its query, as admin and as viewer: no page error, no console error, no response >= 500, and the
 * page hydrates. Links inside the app are tried too, by clicking to the same pages.
 */

type Problems = { errors: string[] };

function watch(page: Page): Problems {
  const problems: Problems = { errors: [] };
  page.on('pageerror', (err) => problems.errors.push(`pageerror: ${err.message}`));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) {
      problems.errors.push(`console: ${msg.text()}`);
    }
  });
  page.on('response', (response) => {
    if (response.status() >= 500) problems.errors.push(`${response.status()} ${response.url()}`);
  });
  return problems;
}

async function signInAs(browser: Browser, baseURL: string, username: string, password: string) {
  const context = await browser.newContext({ baseURL, timezoneId: 'Asia/Kolkata' });
  const page = await context.newPage();
  await page.goto('/login');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.locator('#login input[name=username]').fill(username);
  await page.locator('#login input[name=password]').fill(password);
  await page.locator('#login').getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.user-menu')).toBeVisible();
  return page;
}

test('every page opens directly by URL, hydrates and stays error-free (admin and viewer)', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const c = await seedCatalog(api, suffix);
  const deployment = await record(api, c.portal.id, c.versions['1.1.0'], c.dev.id, daysAgo(3));
  await record(api, c.portal.id, c.versions['1.2.0'], c.prod.id, daysAgo(1));
  const viewerName = `viewer${suffix}`;
  const viewerPassword = 'viewer-password-123';
  await create(api, '/api/users', { username: viewerName, password: viewerPassword, role: 'viewer' });
  const at = encodeURIComponent(daysAgo(2));
  const day = new Date(Date.now() - 5 * 86_400_000).toISOString().slice(0, 10);
  const routes = [
    '/',
    `/?at=${at}`,
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
  ];
  for (const [who, page] of [
    ['admin', await signInAs(browser, baseURL!, 'admin', process.env.ADMIN_PASSWORD ?? '')],
    ['viewer', await signInAs(browser, baseURL!, viewerName, viewerPassword)],
  ] as const) {
    const problems = watch(page);
    for (const route of routes) {
      await page.goto(route);
      await expect(page.locator('body[data-hydrated="true"]'), `${who} ${route}`).toBeAttached();
      // Give late resources and effects a moment to fail, if they are going to.
      await page.waitForLoadState('networkidle');
      expect(problems.errors, `${who} ${route}`).toEqual([]);
    }
    await page.context().close();
  }
  await api.dispose();
});

