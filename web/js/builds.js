// #/builds and #/profiles: what can be booted, and with what document.
import {enc, get, getAll} from './api.js';
import {errorBox, fill, fmtBytes, fmtTime, h, pre} from './dom.js';

function usersOf(hosts, name, version, latest) {
  return hosts.filter((x) => {
    const [n, v] = x.build.split('@');
    return n === name && (v ? Number(v) === version : version === latest);
  }).map((x) => x.name);
}

function hostLinks(names) {
  if (!names.length) return h('span.muted', 'none');
  return names.slice(0, 20).flatMap((n, i) => [i ? ', ' : '', h('a', {href: '#/hosts/' + enc(n)}, n)])
    .concat(names.length > 20 ? [` and ${names.length - 20} more`] : []);
}

export async function renderBuilds(main) {
  const out = h('div');
  fill(main, h('h1', 'Builds'), out);
  let builds;
  let hosts;
  let rules;
  try {
    [builds, hosts, rules] = await Promise.all([getAll('/builds'), getAll('/hosts'), getAll('/rules')]);
  } catch (e) {
    fill(out, errorBox(e));
    return null;
  }
  if (!builds.length) {
    fill(out, h('p.muted', 'No builds yet: import one with midwife build import or POST /api/v1/builds.'));
    return null;
  }
  const latest = new Map();
  for (const b of builds) latest.set(b.name, Math.max(latest.get(b.name) || 0, b.version));
  const byName = new Map();
  for (const b of builds) {
    if (!byName.has(b.name)) byName.set(b.name, []);
    byName.get(b.name).push(b);
  }
  fill(out, [...byName.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([name, versions]) => {
    const ruleUsers = rules.filter((r) => (r.build || '').split('@')[0] === name).map((r) => r.name);
    return h('section.card', {'aria-labelledby': 'b-' + name, dataset: {build: name}},
      h('h2', {id: 'b-' + name}, name),
      ruleUsers.length ? h('p', 'Rules: ', ruleUsers.join(', ')) : '',
      versions.sort((a, b) => b.version - a.version).map((b) => {
        const files = h('div', h('p.muted', 'loading files…'));
        const det = h('details', {dataset: {version: String(b.version)}},
          h('summary', h('strong', `${name}@${b.version}`), ` · ${b.kind}`,
            b.version === latest.get(name) ? ' · latest' : '', ` · ${fmtTime(b.created)}`),
          h('dl.kv', h('dt', 'hosts'), h('dd', hostLinks(usersOf(hosts, name, b.version, latest.get(name)))),
            b.cmdline ? [h('dt', 'cmdline'), h('dd.mono', b.cmdline)] : '',
            b.source ? [h('dt', 'source'), h('dd.mono', b.source)] : '',
            b.san_uri ? [h('dt', 'SAN'), h('dd.mono', b.san_uri)] : '',
            h('dt', 'agent'), h('dd', b.no_agent ? 'no' : 'yes')),
          files);
        let loaded = false;
        det.addEventListener('toggle', async () => {
          if (!det.open || loaded) return;
          loaded = true;
          try {
            const full = await get('/builds/' + enc(`${name}@${b.version}`));
            fill(files, h('div.scroll', h('table.small',
              h('caption', 'Modules'),
              h('thead', h('tr', ['role', 'name', 'size', 'SHA-256', 'args'].map((c) => h('th', {scope: 'col'}, c)))),
              h('tbody', (full.files || []).map((f) => h('tr', h('td', f.role + (f.layered ? ' (layer)' : '')),
                h('td.mono', f.name), h('td.nowrap', fmtBytes(f.size)), h('td.mono.hash', f.sha256), h('td.mono', f.args || '')))))));
          } catch (e) {
            loaded = false;
            fill(files, errorBox(e));
          }
        });
        return det;
      }));
  }));
  const first = out.querySelector('details');
  if (first) first.open = true;
  return null;
}

export async function renderProfiles(main) {
  const out = h('div');
  fill(main, h('h1', 'Profiles'), out);
  try {
    const [profiles, hosts] = await Promise.all([getAll('/profiles'), getAll('/hosts')]);
    if (!profiles.length) {
      fill(out, h('p.muted', 'No profiles yet.'));
      return null;
    }
    fill(out, profiles.map((p) => h('section.card', {'aria-labelledby': 'p-' + p.name},
      h('h2', {id: 'p-' + p.name}, p.name),
      h('p', 'Hosts: ', hostLinks(hosts.filter((x) => x.profile === p.name).map((x) => x.name))),
      h('p.muted', `updated ${fmtTime(p.updated)}`),
      pre(p.doc))));
  } catch (e) {
    fill(out, errorBox(e));
  }
  return null;
}
