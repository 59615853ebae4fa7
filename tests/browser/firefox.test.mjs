// The web UI's main flows in headless Firefox (Debian's firefox-esr, driven
// over WebDriver BiDi by puppeteer-core) against the same real midwife as
// ui.test.mjs, run by tests/e2e/test_ui.sh after the Chromium run, with the
// environment midwife.mjs describes and:
//   FIREFOX          the browser binary (default /usr/bin/firefox-esr)
//   FIREFOX_PROFILE  an empty directory for its profile (under the test's
//                    temporary directory)
// The checks are the ones that show the UI works in Firefox; ui.test.mjs
// has the rest. Screenshots get a -firefox suffix beside Chromium's.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {test} from 'node:test';

import puppeteer from 'puppeteer-core';

import {BASE, TOKEN, MAC, SHOTS, FACTS, api, bornHookDone, client, hostCall} from './midwife.mjs';

const FIREFOX = process.env.FIREFOX || '/usr/bin/firefox-esr';
const PROFILE = process.env.FIREFOX_PROFILE;
assert.ok(PROFILE, 'FIREFOX_PROFILE');
const TIMEOUT = 20000;
const WAIT = {timeout: TIMEOUT};

// On top of puppeteer's own test profile (which already points update,
// telemetry, safe browsing and remote settings at a dummy host): nothing
// that would fetch from outside on its own.
const PREFS = {
  'app.update.auto': false,
  'app.update.enabled': false,
  'app.normandy.enabled': false,
  'toolkit.telemetry.enabled': false,
  'toolkit.telemetry.unified': false,
  'toolkit.telemetry.archive.enabled': false,
  'toolkit.telemetry.server': '',
  'datareporting.healthreport.uploadEnabled': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'browser.ping-centre.telemetry': false,
  'browser.newtabpage.activity-stream.feeds.telemetry': false,
  'browser.newtabpage.activity-stream.telemetry': false,
  'browser.safebrowsing.update.enabled': false,
  'browser.safebrowsing.provider.mozilla.updateURL': '',
  'browser.safebrowsing.provider.google4.updateURL': '',
  'extensions.blocklist.enabled': false,
  'extensions.systemAddon.update.enabled': false,
  'network.captive-portal-service.enabled': false,
  'network.connectivity-service.enabled': false,
  'network.dns.disablePrefetch': true,
  'network.prefetch-next': false,
  'network.proxy.type': 0,
  'network.trr.mode': 5,
  'messaging-system.rsexperimentloader.enabled': false,
  'browser.region.network.url': '',
  'browser.region.update.enabled': false,
  'geo.provider.network.url': '',
  // The light scheme, as the Chromium run.
  'layout.css.prefers-color-scheme.content-override': 1,
};

// Waits until an element matching SELECTOR has TEXT in its text.
function waitText(page, selector, text, timeout = TIMEOUT) {
  return page.waitForFunction((sel, want) => [...document.querySelectorAll(sel)].some((e) => e.textContent.includes(want)),
    {timeout, polling: 100}, selector, text);
}
const text = (page, selector) => page.$eval(selector, (e) => e.textContent);
const state = (name) => `table.hosts tr[data-host="${name}"] td.c-state`;

async function shot(page, name) {
  await page.screenshot({path: `${SHOTS}/${name}-firefox.png`, fullPage: true});
}

