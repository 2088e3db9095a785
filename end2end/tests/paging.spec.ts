import { test, expect } from '@playwright/test';
import { adminApi, create, daysAgo, record } from './api';
import { openHydrated, signIn, unique, watchForErrors } from './helpers';

// The dashboard shows 50 applications per page; the filter searches all of them on the server.
test('the matrix is paged, and the filter finds applications on any page', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const failures: string[] = [];
  page.on('response', (r) => { if (r.status() >= 500) failures.push(`${r.status()} ${r.url()}`); });
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const prefix = `Paged ${suffix}`;
  const environment = await create(api, '/api/environments', { name: `PAGED ${suffix}` });
  const apps = [];
  for (let i = 1; i <= 55; i++) {
    apps.push(await create(api, '/api/applications', { name: `${prefix} ${String(i).padStart(3, '0')}` }));
  }
  const last = apps[54];
  const version = await create(api, `/api/applications/${last.id}/versions`, { versionIdentifier: '5.5.0' });
  await record(api, last.id, version.id, environment.id, daysAgo(1));
  await signIn(page);

  // Opened by its URL, filtered: the first page of the 55 matching. A page holds about 500
  // cells: 50 rows with up to 10 environments, fewer (at least 10) when the suite has made more.
  await openHydrated(page, `/?q=${encodeURIComponent(prefix)}`);
  const rows = page.locator('#matrix tbody tr');
  const columns = await page.locator('#matrix thead th').count() - 1;
  const perPage = Math.min(50, Math.max(10, Math.floor(500 / columns)));
  await expect(rows).toHaveCount(perPage);
  await expect(page.locator('#matrix-range')).toContainText(`1–${perPage} of 55 matching “${prefix}”`);
  await expect(page.locator('#matrix-filter')).toHaveValue(prefix);
  await expect(page.locator('#matrix-previous')).toHaveCount(0);
  await page.locator('#matrix-next').click();
  await expect(page).toHaveURL(/page=2/);
  await expect(page.locator('#matrix-range')).toContainText(`${perPage + 1}–${Math.min(2 * perPage, 55)} of 55`);
  await page.locator('#matrix-previous').click();
  await expect(rows).toHaveCount(perPage);
  // The filter box searches every application, not only the page's rows.
  await page.locator('#matrix-filter').fill(`${prefix} 055`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('5.5.0');
  await expect(page).toHaveURL(new RegExp(`q=${encodeURIComponent(`${prefix} 055`).replace(/%20/g, '(%20|\\+)')}`));
  await page.locator('#matrix-filter').fill(`${prefix} none such`);
  await expect(page.locator('#matrix-none')).toBeVisible();

  // A page number past the end shows the last page, which holds the 55th.
  await openHydrated(page, `/?q=${encodeURIComponent(prefix)}&page=99`);
  const lastFirst = Math.floor(54 / perPage) * perPage + 1;
  await expect(page.locator('#matrix-range')).toContainText(`${lastFirst}–55 of 55`);
  await expect(rows).toHaveCount(55 - lastFirst + 1);
  await expect(page.locator(`#matrix tr[data-application="${last.name}"]`)).toContainText('5.5.0');

  // Hostile or stale page numbers show a page, never an error.
  for (const query of ['page=0', 'page=-3', 'page=abc', 'page=99999999999', 'page=2.5']) {
    await openHydrated(page, `/?q=${encodeURIComponent(prefix)}&${query}`);
    await expect(rows.first()).toBeVisible();
  }
  // A filter longer than any name: a clear message, not a server error.
  await openHydrated(page, `/?q=${'x'.repeat(5000)}`);
  await expect(page.locator('.matrix-panel [role=alert]')).toContainText('200');
  expect(failures).toEqual([]);
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
  await api.dispose();
});
