// run.mjs: the dashboard's browser tests: Debian's chromium driven by
// playwright-core against a running `tide serve` (started and fed by
// tests/integration/test_web_*.sh through lib.sh).
// Usage: node run.mjs URL OUTDIR TEST...   (tests below; screenshots go to OUTDIR)
// Prints one line per test and "N passed, N failed"; exits 1 on a failure.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { screens } from './screens.mjs';

const [base, out, ...names] = process.argv.slice(2);
mkdirSync(out, { recursive: true });
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

// Write samples through the import API (Prometheus text, timestamps in ms).
async function write(text) {
  const r = await fetch(base + '/api/v1/import/prometheus', { method: 'POST', body: text });
  if (r.status >= 300) throw new Error('import: HTTP ' + r.status + ' ' + (await r.text()));
}
async function apiGet(path) {
  const r = await fetch(base + path);
  return r.json();
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// A page that records console errors and failed requests. A stream closed
// by navigation (ERR_ABORTED on /api/v1/stream) is not a failure.
async function open(ctx, hash, { allowHttpErrors = false } = {}) {
  const page = await ctx.newPage();
  const problems = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && !(allowHttpErrors && /status of 4\d\d/.test(m.text()))) problems.push('console: ' + m.text());
  });
  page.on('pageerror', (e) => problems.push('page error: ' + e.message));
  page.on('requestfailed', (r) => {
    if (!/\/api\/v1\/stream/.test(r.url())) problems.push('request failed: ' + r.url() + ' ' + (r.failure() || {}).errorText);
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !allowHttpErrors) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  await page.goto(base + '/' + hash);
  return { page, problems };
}
function clean(problems) {
  assert(problems.length === 0, problems.join('\n'));
}
const shot = (page, name) => page.screenshot({ path: join(out, name + '.png') });

