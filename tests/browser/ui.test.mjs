// The web UI in headless chromium (Debian's, through playwright-core's
// executablePath) against a real midwife, run by tests/e2e/test_ui.sh with
// the environment midwife.mjs describes and:
//   UI_CONTROL      a directory: the file "restart" there asks the test
//                   script to restart midwife; it answers with "restarted"
//   CHROMIUM        the browser binary (default /usr/bin/chromium)
import assert from 'node:assert/strict';
import fs from 'node:fs';
import {test} from 'node:test';

import {chromium} from 'playwright-core';

import {BASE, TOKEN, MAC, SHOTS, FACTS, api, bornHookDone, client, hostCall} from './midwife.mjs';

const CONTROL = process.env.UI_CONTROL;
assert.ok(CONTROL, 'UI_CONTROL');
const WAIT = {timeout: 20000};

async function restartMidwife() {
  fs.rmSync(`${CONTROL}/restarted`, {force: true});
  fs.writeFileSync(`${CONTROL}/restart`, '');
  for (let i = 0; i < 300; i++) {
    if (fs.existsSync(`${CONTROL}/restarted`)) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('midwife was not restarted within 30 s');
}

async function shot(page, name) {
  await page.screenshot({path: `${SHOTS}/${name}.png`, fullPage: true});
}

// Every form control has a label (for=, aria-label or a wrapping label).
async function unlabelled(page) {
  return page.evaluate(() => [...document.querySelectorAll('input, select, textarea')]
    .filter((el) => el.type !== 'hidden' && !el.labels?.length && !el.getAttribute('aria-label') &&
      !el.getAttribute('aria-labelledby'))
    .map((el) => el.id || el.name || el.outerHTML.slice(0, 60)));
}

let boot2 = ''; // the token of node1's second boot

// Text whose colour is below WCAG AA contrast against what is behind it
// (4.5:1, 3:1 for large or bold-large text), as [text, ratio] pairs.
async function lowContrast(page) {
  return page.evaluate(() => {
    const rgba = (s) => (s.match(/[\d.]+/g) || []).map(Number);
    const lum = ([r, g, b]) => {
      const f = (v) => ((v /= 255) <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
      return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
    };
    const background = (el) => {
      for (let e = el; e; e = e.parentElement) {
        const c = rgba(getComputedStyle(e).backgroundColor);
        if (c.length === 3 || (c.length === 4 && c[3] > 0.5)) return c.slice(0, 3);
      }
      return rgba(getComputedStyle(document.documentElement).backgroundColor).slice(0, 3);
    };
    const bad = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!n.textContent.trim() || !el || !el.getClientRects().length || el.closest('[hidden], .sr-only, :disabled')) continue;
      const st = getComputedStyle(el);
      if (st.visibility === 'hidden' || Number(st.opacity) < 1) continue;
      const fg = rgba(st.color);
      if (fg.length === 4 && fg[3] === 0) continue;
      const bg = background(el);
      const [a, b] = [lum(fg), lum(bg)].sort((x, y) => y - x);
      const ratio = (a + 0.05) / (b + 0.05);
      const size = parseFloat(st.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(st.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) bad.push([n.textContent.trim().slice(0, 40), Math.round(ratio * 100) / 100]);
    }
    return bad;
  });
}

const rowState = (page, name) => page.locator(`table.hosts tr[data-host="${name}"] td.c-state`);

test('the web UI against a real midwife', {timeout: 150000}, async (t) => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: ['--no-proxy-server'],
  });
  const context = await browser.newContext({viewport: {width: 1280, height: 900}, colorScheme: 'light'});
  const page = await context.newPage();
  const pageErrors = [];
  const urls = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('request', (r) => urls.push(r.url()));
  t.after(() => browser.close());

  await t.test('a wrong token shows the API\'s error; the right one logs in', async () => {
    await page.goto(BASE + '/ui/');
    await page.locator('#token').waitFor(WAIT);
    assert.deepEqual(await unlabelled(page), []);
    const refused = await api('GET', '/status', undefined, 'not-the-token');
    assert.equal(refused.status, 401);
    await page.fill('#token', 'not-the-token');
    await page.click('#login');
    const err = page.locator('#login-error .error');
    await err.waitFor(WAIT);
    assert.equal(await err.textContent(), `401: ${refused.body.error}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('midwife.token')), null);
    await shot(page, 'login');
    // By keyboard: the token field has the focus, Enter submits.
    await page.locator('#token').focus();
    await page.keyboard.type(TOKEN);
    await page.keyboard.press('Enter');
    await page.locator('table.hosts').waitFor(WAIT);
    await page.locator('#conn', {hasText: 'live'}).waitFor(WAIT);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('midwife.token')), TOKEN);
    assert.equal(await page.evaluate(() => localStorage.length), 0);
  });

  await t.test('the hosts table shows node1 going booting → ready as it happens', async () => {
    await rowState(page, 'node1').waitFor(WAIT);
    await page.locator('table.hosts tr[data-host="spare-1"]').waitFor(WAIT);
    assert.deepEqual(await unlabelled(page), []);
    // A mark on the window: had the page reloaded, it would be gone.
    await page.evaluate(() => { window.noReloadMark = 42; });
    const before = (await rowState(page, 'node1').textContent()).trim();
    assert.notEqual(before, 'ready');

    const tok = client('script');
    assert.match(tok, /^[0-9a-f]{64}$/, 'a boot token in the script from the leased address');
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'booting'}).waitFor(WAIT);
    await page.locator('ul.counts button[data-state="booting"] strong', {hasText: '1'}).waitFor(WAIT);

    let r = hostCall('/api/v1/birth', tok, FACTS);
    assert.equal(r.status, 200, r.body);
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'born'}).waitFor(WAIT);
    r = hostCall('/api/v1/report', tok, {step: 'network', status: 'running', message: 'eth0 up'});
    assert.equal(r.status, 200, r.body);
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'configuring'}).waitFor(WAIT);
    r = hostCall('/api/v1/report', tok, {step: 'network', status: 'ok'});
    assert.equal(r.status, 200, r.body);
    await bornHookDone('node1');
    r = hostCall('/api/v1/report', tok, {ready: true});
    assert.equal(r.status, 200, r.body);
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'ready'}).waitFor(WAIT);
    await page.locator('ul.counts button[data-state="ready"] strong', {hasText: '1'}).waitFor(WAIT);
    await page.locator('table.hosts tr[data-host="node1"] td.c-last', {hasText: /report\.ready|state\.changed/}).waitFor(WAIT);
    assert.equal(await page.evaluate(() => window.noReloadMark), 42, 'the page did not reload');
    assert.equal((await api('GET', '/hosts/node1')).body.state, 'ready');
    // The born address and VLAN are in the row.
    const row = page.locator('table.hosts tr[data-host="node1"]');
    assert.match(await row.locator('td.c-addr').textContent(), /^10\.77\.9\.\d+$/);
    assert.equal(await row.locator('td.c-vlan').textContent(), '42');
    await shot(page, 'hosts');
    assert.deepEqual(await lowContrast(page), [], 'contrast of the hosts page');
  });

  await t.test('filters: by state, by label, by search', async () => {
    const rows = page.locator('table.hosts tbody tr[data-host]');
    const only = async (names) => {
      for (const n of names) await rows.and(page.locator(`[data-host="${n}"]`)).waitFor(WAIT);
      await page.waitForFunction((k) => document.querySelectorAll('table.hosts tbody tr[data-host]').length === k,
        names.length, WAIT);
    };
    await only(['node1', 'spare-1']);
    await page.selectOption('#f-state', 'ready');
    await only(['node1']);
    await page.locator('ul.counts button[data-state="ready"][aria-pressed="true"]').waitFor(WAIT);
    await page.selectOption('#f-state', '');
    await page.fill('#f-label', 'rack=r8');
    await only(['spare-1']);
    await page.fill('#f-label', 'rack');
    await only(['node1', 'spare-1']);
    await page.fill('#f-label', '');
    await page.fill('#f-q', MAC.slice(-5));
    await only(['node1']);
    await page.fill('#f-q', '');
    await page.locator('ul.counts button[data-state="ready"]').click(); // the count is a filter too
    await only(['node1']);
    await page.locator('ul.counts button', {hasText: 'all'}).click();
    await only(['node1', 'spare-1']);
  });

  await t.test('the narrow window: the table scrolls in its box, the page does not', async () => {
    await page.setViewportSize({width: 420, height: 900});
    await page.waitForTimeout(200);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 1, `the page is ${overflow}px wider than a 420px window`);
    await shot(page, 'hosts-narrow');
    await page.setViewportSize({width: 1280, height: 900});
  });

  await t.test('node1\'s page: the timeline of its boot, diagnosis, document, hook output', async () => {
    await page.click('table.hosts tr[data-host="node1"] th a');
    await page.locator('ol.timeline').waitFor(WAIT);
    assert.equal(new URL(page.url()).hash, '#/hosts/node1');
    assert.deepEqual(await unlabelled(page), []);
    const step = (id) => page.locator(`ol.timeline li[data-step="${id}"]`);
    for (const id of ['dhcp', 'http', 'birth', 'configuring', 'ready']) {
      await page.locator(`ol.timeline li[data-step="${id}"][data-status="ok"]`).waitFor(WAIT);
      assert.match(await step(id).locator('.when').textContent(), /\d\d:\d\d:\d\d\.\d{3} · \d/, `${id}: time and duration`);
    }
    // No TFTP on this boot (curl asked for the script over HTTP).
    assert.equal(await step('tftp').getAttribute('data-status'), 'skipped');
    await page.locator('#diagnosis li.finding-ready').waitFor(WAIT);
    await page.locator('#config pre', {hasText: '"hostname": "node-01"'}).waitFor(WAIT);
    await page.locator('#hooks pre.output', {hasText: 'born hook saw node1'}).waitFor(WAIT);
    await page.locator('#identity', {hasText: 'SER-UI-1'}).waitFor(WAIT);
    await shot(page, 'host-node1');
    assert.deepEqual(await lowContrast(page), [], 'contrast, light scheme');
    await page.emulateMedia({colorScheme: 'dark'});
    assert.deepEqual(await lowContrast(page), [], 'contrast, dark scheme');
    await shot(page, 'host-node1-dark');
    await page.emulateMedia({colorScheme: 'light'});
  });

  await t.test('changing its build in the UI changes it in the API', async () => {
    assert.equal((await api('GET', '/hosts/node1')).body.build, 'lab');
    await page.fill('#a-build', 'lab2');
    await page.click('#a-save');
    await page.locator('.result .ok', {hasText: 'Saved.'}).waitFor(WAIT);
    assert.equal((await api('GET', '/hosts/node1')).body.build, 'lab2');
    await page.locator('#identity', {hasText: 'lab2'}).waitFor(WAIT);
  });

  await t.test('an API error is shown as the API said it', async () => {
    const want = await api('PATCH', '/hosts/node1', {build: 'no-such-build'});
    assert.equal(want.status, 400);
    await page.fill('#a-build', 'no-such-build');
    await page.click('#a-save');
    const err = page.locator('.result .error');
    await err.waitFor(WAIT);
    assert.equal(await err.textContent(), `400: ${want.body.error}`);
    assert.equal(await err.getAttribute('role'), 'alert');
    assert.equal((await api('GET', '/hosts/node1')).body.build, 'lab2', 'the refused change changed nothing');
    // A label edit goes through the same API.
    await page.fill('#a-labels', 'rack=r9\nrole=worker');
    await page.click('#a-kv-save');
    await page.locator('.result .ok', {hasText: 'Saved.'}).nth(0).waitFor(WAIT);
    for (let i = 0; i < 20 && (await api('GET', '/hosts/node1')).body.labels.role !== 'worker'; i++) {
      await new Promise((res) => setTimeout(res, 100));
    }
    assert.deepEqual((await api('GET', '/hosts/node1')).body.labels, {rack: 'r9', role: 'worker'});
  });

  await t.test('builds: versions, modules with sizes and checksums, and who uses them', async () => {
    await page.click('nav a[href="#/builds"]');
    const lab2 = page.locator('section[data-build="lab2"]');
    await lab2.waitFor(WAIT);
    await lab2.locator('summary').first().click();
    await lab2.locator('td.hash').first().waitFor(WAIT);
    const full = await api('GET', '/builds/lab2');
    const kernel = full.body.files.find((f) => f.role === 'kernel');
    await lab2.locator('td.hash', {hasText: kernel.sha256}).waitFor(WAIT);
    await lab2.locator('a[href="#/hosts/node1"]').waitFor(WAIT);
    await shot(page, 'builds');
    await page.click('nav a[href="#/profiles"]');
    await page.locator('pre.json', {hasText: 'node-${index}'}).waitFor(WAIT);
    await shot(page, 'profiles');
  });

  await t.test('the rule tester names the matching rule and why', async () => {
    await page.click('nav a[href="#/rules"]');
    await page.locator('tr[data-rule="rack9-dell"]').waitFor(WAIT);
    assert.deepEqual(await unlabelled(page), []);
    const probe = {mac: '02:00:00:77:09:99', vendor: 'Dell Inc.'};
    const want = await api('POST', '/rules/test', probe);
    assert.equal(want.body.match, 'rack9-dell');
    await page.fill('#t-mac', probe.mac);
    await page.fill('#t-vendor', probe.vendor);
    await page.click('#t-run');
    await page.locator('#t-match', {hasText: 'rack9-dell'}).waitFor(WAIT);
    const hit = want.body.trace.find((x) => x.matched);
    const li = page.locator('ol.trace li.matched');
    assert.equal(await li.getAttribute('data-rule'), 'rack9-dell');
    assert.ok((await li.textContent()).includes(hit.why), `the trace says why: ${hit.why}`);
    await shot(page, 'rules');
    assert.deepEqual(await lowContrast(page), [], 'contrast of the rules page');
    // Another vendor falls through to the catch-all; the first rule says why not.
    await page.fill('#t-vendor', 'HPE');
    await page.click('#t-run');
    await page.locator('#t-match', {hasText: 'catch-all'}).waitFor(WAIT);
    await page.locator('ol.trace li.missed[data-rule="rack9-dell"]').waitFor(WAIT);
    // An invalid MAC: the API's 400, as it said it.
    const bad = await api('POST', '/rules/test', {mac: 'nope'});
    await page.fill('#t-mac', 'nope');
    await page.click('#t-run');
    await page.locator('#t-result .error', {hasText: bad.body.error}).waitFor(WAIT);
  });

  await t.test('the live event feed and the server status', async () => {
    await page.click('nav a[href="#/events"]');
    await page.locator('table.events tr.ev-ok', {hasText: 'report.ready'}).first().waitFor(WAIT);
    // A new event arrives without a reload: node1 boots again.
    boot2 = client('script');
    assert.match(boot2, /^[0-9a-f]{64}$/);
    await page.locator('table.events tbody tr', {hasText: 'token.issued'}).first().waitFor(WAIT);
    await page.fill('#ev-filter', 'http.script');
    const kinds = await page.locator('table.events tbody td:nth-child(4)').allTextContents();
    assert.ok(kinds.length > 0 && kinds.every((k) => k === 'http.script'), kinds.join(','));
    await page.fill('#ev-filter', '');
    await shot(page, 'events');
    await page.click('nav a[href="#/status"]');
    await page.locator('#s-listeners').waitFor(WAIT);
    await page.locator('table', {hasText: 'HTTP'}).locator('td', {hasText: '8080'}).first().waitFor(WAIT);
    await page.locator('table', {hasText: 'bound'}).locator('th', {hasText: 'lab'}).waitFor(WAIT);
    await shot(page, 'status');
    assert.deepEqual(await lowContrast(page), [], 'contrast of the status page');
  });

  await t.test('a failed boot: the host turns failed live, its timeline step is red with the reason', async () => {
    await page.click('nav a[href="#/hosts"]');
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'booting'}).waitFor(WAIT);
    let r = hostCall('/api/v1/birth', boot2, {macs: [MAC], serial: 'SER-UI-1'});
    assert.equal(r.status, 200, r.body);
    const why = 'mount /mnt/iso: connection refused';
    r = hostCall('/api/v1/report', boot2, {failed: why, step: 'storage'});
    assert.equal(r.status, 200, r.body);
    await page.locator('table.hosts tr[data-host="node1"] td.c-state', {hasText: 'failed'}).waitFor(WAIT);
    await page.locator('ul.counts button[data-state="failed"] strong', {hasText: '1'}).waitFor(WAIT);
    await page.click('table.hosts tr[data-host="node1"] th a');
    const failed = page.locator('ol.timeline li[data-step="configuring"][data-status="fail"]');
    await failed.waitFor(WAIT);
    assert.ok((await failed.locator('.why').textContent()).includes(why));
    const red = await failed.locator('h3').evaluate((el) => getComputedStyle(el).color);
    assert.equal(red, 'rgb(164, 14, 38)', 'a failed step is in the failure colour');
    assert.equal(await page.locator('ol.timeline li[data-step="ready"]').getAttribute('data-status'), 'waiting');
    await page.locator('#diagnosis li.finding-agent-failed', {hasText: 'storage'}).waitFor(WAIT);
    await shot(page, 'host-node1-failed');
    // The first boot is still there, all ok.
    assert.equal(await page.locator('#t-boot option').count(), 2);
    await page.selectOption('#t-boot', {index: 0});
    await page.locator('ol.timeline li[data-step="ready"][data-status="ok"]').waitFor(WAIT);
  });

  await t.test('forget (retire) and reinstall a host from its page', async () => {
    await page.goto(BASE + '/ui/#/hosts/spare-1');
    await page.locator('#a-retire').waitFor(WAIT);
    page.once('dialog', (d) => d.accept());
    await page.click('#a-retire');
    await page.locator('.hosthead .badge', {hasText: 'retired'}).waitFor(WAIT);
    assert.equal((await api('GET', '/hosts/spare-1')).body.state, 'retired');
    await page.click('#a-reinstall');
    await page.locator('.hosthead .badge', {hasText: 'discovered'}).waitFor(WAIT);
    assert.equal((await api('GET', '/hosts/spare-1')).body.state, 'discovered');
    const ops = await api('GET', '/hosts/spare-1/operations');
    assert.ok(ops.body.items.some((o) => o.kind === 'reinstall'), JSON.stringify(ops.body));
    // Declining the confirmation does nothing.
    page.once('dialog', (d) => d.dismiss());
    await page.click('#a-retire');
    await page.waitForTimeout(300);
    assert.equal((await api('GET', '/hosts/spare-1')).body.state, 'discovered');
  });

  await t.test('the event stream comes back after midwife restarts, nothing missed or repeated', async () => {
    await page.click('nav a[href="#/events"]');
    await page.locator('table.events').waitFor(WAIT);
    await page.locator('#conn', {hasText: 'live'}).waitFor(WAIT);
    await page.evaluate(() => {
      window.connStates = [];
      const el = document.getElementById('conn');
      new MutationObserver(() => window.connStates.push(el.textContent)).observe(el, {childList: true, characterData: true, subtree: true});
    });
    const rows = (text) => page.locator('table.events tbody tr', {hasText: text}).count();
    const readyBefore = await rows('agent reported ready');
    assert.ok(readyBefore >= 1);
    // Hold the stream's reconnection until an event has happened that it
    // did not see: it must come from the replay (?after=LAST_ID).
    let open;
    const gate = new Promise((res) => { open = res; });
    const resumed = [];
    await page.route((u) => u.pathname === '/api/v1/events', async (route) => {
      if ((route.request().headers().accept || '').includes('text/event-stream')) {
        resumed.push(route.request().url());
        await gate;
      }
      await route.continue();
    });
    await restartMidwife();
    await page.locator('#conn', {hasText: 'reconnecting'}).waitFor(WAIT);
    const tok = client('script'); // a new boot while the UI is cut off
    assert.match(tok, /^[0-9a-f]{64}$/);
    const boot = (await api('GET', '/hosts/node1')).body.boot_id;
    const issued = (await api('GET', '/events?kind=token.issued&limit=1')).body.items[0];
    assert.equal(issued.boot_id, boot);
    open();
    await page.locator('table.events tbody tr', {hasText: `boot ${boot}: token issued`}).waitFor({timeout: 30000});
    const after = Number(new URL(resumed[resumed.length - 1]).searchParams.get('after'));
    assert.ok(after > 0 && after < issued.id, `resumed after ${after}, before the missed event ${issued.id}`);
    await page.unroute((u) => u.pathname === '/api/v1/events');
    await page.locator('#conn', {hasText: 'live'}).waitFor(WAIT);
    const states = await page.evaluate(() => window.connStates);
    assert.ok(states.includes('reconnecting…'), `the stream was seen to drop: ${states.join(', ')}`);
    assert.equal(await rows(`boot ${boot}: token issued`), 1, 'the new event once');
    assert.equal(await rows('agent reported ready'), readyBefore, 'no event repeated');
  });

  await t.test('a token the API refuses returns to the login form with its message', async () => {
    const want = await api('GET', '/hosts', undefined, 'stale');
    assert.equal(want.status, 401);
    // Refused while using the UI (the token was rotated, say).
    await page.evaluate(() => sessionStorage.setItem('midwife.token', 'stale'));
    await page.click('nav a[href="#/builds"]');
    const err = page.locator('#login-error .error');
    await err.waitFor(WAIT);
    assert.equal(await err.textContent(), `401: ${want.body.error}`);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('midwife.token')), null);
    assert.ok(await page.locator('#nav').isHidden());
    // Refused on opening the page.
    await page.evaluate(() => sessionStorage.setItem('midwife.token', 'stale'));
    await page.reload();
    await err.waitFor(WAIT);
    assert.equal(await err.textContent(), `401: ${want.body.error}`);
  });

  await t.test('the token never went into a URL; nothing outside midwife was fetched; no script errors', () => {
    assert.ok(urls.length > 10);
    for (const u of urls) {
      assert.ok(!u.includes(TOKEN), `token in a URL: ${u}`);
      assert.ok(u.startsWith(BASE + '/') || u.startsWith('data:'), `fetched from elsewhere: ${u}`);
    }
    assert.deepEqual(pageErrors, []);
  });
});
