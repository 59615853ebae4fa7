// One live event stream for the whole UI: the recent events are loaded
// once, then the stream follows from the newest; pages subscribe to it.
// Also the events page (#/events), a live feed with filters.
import {EventStream, get} from './api.js';
import {fill, fmtClock, fmtTime, h} from './dom.js';

const KEEP = 2000;
const recent = [];               // oldest first, at most KEEP
const lastByHost = new Map();    // host name → its newest event
const addrByHost = new Map();    // host name → the address it last leased or was born at
const subscribers = new Set();
let stream = null;
let streamState = 'stopped';
const stateListeners = new Set();

export function lastEventOf(name) {
  return lastByHost.get(name) || null;
}

export function seenAddressOf(name) {
  return addrByHost.get(name) || '';
}

export function recentEvents() {
  return recent;
}

export function connectionState() {
  return streamState;
}

export function onConnectionState(fn) {
  stateListeners.add(fn);
  return () => stateListeners.delete(fn);
}

export function subscribe(fn) {
  subscribers.add(fn);
  return () => subscribers.delete(fn);
}

function remember(ev) {
  recent.push(ev);
  if (recent.length > KEEP) recent.splice(0, recent.length - KEEP);
  if (!ev.host) return;
  lastByHost.set(ev.host, ev);
  const a = ev.data && ev.data.address;
  if ((ev.kind === 'dhcp.ack' || ev.kind === 'birth.accepted') && typeof a === 'string' && a !== '0.0.0.0') {
    addrByHost.set(ev.host, a);
  }
}

export async function startEvents() {
  stopEvents();
  recent.length = 0;
  lastByHost.clear();
  addrByHost.clear();
  const page = await get('/events?limit=1000');
  for (const ev of page.items) remember(ev);
  const after = page.items.length ? page.items[page.items.length - 1].id : 0;
  stream = new EventStream({
    after,
    onEvent(ev) {
      remember(ev);
      for (const fn of subscribers) {
        try {
          fn(ev);
        } catch (e) {
          console.error(e);
        }
      }
    },
    onState(state) {
      streamState = state;
      for (const fn of stateListeners) fn(state);
    },
  }).start();
}

export function stopEvents() {
  if (stream) stream.stop();
  stream = null;
}

// ---- the events page ------------------------------------------------------

// compact: one host's events, without the host and MAC columns.
export function eventRow(ev, compact = false) {
  return h('tr', {class: 'ev-' + ev.status},
    h('td.nowrap', h('time', {datetime: ev.time}, compact ? fmtClock(ev.time) : fmtTime(ev.time))),
    compact ? '' : h('td', ev.host ? h('a', {href: '#/hosts/' + encodeURIComponent(ev.host)}, ev.host) : ''),
    compact ? '' : h('td.mono', ev.mac || ''),
    h('td.mono', ev.kind),
    h('td', h('span.status', {class: 'st-' + ev.status}, ev.status)),
    h('td.msg', ev.message));
}

export function eventTable(caption, compact = false) {
  const body = h('tbody');
  const cols = compact ? ['time', 'kind', 'status', 'message'] : ['time', 'host', 'MAC', 'kind', 'status', 'message'];
  const table = h('table.events',
    h('caption.sr-only', caption),
    h('thead', h('tr', cols.map((c) => h('th', {scope: 'col'}, c)))),
    body);
  return {table, body};
}

export function renderEvents(main) {
  const filter = h('input#ev-filter', {type: 'search', placeholder: 'kind, host, MAC or words', autocomplete: 'off'});
  const status = h('select#ev-status',
    h('option', {value: ''}, 'any'), h('option', {value: 'fail'}, 'fail'),
    h('option', {value: 'ok'}, 'ok'), h('option', {value: 'info'}, 'info'));
  const pause = h('button#ev-pause', {type: 'button', 'aria-pressed': 'false'}, 'Pause');
  const count = h('span.muted', {'aria-live': 'polite'});
  const {table, body} = eventTable('Events, newest first');
  let paused = false;
  let held = 0;

  const matches = (ev) => {
    const want = status.value;
    if (want && ev.status !== want) return false;
    const q = filter.value.trim().toLowerCase();
    if (!q) return true;
    return [ev.kind, ev.host, ev.mac, ev.message].some((s) => s && s.toLowerCase().includes(q));
  };
  const redraw = () => {
    const shown = recent.filter(matches).slice(-500).reverse();
    fill(body, shown.map((e) => eventRow(e)));
    held = 0;
    count.textContent = `${shown.length} shown`;
  };
  filter.addEventListener('input', redraw);
  status.addEventListener('change', redraw);
  pause.addEventListener('click', () => {
    paused = !paused;
    pause.setAttribute('aria-pressed', String(paused));
    pause.textContent = paused ? 'Resume' : 'Pause';
    if (!paused) redraw();
  });

  fill(main,
    h('h1', 'Events'),
    h('div.toolbar',
      h('span.field', h('label', {for: 'ev-filter'}, 'Filter'), filter),
      h('span.field', h('label', {for: 'ev-status'}, 'Status'), status),
      pause, count),
    h('div.scroll', table));
  redraw();
  return subscribe((ev) => {
    if (paused) {
      held++;
      count.textContent = `paused, ${held} new`;
      return;
    }
    if (!matches(ev)) return;
    body.prepend(eventRow(ev));
    while (body.rows.length > 500) body.deleteRow(-1);
    count.textContent = `${body.rows.length} shown`;
  });
}
