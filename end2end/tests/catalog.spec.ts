import { test, expect } from '@playwright/test';
import { expectNoReload, markWindow, openHydrated, signIn, unique, watchForErrors } from './helpers';

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('creates an application through the hydrated form and keeps it after reload', async ({ page }) => {
  const errors = watchForErrors(page);
  const name = `Customer Portal ${unique()}`;
  await openHydrated(page, '/applications');
  await markWindow(page);

  const form = page.locator('#create-application');
  await form.locator('input[name=name]').fill(name);
  await form.locator('input[name=description]').fill('The customer-facing web portal');
  await form.getByRole('button', { name: 'Create application' }).click();

  // Reactive update: the list shows it, the form is cleared, and the page did not reload.
  await expect(page.locator('#applications')).toContainText(name);
  await expect(form.locator('input[name=name]')).toHaveValue('');
  await expectNoReload(page);

  // A duplicate is refused inline, on the name field.
  await form.locator('input[name=name]').fill(name.toUpperCase());
  await form.getByRole('button', { name: 'Create application' }).click();
  await expect(form.locator('.field-error[data-field=name]')).toContainText('already exists');

  await page.reload();
  await expect(page.locator('#applications')).toContainText(name);

  // Versions tab: add a version, see it listed newest first.
  await page.getByRole('link', { name }).click();
  await expect(page.locator('h1')).toContainText(name);
  await page.getByRole('link', { name: 'Versions' }).click();
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  const versionForm = page.locator('#create-version');
  for (const identifier of ['1.9.0', '1.10.0']) {
    await versionForm.locator('input[name=version_identifier]').fill(identifier);
    await versionForm.getByRole('button', { name: 'Add version' }).click();
    await expect(page.locator('#versions')).toContainText(identifier);
  }
  await expect(page.locator('#versions tbody tr').first()).toContainText('1.10.0');
  expect(errors).toEqual([]);
});

test('creates environments and reorders the pipeline', async ({ page }) => {
  const errors = watchForErrors(page);
  const first = `DEV-${unique()}`;
  const second = `PROD-${unique()}`;
  await openHydrated(page, '/environments');
  await markWindow(page);

  const form = page.locator('#create-environment');
  for (const name of [first, second]) {
    await form.locator('input[name=name]').fill(name);
    if (name === second) await form.locator('input[name=is_production]').check();
    await form.getByRole('button', { name: 'Create environment' }).click();
    await expect(page.locator('#environments')).toContainText(name);
  }
  await expectNoReload(page);
  const row = page.locator('#environments tr', { hasText: second });
  await expect(row).toContainText('production');

  // Move PROD earlier: it now comes before DEV.
  await row.getByRole('button', { name: `Move ${second} earlier` }).click();
  const names = page.locator('#environments tbody td:nth-child(2)');
  await expect(async () => {
    const order = await names.allTextContents();
    expect(order.indexOf(second)).toBeLessThan(order.indexOf(first));
  }).toPass();

  await page.reload();
  const order = await page.locator('#environments tbody td:nth-child(2)').allTextContents();
  expect(order.indexOf(second)).toBeLessThan(order.indexOf(first));
  expect(errors).toEqual([]);
});
