// #/hosts: every host, live. The list is loaded once; events then move
// rows (a state.changed updates the row at once and the record is read
// again), so nothing reloads.
import {enc, getAll, get} from './api.js';
import {clear, errorBox, fill, fmtDuration, h, stateBadge} from './dom.js';
import {lastEventOf, seenAddressOf, subscribe} from './events.js';

export const STATES = ['unknown', 'discovered', 'booting', 'born', 'configuring', 'ready', 'failed', 'retired'];

// Filters survive leaving and coming back to the page.
const filters = {state: '', build: '', label: '', q: ''};

export function hostMatches(host, f) {
  if (f.state && host.state !== f.state) return false;
  if (f.build && host.build.split('@')[0] !== f.build) return false;
  if (f.label) {
    const i = f.label.indexOf('=');
    const key = (i < 0 ? f.label : f.label.slice(0, i)).trim();
    const labels = host.labels || {};
    if (!(key in labels)) return false;
    if (i >= 0 && labels[key] !== f.label.slice(i + 1).trim()) return false;
  }
  if (f.q) {
    const q = f.q.toLowerCase();
    const fields = [host.name, host.uuid, host.serial, host.address, ...(host.macs || [])];
    if (!fields.some((s) => s && s.toLowerCase().includes(q))) return false;
  }
  return true;
}

export async function renderHosts(main) {
  const hosts = new Map();
  const counts = h('ul.counts', {'aria-label': 'Hosts per state'});
  const stateSel = h('select#f-state', h('option', {value: ''}, 'any state'),
    STATES.map((s) => h('option', {value: s}, s)));
  const buildSel = h('select#f-build', h('option', {value: ''}, 'any build'));
  const label = h('input#f-label', {type: 'text', placeholder: 'rack=r1', autocomplete: 'off'});
  const search = h('input#f-q', {type: 'search', placeholder: 'name, MAC, UUID, serial', autocomplete: 'off'});
  const shown = h('span.muted', {'aria-live': 'polite'});
  const body = h('tbody');
  const table = h('table.hosts',
    h('caption.sr-only', 'Hosts'),
    h('thead', h('tr', ['name', 'state', 'build', 'profile', 'addresses', 'VLAN', 'last event', 'in state']
      .map((c) => h('th', {scope: 'col'}, c)))),
    body);
  const msg = h('div');
  stateSel.value = filters.state;
  label.value = filters.label;
  search.value = filters.q;

  fill(main,
    h('h1', 'Hosts'),
    counts,
    h('form.toolbar', {role: 'search', on: {submit: (e) => e.preventDefault()}},
      h('span.field', h('label', {for: 'f-state'}, 'State'), stateSel),
      h('span.field', h('label', {for: 'f-build'}, 'Build'), buildSel),
      h('span.field', h('label', {for: 'f-label'}, 'Label'), label),
      h('span.field', h('label', {for: 'f-q'}, 'Search'), search),
      shown),
    msg,
    h('div.scroll', table));

  let scheduled = false;
  const render = () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      draw();
    });
  };

  function draw() {
    const all = [...hosts.values()].sort((a, b) => a.name.localeCompare(b.name));
    const per = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const x of all) per[x.state] = (per[x.state] || 0) + 1;
    fill(counts,
      h('li', h('button.count', {type: 'button', 'aria-pressed': String(filters.state === ''),
        on: {click: () => setState('')}}, h('strong', String(all.length)), ' all')),
      STATES.filter((s) => per[s] > 0 || ['booting', 'ready', 'failed'].includes(s)).map((s) =>
        h('li', h('button.count', {type: 'button', class: 'state-' + s, dataset: {state: s},
          'aria-pressed': String(filters.state === s), on: {click: () => setState(s)}},
        h('strong', String(per[s])), ' ' + s))));
    const builds = [...new Set(all.map((x) => x.build.split('@')[0]).filter(Boolean))].sort();
    const keep = buildSel.value || filters.build;
    fill(buildSel, h('option', {value: ''}, 'any build'), builds.map((b) => h('option', {value: b}, b)));
    buildSel.value = builds.includes(keep) ? keep : '';
    const rows = all.filter((x) => hostMatches(x, filters));
    fill(body, rows.map(row));
    shown.textContent = `${rows.length} of ${all.length} shown`;
    if (!rows.length) body.append(h('tr', h('td.muted', {colspan: 8}, all.length ? 'No host matches.' : 'No hosts yet.')));
  }

  function row(x) {
    const last = lastEventOf(x.name);
    const addrs = [x.address, seenAddressOf(x.name)].filter((a, i, l) => a && l.indexOf(a) === i);
    return h('tr', {dataset: {host: x.name}},
      h('th.c-name', {scope: 'row'}, h('a', {href: '#/hosts/' + enc(x.name)}, x.name)),
      h('td.c-state', stateBadge(x.state)),
      h('td.c-build', x.build || '—'),
      h('td.c-profile', x.profile || '—'),
      h('td.c-addr.mono', addrs.join(', ')),
      h('td.c-vlan', x.vlan ? String(x.vlan) : ''),
      h('td.c-last', last ? [h('span.mono', {class: 'st-' + last.status}, last.kind), ' ', h('span.muted', last.message)] : ''),
      h('td.c-since.nowrap', {dataset: {since: x.state_since || ''}}, x.state_since ? fmtDuration(Date.now() - Date.parse(x.state_since)) : ''));
  }

  function setState(s) {
    filters.state = s;
    stateSel.value = s;
    render();
  }
  stateSel.addEventListener('change', () => setState(stateSel.value));
  buildSel.addEventListener('change', () => {
    filters.build = buildSel.value;
    render();
  });
  label.addEventListener('input', () => {
    filters.label = label.value.trim();
    render();
  });
  search.addEventListener('input', () => {
    filters.q = search.value.trim();
    render();
  });

  try {
    for (const x of await getAll('/hosts')) hosts.set(x.name, x);
  } catch (e) {
    fill(msg, errorBox(e));
  }
  draw();

  // Re-read a host's record soon after its events (coalesced).
  const pending = new Set();
  let timer = null;
  const refresh = (name) => {
    pending.add(name);
    if (timer) return;
    timer = setTimeout(async () => {
      timer = null;
      const names = [...pending];
      pending.clear();
      for (const n of names) {
        try {
          hosts.set(n, await get('/hosts/' + enc(n)));
        } catch (e) {
          if (e.status === 404) hosts.delete(n);
        }
      }
      render();
    }, 150);
  };

  const unsub = subscribe((ev) => {
    if (!ev.host) return;
    const x = hosts.get(ev.host);
    if (ev.kind === 'state.changed' && x && ev.data && ev.data.to) {
      hosts.set(ev.host, {...x, state: ev.data.to, state_reason: ev.data.reason || '', state_since: ev.time});
    }
    if (!x || ev.kind === 'state.changed' || ev.kind === 'birth.accepted') refresh(ev.host);
    render();
  });
  // Changes that make no event (a PATCH from the CLI) show within 30 s.
  const relist = setInterval(async () => {
    try {
      const fresh = await getAll('/hosts');
      hosts.clear();
      for (const x of fresh) hosts.set(x.name, x);
      render();
    } catch {
      // a 401 has already returned to the login form; anything else: next time
    }
  }, 30000);
  const tick = setInterval(() => {
    for (const td of body.querySelectorAll('td.c-since')) {
      if (td.dataset.since) td.textContent = fmtDuration(Date.now() - Date.parse(td.dataset.since));
    }
  }, 1000);
  return () => {
    unsub();
    clearInterval(tick);
    clearInterval(relist);
    clearTimeout(timer);
    clear(body);
  };
}
