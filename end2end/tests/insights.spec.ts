import { test, expect } from '@playwright/test';
import { adminApi, create } from './api';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

/**
 * Insights as a release manager opens them: a shared link with the application, environment and
 * range in the URL, on a phone in a non-UTC zone; figures that match a history built for it.
 */
test('insights show the known figures of a history, by URL and through the form', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const app = await create(api, '/api/applications', { name: `Insightful ${suffix}` });
  await create(api, '/api/environments', { name: `STAGE-${suffix}` });
  const prod = await create(api, '/api/environments', { name: `LIVE-${suffix}`, isProduction: true });
  const record = (version: string, env: string, date: string) =>
    create(api, '/api/deployments', {
      application: app.name, version, environment: env, createVersion: true, deploymentDate: date,
    });
  await record('1.0.0', `LIVE-${suffix}`, '2026-11-03T12:00:00Z');
  await record('1.1.0', `STAGE-${suffix}`, '2026-11-04T09:00:00Z');
  await record('1.1.0', `LIVE-${suffix}`, '2026-11-05T09:00:00Z');
  await record('1.0.0', `LIVE-${suffix}`, '2026-11-05T15:00:00Z'); // a rollback, six hours later
  await api.dispose();

  const page = await signedInPage(browser, baseURL!, admin(), { width: 390, height: 844 });
  const problems = watchProblems(page);
  await openHydrated(page, `/insights?applicationId=${app.id}&environmentId=${prod.id}&dateFrom=2026-11-02&dateTo=2026-11-15`);
  await expect(page.locator('#insights-scope')).toContainText(`Insightful ${suffix} in LIVE-${suffix}`);
  await expect(page.locator('#metric-frequency')).toContainText('1.5 per week');
  await expect(page.locator('#metric-frequency')).toContainText('high');
  // Weeks start on Monday in UTC: the range (from midnight in Kolkata) touches three.
  await expect(page.locator('#metric-frequency svg rect')).toHaveCount(3);
  await expect(page.locator('#metric-failure-rate')).toContainText('33 %');
  await expect(page.locator('#metric-failure-rate')).toContainText('1 of 3 deployments: 1 rolled back, 0 retracted');
  await expect(page.locator('#metric-failure-rate figcaption')).toHaveText('Failed deployments per week');
  await expect(page.locator('#metric-failure-rate svg text.value')).toHaveText(['0', '1', '0']);
  await expect(page.locator('#metric-restore .figure')).toHaveText('6 h');
  await expect(page.locator('#metric-lead-time .figure')).toHaveText('1 d');
  await expect(page.locator('#insights-definitions')).toContainText('rolled back');
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  // Through the form: all applications in production, the range kept in the URL.
  await page.locator('#insights-filters select[name=applicationId]').selectOption('');
  await page.locator('#insights-filters select[name=environmentId]').selectOption('');
  await page.locator('#insights-filters').getByRole('button', { name: 'Show' }).click();
  await expect(page).toHaveURL(/dateFrom=2026-11-02/);
  await expect(page.locator('#insights-scope')).toContainText('All applications in');

  // A range the other way round is explained, not a failure.
  await openHydrated(page, '/insights?dateFrom=2026-11-20&dateTo=2026-11-01');
  await expect(page.locator('main')).toContainText('must be before to');
  expect(problems).toEqual([]);
  await page.context().close();
});
