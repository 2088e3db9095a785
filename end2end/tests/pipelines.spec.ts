import { createHmac } from 'node:crypto';
import { test, expect, request } from '@playwright/test';
import { adminApi, seedCatalog } from './api';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

/**
 * Hooks from the admin's side: create one, copy its URL and secret (shown once), let GitHub
 * deliver, and read the delivery in the list, also when the page is opened by its URL.
 */
test('an admin creates a GitHub hook, sees its secret once and then its deliveries', async ({ browser, baseURL }) => {
  const page = await signedInPage(browser, baseURL!, admin(), { width: 390, height: 844 });
  const problems = watchProblems(page);
  await openHydrated(page, '/settings/hooks');
  const name = `acme ${unique()}`;
  await page.locator('#create-hook select[name=provider]').selectOption('github');
  await page.locator('#create-hook input[name=name]').fill(name);
  await page.locator('#create-hook').getByRole('button', { name: 'Create hook' }).click();
  await expect(page.locator('#new-hook-url')).toHaveText(`${baseURL}/api/hooks/github`);
  const secret = (await page.locator('#new-hook-secret').textContent())!.trim();
  expect(secret.length).toBeGreaterThan(40);
  const row = page.locator('#hooks tr', { hasText: name });
  await expect(row).toBeVisible();

  // GitHub's first delivery is a ping, signed like every other.
  const body = JSON.stringify({ zen: 'Design for failure.', hook_id: 1 });
  const signature = 'sha256=' + createHmac('sha256', secret).update(body).digest('hex');
  const github = await request.newContext({ baseURL });
  const delivered = await github.post('/api/hooks/github', {
    data: body,
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'ping',
      'x-github-delivery': `ping-${unique()}`,
      'x-hub-signature-256': signature,
    },
  });
  expect(delivered.status()).toBe(202);
  const unsigned = await github.post('/api/hooks/github', { data: body, headers: { 'x-github-event': 'ping' } });
  expect(unsigned.status()).toBe(401);
  await github.dispose();

  await row.getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/settings\/hooks\?hook=/);
  const deliveries = page.locator('#deliveries');
  await expect(deliveries).toContainText('ping');
  await expect(deliveries).toContainText('ignored');
  await expect(deliveries).toContainText('the hook works');

  // Opened by its URL (a reload): the deliveries are there, the secret is gone for good.
  await openHydrated(page, page.url());
  await expect(page.locator('#deliveries')).toContainText('ignored');
  await expect(page.locator('#new-hook-secret')).toHaveCount(0);
  expect(await page.content()).not.toContain(secret);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);
  expect(problems).toEqual([]);
  await page.context().close();
});

test('the repository hooks map by is set on the application page, and bad input is explained', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const { portal } = await seedCatalog(api, suffix);
  await api.dispose();
  const page = await signedInPage(browser, baseURL!, admin());
  const problems = watchProblems(page);
  await openHydrated(page, `/applications/${portal.id}`);
  const form = page.locator('#set-repository');
  await form.locator('input[name=repository]').fill('not a repository');
  await form.getByRole('button', { name: 'Save repository' }).click();
  await expect(form).toContainText('must be owner/name');
  await form.locator('input[name=repository]').fill(`acme/portal-${suffix}`);
  await form.getByRole('button', { name: 'Save repository' }).click();
  await expect(page.locator('dl.facts code')).toHaveText(`acme/portal-${suffix}`);
  await openHydrated(page, `/applications/${portal.id}`);
  await expect(page.locator('#set-repository input[name=repository]')).toHaveValue(`acme/portal-${suffix}`);
  expect(problems).toEqual([]);
  await page.context().close();
});
