import { test, expect } from '@playwright/test';
import { signIn, watchForErrors } from './helpers';

test('signs in through the form, shows the user, signs out to the login page', async ({ page }) => {
  const errors = watchForErrors(page);
  // A page behind sign-in sends strangers to /login, remembering where they were going.
  await page.goto('/environments');
  await expect(page).toHaveURL(/\/login\?next=%2Fenvironments$/);

  // Wrong password: one message that does not say which part was wrong.
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.locator('#login input[name=username]').fill('admin');
  await page.locator('#login input[name=password]').fill('not-the-password');
  // A typo is the user's mistake, not a server error: 401, as on the REST API.
  const refused = page.waitForResponse((r) => r.url().includes('/rpc/login'));
  await page.locator('#login').getByRole('button', { name: 'Sign in' }).click();
  expect((await refused).status()).toBe(401);
  await expect(page.locator('#login .form-error')).toHaveText('invalid username or password');

  await signIn(page, '/environments');
  await expect(page).toHaveURL(/\/environments$/);
  await expect(page.locator('.user-menu')).toContainText('admin');

  // Signing out ends in a full page load of /login, so nothing of the session stays on screen;
  // wait for that load (a mark on the window disappears) before going on.
  await page.evaluate(() => ((window as any).__signedIn = true));
  await page.locator('.user-menu').getByRole('button', { name: 'Sign out' }).click();
  await expect.poll(() => page.evaluate(() => (window as any).__signedIn ?? false).catch(() => true)).toBe(false);
  await expect(page).toHaveURL(/\/login/);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.goto('/applications');
  await expect(page).toHaveURL(/\/login\?next=/);
  expect(errors).toEqual([]);
});

test('creates an API token shown once and lists it without the secret', async ({ page }) => {
  await signIn(page, '/settings/tokens');
  await expect(page.locator('h1')).toHaveText('API tokens');
  await page.locator('#create-token input[name=name]').fill('github-actions');
  await page.locator('#create-token').getByRole('button', { name: 'Create token' }).click();
  const secret = await page.locator('#new-token').textContent();
  expect(secret).toMatch(/^dt_/);
  await expect(page.locator('#tokens')).toContainText('github-actions');
  await page.reload();
  await expect(page.locator('#tokens')).toContainText('github-actions');
  await expect(page.locator('body')).not.toContainText(secret!);
});