const tests = {
  // Every screen loads its content with no console error and no failed request.
  async screens(ctx, env) {
    const list = screens(env.host);
    // One page, routes changed in place as a person clicking would; the
    // dark theme last, through the toggle.
    const { page, problems } = await open(ctx, '#/hosts');
    for (const [name, hash, sel] of list) {
      const t0 = Date.now();
      await page.evaluate((h) => { location.hash = h; }, hash);
      if (name === 'hosts-dark') await page.click('button.theme');
      await page.waitForSelector(sel, { timeout: 10000 });
      await page.waitForTimeout(250);
      if (process.env.WEB_VERBOSE) console.log(`  ${name}: ${Date.now() - t0} ms`);
      await shot(page, name);
      assert(problems.length === 0, `${name}: ${problems.join('\n')}`);
    }
    await page.close();
  },

  // Live at 0.5 s: a value written now is on the chart within two ticks.
  async live(ctx) {
    const { page, problems } = await open(ctx, '#/embed?range=live&rate=0.5&title=live&q=' + encodeURIComponent('["web_live_probe"]'));
    const chart = page.locator('.chart');
    await page.waitForFunction(() => +(document.querySelector('.chart')?.dataset.ticks || 0) >= 2, null, { timeout: 10000 });
    const v = 1000 + Math.floor(Math.random() * 1000);
    const before = +(await chart.getAttribute('data-ticks'));
    await write(`web_live_probe{instance="probe"} ${v} ${Date.now()}\n`);
    await page.waitForFunction((want) => document.querySelector('.chart')?.dataset.last === String(want), v, { timeout: 10000 });
    const after = +(await chart.getAttribute('data-ticks'));
    await shot(page, 'live');
    await page.close();
    assert(after - before <= 2, `the point took ${after - before} ticks (at most 2 allowed)`);
    clean(problems);
  },

  // The Host screen in live mode asks for its host at the display rate:
  // its stream names the host, and the server then has a lease in force
  // (the local collector runs every 500 ms; the screen asks for 200 ms).
  async display(ctx, env) {
    const metric = async (name) => {
      const text = await (await fetch(base + '/metrics')).text();
      const m = new RegExp('^' + name + ' (\\S+)$', 'm').exec(text);
      return m ? +m[1] : NaN;
    };
    const streams = [];
    const { page, problems } = await open(ctx, '#/hosts');
    page.on('request', (r) => { if (r.url().includes('/api/v1/stream')) streams.push(r.url()); });
    await page.evaluate((h) => { location.hash = h; }, '#/host/' + encodeURIComponent(env.host) + '?range=live&rate=0.2');
    await page.waitForSelector('.chart .u-over');
    let active = 0;
    for (let i = 0; i < 50 && active !== 1; i++) {
      await page.waitForTimeout(100);
      active = await metric('tide_live_leases_active');
    }
    await page.close();
    const want = 'host=' + encodeURIComponent(env.host);
    assert(streams.some((u) => u.includes(want) && u.includes('interval=0.2')), `no stream with ${want} at 0.2 s: ${streams.join(' ')}`);
    assert(active === 1, `tide_live_leases_active is ${active} while the Host screen is live, want 1`);
    clean(problems);
  },

  // The range picker changes the range queries' window and the URL.
  async range(ctx) {
    const { page, problems } = await open(ctx, '#/explore?q=node_load1');
    const spans = [];
    page.on('request', (r) => {
      if (r.url().includes('/api/v1/query_range')) {
        const p = new URLSearchParams(r.postData() || '');
        spans.push(Math.round(+p.get('end') - +p.get('start')));
      }
    });
    await page.waitForSelector('.chart .u-over');
    await page.click('button[data-range="6h"]');
    await page.waitForFunction(() => location.hash.includes('range=6h'));
    await page.waitForTimeout(500);
    await page.close();
    assert(spans.includes(21600), `no 6h range query after the click (saw spans ${spans.join(', ')})`);
    clean(problems);
  },

  // "CSV" downloads exactly what /api/v1/export/csv answers for the chart.
  async csv(ctx) {
    const { page: p2, problems: pr2 } = await open(ctx, '#/explore?q=web_csv_probe');
    await p2.waitForSelector('.chart .u-over');
    const href = await p2.getAttribute('.chart a.csv', 'href');
    const [dl] = await Promise.all([p2.waitForEvent('download'), p2.click('.chart a.csv')]);
    const got = readFileSync(await dl.path(), 'utf8');
    const want = await (await fetch(base + href)).text();
    await p2.close();
    assert(href.startsWith('/api/v1/export/csv?'), 'CSV link: ' + href);
    assert(got.split('\n').length > 2, 'the CSV has no rows:\n' + got);
    assert(got === want, `download differs from the export\n--- download\n${got}\n--- export\n${want}`);
    clean(pr2);
  },

  // The uplink badge turns red when ifOperStatus goes to 2.
  async network(ctx) {
    const ls = 'instance="r9",ifIndex="1",ifName="ether1",ifAlias="to Magti",provider="Magti",site="batumi"';
    await write(`ifOperStatus{${ls}} 1 ${Date.now()}\n`);
    const { page, problems } = await open(ctx, '#/network?refresh=2s');
    const badge = page.locator('.device[data-instance="r9"] .badge.uplink', { hasText: 'Magti' });
    await badge.and(page.locator('.up')).waitFor({ timeout: 10000 });
    await write(`ifOperStatus{${ls}} 2 ${Date.now()}\n`);
    await badge.and(page.locator('.down')).waitFor({ timeout: 10000 });
    const color = await badge.evaluate((e) => getComputedStyle(e).color);
    await shot(page, 'network-down');
    await page.close();
    const [r, g, b] = color.match(/\d+/g).map(Number);
    assert(r > 150 && g < 100 && b < 100, 'the down badge is not red: ' + color);
    clean(problems);
  },

  // Explore: completion from the API, and a parse error shown at its position.
  async explore(ctx) {
    const { page, problems } = await open(ctx, '#/explore', { allowHttpErrors: true });
    const box = page.locator('textarea');
    await box.pressSequentially('web_csv_pr');
    await page.locator('.suggest li', { hasText: 'web_csv_probe' }).waitFor({ timeout: 5000 });
    await box.fill('');
    const bad = 'sum(rate(x[5m])';
    await box.fill(bad);
    await box.press('Escape');
    await box.press('Enter');
    const err = page.locator('.parse-error');
    await err.waitFor({ timeout: 5000 });
    const col = +(await err.getAttribute('data-col'));
    const mark = await page.locator('.parse-error .mark').textContent();
    await shot(page, 'explore-error');
    await page.close();
    const msg = (await apiGet('/api/v1/query?query=' + encodeURIComponent(bad))).error;
    const m = /1:(\d+):/.exec(msg);
    assert(m && +m[1] === col, `column ${col} shown, the API says: ${msg}`);
    assert(mark.indexOf('^') === col - 1, `caret at ${mark.indexOf('^') + 1}, want ${col}`);
    clean(problems);
  },

  // Host: the collection interval is shown and set through /api/v1/agent/config.
  async interval(ctx, env) {
    const { page, problems } = await open(ctx, '#/host/' + encodeURIComponent(env.host));
    await page.waitForSelector('.interval');
    await page.fill('input[aria-label="desired interval"]', '2s');
    await page.click('form.row button[type="submit"]');
    await page.waitForFunction(() => document.querySelector('.interval')?.textContent === '2s', null, { timeout: 10000 });
    await page.close();
    const cfg = await apiGet('/api/v1/agent/config?instance=' + encodeURIComponent(env.host));
    assert(cfg.data && cfg.data.interval === '2s', 'agent config: ' + JSON.stringify(cfg));
    clean(problems);
  },

  // Storage: cleanup shows the dry run's count, then deletes that data.
  async cleanup(ctx) {
    const old = Date.now() - 10 * 86400 * 1000;
    let text = '';
    for (let i = 0; i < 5; i++) text += `web_cleanup_probe{instance="c"} ${i} ${old + i * 1000}\n`;
    text += `web_cleanup_probe{instance="c"} 9 ${Date.now()}\n`;
    await write(text);
    const probe = await fetch(base + '/api/v1/admin/cleanup', { method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'older_than=7d&dry_run=true&match[]=none_such' });
    assert(probe.status !== 404, 'POST /api/v1/admin/cleanup answers 404: the endpoint is not merged yet');
    const { page, problems } = await open(ctx, '#/storage');
    await page.selectOption('select[aria-label="older than"]', '7d');
    await page.fill('input[aria-label="series selector"]', 'web_cleanup_probe');
    await page.click('button.dry-run');
    await page.waitForSelector('.confirm', { timeout: 5000 });
    const shown = (await page.textContent('.count-samples')).trim();
    await shot(page, 'cleanup-confirm');
    await page.click('button.confirm-delete');
    await page.waitForSelector('.cleanup-msg', { timeout: 5000 });
    await page.close();
    const exp = await (await fetch(base + '/api/v1/export?match[]=web_cleanup_probe&start=0')).text();
    const left = exp.trim() ? JSON.parse(exp.trim().split('\n')[0]).values.length : 0;
    assert(shown === '5', `the confirmation said ${shown} samples, want 5`);
    assert(left === 1, `${left} samples left after the cleanup, want 1`);
    clean(problems);
  },
};

const env = { host: process.env.WEB_HOST || '' };
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu'] });
let passed = 0, failed = 0;
for (const name of names) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, acceptDownloads: true });
  const t0 = Date.now();
  try {
    if (!tests[name]) throw new Error('no such test');
    await tests[name](ctx, env);
    passed++;
    console.log(`ok   ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed++;
    console.log(`FAIL ${name} (${Date.now() - t0} ms): ${e.message}`);
  }
  await ctx.close();
}
await browser.close();
writeFileSync(join(out, 'result.txt'), `${passed} passed, ${failed} failed\n`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
