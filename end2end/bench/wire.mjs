// What a browser receives for the dashboard: bytes on the wire for a cold first load and a warm
// reload, the page's own HTML before compression, and the time until it is hydrated (median of
// five), in Chromium, without and with network emulation (10 Mbit/s, 40 ms round trip).
// Run by scripts/bench-browser.sh, which starts the release server on a seeded database:
//   BASE_URL=http://127.0.0.1:3000 ADMIN_PASSWORD=… node end2end/bench/wire.mjs
import { chromium } from '@playwright/test';

const base = process.env.BASE_URL;
const runs = Number(process.env.RUNS ?? 5);
const conditions = [
  { name: 'no throttling', network: null },
  { name: '10 Mbit/s, 40 ms RTT', network: { latency: 40, downloadThroughput: 10e6 / 8, uploadThroughput: 10e6 / 8 } },
];

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic'],
});

/** A signed-in browser context (its own cache) with the session cookie of one sign-in. */
async function signedInContext(cookies) {
  const context = await browser.newContext({ timezoneId: 'Asia/Kolkata' });
  await context.addCookies(cookies);
  // Marks the moment hydration finished (the app sets data-hydrated on <body>).
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.body?.dataset.hydrated === 'true') {
        window.__hydratedAt = performance.now();
        observer.disconnect();
      }
    }).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-hydrated'] });
  });
  return context;
}

/** Opens `path`; returns bytes on the wire (all responses, headers included), the document's
 *  decoded size and the milliseconds from navigation start to hydrated. */
async function load(page, client, path, reload) {
  let wire = 0;
  const onFinished = (event) => (wire += event.encodedDataLength);
  client.on('Network.loadingFinished', onFinished);
  if (reload) await page.reload(); else await page.goto(base + path);
  await page.waitForFunction(() => window.__hydratedAt !== undefined, null, { timeout: 60_000 });
  await page.waitForLoadState('networkidle');
  client.off('Network.loadingFinished', onFinished);
  const { html, hydrated } = await page.evaluate(() => ({
    html: performance.getEntriesByType('navigation')[0].decodedBodySize,
    hydrated: window.__hydratedAt,
  }));
  return { wire, html, hydrated };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const kb = (bytes) => `${Math.round(bytes / 1024)} KB`;

const login = await browser.newContext();
const answer = await login.request.post(`${base}/api/auth/login`, {
  data: { username: 'admin', password: process.env.ADMIN_PASSWORD },
});
if (answer.status() !== 200) throw new Error(`sign-in failed: ${answer.status()}`);
const cookies = await login.cookies();
await login.close();

const path = process.env.PAGE ?? '/';
console.log(`| ${path} | cold load: on the wire | warm reload: on the wire | HTML (decoded) | time to hydrated, cold (median of ${runs}) | warm |`);
console.log('|---|---|---|---|---|---|');
for (const condition of conditions) {
  const cold = [];
  const warm = [];
  for (let run = 0; run < runs; run++) {
    const context = await signedInContext(cookies);
    const page = await context.newPage();
    const client = await context.newCDPSession(page);
    await client.send('Network.enable');
    if (condition.network) {
      await client.send('Network.emulateNetworkConditions', { offline: false, ...condition.network });
    }
    cold.push(await load(page, client, path, false));
    warm.push(await load(page, client, path, true));
    await context.close();
  }
  const pick = (list, key) => median(list.map((m) => m[key]));
  console.log(`| ${condition.name} | ${kb(pick(cold, 'wire'))} | ${kb(pick(warm, 'wire'))} | ${kb(pick(cold, 'html'))} | ` +
    `${Math.round(pick(cold, 'hydrated'))} ms | ${Math.round(pick(warm, 'hydrated'))} ms |`);
}
await browser.close();
