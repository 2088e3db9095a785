import { test, expect } from '@playwright/test';
import { adminApi } from './api';
import { admin, openHydrated, seedEveryPage, signedInPage, watchProblems } from './pages';

/** What a careless paste or a hostile link can put into the date inputs and the zone cookie. */
const HOSTILE = [
  'garbage',
  '2026-13-45 25:61',
  '99999-01-01 00:00',
  '-0001-01-01 00:00',
  '0001-01-01 00:00',
  '2026-10-17\u0000 19:58',
  'x'.repeat(100_000),
];

test('hostile dates in every date input get a clear message, never a 5xx', async ({ browser, baseURL }) => {
  test.setTimeout(120_000);
  const api = await adminApi(baseURL!);
  const { catalog } = await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  const problems = watchProblems(page);

  // Time travel on the dashboard.
  await openHydrated(page, '/');
  for (const value of HOSTILE) {
    await page.locator('#time-travel input').fill(value);
    await page.locator('#time-travel button').click();
    const error = page.locator('#time-travel-error');
    const banner = page.locator('#time-travel-banner');
    // Either it cannot be read (said so) or it is a real instant the server judged.
    await expect(error.or(banner).or(page.locator('.matrix-panel .form-error')).first()).toBeVisible();
  }
  // The record form's date.
  await openHydrated(page, `/deployments/new?applicationId=${catalog.portal.id}&environmentId=${catalog.dev.id}`);
  const form = page.locator('#record-deployment');
  await expect(form.locator('select[name=versionId] option')).toHaveCount(3);
  await form.locator('select[name=versionId]').selectOption({ label: '1.1.0' });
  for (const value of HOSTILE) {
    await form.locator('input[name=deploymentDate]').fill(value);
    await form.getByRole('button', { name: 'Record deployment' }).click();
    await expect(form.locator('.field-error[data-field=deploymentDate]')).toBeVisible();
  }
  await expect(page.locator('#record-success')).toHaveCount(0);

  // History filters from a link.
  for (const value of HOSTILE.slice(0, 6)) {
    await openHydrated(page, `/deployments?dateFrom=${encodeURIComponent(value)}`);
    await expect(page.locator('#date-filter-error, #history, .form-error').first()).toBeVisible();
  }
  expect(problems.filter((p) => !p.startsWith('console'))).toEqual([]);
  await page.context().close();
  await api.dispose();
});

test('a dashboard link with an unreadable time or filter hydrates and says what is wrong', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  const problems = watchProblems(page);
  // Control characters are dropped or rewritten by the browser's HTML parser, so echoing them
  // as they are makes the server's text and the browser's differ (hydration then fails).
  const links = ['garbage', '0100-01-01T00:00:00Z', '99999-01-01T00:00:00Z', 'x'.repeat(20_000),
    '\u0000', '2026-10-17T00:00:00Z\u0000', 'x\r', '\u0000\u0000garbage\u001b'];
  for (const at of links) {
    await openHydrated(page, `/?at=${encodeURIComponent(at)}`);
    await expect(page.locator('#time-travel-error, .matrix-panel .form-error').first(), JSON.stringify(at)).toBeVisible();
  }
  await openHydrated(page, '/?at=%00');
  await expect(page.locator('#time-travel-error')).toContainText('\uFFFD');
  for (const q of ['\u0000', 'zz\u0000']) {
    await openHydrated(page, `/?q=${encodeURIComponent(q)}`);
    await expect(page.locator('#matrix-none, .matrix-panel .form-error').first(), JSON.stringify(q)).toBeVisible();
  }
  // Every other page with a NUL in each query value it reads.
  const nul = '%00';
  for (const route of [
    `/deployments?q=${nul}&deployedBy=${nul}&dateFrom=${nul}&applicationId=${nul}&page=${nul}`,
    `/insights?dateFrom=${nul}&dateTo=${nul}&environmentId=${nul}`,
    `/admin/audit?targetId=${nul}&action=${nul}&actorId=${nul}&dateFrom=${nul}`,
    `/applications?q=${nul}`, `/environments?q=${nul}`, `/compare?a=${nul}&b=${nul}`,
    `/deployments/new?applicationId=${nul}&environmentId=${nul}`,
    `/settings/hooks?hook=${nul}`, `/settings/webhooks?webhook=${nul}`, `/applications?tab=${nul}`,
  ]) {
    await openHydrated(page, route);
  }
  expect(problems).toEqual([]);
  await page.context().close();
  await api.dispose();
});

test('a forged time-zone cookie is ignored: UTC until the browser names its own zone', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const { deployment } = await seedEveryPage(api);
  const page = await signedInPage(browser, baseURL!, admin());
  const problems = watchProblems(page);
  const url = new URL(baseURL!);
  for (const forged of ['Mars/Olympus', '../../etc/passwd', 'A'.repeat(3000), '%3Cscript%3E']) {
    await page.context().addCookies([{ name: 'deploytrack_tz', value: forged, domain: url.hostname, path: '/' }]);
    const response = await page.request.get(`/deployments/${deployment.id}`);
    expect(response.status(), forged).toBe(200);
    expect(await response.text()).toContain('(UTC)');
    await openHydrated(page, `/deployments/${deployment.id}`);
    await expect(page.locator('dd time').first()).toContainText('(UTC+05:30)');
  }
  expect(problems).toEqual([]);
  await page.context().close();
  await api.dispose();
});
