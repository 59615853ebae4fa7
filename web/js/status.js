// #/status: listeners, counters, hosts per state, leases per subnet.
import {get} from './api.js';
import {dl, errorBox, fill, fmtDuration, fmtTime, h} from './dom.js';

function table(caption, cols, rows) {
  return h('div.scroll', h('table.small', h('caption.sr-only', caption),
    h('thead', h('tr', cols.map((c) => h('th', {scope: 'col'}, c)))),
    h('tbody', rows.map((r) => h('tr', r.map((c, i) => (i === 0 ? h('th', {scope: 'row'}, c) : h('td', c))))))));
}

export async function renderStatus(main) {
  const out = h('div');
  const refresh = h('button#s-refresh', {type: 'button'}, 'Refresh');
  fill(main, h('div.titlebar', h('h1', 'Server status'), refresh), out);
  const draw = async () => {
    try {
      const s = await get('/status');
      const l = s.listeners || {};
      const on = (x) => (x && x.enabled ? 'on' : 'off');
      fill(out, h('div.cards',
        h('section.card', {'aria-labelledby': 's-server'}, h('h2#s-server', 'midwife'),
          dl([['version', s.version], ['started', fmtTime(s.started)], ['uptime', fmtDuration(s.uptime_s * 1000)],
            ['hosts', String(s.hosts_total)]])),
        h('section.card.wide', {'aria-labelledby': 's-listeners'}, h('h2#s-listeners', 'Listeners'),
          table('Listeners', ['service', 'state', 'address', 'port', 'detail'], [
            ['DHCP', on(l.dhcp), '', String(l.dhcp ? l.dhcp.port : ''), l.dhcp ? (l.dhcp.interfaces || []).join(', ') : ''],
            ['TFTP', on(l.tftp), l.tftp ? l.tftp.address : '', String(l.tftp ? l.tftp.port : ''), ''],
            ['HTTP', on(l.http), l.http ? l.http.address : '', String(l.http ? l.http.port : ''), l.http && l.http.public_url ? 'public URL ' + l.http.public_url : ''],
          ])),
        h('section.card', {'aria-labelledby': 's-hosts'}, h('h2#s-hosts', 'Hosts per state'),
          table('Hosts per state', ['state', 'hosts'], Object.entries(s.hosts || {}).map(([k, v]) => [k, String(v)]))),
        h('section.card', {'aria-labelledby': 's-leases'}, h('h2#s-leases', 'Leases per subnet'),
          Object.keys(s.leases || {}).length ?
            table('Leases per subnet', ['subnet', 'bound', 'released', 'declined', 'expired'],
              Object.entries(s.leases).map(([k, v]) => [k, String(v.bound), String(v.released), String(v.declined), String(v.expired)])) :
            h('p.muted', 'No subnets configured.')),
        h('section.card.wide', {'aria-labelledby': 's-counters'}, h('h2#s-counters', 'Counters'),
          table('Counters', ['counter', 'value'], Object.entries(s.counters || {}).map(([k, v]) => [k, String(v)])),
          h('p.muted', 'Per reason and route: ', h('a', {href: '/metrics'}, '/metrics'), '.'))));
    } catch (e) {
      fill(out, errorBox(e));
    }
  };
  refresh.addEventListener('click', draw);
  await draw();
  return null;
}
