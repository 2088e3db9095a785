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

  // Opened by its URL, filtered: the first 50 of the 55 matching.
  await openHydrated(page, `/?q=${encodeURIComponent(prefix)}`);
  const rows = page.locator('#matrix tbody tr');
  await expect(rows).toHaveCount(50);
  await expect(page.locator('#matrix-range')).toContainText(`1–50 of 55 matching “${prefix}”`);
  await expect(page.locator('#matrix-filter')).toHaveValue(prefix);
  await expect(page.locator('#matrix-previous')).toHaveCount(0);
  await page.locator('#matrix-next').click();
  await expect(page).toHaveURL(/page=2/);
  await expect(rows).toHaveCount(5);
  await expect(page.locator('#matrix-range')).toContainText('51–55 of 55');
  await expect(page.locator(`#matrix tr[data-application="${last.name}"]`)).toContainText('5.5.0');
  await page.locator('#matrix-previous').click();
  await expect(rows).toHaveCount(50);

  // The filter box searches every application, not only the page's rows.
  await page.locator('#matrix-filter').fill(`${prefix} 055`);
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText('5.5.0');
  await expect(page).toHaveURL(new RegExp(`q=${encodeURIComponent(`${prefix} 055`).replace(/%20/g, '(%20|\\+)')}`));
  await page.locator('#matrix-filter').fill(`${prefix} none such`);
  await expect(page.locator('#matrix-none')).toBeVisible();

  // Hostile or stale page numbers show a page, never an error.
  for (const query of ['page=0', 'page=-3', 'page=abc', 'page=99999999999', 'page=2.5']) {
    await openHydrated(page, `/?q=${encodeURIComponent(prefix)}&${query}`);
    await expect(rows.first()).toBeVisible();
  }
  await openHydrated(page, `/?q=${encodeURIComponent(prefix)}&page=99`);
  await expect(page.locator('#matrix-range')).toContainText('51–55 of 55');
  // A filter longer than any name: a clear message, not a server error.
  await openHydrated(page, `/?q=${'x'.repeat(5000)}`);
  await expect(page.locator('.matrix-panel [role=alert]')).toContainText('200');
  expect(failures).toEqual([]);
  expect(errors.filter((e) => !e.includes('422'))).toEqual([]);
  await api.dispose();
});
