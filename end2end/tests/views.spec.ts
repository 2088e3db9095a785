import { expect, test } from '@playwright/test';
import { signIn, unique, watchForErrors } from './helpers';

test.use({ timezoneId: 'Asia/Kolkata', viewport: { width: 390, height: 844 } });

test('a saved view keeps a page with its filters and opens it from the header menu', async ({ page }) => {
  const errors = watchForErrors(page);
  await signIn(page);
  const name = `Prod lag ${unique()}`;
  await page.goto('/deployments?environment=production&order=asc');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  const menu = page.locator('.menu-toggle');
  if (await menu.isVisible()) await menu.click();
  await page.locator('.views-menu summary').click();
  await page.getByLabel('Save this page as').fill(name);
  await page.getByRole('button', { name: 'Save view' }).click();
  const saved = page.locator('.views-panel').getByRole('link', { name });
  await expect(saved).toHaveAttribute('href', '/deployments?environment=production&order=asc');

  // From another page, the view opens its URL.
  await page.goto('/');
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  if (await menu.isVisible()) await menu.click();
  await page.locator('.views-menu summary').click();
  await page.locator('.views-panel').getByRole('link', { name }).click();
  await expect(page).toHaveURL(/\/deployments\?environment=production&order=asc$/);
  expect(errors).toEqual([]);
});
