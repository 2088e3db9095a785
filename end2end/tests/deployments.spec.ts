import { test, expect, Page } from '@playwright/test';
import * as fs from 'fs';
import { adminApi, create, daysAgo, record, seedCatalog } from './api';
import { expectNoReload, markWindow, signIn, unique, watchForErrors } from './helpers';

const shots = 'screenshots';
fs.mkdirSync(shots, { recursive: true });

async function hydrated(page: Page) {
  await expect(page.locator('body[data-hydrated="true"]')).toBeAttached();
}

test.beforeEach(async ({ page }) => {
  await signIn(page);
});

test('Scenario 1: record a deployment through the form', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());

  await page.goto('/deployments');
  await page.getByRole('link', { name: 'Record deployment' }).click();
  await expect(page).toHaveURL(/\/deployments\/new$/);
  await hydrated(page);
  const form = page.locator('#record-deployment');
  await form.locator('select[name=applicationId]').selectOption({ label: s.portal.name });
  // The version dropdown loads this application's versions only.
  const versions = form.locator('select[name=versionId] option');
  await expect(versions).toHaveText(['Choose a version…', '1.2.0', '1.1.0']);
  await form.locator('select[name=versionId]').selectOption({ label: '1.2.0' });
  await form.locator('select[name=environmentId]').selectOption({ label: s.prod.name });
  // Defaults: now (in the browser's time zone) and the signed-in user.
  const shown = await form.locator('input[name=deploymentDate]').inputValue();
  expect(Math.abs(new Date(shown).getTime() - Date.now())).toBeLessThan(3 * 60_000);
  await expect(form.locator('input[name=deployedBy]')).toHaveValue('admin');
  await expect(page.locator('#needs-role')).toHaveCount(0);
  await form.locator('textarea[name=notes]').fill('Hotfix for login issue');
  await page.screenshot({ path: `${shots}/record-form.png`, fullPage: true });
  await form.getByRole('button', { name: 'Record deployment' }).click();

  await expect(page.locator('#record-success')).toContainText(`${s.portal.name} 1.2.0`);
  await expect(page.locator('#recent-deployments')).toContainText('Hotfix for login issue');
  await page.goto(`/deployments?applicationId=${s.portal.id}`);
  await expect(page.locator('#history')).toContainText('Hotfix for login issue');
  await expect(page.locator('#history')).toContainText('by admin');
  expect(errors).toEqual([]);
});

test('after a back-dated record the form starts from now again', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await page.goto(`/deployments/new?applicationId=${s.portal.id}&environmentId=${s.dev.id}`);
  await hydrated(page);
  const form = page.locator('#record-deployment');
  await expect(form.locator('select[name=versionId] option')).toHaveCount(3);
  await form.locator('select[name=versionId]').selectOption({ label: '1.1.0' });
  // A deployment from three days ago, typed in by hand.
  const threeDaysAgo = new Date(Date.now() - 3 * 86_400_000);
  const local = new Date(threeDaysAgo.getTime() - threeDaysAgo.getTimezoneOffset() * 60_000)
    .toISOString()
    .slice(0, 16);
  await form.locator('input[name=deploymentDate]').fill(local);
  await form.getByRole('button', { name: 'Record deployment' }).click();
  await expect(page.locator('#record-success')).toContainText(`${s.portal.name} 1.1.0`);
  // The next entry from this page is not silently back-dated.
  const shown = await form.locator('input[name=deploymentDate]').inputValue();
  expect(Math.abs(new Date(shown).getTime() - Date.now())).toBeLessThan(3 * 60_000);
  expect(errors).toEqual([]);
  await api.dispose();
});

test('Scenario 2: a version of another application is refused', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await page.goto(`/deployments/new?applicationId=${s.portal.id}`);
  await hydrated(page);
  const form = page.locator('#record-deployment');
  await expect(form.locator('select[name=versionId] option')).toHaveCount(3);
  await form.locator('select[name=versionId]').selectOption({ label: '1.1.0' });
  await form.locator('select[name=environmentId]').selectOption({ label: s.dev.name });
  // Tamper with the submitted versionId: point it at the other application's version.
  await form.locator('select[name=versionId]').evaluate((select: HTMLSelectElement, id: string) => {
    select.options[select.selectedIndex].value = id;
  }, s.billingVersion);
  await form.getByRole('button', { name: 'Record deployment' }).click();
  await expect(form.locator('.field-error[data-field=versionId]')).toHaveText('Version does not belong to selected application');
  const history = await (await api.get(`/api/deployments?applicationId=${s.portal.id}`)).json();
  expect(history.items).toHaveLength(0);
});

