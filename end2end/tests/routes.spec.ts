import { test, expect } from '@playwright/test';
import { adminApi } from './api';
import { admin, openHydrated, seedEveryPage, signedInPage, watchProblems } from './pages';

/**
 * Every page opened straight from its URL (a reload, a new tab, a shared link), with and without
 * its query, as admin and as viewer; then reached again by in-app navigation (the router's
 * client-side route change): no page error, no console error, no response >= 500.
 */
test('every page opens directly by URL and by in-app navigation, error-free (admin and viewer)', async ({ browser, baseURL }) => {
  test.setTimeout(180_000);
  const api = await adminApi(baseURL!);
  const { routes, viewer } = await seedEveryPage(api);
  for (const [who, credentials] of [['admin', admin()], ['viewer', viewer]] as const) {
    const page = await signedInPage(browser, baseURL!, credentials);
    const problems = watchProblems(page);
    for (const route of routes) {
      await openHydrated(page, route);
      expect(problems, `${who} ${route} (direct)`).toEqual([]);
    }
    // In-app: a link clicked inside the hydrated app is handled by the router, without a reload.
    await openHydrated(page, '/');
    await page.evaluate(() => ((window as any).__sameDocument = true));
    for (const route of routes) {
      await page.evaluate((href) => {
        const link = document.createElement('a');
        link.href = href;
        link.id = 'test-nav';
        link.textContent = 'go';
        document.body.appendChild(link);
      }, route);
      await page.locator('#test-nav').click();
      await expect(page).toHaveURL(new RegExp(`${route.replace(/[?.*+^$()|[\]\\]/g, '\\$&').replace(/%3A/g, '(%3A|:)')}$`));
      await page.waitForLoadState('networkidle');
      await page.evaluate(() => document.getElementById('test-nav')?.remove());
      expect(problems, `${who} ${route} (in-app)`).toEqual([]);
    }
    expect(await page.evaluate(() => (window as any).__sameDocument)).toBe(true);
    await page.context().close();
  }
  await api.dispose();
});

/**
 * The WASM comes in parts (`cargo leptos build --split`): a page names its group's files as
 * preloads under the build's folder (the server reads the split manifest itself; Leptos would
 * look for it under the content-named folder, which is not on disk), so they download beside
 * the main module instead of after it.
 */
test('each page preloads its group of WASM files from the build folder', async ({ browser, baseURL }) => {
  const page = await signedInPage(browser, baseURL!, admin());
  for (const [path, group] of [['/', 'dashboard'], ['/deployments', 'reading'], ['/settings/tokens', 'settings']]) {
    const html = await (await page.request.get(path)).text();
    const folder = html.match(/\/pkg\/[0-9a-f]{16}/)![0];
    const preloads = [...html.matchAll(/<link[^>]*rel="preload"[^>]*>/g)]
      .map((link) => link[0].match(/href="([^"]+\.wasm)"/)?.[1])
      .filter((href): href is string => href !== undefined);
    expect(preloads, path).toContain(`${folder}/deploytrack.wasm`);
    expect(preloads.filter((href) => href.startsWith(`${folder}/split_load_${group}_`)), path).toHaveLength(1);
    for (const href of preloads) {
      const response = await page.request.get(href);
      expect(response.status(), href).toBe(200);
      expect(response.headers()['content-type'], href).toContain('application/wasm');
    }
  }
  await page.context().close();
});
