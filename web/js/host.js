// #/hosts/NAME: one host — who it is, its boots step by step, what
// explain says, its configuration document, hook runs, and the actions.
import {ApiError, enc, get, getAll, patch, post} from './api.js';
import {dl, errorBox, fill, fmtBytes, fmtClock, fmtDuration, fmtTime, fromLines, h, pre, stateBadge, toLines} from './dom.js';
import {eventRow, eventTable, subscribe} from './events.js';
import {attempts, steps} from './timeline.js';

const MODES = ['stateless', 'stateful', 'sanboot', 'local'];

function section(id, title, ...body) {
  return h('section.card', {'aria-labelledby': id}, h('h2', {id}, title), ...body);
}

// Runs an action; shows the API's answer (or its error as it is) in out.
async function act(out, button, fn, okText) {
  button.disabled = true;
  fill(out);
  try {
    await fn();
    fill(out, h('p.ok', {role: 'status'}, okText));
  } catch (e) {
    fill(out, errorBox(e));
  } finally {
    button.disabled = false;
  }
}

export async function renderHost(main, name) {
  let host;
  try {
    host = await get('/hosts/' + enc(name));
  } catch (e) {
    fill(main, h('h1', name), errorBox(e), h('p', h('a', {href: '#/hosts'}, 'Back to the hosts')));
    return null;
  }
  let events = [];
  const mac = (host.macs || [])[0] || '';

  const head = h('div.hosthead');
  const timeline = h('div#timeline');
  const diagnosis = h('div#diagnosis');
  const config = h('div#config');
  const hooks = h('div#hooks');
  const ident = h('div#identity');
  const evTable = eventTable('Events of this host, newest first', true);

  // ---- actions ----
  const buildIn = h('input#a-build', {type: 'text', list: 'a-builds', autocomplete: 'off', value: host.build});
  const builds = h('datalist#a-builds');
  const profileSel = h('select#a-profile', h('option', {value: ''}, '(none)'));
  const modeSel = h('select#a-mode', MODES.map((m) => h('option', {value: m}, m)));
  modeSel.value = host.mode;
  const assignOut = h('div.result', {'aria-live': 'polite'});
  const saveAssign = h('button#a-save', {type: 'submit'}, 'Save assignment');
  const assignForm = h('form.grid2', {on: {submit: (e) => {
    e.preventDefault();
    act(assignOut, saveAssign, async () => {
      host = await patch('/hosts/' + enc(name), {build: buildIn.value.trim(), profile: profileSel.value, mode: modeSel.value});
      drawHead();
    }, 'Saved.');
  }}},
  h('label', {for: 'a-build'}, 'Build (NAME or NAME@VERSION, empty for none)'), buildIn, builds,
  h('label', {for: 'a-profile'}, 'Profile'), profileSel,
  h('label', {for: 'a-mode'}, 'Mode'), modeSel,
  h('div.span2', saveAssign), assignOut);

  const labelsIn = h('textarea#a-labels', {rows: 4, spellcheck: 'false'}, toLines(host.labels));
  const varsIn = h('textarea#a-vars', {rows: 4, spellcheck: 'false'}, toLines(host.vars));
  const kvOut = h('div.result', {'aria-live': 'polite'});
  const saveKv = h('button#a-kv-save', {type: 'submit'}, 'Save labels and variables');
  const kvForm = h('form.grid2', {on: {submit: (e) => {
    e.preventDefault();
    act(kvOut, saveKv, async () => {
      let labels;
      let vars;
      try {
        labels = fromLines(labelsIn.value);
        vars = fromLines(varsIn.value);
      } catch (err) {
        throw new ApiError(0, err.message);
      }
      host = await patch('/hosts/' + enc(name), {labels, vars});
      drawHead();
    }, 'Saved.');
  }}},
  h('label', {for: 'a-labels'}, 'Labels (key=value, one a line)'), labelsIn,
  h('label', {for: 'a-vars'}, 'Variables (key=value, one a line)'), varsIn,
  h('div.span2', saveKv), kvOut);

  const lifeOut = h('div.result', {'aria-live': 'polite'});
  const reinstall = h('button#a-reinstall', {type: 'button'}, 'Reinstall (boot into its build again)');
  const retire = h('button#a-retire.danger', {type: 'button'}, 'Forget (retire)');
  reinstall.addEventListener('click', () => act(lifeOut, reinstall, async () => {
    host = await post('/hosts/' + enc(name) + '/reinstall');
    drawHead();
  }, 'Reinstall requested: the next netboot gets a fresh token and the build.'));
  retire.addEventListener('click', () => {
    if (!window.confirm(`Retire ${name}? It is not booted again until reinstalled.`)) return;
    act(lifeOut, retire, async () => {
      host = await post('/hosts/' + enc(name) + '/retire');
      drawHead();
    }, 'Retired.');
  });

  fill(main,
    h('p.crumbs', h('a', {href: '#/hosts'}, 'Hosts'), ' / ', name),
    head,
    h('div.cols',
      h('div.col',
        section('h-timeline', 'Boot timeline', timeline),
        section('h-diagnosis', 'Diagnosis (explain)', diagnosis),
        section('h-hooks', 'Hook runs', hooks),
        section('h-events', 'Events', h('div.scroll', evTable.table))),
      h('div.col',
        section('h-actions', 'Actions',
          h('h3', 'Assignment'), assignForm,
          h('h3', 'Labels and variables'), kvForm,
          h('h3', 'Lifecycle'), h('div.buttons', reinstall, retire), lifeOut),
        section('h-identity', 'Identity and facts', ident),
        section('h-config', 'Configuration document', config))));

  function drawHead() {
    fill(head,
      h('h1', name, ' ', stateBadge(host.state)),
      h('p.reason', host.state_reason || '',
        host.state_since ? h('span.muted', ` — since ${fmtTime(host.state_since)} (${fmtDuration(Date.now() - Date.parse(host.state_since))})`) : ''));
    drawIdentity();
  }

  function drawIdentity() {
    const f = host.facts || {};
    const nics = Array.isArray(f.nics) ? f.nics : [];
    const disks = Array.isArray(f.disks) ? f.disks : [];
    const links = Array.isArray(f.links) ? f.links : [];
    fill(ident,
      dl([['MACs', (host.macs || []).join(', ') || '—'], ['UUID', host.uuid], ['serial', host.serial],
        ['build', host.build || '—'], ['profile', host.profile || '—'], ['mode', host.mode],
        ['static address', host.address], ['VLAN', host.vlan ? String(host.vlan) : ''],
        ['labels', toLines(host.labels)], ['boot', host.boot_id ? String(host.boot_id) : ''],
        ['last seen', fmtTime(host.last_seen)], ['created', fmtTime(host.created)], ['updated', fmtTime(host.updated)],
        ['vendor', f.vendor], ['model', f.model], ['CPUs', f.cpus !== undefined ? `${f.cpus}${f.cpu_model ? ' × ' + f.cpu_model : ''}` : ''],
        ['memory', f.memory_bytes ? fmtBytes(f.memory_bytes) : ''], ['hostname', f.hostname], ['agent', f.agent]]),
      nics.length ? h('div.scroll', h('table.small', h('caption', 'NICs'),
        h('thead', h('tr', ['name', 'MAC', 'driver', 'link', 'speed'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', nics.map((n) => h('tr', h('td', n.name), h('td.mono', n.mac), h('td', n.driver),
          h('td', n.link ? 'up' : 'down'), h('td', n.speed_mbps ? `${n.speed_mbps} Mb/s` : '')))))) : '',
      links.length ? h('div.scroll', h('table.small', h('caption', 'Links'),
        h('thead', h('tr', ['name', 'kind', 'VLAN', 'master', 'addresses'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', links.map((l) => h('tr', h('td', l.name), h('td', l.kind), h('td', l.vlan_id ? String(l.vlan_id) : ''),
          h('td', l.master || ''), h('td.mono', (l.addresses || []).join(', '))))))) : '',
      disks.length ? h('div.scroll', h('table.small', h('caption', 'Disks'),
        h('thead', h('tr', ['name', 'size', 'model'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', disks.map((d) => h('tr', h('td', d.name), h('td', fmtBytes(d.size_bytes)), h('td', d.model || '')))))) : '',
      Object.keys(f).length ? h('details', h('summary', 'All facts (JSON)'), pre(f)) : h('p.muted', 'No facts yet: the host has not been born.'));
  }

  // ---- timeline ----
  const bootSel = h('select#t-boot');
  let chosen = null; // index into attempts; null = the latest
  bootSel.addEventListener('change', () => {
    chosen = bootSel.value === '' ? null : Number(bootSel.value);
    drawTimeline();
  });

  function drawTimeline() {
    const list = attempts(events);
    if (!list.length) {
      fill(timeline, h('p.muted', 'No boot recorded yet.'));
      return;
    }
    const idx = chosen !== null && chosen < list.length ? chosen : list.length - 1;
    fill(bootSel, list.map((a, i) => h('option', {value: i === list.length - 1 ? '' : String(i)},
      `${a.boot_id ? 'boot ' + a.boot_id : 'attempt'} — ${fmtTime(a.events[0].time)}${i === list.length - 1 ? ' (latest)' : ''}`)));
    bootSel.value = idx === list.length - 1 ? '' : String(idx);
    const st = steps(list[idx]);
    fill(timeline,
      h('div.toolbar', h('label', {for: 't-boot'}, 'Boot'), bootSel),
      h('ol.timeline', st.map((s) => h('li.step', {class: 'step-' + s.status, dataset: {step: s.id, status: s.status}},
        h('span.dot', {'aria-hidden': 'true'}),
        h('div.stepbody',
          h('h3', s.title, ' ', h('span.stepstatus', s.status === 'fail' ? 'failed' : s.status)),
          s.start ? h('p.when', h('time', {datetime: s.start}, fmtClock(s.start)),
            s.duration_ms !== null ? h('span.muted', ` · ${fmtDuration(s.duration_ms)}`) : '') : '',
          s.status === 'fail' ? h('p.why', 'Failed: ', s.reason) : (s.summary ? h('p.summary', s.summary) : ''))))));
  }

  // ---- diagnosis ----
  async function drawDiagnosis() {
    if (!mac) {
      fill(diagnosis, h('p.muted', 'No MAC, so nothing to explain.'));
      return;
    }
    try {
      const ex = await get('/explain/' + enc(mac));
      const d = Array.isArray(ex.diagnosis) ? ex.diagnosis : [];
      fill(diagnosis,
        d.length ? h('ul.findings', d.map((x) => h('li', {class: 'finding-' + x.finding},
          h('strong', x.summary), x.advice ? h('p', x.advice) : '',
          h('p.muted', x.finding, x.at ? ` · ${fmtTime(x.at)}` : '')))) : h('p.muted', 'Nothing to say.'),
        ex.dhcp ? h('details', h('summary', 'What the servers would hand it now'), pre({dhcp: ex.dhcp, script: ex.script})) : '');
    } catch (e) {
      fill(diagnosis, errorBox(e));
    }
  }

  async function drawConfig() {
    try {
      fill(config, pre(await get('/hosts/' + enc(name) + '/config')));
    } catch (e) {
      fill(config, errorBox(e));
    }
  }

  async function drawHooks() {
    let ops = [];
    try {
      ops = (await get('/hosts/' + enc(name) + '/operations')).items;
    } catch (e) {
      fill(hooks, errorBox(e));
      return;
    }
    const runs = events.filter((e) => e.kind.startsWith('hook.') || e.kind.startsWith('webhook.')).slice(-20).reverse();
    fill(hooks,
      ops.length ? h('div.scroll', h('table.small', h('caption', 'Operations'),
        h('thead', h('tr', ['boot', 'kind', 'status', 'detail', 'updated'].map((c) => h('th', {scope: 'col'}, c)))),
        h('tbody', ops.map((o) => h('tr', h('td', String(o.boot_id)), h('td.mono', o.kind), h('td', o.status),
          h('td', o.detail), h('td.nowrap', fmtTime(o.updated))))))) : h('p.muted', 'No operations.'),
      runs.length ? h('ul.hookruns', runs.map((e) => h('li', {class: 'ev-' + e.status},
        h('p', h('span.status', {class: 'st-' + e.status}, e.status), ' ', e.message, h('span.muted', ' · ' + fmtTime(e.time))),
        e.data && e.data.output ? h('pre.output', e.data.output) : ''))) : '');
  }

  function drawEvents() {
    fill(evTable.body, events.slice(-200).reverse().map((e) => eventRow(e, true)));
  }

  async function loadEvents() {
    const byId = new Map();
    const add = (items) => items.forEach((e) => byId.set(e.id, e));
    try {
      add((await get('/events?limit=1000&host=' + enc(name))).items);
      if (mac) add((await get('/events?limit=1000&mac=' + enc(mac))).items);
    } catch (e) {
      fill(timeline, errorBox(e));
    }
    events = [...byId.values()].sort((a, b) => a.id - b.id);
  }

  drawHead();
  try {
    const [bl, pl] = await Promise.all([getAll('/builds'), getAll('/profiles')]);
    const names = [...new Set(bl.map((b) => b.name))];
    fill(builds, names.map((n) => h('option', {value: n})), bl.map((b) => h('option', {value: `${b.name}@${b.version}`})));
    fill(profileSel, h('option', {value: ''}, '(none)'), pl.map((p) => h('option', {value: p.name}, p.name)));
    profileSel.value = host.profile;
  } catch (e) {
    fill(assignOut, errorBox(e));
  }
  await loadEvents();
  drawTimeline();
  drawEvents();
  drawDiagnosis();
  drawConfig();
  drawHooks();

  let later = null;
  const unsub = subscribe((ev) => {
    if (ev.host !== name && !(mac && ev.mac === mac)) return;
    if (events.length && events[events.length - 1].id >= ev.id) return;
    events.push(ev);
    drawTimeline();
    evTable.body.prepend(eventRow(ev, true));
    if (ev.kind === 'state.changed' || ev.kind.startsWith('hook.') || ev.kind === 'birth.accepted') {
      clearTimeout(later);
      later = setTimeout(async () => {
        try {
          host = await get('/hosts/' + enc(name));
          drawHead();
        } catch {
          // the record is gone; the page says what it last knew
        }
        drawHooks();
        drawDiagnosis();
      }, 200);
    }
  });
  return () => {
    unsub();
    clearTimeout(later);
  };
}