test('Scenario 3: a future date is refused', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await page.goto(`/deployments/new?applicationId=${s.portal.id}&environmentId=${s.prod.id}`);
  await hydrated(page);
  const form = page.locator('#record-deployment');
  await expect(form.locator('select[name=environmentId]')).toHaveValue(s.prod.id);
  await form.locator('select[name=versionId]').selectOption({ label: '1.2.0' });
  const tomorrow = new Date(Date.now() + 86_400_000);
  const local = new Date(tomorrow.getTime() - tomorrow.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
  await form.locator('input[name=deploymentDate]').fill(local);
  await form.getByRole('button', { name: 'Record deployment' }).click();
  await expect(form.locator('.field-error[data-field=deploymentDate]')).toHaveText('Deployment date cannot be in future');
});

test('Scenario 4: the dashboard shows the latest per environment and updates live', async ({ page, baseURL }) => {
  const errors = watchForErrors(page);
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await record(api, s.portal.id, s.versions['1.1.0'], s.dev.id, daysAgo(3));
  await record(api, s.portal.id, s.versions['1.2.0'], s.dev.id, daysAgo(2));
  await record(api, s.portal.id, s.versions['1.1.0'], s.prod.id, daysAgo(1));

  await page.goto('/');
  await hydrated(page);
  await page.locator('#matrix-filter').fill(s.portal.name);
  const row = page.locator(`#matrix tr[data-application="${s.portal.name}"]`);
  const columns = await page.locator('#matrix thead th').allTextContents();
  const devColumn = columns.findIndex((c) => c.startsWith(s.dev.name));
  const prodColumn = columns.findIndex((c) => c.startsWith(s.prod.name));
  const cell = (column: number) => row.locator('td').nth(column - 1);
  await expect(cell(devColumn)).toContainText('1.2.0');
  await expect(cell(prodColumn)).toContainText('1.1.0');

  await markWindow(page);
  await record(api, s.portal.id, s.versions['1.2.0'], s.prod.id, daysAgo(0));
  await expect(cell(prodColumn)).toContainText('1.2.0');
  await expectNoReload(page);
  await page.locator('#matrix-filter').fill('');
  await page.screenshot({ path: `${shots}/dashboard.png`, fullPage: true });
  expect(errors).toEqual([]);
});

test('Scenario 5: application deployments tab, grouped, newest first, filtered by environment', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await record(api, s.portal.id, s.versions['1.1.0'], s.dev.id, daysAgo(5));
  await record(api, s.portal.id, s.versions['1.2.0'], s.dev.id, daysAgo(1));
  await record(api, s.portal.id, s.versions['1.1.0'], s.prod.id, daysAgo(3));

  await page.goto(`/applications/${s.portal.id}`);
  await page.getByRole('link', { name: 'Deployments' }).last().click();
  await hydrated(page);
  const groups = page.locator('#history .timeline-group');
  await expect(groups).toHaveCount(2);
  await expect(groups.nth(0).locator('h3')).toHaveText(s.dev.name);
  await expect(groups.nth(0).locator('.timeline-item')).toHaveCount(2);
  await expect(groups.nth(0).locator('.timeline-item .version')).toHaveText(['1.2.0', '1.1.0']);
  await expect(page.locator('#current-state')).toContainText(s.prod.name);
  await page.screenshot({ path: `${shots}/application-deployments.png`, fullPage: true });

  await page.locator('#history-filters select[name=environmentId]').selectOption({ label: s.prod.name });
  await page.locator('#history-filters').getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`environmentId=${s.prod.id}`));
  await expect(groups).toHaveCount(1);
  await expect(groups.nth(0).locator('h3')).toHaveText(s.prod.name);
  // The filter lives in the URL: reloading keeps it.
  await page.reload();
  await expect(page.locator('#history .timeline-group')).toHaveCount(1);
});

