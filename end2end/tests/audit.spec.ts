import { test, expect } from '@playwright/test';
import { adminApi, create, seedCatalog } from './api';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

/**
 * The audit trail as an admin reads it: on a phone, in a non-UTC zone, filtered through the form
 * and opened again by its URL, paged to older entries, with the CSV link carrying the filters.
 */
test('an admin reads, filters and pages the audit trail; a viewer is refused', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const { portal } = await seedCatalog(api, suffix);
  // More than one page (50) of one kind of entry.
  for (let n = 0; n < 52; n++) {
    await create(api, '/api/applications', { name: `audited ${suffix} ${n}` });
  }
  const viewer = { username: `auditviewer${suffix}`, password: 'viewer-password-123' };
  await create(api, '/api/users', { ...viewer, role: 'viewer' });
  await api.dispose();

  const page = await signedInPage(browser, baseURL!, admin(), { width: 390, height: 844 });
  const problems = watchProblems(page);
  await openHydrated(page, '/admin/audit');
  await expect(page.locator('#audit tbody tr').first()).toBeVisible();
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  // Filter by action through the form: the URL carries it, every row matches.
  await page.locator('#audit-filters select[name=action]').selectOption('application.created');
  await page.locator('#audit-filters').getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(/action=application\.created/);
  const rows = page.locator('#audit tbody tr');
  await expect(rows).toHaveCount(50);
  expect(new Set(await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-action'))))).toEqual(
    new Set(['application.created']),
  );
  await expect(page.locator('#audit-csv')).toHaveAttribute('href', /\/api\/audit\.csv\?.*action=application\.created/);

  // Older entries: the next page, then back to the newest.
  // Each row's target carries its full id as a title.
  const firstTarget = page.locator('#audit tbody tr:first-child td:nth-child(4) [title]');
  const newestFirst = (await firstTarget.getAttribute('title'))!;
  await page.locator('#audit-older').click();
  await expect(page).toHaveURL(/cursor=/);
  await expect(page.locator('#audit-newest')).toBeVisible();
  await expect(firstTarget).not.toHaveAttribute('title', newestFirst);
  await page.locator('#audit-newest').click();
  await expect(page).not.toHaveURL(/cursor=/);
  await expect(firstTarget).toHaveAttribute('title', newestFirst);

  // Opened by its URL: one application's entries, its change shown, its target linked.
  const renamed = await page.request.patch(`/api/applications/${portal.id}`, {
    data: { description: `audited ${suffix}` },
    headers: { origin: baseURL! },
  });
  expect(renamed.status()).toBe(200);
  await openHydrated(page, `/admin/audit?targetId=${portal.id}`);
  await expect(rows.first()).toHaveAttribute('data-action', 'application.updated');
  await expect(rows.first()).toContainText(`description: audited ${suffix}`);
  await expect(rows.first().getByRole('link', { name: /application/ })).toHaveAttribute('href', `/applications/${portal.id}`);
  await expect(page.locator('#audit-filters input[name=targetId]')).toHaveValue(portal.id);

  // A filter nothing matches says so; a date that is not one is explained.
  await openHydrated(page, '/admin/audit?dateTo=2001-01-01');
  await expect(page.locator('#audit-none')).toBeVisible();
  await openHydrated(page, '/admin/audit?dateFrom=yesterday');
  await expect(page.locator('#date-filter-error')).toBeVisible();
  expect(problems).toEqual([]);
  await page.context().close();

  const viewerPage = await signedInPage(browser, baseURL!, viewer);
  await openHydrated(viewerPage, '/admin/audit');
  await expect(viewerPage.locator('main')).toContainText('admin role');
  await expect(viewerPage.locator('#audit')).toHaveCount(0);
  await viewerPage.context().close();
});
