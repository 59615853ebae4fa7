// #/rules: what an unknown machine becomes, and the tester: type what a
// machine would say, see which rule matches and why.
import {getAll, post} from './api.js';
import {errorBox, fill, h, toLines} from './dom.js';

const FIELDS = [
  ['mac', 'MAC', '52:54:00:12:34:56'],
  ['uuid', 'UUID', ''],
  ['serial', 'Serial', ''],
  ['arch', 'Architecture (option 93)', '7'],
  ['vendor', 'Vendor', ''],
  ['model', 'Model', ''],
  ['subnet', 'Subnet', ''],
  ['circuit_id', 'Circuit ID', ''],
  ['remote_id', 'Remote ID', ''],
];

export async function renderRules(main) {
  const list = h('div');
  const inputs = Object.fromEntries(FIELDS.map(([k, , ph]) =>
    [k, h('input', {id: 't-' + k, name: k, type: 'text', placeholder: ph, autocomplete: 'off', spellcheck: 'false'})]));
  const result = h('div#t-result', {'aria-live': 'polite'});
  const run = h('button#t-run', {type: 'submit'}, 'Test');
  let rules = [];
  const form = h('form', {on: {submit: async (e) => {
    e.preventDefault();
    const body = {};
    for (const [k, el] of Object.entries(inputs)) {
      const v = el.value.trim();
      if (!v) continue;
      body[k] = k === 'arch' && /^\d+$/.test(v) ? Number(v) : v;
    }
    run.disabled = true;
    try {
      const r = await post('/rules/test', body);
      const rule = rules.find((x) => x.name === r.match);
      const gives = rule ? [rule.build && `build ${rule.build}`, rule.profile && `profile ${rule.profile}`,
        rule.mode && `mode ${rule.mode}`, Object.keys(rule.labels || {}).length && `labels ${toLines(rule.labels).replace(/\n/g, ', ')}`]
        .filter(Boolean).join(', ') : '';
      fill(result,
        h('p.verdict', {role: 'status'}, r.match ? ['Matches rule ', h('strong#t-match', r.match), gives ? `: it would get ${gives}.` : '.'] :
          h('strong#t-match', 'No rule matches: the [boot] default applies.')),
        h('ol.trace', (r.trace || []).map((t) => h('li', {class: t.matched ? 'matched' : 'missed', dataset: {rule: t.rule}},
          h('strong', t.rule), t.matched ? ' — matches: ' : ' — no: ', t.why))));
    } catch (err) {
      fill(result, errorBox(err));
    } finally {
      run.disabled = false;
    }
  }}},
  h('div.fields', FIELDS.map(([k, label]) => h('label', {for: 't-' + k}, label, inputs[k]))),
  run);

  fill(main,
    h('h1', 'Rules'),
    h('section.card', {'aria-labelledby': 'r-test'}, h('h2#r-test', 'Rule tester'),
      h('p.muted', 'What would a machine that says this become? Only the MAC is required.'), form, result),
    h('section.card', {'aria-labelledby': 'r-list'}, h('h2#r-list', 'Rules, first match wins'), list));
  try {
    rules = (await getAll('/rules')).sort((a, b) => a.rank - b.rank);
    fill(list, rules.length ? h('div.scroll', h('table',
      h('thead', h('tr', ['rank', 'name', 'match', 'build', 'profile', 'mode', 'labels'].map((c) => h('th', {scope: 'col'}, c)))),
      h('tbody', rules.map((r) => h('tr', {dataset: {rule: r.name}},
        h('td', String(r.rank)), h('th', {scope: 'row'}, r.name),
        h('td.mono', Object.entries(r.match || {}).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' | ') : JSON.stringify(v)}`).join('; ') || 'anything'),
        h('td', r.build || '—'), h('td', r.profile || '—'), h('td', r.mode || '—'), h('td.pre', toLines(r.labels))))))) :
      h('p.muted', 'No rules: unknown machines get the [boot] default.'));
  } catch (e) {
    fill(list, errorBox(e));
  }
  return null;
}