test('Scenario 6: environment deployments tab links to the application', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await record(api, s.portal.id, s.versions['1.2.0'], s.prod.id, daysAgo(2));
  await record(api, s.billing.id, s.billingVersion, s.prod.id, daysAgo(1));

  await page.goto(`/environments/${s.prod.id}`);
  await page.getByRole('link', { name: 'Deployments' }).last().click();
  await hydrated(page);
  const table = page.locator('#environment-deployments');
  await expect(table.locator('tbody tr')).toHaveCount(2);
  await expect(table.locator('tr', { hasText: s.portal.name })).toContainText('1.2.0');
  await expect(table.locator('tr', { hasText: s.billing.name })).toContainText('9.9.9');
  await page.screenshot({ path: `${shots}/environment-deployments.png`, fullPage: true });
  await table.getByRole('link', { name: s.portal.name }).click();
  await expect(page).toHaveURL(new RegExp(`/applications/${s.portal.id}`));
  await expect(page.locator('h1')).toContainText(s.portal.name);
});

test('matrix cells are coloured by age: 10, 45 and 120 days', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const suffix = unique();
  const app = await create(api, '/api/applications', { name: `Aged ${suffix}` });
  const version = (await create(api, `/api/applications/${app.id}/versions`, { versionIdentifier: '3.0.0' })).id;
  const ages: [number, string, string, string][] = [
    [10, 'age-fresh', '●', 'recent'], [45, 'age-aging', '◐', 'older'], [120, 'age-stale', '○', 'very old']];
  const envs = [];
  for (const [days] of ages) {
    const env = await create(api, '/api/environments', { name: `AGE${days}-${suffix}` });
    envs.push(env);
    await record(api, app.id, version, env.id, daysAgo(days));
  }
  await page.goto('/');
  await page.locator('#matrix-filter').fill(`Aged ${suffix}`);
  const row = page.locator(`#matrix tr[data-application="Aged ${suffix}"]`);
  const columns = await page.locator('#matrix thead th').allTextContents();
  for (let i = 0; i < ages.length; i++) {
    const column = columns.findIndex((c) => c.startsWith(envs[i].name));
    const cell = row.locator('td').nth(column - 1);
    await expect(cell).toHaveClass(new RegExp(`(^| )${ages[i][1]}( |$)`));
    // The cue survives without colour: a shape drawn by the stylesheet, the band in words.
    // Polled: live updates may rewrite the row meanwhile, and a detached cell has no style.
    await expect.poll(() => cell.locator('a.cell-link')
      .evaluate((a) => getComputedStyle(a, '::before').content)).toContain(ages[i][2]);
    await expect(cell.locator('.sr-only')).toHaveText(ages[i][3]);
  }
  await expect(page.locator('.legend')).toContainText('over 90 days');
});

test('history filters are reflected in the URL', async ({ page, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await record(api, s.portal.id, s.versions['1.1.0'], s.dev.id, daysAgo(2));
  await page.goto('/deployments');
  await hydrated(page);
  await page.locator('#history-filters select[name=applicationId]').selectOption({ label: s.portal.name });
  await page.locator('#history-filters input[name=q]').fill('1.1');
  await page.locator('#history-filters').getByRole('button', { name: 'Filter' }).click();
  await expect(page).toHaveURL(new RegExp(`applicationId=${s.portal.id}.*q=1.1`));
  await expect(page.locator('#history .timeline-item')).toHaveCount(1);
  await expect(page.locator('#csv-export')).toHaveAttribute('href', new RegExp(`applicationId=${s.portal.id}`));
});

test('a viewer sees no record actions', async ({ browser, baseURL }) => {
  const api = await adminApi(baseURL!);
  const s = await seedCatalog(api, unique());
  await record(api, s.portal.id, s.versions['1.1.0'], s.dev.id, daysAgo(2));
  const name = `viewer${unique()}`;
  await create(api, '/api/users', { username: name, password: 'viewer-password-1', role: 'viewer' });
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto('/login');
  await hydrated(page);
  await page.locator('#login input[name=username]').fill(name);
  await page.locator('#login input[name=password]').fill('viewer-password-1');
  await page.locator('#login').getByRole('button', { name: 'Sign in' }).click();
  await expect(page.locator('.user-menu')).toContainText('viewer');
  await expect(page.locator('#matrix')).toBeVisible();
  await expect(page.locator('#matrix a.record')).toHaveCount(0);
  await page.goto('/deployments');
  await expect(page.locator('#history')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Record deployment' })).toHaveCount(0);
  await page.goto(`/applications/${s.portal.id}?tab=deployments`);
  await expect(page.locator('#current-state')).toBeVisible();
  await expect(page.locator('#record-new')).toHaveCount(0);
  // Opened directly, the record form says up front that it needs the editor role.
  await page.goto('/deployments/new');
  await hydrated(page);
  await expect(page.locator('#needs-role')).toContainText('needs the editor role');
  await context.close();
});
