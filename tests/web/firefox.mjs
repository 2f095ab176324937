// firefox.mjs: the dashboard in Firefox (Debian's firefox-esr, driven by
// puppeteer-core over WebDriver BiDi) against a running `tide serve`, after
// run.mjs's chromium pass in tests/integration/test_web_ui.sh:
//   screens  every screen (screens.mjs) loads with no console error, no
//            uncaught exception and no failed request (light and dark)
//   live     live mode at 0.5 s shows a value written now within two ticks
// Usage: node firefox.mjs URL OUTDIR TEST...   (FIREFOX overrides the binary)
// Prints one line per test and "N passed, N failed"; exits 1 on a failure.
import puppeteer from 'puppeteer-core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screens } from './screens.mjs';

const [base, out, ...names] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A page that records console errors, uncaught exceptions and failed
// requests. The live stream cut by a navigation or by the page's close is
// not a failure (EventSource reconnects by itself).
async function open(browser, hash) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1280, height: 800 });
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + (e.message || e)));
  page.on('requestfailed', (r) => {
    if (!/\/api\/v1\/stream/.test(r.url())) problems.push('request failed: ' + r.url() + ' ' + ((r.failure() || {}).errorText || ''));
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(base + '/' + hash);
  return { page, problems };
}
const shot = (page, name) => page.screenshot({ path: join(out, 'firefox-' + name + '.png') });
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const tests = {
  async screens(browser, env) {
    const { page, problems } = await open(browser, '#/hosts');
    for (const [name, hash, sel] of screens(env.host)) {
      await page.evaluate((h) => { location.hash = h; }, hash);
      if (name === 'hosts-dark') await page.click('button.theme');
      await page.waitForSelector(sel, { timeout: 10000 });
      await sleep(250);
      await shot(page, name);
      assert(problems.length === 0, `${name}: ${problems.join('\n')}`);
    }
    // The last screen is in the dark theme: Firefox must paint it dark.
    const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    const [r, g, b] = bg.match(/\d+/g).map(Number);
    assert(r + g + b < 200, 'the dark theme did not darken the page: ' + bg);
    await page.close();
  },

  async live(browser) {
    const { page, problems } = await open(browser, '#/embed?range=live&rate=0.5&title=live&q=' + encodeURIComponent('["web_live_probe_ff"]'));
    await page.waitForFunction(() => +(document.querySelector('.chart')?.dataset.ticks || 0) >= 2, { timeout: 10000 });
    const v = 1000 + Math.floor(Math.random() * 1000);
    const ticks = () => page.evaluate(() => +document.querySelector('.chart').dataset.ticks);
    const before = await ticks();
    const r = await fetch(base + '/api/v1/import/prometheus', { method: 'POST', body: `web_live_probe_ff{instance="probe"} ${v} ${Date.now()}\n` });
    assert(r.status < 300, 'import: HTTP ' + r.status);
    await page.waitForFunction((want) => document.querySelector('.chart')?.dataset.last === String(want), { timeout: 10000 }, v);
    const after = await ticks();
    await shot(page, 'live');
    await page.close();
    assert(after - before <= 2, `the point took ${after - before} ticks (at most 2 allowed)`);
    assert(problems.length === 0, problems.join('\n'));
  },
};

const env = { host: process.env.WEB_HOST || '' };
const browser = await puppeteer.launch({
  browser: 'firefox',
  executablePath: FIREFOX,
  headless: true,
  // No first-run pages, updates or telemetry in a throwaway profile.
  extraPrefsFirefox: { 'browser.shell.checkDefaultBrowser': false, 'app.update.enabled': false },
});
const version = await browser.version();
let passed = 0, failed = 0;
for (const name of names) {
  const t0 = Date.now();
  try {
    if (!tests[name]) throw new Error('no such test');
    await tests[name](browser, env);
    passed++;
    console.log(`ok   firefox ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL firefox ${name} (${Date.now() - t0} ms): ${e.message}`);
  }
}
await browser.close();
writeFileSync(join(out, 'result-firefox.txt'), `${version}: ${passed} passed, ${failed} failed\n`);
console.log(`${version}: ${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
