import fs from 'node:fs';
import { expect, Page, test } from '@playwright/test';
import { unique, watchForErrors } from './helpers';

// Single sign-on through a real OpenID provider (npm's oidc-provider, started on loopback by
// scripts/e2e.sh with its development login screen). A person's groups come from the file the
// provider reads at each sign-in, so a test can change them at the "provider".
test.use({ timezoneId: 'America/Los_Angeles', viewport: { width: 390, height: 844 } });

function setGroups(login: string, groups: string[]) {
  const file = process.env.OIDC_GROUPS_FILE!;
  const all = JSON.parse(fs.readFileSync(file, 'utf8'));
  all[login] = groups;
  fs.writeFileSync(file, JSON.stringify(all));
}

/** From our login page through the provider's screens and back, signed in. */
async function signInAtProvider(page: Page, login: string, next: string) {
  const ours = new URL(test.info().project.use.baseURL!).origin;
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
  await page.getByRole('link', { name: 'Sign in with Loopback ID' }).click();
  // At the provider, or (with its session and our consent already given) straight back.
  const underWay = (url: URL) =>
    url.origin === ours && (url.pathname === '/login' || url.pathname.startsWith('/auth/oidc/'));
  await page.waitForURL((url) => !underWay(url));
  // The provider asks for a login the first time, and for consent until it has it.
  for (let step = 0; step < 4; step++) {
    await page.waitForLoadState();
    const url = new URL(page.url());
    if (url.origin === ours && !underWay(url)) break;
    if (await page.locator('input[name=login]').count()) {
      await page.locator('input[name=login]').fill(login);
      await page.locator('input[name=password]').fill('any password');
      await page.getByRole('button', { name: 'Sign-in' }).click();
    } else {
      await page.getByRole('button', { name: 'Continue' }).click();
    }
    await page.waitForURL((next) => next.href !== url.href);
  }
  expect(new URL(page.url()).origin).toBe(ours);
}

test('signing in through the provider: created with the mapped role, re-mapped each time, signed out', async ({ page, context }) => {
  const errors = watchForErrors(page);
  const login = `sso-${unique()}`;
  setGroups(login, ['deployers']);

  // First sign-in: the user is created as an editor and lands where they were going.
  await signInAtProvider(page, login, '/compare?open=billing');
  await expect(page).toHaveURL(/\/compare\?open=billing$/);
  await expect(page.locator('.user-menu')).toContainText(`Person ${login}`);
  await expect(page.locator('.user-menu .role')).toHaveText('editor');

  // Signing out ends the session: pages send us back to the login page.
  const menu = page.locator('.menu-toggle');
  if (await menu.isVisible()) await menu.click();
  await page.locator('.user-menu').getByRole('button', { name: 'Sign out' }).click();
  await expect(page).toHaveURL(/\/login/);
  await page.goto('/deployments');
  await expect(page).toHaveURL(/\/login\?next=%2Fdeployments/);

  // The provider makes them an admin: the role follows at the next sign-in…
  setGroups(login, ['deployers', 'deploy-admins']);
  await signInAtProvider(page, login, '/');
  await expect(page.locator('.user-menu .role')).toHaveText('admin');
  // …and the audit trail says the provider changed it.
  await page.goto('/admin/audit?action=user.role_changed');
  await expect(page.locator('tr[data-action="user.role_changed"]').first()).toBeAttached();

  // Removed from every group: the role falls back to `*=viewer` at the next sign-in.
  await context.clearCookies({ name: 'deploytrack_session' });
  setGroups(login, []);
  await signInAtProvider(page, login, '/');
  await expect(page.locator('.user-menu .role')).toHaveText('viewer');
  expect(errors).toEqual([]);
});

test('a callback that does not match this browser sign-in is refused with a readable page', async ({ page }) => {
  const response = await page.goto('/auth/oidc/callback?code=stolen&state=planted');
  expect(response!.status()).toBe(400);
  await expect(page.getByRole('heading', { name: 'Sign-in failed' })).toBeVisible();
  await page.getByRole('link', { name: 'Back to sign-in' }).click();
  await expect(page.getByRole('link', { name: 'Sign in with Loopback ID' })).toBeVisible();
});
