import { test, expect } from '@playwright/test';
import { adminApi, record } from './api';
import { admin, openHydrated, seedEveryPage, signedInPage, watchProblems } from './pages';

/**
 * The page's timers, driven by Playwright's fake clock: relative times tick while a page stays
 * open, the matrix filter waits for the last key, the success notice fades, and a live feed the
 * server refused is opened again after a back-off.
 */

test('"just now" becomes "2 minutes ago" while the page stays open', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const { catalog } = await seedEveryPage(api);
  const fresh = await record(api, catalog.billing.id, catalog.billingVersion, catalog.prod.id, new Date().toISOString());
  const page = await signedInPage(browser, baseURL!, admin());
  await page.clock.install();
  await openHydrated(page, `/deployments/${fresh.id}`);
  const ago = page.locator('dd').filter({ hasText: 'just now' });
  await expect(ago).toHaveCount(1);
  await page.clock.fastForward('02:00');
  await expect(page.locator('dd').filter({ hasText: '2 minutes ago' })).toHaveCount(1);
  await page.context().close();
  await api.dispose();
});

test('the matrix filter applies once typing pauses', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const { catalog } = await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  await page.clock.install();
  await openHydrated(page, '/');
  await page.clock.pauseAt(new Date(Date.now() + 60_000));
  const rows = page.locator('#matrix tbody tr');
  const before = await rows.count();
  expect(before).toBeGreaterThan(1);
  await page.locator('#matrix-filter').fill(catalog.portal.name);
  // Not yet: the filter waits 150 ms for another key.
  expect(await rows.count()).toBe(before);
  await page.clock.runFor(200);
  await expect(rows).toHaveCount(1);
  await page.context().close();
  await api.dispose();
});

test('"Deployment recorded" fades after ten seconds', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const { catalog } = await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  await page.clock.install();
  await openHydrated(page, `/deployments/new?applicationId=${catalog.portal.id}&environmentId=${catalog.dev.id}`);
  const form = page.locator('#record-deployment');
  await expect(form.locator('select[name=versionId] option')).toHaveCount(3);
  await form.locator('select[name=versionId]').selectOption({ label: '1.2.0' });
  await form.getByRole('button', { name: 'Record deployment' }).click();
  await expect(page.locator('#record-success')).toBeVisible();
  await page.clock.fastForward('00:05');
  await expect(page.locator('#record-success')).toBeVisible();
  await page.clock.fastForward('00:06');
  await expect(page.locator('#record-success')).toHaveCount(0);
  await page.context().close();
  await api.dispose();
});

test('a live feed the server refused is opened again after a back-off, and updates resume', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const { catalog } = await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  const problems = watchProblems(page);
  const attempts: number[] = [];
  await page.route('**/api/events', async (route) => {
    attempts.push(Date.now());
    // The first connection is refused, as by a proxy while the server restarts; the browser
    // then gives up for good, so only the page's own back-off brings the feed back.
    if (attempts.length === 1) await route.fulfill({ status: 502, body: 'restarting' });
    else await route.continue();
  });
  await openHydrated(page, '/');
  // Without the page's own retry there is no second attempt at all. (The wait before it is the
  // back-off's unit test; timed here it would measure Playwright's routing latency as well.)
  await expect.poll(() => attempts.length, { timeout: 15_000 }).toBe(2);
  await page.locator('#matrix-filter').fill(catalog.billing.name);
  const row = page.locator(`#matrix tr[data-application="${catalog.billing.name}"]`);
  await expect(row).not.toContainText('9.9.9');
  await record(api, catalog.billing.id, catalog.billingVersion, catalog.dev.id, new Date(Date.now() - 60_000).toISOString());
  await expect(row).toContainText('9.9.9');
  expect(problems.filter((p) => !p.startsWith('502'))).toEqual([]);
  await page.context().close();
  await api.dispose();
});
