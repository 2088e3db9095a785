import { test, expect } from '@playwright/test';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

/**
 * An admin configures a webhook on a phone: a private address is refused with the reason, a
 * real target is added (its secret shown once), a test notification is queued and its failed
 * attempt (the name does not resolve) shows in the log, it is redelivered and deleted.
 */
test('an admin adds a webhook, sends a test, reads the log and deletes it', async ({ browser, baseURL }) => {
  const page = await signedInPage(browser, baseURL!, admin(), { width: 390, height: 844 });
  const problems = watchProblems(page);
  await openHydrated(page, '/settings/webhooks');
  const form = page.locator('#create-webhook');
  await form.locator('input[name=url]').fill('http://127.0.0.1:9/hook');
  await form.getByRole('button', { name: 'Add webhook' }).click();
  await expect(form).toContainText('loopback or private address');

  // `.invalid` never resolves: deliveries fail visibly, nothing leaves the machine.
  const url = `https://chat-${unique()}.invalid/hooks/deploys`;
  await form.locator('input[name=url]').fill(url);
  await form.locator('input[name=on_retracted]').check();
  await form.locator('select[name=format]').selectOption('json');
  await form.getByRole('button', { name: 'Add webhook' }).click();
  const secret = page.locator('#new-webhook-secret');
  await expect(secret).toHaveText(/^whsec_/);
  const secretText = (await secret.textContent())!;
  const row = page.locator('#webhooks tr', { hasText: url });
  await expect(row).toContainText('deployment.recorded, deployment.retracted');

  await row.getByRole('link', { name: url }).click();
  await expect(page).toHaveURL(/\/settings\/webhooks\?webhook=/);
  const log = page.locator('#webhook-deliveries');
  await log.getByRole('button', { name: 'Send test' }).click();
  await expect(log.locator('tbody tr')).toHaveCount(1);
  await expect(log.locator('tbody tr').first()).toContainText('ping');
  await expect(async () => {
    await log.getByRole('button', { name: 'Refresh' }).click();
    await expect(log.locator('tbody tr').first()).toContainText('cannot resolve', { timeout: 1_000 });
  }).toPass({ timeout: 15_000 });
  await log.locator('tbody tr').first().getByRole('button', { name: 'Redeliver' }).click();
  await expect(log.locator('tbody tr')).toHaveCount(2);

  // Opened by its URL: the log is there, the secret is gone for good.
  await openHydrated(page, page.url());
  await expect(page.locator('#webhook-deliveries tbody tr')).toHaveCount(2);
  expect(await page.content()).not.toContain(secretText);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  expect(overflow).toBeLessThanOrEqual(0);

  await page.locator('#webhooks tr', { hasText: url }).getByRole('button', { name: 'Delete' }).click();
  await expect(page.locator('#webhooks tr', { hasText: url })).toHaveCount(0);
  expect(problems).toEqual([]);
  await page.context().close();
});
