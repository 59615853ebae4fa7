// The REST API (docs/api.md), the same one the CLI uses. The admin token
// lives in sessionStorage only: gone when the tab closes, never in a URL,
// never in a cookie.

const TOKEN_KEY = 'midwife.token';
const BASE = '/api/v1';

export function getToken() {
  return sessionStorage.getItem(TOKEN_KEY) || '';
}

export function setToken(t) {
  sessionStorage.setItem(TOKEN_KEY, t);
}

export function clearToken() {
  sessionStorage.removeItem(TOKEN_KEY);
}

// An answer that is not 2xx: status and the API's own words.
export class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.field = field || null;
  }
}

// Called with the ApiError of any 401 (app.js shows the login form).
let onUnauthorized = () => {};
export function setUnauthorizedHandler(fn) {
  onUnauthorized = fn;
}

function headers(extra) {
  return {Authorization: 'Bearer ' + getToken(), ...extra};
}

async function failure(res) {
  const text = await res.text().catch(() => '');
  let msg = text.trim() || res.statusText || 'request failed';
  let field = null;
  try {
    const j = JSON.parse(text);
    if (j && typeof j.error === 'string') {
      msg = j.error;
      field = typeof j.field === 'string' ? j.field : null;
    }
  } catch {
    // not JSON: the text as it came
  }
  const err = new ApiError(res.status, msg, field);
  if (res.status === 401) onUnauthorized(err);
  return err;
}

export async function api(method, path, body) {
  const init = {method, headers: headers({Accept: 'application/json'}), cache: 'no-store'};
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(BASE + path, init);
  } catch (e) {
    throw new ApiError(0, 'cannot reach midwife: ' + e.message);
  }
  if (!res.ok) throw await failure(res);
  if (res.status === 204) return null;
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

export const get = (path) => api('GET', path);
export const post = (path, body) => api('POST', path, body === undefined ? {} : body);
export const patch = (path, body) => api('PATCH', path, body);
export const del = (path) => api('DELETE', path);

// ?a=1&b=2, leaving out empty values.
export function qs(params) {
  const parts = Object.entries(params)
    .filter(([, v]) => v !== undefined && v !== null && v !== '')
    .map(([k, v]) => encodeURIComponent(k) + '=' + encodeURIComponent(v));
  return parts.length ? '?' + parts.join('&') : '';
}

export const enc = encodeURIComponent;

// Every page of a list call, up to max items.
export async function getAll(path, params = {}, max = 10000) {
  const items = [];
  let after = '';
  for (;;) {
    const page = await get(path + qs({...params, limit: 1000, after}));
    items.push(...page.items);
    if (!page.next || items.length >= max) return items;
    after = page.next;
  }
}

// ---- Server-Sent Events over fetch -----------------------------------------
// EventSource cannot send an Authorization header, so the stream is read
// with fetch() and a ReadableStream. After a drop it reconnects (backoff
// 1 s doubling to 15 s) with ?after=LAST_ID, so nothing is missed or
// repeated.

// Parses SSE text; returns the frames complete so far and the rest.
export function parseSse(buffer) {
  const frames = [];
  const norm = buffer.replace(/\r\n?/g, '\n');
  let start = 0;
  for (;;) {
    const end = norm.indexOf('\n\n', start);
    if (end < 0) break;
    const block = norm.slice(start, end);
    start = end + 2;
    const f = {id: null, event: 'message', data: []};
    for (const line of block.split('\n')) {
      if (line === '' || line[0] === ':') continue;
      const i = line.indexOf(':');
      const key = i < 0 ? line : line.slice(0, i);
      let val = i < 0 ? '' : line.slice(i + 1);
      if (val[0] === ' ') val = val.slice(1);
      if (key === 'id') f.id = val;
      else if (key === 'event') f.event = val;
      else if (key === 'data') f.data.push(val);
    }
    if (f.data.length) frames.push({id: f.id, event: f.event, data: f.data.join('\n')});
  }
  return {frames, rest: norm.slice(start)};
}

const SILENCE_MS = 40000;

export class EventStream {
  // onEvent(event JSON); onState('live' | 'reconnecting' | 'stopped', detail)
  constructor({after = 0, params = {}, onEvent, onState = () => {}}) {
    this.lastId = after;
    this.params = params;
    this.onEvent = onEvent;
    this.onState = onState;
    this.ctrl = null;
    this.stopped = false;
  }

  start() {
    this.loop();
    return this;
  }

  stop() {
    this.stopped = true;
    if (this.ctrl) this.ctrl.abort();
    this.onState('stopped');
  }

  async loop() {
    let backoff = 1000;
    while (!this.stopped) {
      this.ctrl = new AbortController();
      try {
        const res = await fetch(BASE + '/events' + qs({...this.params, after: this.lastId || ''}), {
          headers: headers({Accept: 'text/event-stream'}),
          cache: 'no-store',
          signal: this.ctrl.signal,
        });
        if (!res.ok) {
          const err = await failure(res);
          if (res.status === 401 || res.status === 400 || res.status === 404) {
            this.stopped = true;
            this.onState('stopped', err);
            return;
          }
          throw err;
        }
        this.onState('live');
        backoff = 1000;
        const reader = res.body.getReader();
        const dec = new TextDecoder();
        let buf = '';
        // midwife sends a heartbeat every 15 s: silence for much longer
        // is a connection that died without closing.
        const ctrl = this.ctrl;
        let watchdog = setTimeout(() => ctrl.abort(), SILENCE_MS);
        for (;;) {
          let chunk;
          try {
            chunk = await reader.read();
          } finally {
            clearTimeout(watchdog);
          }
          const {value, done} = chunk;
          if (done) break;
          watchdog = setTimeout(() => ctrl.abort(), SILENCE_MS);
          buf += dec.decode(value, {stream: true});
          const {frames, rest} = parseSse(buf);
          buf = rest;
          for (const f of frames) {
            let ev;
            try {
              ev = JSON.parse(f.data);
            } catch {
              continue;
            }
            if (f.id) this.lastId = Number(f.id) || this.lastId;
            this.onEvent(ev);
          }
        }
      } catch (e) {
        if (this.stopped) return;
        this.onState('reconnecting', e);
      }
      if (this.stopped) return;
      this.onState('reconnecting');
      await new Promise((r) => setTimeout(r, backoff));
      backoff = Math.min(backoff * 2, 15000);
    }
  }
}
