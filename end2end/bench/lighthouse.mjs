// Lighthouse 12 on the pages a release manager opens most, mobile and desktop presets, signed in
// as the admin. Prints one Markdown row per page and preset, then every accessibility or best-practice
// audit that cost points. LIGHTHOUSE_REPORTS=<dir> keeps each full report there as JSON. (Which
// elements moved is not reported: Lighthouse 12.2's trace reader fails on Debian's newer Chromium
// for those audits; end2end/tests/layout.spec.ts measures the shifts in Playwright instead.) Run by scripts/bench-lighthouse.sh, which serves the demo data:
//   BASE_URL=http://127.0.0.1:3000 ADMIN_PASSWORD=… node end2end/bench/lighthouse.mjs
import lighthouse from 'lighthouse';
import desktopConfig from 'lighthouse/core/config/desktop-config.js';
import * as chromeLauncher from 'chrome-launcher';
import { writeFileSync } from 'node:fs';

const base = process.env.BASE_URL;
const answer = await fetch(`${base}/api/auth/login`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json' },
  body: JSON.stringify({ username: 'admin', password: process.env.ADMIN_PASSWORD }),
});
if (answer.status !== 200) throw new Error(`sign-in failed: ${answer.status}`);
// Every "name=value" pair the sign-in set, as one Cookie header.
const cookie = answer.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
const headers = { Cookie: cookie };

const applications = await (await fetch(`${base}/api/applications`, { headers })).json();
const application = (applications.items ?? applications)[0];
const pages = (process.env.PAGES ?? [
  '/',
  '/deployments/new',
  '/insights',
  '/deployments',
  `/applications/${application.id}?tab=deployments`,
].join(' ')).split(' ');

const chrome = await chromeLauncher.launch({
  chromePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  chromeFlags: ['--headless=new', '--no-sandbox', '--disable-gpu'],
});
const score = (category) => Math.round(category.score * 100);
const failures = [];
console.log('| page | preset | performance | accessibility | best practices | CLS | TBT | LCP |');
console.log('|---|---|---|---|---|---|---|---|');
try {
  for (const path of pages) {
    for (const [preset, config] of [['mobile', undefined], ['desktop', desktopConfig]]) {
      const flags = {
        port: chrome.port,
        output: 'json',
        logLevel: 'error',
        extraHeaders: headers,
        onlyCategories: ['performance', 'accessibility', 'best-practices'],
      };
      const { lhr } = await lighthouse(base + path, flags, config);
      const audit = (id) => lhr.audits[id];
      if (process.env.LIGHTHOUSE_REPORTS) {
        const name = `${path.replace(/[^a-z0-9]+/gi, '_')}-${preset}.json`;
        writeFileSync(`${process.env.LIGHTHOUSE_REPORTS}/${name}`, JSON.stringify(lhr));
      }
      const cls = audit('cumulative-layout-shift').numericValue;
      console.log(`| ${path} | ${preset} | ${score(lhr.categories.performance)} | ` +
        `${score(lhr.categories.accessibility)} | ${score(lhr.categories['best-practices'])} | ` +
        `${cls.toFixed(3)} | ${Math.round(audit('total-blocking-time').numericValue)} ms | ` +
        `${(audit('largest-contentful-paint').numericValue / 1000).toFixed(1)} s |`);
      // What cost points, so a low score says where to look.
      for (const category of Object.values(lhr.categories)) {
        for (const ref of category.auditRefs) {
          const a = lhr.audits[ref.id];
          if (ref.weight > 0 && a.score !== null && a.score < 1 && category.id !== 'performance') {
            failures.push(`${path} (${preset}) ${category.id}: ${a.id} — ${a.title}`);
          }
        }
      }
    }
  }
} finally {
  await chrome.kill();
}
if (failures.length) console.log('\n' + failures.map((f) => `- ${f}`).join('\n'));
