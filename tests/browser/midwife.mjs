// What the browser tests share (ui.test.mjs in Chromium, firefox.test.mjs
// in Firefox): the environment tests/e2e/test_ui.sh gives them, the API as
// the CLI would call it, and node1's machine.
//   MIDWIFE_URL     http://ADDRESS:PORT of the server
//   MIDWIFE_TOKEN   its admin token
//   UI_CLIENT       a command that acts as node1's machine from its own
//                   network: "script" → boot token; "call M PATH TOKEN BODY"
//   UI_MAC          node1's MAC
//   UI_SCREENSHOTS  where the screenshots go
import assert from 'node:assert/strict';
import {execFileSync} from 'node:child_process';

export const BASE = process.env.MIDWIFE_URL;
export const TOKEN = process.env.MIDWIFE_TOKEN;
export const CLIENT = process.env.UI_CLIENT;
export const MAC = process.env.UI_MAC;
export const SHOTS = process.env.UI_SCREENSHOTS;
assert.ok(BASE && TOKEN && CLIENT && MAC && SHOTS, 'MIDWIFE_URL, MIDWIFE_TOKEN, UI_CLIENT, UI_MAC, UI_SCREENSHOTS');

export const sleep = (ms) => new Promise((res) => setTimeout(res, ms));

// The API as the CLI would call it, to check what the UI says and did.
export async function api(method, path, body, token = TOKEN) {
  const res = await fetch(BASE + '/api/v1' + path, {
    method,
    headers: {Authorization: 'Bearer ' + token, 'Content-Type': 'application/json'},
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return {status: res.status, body: text ? JSON.parse(text) : null};
}

// node1's machine, from its own namespace (its leased address).
export function client(...args) {
  return execFileSync(CLIENT, args, {encoding: 'utf8', timeout: 20000}).trim();
}
export function hostCall(path, token, body) {
  const out = client('call', 'POST', path, token, JSON.stringify(body));
  const sp = out.indexOf(' ');
  return {status: Number(out.slice(0, sp)), body: out.slice(sp + 1)};
}

// The facts node1's agent posts at birth.
export const FACTS = {macs: [MAC], boot_mac: MAC, uuid: '4c4c4544-0000-1111-2222-777700000001', serial: 'SER-UI-1',
  vendor: 'QEMU', model: 'Standard PC', cpus: 2, memory_bytes: 1073741824,
  nics: [{name: 'eth0', mac: MAC, driver: 'virtio_net', link: true, speed_mbps: 1000}]};

// The born hook runs after the birth; the host may go ready only after it.
// Waits (at most 10 s) for a done hook:born operation of boot BOOT_ID
// (any boot when it is not given).
export async function bornHookDone(host, bootId) {
  for (let i = 0; i < 50; i++) {
    const ops = await api('GET', `/hosts/${host}/operations`);
    if (ops.body.items.some((o) => o.kind === 'hook:born' && o.status === 'done' &&
      (bootId === undefined || o.boot_id === bootId))) return;
    await sleep(200);
  }
  throw new Error(`no done born hook for ${host} within 10 s`);
}
