import { expect, test } from '@playwright/test';
import { adminApi, create, daysAgo } from './api';
import { signIn, unique, watchForErrors } from './helpers';

test.use({ timezoneId: 'Asia/Kolkata', viewport: { width: 390, height: 844 } });

test('a team view opened by its URL shows only the team, with drift marked in words', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const team = await create(api, '/api/teams', { name: `payments-${suffix}` });
  const users = await (await api.get('/api/users')).json();
  const admin = users.find((u: any) => u.username === 'admin');
  expect((await api.put(`/api/teams/${team.id}/members`, { data: { userIds: [admin.id] } })).status()).toBe(200);
  const staging = await create(api, '/api/environments', { name: `STAGING-${suffix}` });
  const prod = await create(api, '/api/environments', { name: `PROD-${suffix}`, isProduction: true });
  const deploy = (application: string, environment: string, version: string, days: number) =>
    create(api, '/api/deployments', { application, environment, version, createVersion: true, deploymentDate: daysAgo(days) });
  for (const name of [`ledger-${suffix}`, `billing-${suffix}`]) {
    await create(api, '/api/applications', { name, team: team.name });
    await deploy(name, prod.name, '1.0.0', 30);
  }
  await create(api, '/api/applications', { name: `elsewhere-${suffix}` });
  await deploy(`billing-${suffix}`, staging.name, '1.3.0', 20);
  await deploy(`elsewhere-${suffix}`, prod.name, '2.0.0', 1);
  const policy = await api.put(`/api/environments/${prod.id}/drift-policy`, {
    data: { comparedTo: staging.id, maxLag: 'P7D', maxVersionsBehind: 5 },
  });
  expect(policy.status()).toBe(200);

  await signIn(page, `/?team=${encodeURIComponent(team.name)}`);
  await expect(page).toHaveURL(/team=/);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  const rows = page.locator('#matrix tbody tr');
  await expect(rows).toHaveCount(2);
  await expect(page.locator('#matrix')).not.toContainText(`elsewhere-${suffix}`);
  await expect(page.locator('#matrix-range')).toContainText(`2 applications of ${team.name} (`);
  await expect(page.locator('#drift-count')).toContainText('1 application is further behind');
  const drifting = page.locator(`#matrix tr[data-application="billing-${suffix}"] td.drift`);
  await expect(drifting).toHaveCount(1);
  await expect(drifting.locator('.badge.drift .sr-only')).toContainText(`1 version behind STAGING-${suffix} since`);
  await expect(page.locator('#team-select')).toHaveValue(team.name);

  // "My teams" is one click; the admin belongs to this team.
  await page.locator('#view-my-teams').click();
  await expect(page).toHaveURL(/team=mine/);
  await expect(page.locator(`#matrix tr[data-application="ledger-${suffix}"]`)).toHaveCount(1);
  await expect(page.locator('#view-my-teams')).toHaveAttribute('aria-current', 'page');

  // The matrix fits a phone: the page does not scroll sideways.
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  expect(errors).toEqual([]);
  await api.dispose();
});

test('a saved view keeps a page with its filters and opens it from the header menu', async ({ page }) => {
  const errors = watchForErrors(page);
  await signIn(page);
  const name = `Prod lag ${unique()}`;
  await page.goto('/deployments?q=1.0&violations=true');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  const menu = page.locator('.menu-toggle');
  if (await menu.isVisible()) await menu.click();
  await page.locator('.views-menu summary').click();
  await page.getByLabel('Save this page as').fill(name);
  await page.getByRole('button', { name: 'Save view' }).click();
  await expect(page.locator('.views-panel [role=status]')).toContainText('Saved');
  const saved = page.locator('.views-panel').getByRole('link', { name });
  await expect(saved).toHaveAttribute('href', '/deployments?q=1.0&violations=true');

  // From another page, opened by its URL, the view opens the saved URL.
  await page.goto('/compare');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  if (await menu.isVisible()) await menu.click();
  await page.locator('.views-menu summary').click();
  await page.locator('.views-panel').getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/deployments\?q=1\.0&violations=true$/);
  await expect(page.locator('input[name=violations]')).toBeChecked();
  expect(errors).toEqual([]);
});
