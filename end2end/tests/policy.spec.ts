import { test, expect } from '@playwright/test';
import { adminApi, create } from './api';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

/**
 * The deploy policy (issue 35), in Asia/Kolkata at 390 px and on a desktop: an admin adds a
 * recurring freeze on the /policy page, sees it on the calendar and as the dashboard's banner,
 * and the record form warns before submitting and takes an override reason. The freeze covers
 * an environment of its own (other tests' environments stay unfrozen) and is deleted at the end.
 */
for (const [label, viewport] of [
  ['phone', { width: 390, height: 844 }],
  ['desktop', { width: 1280, height: 800 }],
] as const) {
  test(`a recurring freeze shows on the calendar, the dashboard and the record form (${label})`, async ({ browser, baseURL }) => {
    const api = await adminApi(baseURL!);
    const suffix = unique();
    const environment = await create(api, '/api/environments', { name: `FROZEN-${suffix}` });
    const application = await create(api, '/api/applications', { name: `Ledger ${suffix}` });
    await create(api, `/api/applications/${application.id}/versions`, { versionIdentifier: '3.1.4' });

    const page = await signedInPage(browser, baseURL!, admin(), viewport);
    const problems = watchProblems(page);
    await openHydrated(page, '/policy');
    const form = page.locator('#create-freeze');
    // The time zone field starts as the viewer's own (Chromium names Kolkata by its older name).
    await expect(form.locator('input[name=time_zone]')).toHaveValue(/^Asia\/(Kolkata|Calcutta)$/);
    const name = `Ledger freeze ${suffix}`;
    await form.locator('input[name=name]').fill(name);
    await form.locator('input[name=reason]').fill('Quarter close');
    await form.locator('select[name=environment_id]').selectOption(environment.id);
    // Hostile input first: an unbounded rule is refused with the reason.
    await form.locator('input[name=rrule]').fill('FREQ=SECONDLY');
    await form.locator('input[name=duration]').fill('P1D');
    await form.getByRole('button', { name: 'Add freeze' }).click();
    await expect(form).toContainText('FREQ must be DAILY, WEEKLY, MONTHLY or YEARLY');
    // Every day from midnight in Kolkata, for a day: in force whenever the test runs.
    await form.locator('input[name=rrule]').fill('FREQ=DAILY;BYHOUR=0');
    await form.getByRole('button', { name: 'Add freeze' }).click();
    const row = page.locator('#freezes tr', { hasText: name });
    await expect(row).toContainText(/FREQ=DAILY;BYHOUR=0, P1D each \(Asia\/(Kolkata|Calcutta)\)/);
    await expect(row).toContainText('in force');
    await expect(row).toContainText(`FROZEN-${suffix}`);
    // On the calendar: today's cell (in the viewer's zone) carries the freeze.
    await expect(page.locator('#freeze-calendar td.today .freeze-chip', { hasText: name })).toBeVisible();

    // Opened by its URL, the page shows the same.
    await openHydrated(page, '/policy');
    await expect(page.locator('#freeze-calendar td.today .freeze-chip', { hasText: name })).toBeVisible();
    let overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    // The dashboard's banner names the environment, the end and the freeze.
    await openHydrated(page, `/?q=${encodeURIComponent(application.name)}`);
    const banner = page.locator('.banner.freeze', { hasText: name });
    await expect(banner).toContainText(`FROZEN-${suffix} frozen until`);
    await expect(banner).toContainText('Quarter close');

    // The record form asks the policy as soon as the three are chosen.
    await openHydrated(page, `/deployments/new?applicationId=${application.id}&environmentId=${environment.id}`);
    await page.locator('select[name=versionId]').selectOption({ label: '3.1.4' });
    const warning = page.locator('#policy-blockers');
    await expect(warning).toContainText('Blocked by the deploy policy');
    await expect(warning).toContainText(`FROZEN-${suffix} is frozen until`);
    await warning.locator('textarea[name=overrideReason]').fill('Regulator deadline');
    await page.getByRole('button', { name: 'Record deployment' }).click();
    await expect(page.locator('#record-success')).toBeVisible();
    await page.locator('#record-success').getByRole('link', { name: 'View details' }).click();
    await expect(page.locator('#policy-violations')).toContainText('Override reason: Regulator deadline');
    await expect(page.locator('#policy-violations')).toContainText('freeze');
    overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    // The history filter finds it; the matrix marks its cell with a text cue.
    await openHydrated(page, '/deployments?violations=true');
    await expect(page.locator('.timeline-item', { hasText: application.name }).first()).toContainText('deployed despite policy');
    await openHydrated(page, `/?q=${encodeURIComponent(application.name)}`);
    await expect(page.locator('#matrix .badge.policy')).toHaveCount(1);

    // Clean up: the freeze goes, the banner with it.
    await openHydrated(page, '/policy');
    await page.locator('#freezes tr', { hasText: name }).getByRole('button', { name: 'Delete' }).click();
    await expect(page.locator('#freezes tr', { hasText: name })).toHaveCount(0);
    expect(problems).toEqual([]);
    await page.context().close();
    await api.dispose();
  });
}
