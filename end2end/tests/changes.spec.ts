import { test, expect } from '@playwright/test';
import { adminApi, create } from './api';
import { unique } from './helpers';
import { admin, openHydrated, signedInPage, watchProblems } from './pages';

const sha = (n: number) => n.toString(16).padStart(40, '0');
const commit = (n: number, title: string, authoredAt: string) => ({ sha: sha(n), title, author: 'Ada Lovelace', authoredAt });

/**
 * What changed (issue 36), in Asia/Kolkata at 390 px and on a desktop, each page opened by its
 * URL: the deployment page's "What changed" (commits, tickets, compare link; a hostile title
 * shown as text), its Markdown release notes, /compare's row opened by `?open=` and by a click,
 * and the Versions tab's commits.
 */
for (const [label, viewport] of [
  ['phone', { width: 390, height: 844 }],
  ['desktop', { width: 1280, height: 800 }],
] as const) {
  test(`the deployment page, compare and the versions tab show what changed (${label})`, async ({ browser, baseURL }) => {
    const api = await adminApi(baseURL!);
    const suffix = unique();
    const staging = await create(api, '/api/environments', { name: `STG-${suffix}` });
    const production = await create(api, '/api/environments', { name: `PRD-${suffix}`, isProduction: true });
    const name = `Ledger ${suffix}`;
    const application = await create(api, '/api/applications', { name, repository: `acme/ledger-${suffix}` });
    const recordWith = async (version: string, environment: string, head: number, commits: object) =>
      create(api, '/api/deployments', {
        application: name, version, environment, createVersion: true, commitSha: sha(head),
        deploymentDate: new Date().toISOString(), commits,
      });
    await recordWith('1.0', `PRD-${suffix}`, 2, { commits: [commit(2, 'LED-1 ledger', '2026-11-01T10:00:00Z'), commit(1, 'Initial', '2026-10-01T10:00:00Z')] });
    const hostile = 'LED-2 <script>window.pwned=1</script> & <b>bold</b>';
    const deployed = await recordWith('1.1', `STG-${suffix}`, 4, {
      since: sha(2),
      commits: [commit(4, hostile, '2026-12-01T04:30:00Z'), commit(3, 'LED-3 totals', '2026-11-30T10:00:00Z')],
    });

    const page = await signedInPage(browser, baseURL!, admin(), viewport);
    const problems = watchProblems(page);
    await openHydrated(page, `/deployments/${deployed.id}`);
    const changed = page.locator('#what-changed');
    // 1.1 replaced nothing in STG: its whole history (its list, then 1.0's) is what it brought.
    await expect(changed.locator('.changes-summary')).toHaveText('4 commits in 1.1');
    await expect(changed.locator('.commits li')).toHaveCount(4);
    await expect(changed.locator('.commits li').first()).toContainText(hostile);
    expect(await page.evaluate(() => (window as unknown as { pwned?: number }).pwned)).toBeUndefined();
    await expect(changed.locator('.commits li').first()).toContainText('Ada Lovelace');
    // Authored 04:30 UTC is 10:00 in Kolkata.
    await expect(changed.locator('.commits li').first()).toContainText('10:00');
    await expect(changed.locator('.tickets')).toContainText('LED-2');
    await expect(changed.locator('.tickets')).toContainText('LED-3');
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    expect(overflow).toBeLessThanOrEqual(0);

    // The Markdown notes, as the link gives them.
    const href = await changed.locator('a.notes-link').getAttribute('href');
    expect(href).toBe(`/api/deployments/${deployed.id}/changes.md`);
    const notes = await page.request.get(href!);
    expect(notes.headers()['content-type']).toBe('text/markdown; charset=utf-8');
    const text = await notes.text();
    expect(text).toContain(`# Ledger ${suffix}: nothing → 1\\.1`);
    expect(text).toContain('- LED\\-2');
    expect(text).toContain('\\<script\\>');

    // /compare opened by URL with the row open: STG runs 1.1, PRD 1.0.
    const compare = `/compare?from=${staging.id}&to=${production.id}`;
    await openHydrated(page, `${compare}&open=${encodeURIComponent(name)}`);
    await expect(page.locator(`tr.changes-row[data-application="${name}"] .changes-summary`)).toHaveText('2 commits in 1.1 since 1.0');
    await expect(page.locator(`tr.changes-row[data-application="${name}"] .compare-link`)).toHaveAttribute(
      'href', `https://github.com/acme/ledger-${suffix}/compare/${sha(2)}...${sha(4)}`);
    // Without ?open= the row opens on a click.
    await openHydrated(page, compare);
    const details = page.locator(`tr.changes-row[data-application="${name}"] details`);
    await expect(details.locator('.changes-summary')).toHaveCount(0);
    await details.locator('summary').click();
    await expect(details.locator('.commits li')).toHaveCount(2);
    await expect(details.locator('.tickets')).toContainText('LED-3');

    // The Versions tab lists each version's commits.
    await openHydrated(page, `/applications/${application.id}?tab=versions`);
    const versionRow = page.locator('#versions tr[data-version="1.1"] + tr.changes-row details');
    await versionRow.locator('summary').click();
    await expect(versionRow.locator('.commits li')).toHaveCount(2);
    await expect(versionRow.locator('.changes-summary')).toHaveText('2 commits in 1.1 since 1.0');
    expect(problems).toEqual([]);
    await page.context().close();
    await api.dispose();
  });
}
