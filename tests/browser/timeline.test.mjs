// The host page's timeline (web/js/timeline.js): events → boots → steps.
// Pure, so plain node runs it: `node --test timeline.test.mjs`.
import assert from 'node:assert/strict';
import {test} from 'node:test';

import {attempts, steps} from '../../web/js/timeline.js';

let id = 0;
const t0 = Date.parse('2026-12-01T10:00:00.000Z');
function ev(atMs, kind, status, data = {}, boot = 0, message = kind) {
  return {id: ++id, time: new Date(t0 + atMs).toISOString(), host: 'node1', mac: '02:00:00:00:00:01',
    boot_id: boot, kind, status, message, data};
}

function byId(st) {
  return Object.fromEntries(st.map((s) => [s.id, s]));
}

const goodBoot = () => [
  ev(0, 'dhcp.discover', 'info', {client: 'pxe'}),
  ev(100, 'dhcp.offer', 'info', {client: 'pxe', address: '10.0.0.5'}),
  ev(300, 'dhcp.ack', 'ok', {client: 'pxe', address: '10.0.0.5'}),
  ev(400, 'tftp.start', 'info', {file: 'undionly.kpxe'}),
  ev(900, 'tftp.done', 'ok', {file: 'undionly.kpxe', role: 'program'}),
  ev(1500, 'token.issued', 'info', {}, 1),
  ev(1500, 'http.script', 'ok', {kind: 'linux'}, 1),
  ev(2000, 'http.file', 'ok', {role: 'kernel', name: 'vmlinuz'}, 1),
  ev(2500, 'http.file', 'ok', {role: 'module', name: 'initrd.img'}, 1),
  ev(9000, 'birth.accepted', 'ok', {address: '10.0.0.5'}, 1),
  ev(9000, 'state.changed', 'info', {from: 'booting', to: 'born'}, 1),
  ev(9500, 'report.step', 'info', {step: 'network', status: 'running'}, 1),
  ev(9500, 'state.changed', 'info', {from: 'born', to: 'configuring'}, 1),
  ev(12000, 'report.step', 'ok', {step: 'network', status: 'ok'}, 1),
  ev(15000, 'report.ready', 'ok', {}, 1),
  ev(15000, 'state.changed', 'info', {from: 'configuring', to: 'ready'}, 1),
];

test('a whole boot: every step ok, with its start and duration', () => {
  const list = attempts(goodBoot());
  assert.equal(list.length, 1);
  assert.equal(list[0].boot_id, 1);
  const s = byId(steps(list[0]));
  for (const k of ['dhcp', 'tftp', 'http', 'birth', 'configuring', 'ready']) assert.equal(s[k].status, 'ok', k);
  assert.equal(s.dhcp.duration_ms, 300);
  assert.equal(s.tftp.duration_ms, 500);
  assert.equal(s.http.duration_ms, 500); // script → kernel
  assert.equal(s.configuring.start, new Date(t0 + 9000).toISOString()); // from the birth
  assert.equal(s.configuring.duration_ms, 6000); // birth → ready
});

test('a failed report is the configuring step in red, with the reason', () => {
  const evs = goodBoot().slice(0, 13);
  // As midwife records it (docs/events.md): {step, error}.
  evs.push(ev(13000, 'report.failed', 'fail', {step: 'storage', error: 'no disk matches'}, 1, 'agent failed at storage: no disk matches'));
  evs.push(ev(13000, 'state.changed', 'fail', {from: 'configuring', to: 'failed'}, 1));
  const s = byId(steps(attempts(evs)[0]));
  assert.equal(s.configuring.status, 'fail');
  assert.equal(s.configuring.reason, 'no disk matches');
  assert.equal(s.ready.status, 'waiting');
  assert.equal(s.birth.status, 'ok');
});

test('a TFTP timeout followed by a whole transfer is not a failure', () => {
  const evs = [
    ev(0, 'dhcp.ack', 'ok', {client: 'pxe'}),
    ev(100, 'tftp.start', 'info'),
    ev(6000, 'tftp.abort', 'fail', {end: 'timeout', error: 'timed out after 6 retries'}),
    ev(6100, 'tftp.start', 'info'),
    ev(6500, 'tftp.done', 'ok'),
  ];
  const s = byId(steps(attempts(evs)[0]));
  assert.equal(s.tftp.status, 'ok');
  const bad = byId(steps(attempts(evs.slice(0, 3))[0]));
  assert.equal(bad.tftp.status, 'fail');
  assert.equal(bad.tftp.reason, 'timed out after 6 retries');
  assert.equal(bad.http.status, 'waiting');
});

test('UEFI HTTP Boot has no TFTP: skipped, not waiting', () => {
  const evs = [
    ev(0, 'dhcp.ack', 'ok', {client: 'http'}),
    ev(500, 'http.program', 'ok', {file: 'snponly.efi'}),
    ev(900, 'token.issued', 'info', {}, 2),
    ev(900, 'http.script', 'ok', {kind: 'linux'}, 2),
  ];
  const s = byId(steps(attempts(evs)[0]));
  assert.equal(s.tftp.status, 'skipped');
  assert.equal(s.http.status, 'running'); // script served, no kernel yet
  assert.equal(s.birth.status, 'waiting');
});

test('a reboot after the kernel starts a new attempt; a new boot id too', () => {
  const evs = [...goodBoot(),
    ev(60000, 'dhcp.discover', 'info', {client: 'pxe'}),
    ev(60100, 'dhcp.ack', 'ok', {client: 'pxe'}),
    ev(61000, 'token.issued', 'info', {}, 2),
    ev(61000, 'http.script', 'ok', {kind: 'linux'}, 2),
    ev(61500, 'birth.refused', 'fail', {why: 'replayed', error: 'token replayed'}, 2)];
  const list = attempts(evs);
  assert.equal(list.length, 2);
  assert.equal(list[1].boot_id, 2);
  const s = byId(steps(list[1]));
  assert.equal(s.birth.status, 'fail');
  assert.equal(s.birth.reason, 'token replayed');
  assert.equal(s.tftp.status, 'skipped');
});

test('a plain DHCP renewal does not start an attempt', () => {
  const evs = [...goodBoot(), ev(100000, 'dhcp.discover', 'info', {client: 'plain'})];
  assert.equal(attempts(evs).length, 1);
});
