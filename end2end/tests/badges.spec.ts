import { expect, test } from '@playwright/test';
import { adminApi, create, daysAgo, record, seedCatalog } from './api';
import { unique, watchForErrors } from './helpers';

test.use({ timezoneId: 'Asia/Kolkata', viewport: { width: 390, height: 844 } });

test('a status badge shows on a plain HTML page, and its URL opens as an image with words', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const { portal, versions, prod } = await seedCatalog(api, suffix);
  await record(api, portal.id, versions['1.2.0'], prod.id, daysAgo(2));
  const { key } = await create(api, '/api/badge-keys', { name: `readme ${suffix}`, application: portal.name });
  const src = `${baseURL}/badges/${encodeURIComponent(portal.name)}/${encodeURIComponent(prod.name)}.svg?key=${key}`;

  // A README-like page elsewhere embeds it.
  await page.setContent(`<!doctype html><h1>Customer Portal</h1><img id="badge" alt="production version" src="${src}">`);
  const badge = page.locator('#badge');
  await expect.poll(() => badge.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth)).toBeGreaterThan(60);
  expect(await badge.evaluate((img: HTMLImageElement) => img.naturalHeight)).toBe(20);

  // Opened by its URL: an SVG whose title says what it shows.
  const response = await page.goto(src);
  expect(response!.status()).toBe(200);
  expect(response!.headers()['content-type']).toBe('image/svg+xml; charset=utf-8');
  await expect(page.locator('svg title')).toHaveText(`${prod.name}: 1.2.0`);

  // A badge without its key still has words.
  const refused = await page.goto(src.replace(/\?key=.*/, ''));
  expect(refused!.status()).toBe(401);
  await expect(page.locator('svg title')).toHaveText(`${prod.name}: badge key needed`);
  expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  await api.dispose();
});
