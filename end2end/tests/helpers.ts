import { expect, Page } from '@playwright/test';

/** Fails the test on any uncaught browser error (a hydration panic shows up here). */
export function watchForErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  page.on('console', (msg) => {
    // Refused submissions (e.g. a duplicate name) answer with an error status, which Chromium logs.
    if (msg.type() === 'error' && !msg.text().startsWith('Failed to load resource')) errors.push(msg.text());
  });
  return errors;
}

/** Opens a page and waits until the WASM has hydrated it. */
export async function openHydrated(page: Page, path: string) {
  await page.goto(path);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}

/** Marks the window so a later check can prove no full reload happened. */
export async function markWindow(page: Page) {
  await page.evaluate(() => ((window as any).__noReload = true));
}

export async function expectNoReload(page: Page) {
  expect(await page.evaluate(() => (window as any).__noReload)).toBe(true);
}

export const unique = () => `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

/** Signs in through the login form as the bootstrap admin (the test command sets its password). */
export async function signIn(page: Page, next = '/') {
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.locator('#login input[name=username]').fill('admin');
  await page.locator('#login input[name=password]').fill(process.env.ADMIN_PASSWORD ?? '');
  await page.locator('#login').getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.user-menu')).toContainText('Administrator');
}