test('the web UI in Firefox', {timeout: 150000}, async (t) => {
  assert.ok(fs.existsSync(FIREFOX), `no Firefox at ${FIREFOX} (run: scripts/deps.sh test)`);
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    userDataDir: PROFILE,
    extraPrefsFirefox: PREFS,
    defaultViewport: {width: 1280, height: 900},
    protocolTimeout: 60000,
  });
  t.after(() => browser.close());
  const version = await browser.version();
  assert.match(version, /^firefox\//i);
  t.diagnostic(`browser ${version}`);
  const page = await browser.newPage();
  const pageErrors = [];
  const consoleErrors = [];
  const urls = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('request', (r) => urls.push(r.url()));

  // node1 starts over whatever the Chromium run left: its next boot gets a
  // fresh token (state discovered); its build is flipped below.
  const re = await api('POST', '/hosts/node1/reinstall', {});
  assert.equal(re.status, 200, JSON.stringify(re.body));
  assert.equal((await api('GET', '/hosts/node1')).body.state, 'discovered');

  await t.test('a wrong token shows the API\'s error; the right one logs in', async () => {
    await page.goto(BASE + '/ui/');
    await page.waitForSelector('#token', WAIT);
    const refused = await api('GET', '/status', undefined, 'not-the-token');
    assert.equal(refused.status, 401);
    await page.locator('#token').fill('not-the-token');
    await page.locator('#login').click();
    await page.waitForSelector('#login-error .error', WAIT);
    assert.equal(await text(page, '#login-error .error'), `401: ${refused.body.error}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('midwife.token')), null);
    await page.locator('#token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.waitForSelector('table.hosts', WAIT);
    // Firefox's fetch() resolves only once a body has begun: the stream
    // says "live" at once because midwife opens it with a comment, not
    // at the first heartbeat 15 s later (10 s leaves room for a busy
    // machine and still tells the two apart).
    await waitText(page, '#conn', 'live', 10000);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('midwife.token')), TOKEN);
  });

  await t.test('the hosts table: both hosts, node1 booting → ready live from the event stream', async () => {
    await page.waitForSelector('table.hosts tr[data-host="spare-1"]', WAIT);
    await waitText(page, state('node1'), 'discovered');
    await page.evaluate(() => { window.noReloadMark = 42; });

    const tok = client('script');
    assert.match(tok, /^[0-9a-f]{64}$/, 'a boot token in the script from the leased address');
    await waitText(page, state('node1'), 'booting');
    const boot = (await api('GET', '/hosts/node1')).body.boot_id;
    let r = hostCall('/api/v1/birth', tok, FACTS);
    assert.equal(r.status, 200, r.body);
    await waitText(page, state('node1'), 'born');
    r = hostCall('/api/v1/report', tok, {step: 'network', status: 'running', message: 'eth0 up'});
    assert.equal(r.status, 200, r.body);
    await waitText(page, state('node1'), 'configuring');
    r = hostCall('/api/v1/report', tok, {step: 'network', status: 'ok'});
    assert.equal(r.status, 200, r.body);
    await bornHookDone('node1', boot);
    r = hostCall('/api/v1/report', tok, {ready: true});
    assert.equal(r.status, 200, r.body);
    await waitText(page, state('node1'), 'ready');
    await waitText(page, 'ul.counts button[data-state="ready"] strong', '1');
    assert.equal(await page.evaluate(() => window.noReloadMark), 42, 'the page did not reload');
    assert.equal((await api('GET', '/hosts/node1')).body.state, 'ready');
    assert.match(await text(page, 'table.hosts tr[data-host="node1"] td.c-addr'), /^10\.77\.9\.\d+$/);
    assert.equal(await text(page, 'table.hosts tr[data-host="node1"] td.c-vlan'), '42');
    await shot(page, 'hosts');
  });

  await t.test('node1\'s page shows the steps of that boot', async () => {
    await page.locator('table.hosts tr[data-host="node1"] th a').click();
    await page.waitForSelector('ol.timeline', WAIT);
    assert.equal(new URL(page.url()).hash, '#/hosts/node1');
    // No DHCP step: a plain client's renewal is not a boot (timeline.js).
    for (const id of ['http', 'birth', 'configuring', 'ready']) {
      await page.waitForSelector(`ol.timeline li[data-step="${id}"][data-status="ok"]`, WAIT);
      assert.match(await text(page, `ol.timeline li[data-step="${id}"] .when`), /\d\d:\d\d:\d\d\.\d{3} · \d/,
        `${id}: time and duration`);
    }
    assert.equal(await page.$eval('ol.timeline li[data-step="tftp"]', (e) => e.dataset.status), 'skipped');
    await waitText(page, '#hooks pre.output', 'born hook saw node1');
    await waitText(page, '#config pre', '"hostname": "node-01"');
    await shot(page, 'host-node1');
  });

  await t.test('changing its build in the UI changes it in the API', async () => {
    const was = (await api('GET', '/hosts/node1')).body.build;
    const want = was === 'lab' ? 'lab2' : 'lab';
    await page.locator('#a-build').fill(want);
    await page.locator('#a-save').click();
    await waitText(page, '.result .ok', 'Saved.');
    assert.equal((await api('GET', '/hosts/node1')).body.build, want);
    await waitText(page, '#identity', want);
  });

  await t.test('an API error is shown as the API said it', async () => {
    const before = (await api('GET', '/hosts/node1')).body.build;
    const want = await api('PATCH', '/hosts/node1', {build: 'no-such-build'});
    assert.equal(want.status, 400);
    await page.locator('#a-build').fill('no-such-build');
    await page.locator('#a-save').click();
    await page.waitForSelector('.result .error', WAIT);
    assert.equal(await text(page, '.result .error'), `400: ${want.body.error}`);
    assert.equal(await page.$eval('.result .error', (e) => e.getAttribute('role')), 'alert');
    assert.equal((await api('GET', '/hosts/node1')).body.build, before, 'the refused change changed nothing');
  });

  await t.test('the token never went into a URL; nothing outside midwife was fetched; no script errors', () => {
    assert.ok(urls.length > 10, `${urls.length} requests seen`);
    for (const u of urls) {
      assert.ok(!u.includes(TOKEN), `token in a URL: ${u}`);
      assert.ok(u.startsWith(BASE + '/') || u.startsWith('data:') || u === 'about:blank', `fetched from elsewhere: ${u}`);
    }
    assert.deepEqual(pageErrors, []);
    assert.deepEqual(consoleErrors, []);
  });
});
