// The shell: login, navigation, hash routes (#/hosts, #/hosts/NAME,
// #/builds, #/profiles, #/rules, #/events, #/status).
import {clearToken, get, getToken, setToken, setUnauthorizedHandler} from './api.js';
import {renderBuilds, renderProfiles} from './builds.js';
import {errorBox, fill, h} from './dom.js';
import {onConnectionState, renderEvents, startEvents, stopEvents} from './events.js';
import {renderHost} from './host.js';
import {renderHosts} from './hosts.js';
import {renderRules} from './rules.js';
import {renderStatus} from './status.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const conn = document.getElementById('conn');
const logout = document.getElementById('logout');
let cleanup = null;
let loggedIn = false;

const ROUTES = [
  [/^#\/hosts\/([^/]+)$/, (m) => renderHost(main, decodeURIComponent(m[1])), 'hosts'],
  [/^#\/hosts$/, () => renderHosts(main), 'hosts'],
  [/^#\/builds$/, () => renderBuilds(main), 'builds'],
  [/^#\/profiles$/, () => renderProfiles(main), 'profiles'],
  [/^#\/rules$/, () => renderRules(main), 'rules'],
  [/^#\/events$/, () => renderEvents(main), 'events'],
  [/^#\/status$/, () => renderStatus(main), 'status'],
];

function showLogin(error) {
  loggedIn = false;
  stopEvents();
  if (cleanup) cleanup();
  cleanup = null;
  nav.hidden = true;
  logout.hidden = true;
  conn.textContent = '';
  const input = h('input#token', {type: 'password', name: 'token', autocomplete: 'current-password', required: true,
    spellcheck: 'false', 'aria-describedby': 'token-help'});
  const button = h('button#login', {type: 'submit'}, 'Log in');
  const msg = h('div#login-error', {'aria-live': 'assertive'}, error ? errorBox(error) : '');
  const form = h('form.login', {on: {submit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    fill(msg);
    setToken(input.value.trim());
    try {
      await get('/status');
      await enter();
    } catch (err) {
      clearToken();
      fill(msg, errorBox(err));
      input.select();
    } finally {
      button.disabled = false;
    }
  }}},
  h('h1', 'midwife'),
  h('label', {for: 'token'}, 'Admin token'), input,
  h('p#token-help.muted', 'The contents of STATE_DIR/admin.token. It is kept in this browser tab only (session storage) and sent to the API as a bearer token.'),
  button, msg);
  fill(main, form);
  input.focus();
}

async function enter() {
  loggedIn = true;
  nav.hidden = false;
  logout.hidden = false;
  try {
    await startEvents();
  } catch (e) {
    if (!loggedIn) return;
    conn.textContent = 'events unavailable: ' + e.message;
  }
  if (!location.hash || location.hash === '#' || location.hash === '#/') location.hash = '#/hosts';
  else route();
}

async function route() {
  if (!loggedIn) return;
  if (cleanup) cleanup();
  cleanup = null;
  const hash = location.hash || '#/hosts';
  for (const a of nav.querySelectorAll('a')) {
    if (hash.startsWith(a.getAttribute('href'))) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  for (const [re, fn, name] of ROUTES) {
    const m = re.exec(hash);
    if (!m) continue;
    document.title = `midwife · ${name}`;
    fill(main, h('p.muted', 'Loading…'));
    try {
      const done = await fn(m);
      if (location.hash === hash || (hash === '#/hosts' && !location.hash)) cleanup = done || null;
      else if (done) done();
    } catch (e) {
      fill(main, errorBox(e));
    }
    main.focus({preventScroll: true});
    return;
  }
  fill(main, h('h1', 'Not found'), h('p', 'No page ', h('code', hash), '. ', h('a', {href: '#/hosts'}, 'Hosts')));
}

setUnauthorizedHandler((err) => {
  clearToken();
  if (loggedIn) showLogin(err);
});
onConnectionState((s) => {
  conn.textContent = s === 'live' ? 'live' : s === 'reconnecting' ? 'reconnecting…' : '';
  conn.className = 'conn conn-' + s;
});
logout.addEventListener('click', () => {
  clearToken();
  showLogin();
});
window.addEventListener('hashchange', route);
// The skip link focuses the content without touching the route.
document.querySelector('.skip').addEventListener('click', (e) => {
  e.preventDefault();
  main.focus();
});

if (getToken()) {
  get('/status').then(enter, (e) => showLogin(e));
} else {
  showLogin();
}
