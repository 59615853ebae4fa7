// A host's boots from the flight recorder, as steps: DHCP → TFTP → HTTP →
// birth → configuring → ready, each with when it started, how long it
// took, and for a failure the reason. Pure (no DOM), so node can test it.
// docs/events.md is the contract for the kinds and fields read here.

const GAP_MS = 5 * 60 * 1000; // a quiet gap starts a new attempt (as explain does)

export const STEPS = [
  {id: 'dhcp', title: 'DHCP'},
  {id: 'tftp', title: 'TFTP'},
  {id: 'http', title: 'HTTP'},
  {id: 'birth', title: 'birth'},
  {id: 'configuring', title: 'configuring'},
  {id: 'ready', title: 'ready'},
];

function stepOf(ev) {
  const k = ev.kind;
  if (k.startsWith('dhcp.')) return 'dhcp';
  if (k.startsWith('tftp.')) return 'tftp';
  if (k.startsWith('http.') || k === 'token.issued') return 'http';
  if (k.startsWith('birth.')) return 'birth';
  if (k === 'report.step' || k === 'report.failed' || k === 'token.refused') return 'configuring';
  if (k === 'report.ready') return 'ready';
  if (k === 'state.changed') {
    const to = ev.data && ev.data.to;
    if (to === 'configuring') return 'configuring';
    if (to === 'ready') return 'ready';
    if (to === 'born') return 'birth';
    if (to === 'failed') return 'configuring';
  }
  return null;
}

const ms = (ev) => Date.parse(ev.time);

function reachedKernel(evs) {
  return evs.some((e) => (e.kind === 'http.file' && e.data && e.data.role === 'kernel') ||
    e.kind.startsWith('birth.') || e.kind.startsWith('report.'));
}

function bootStart(ev) {
  if (ev.kind === 'dhcp.discover') return !(ev.data && ev.data.client === 'plain');
  return ev.kind === 'tftp.start' || ev.kind === 'http.program' || ev.kind === 'http.script' ||
    ev.kind === 'token.issued';
}

// Events (any order) → attempts, oldest first: {boot_id, events}.
export function attempts(events) {
  const evs = [...events].sort((a, b) => a.id - b.id);
  const out = [];
  let cur = null;
  let prev = null;
  for (const ev of evs) {
    let cut = false;
    if (!cur) {
      cut = true;
    } else if (bootStart(ev)) {
      if (prev && ms(ev) - ms(prev) >= GAP_MS) cut = true;
      else if (reachedKernel(cur.events)) cut = true;
      else if (ev.kind === 'token.issued' && cur.boot_id && ev.boot_id !== cur.boot_id) cut = true;
    } else if (ev.boot_id && cur.boot_id && ev.boot_id !== cur.boot_id) {
      cut = true;
    }
    if (cut) {
      cur = {boot_id: 0, events: []};
      out.push(cur);
    }
    cur.events.push(ev);
    if (ev.boot_id && !cur.boot_id) cur.boot_id = ev.boot_id;
    prev = ev;
  }
  return out;
}

function isFailure(ev) {
  if (ev.status !== 'fail') return false;
  // A state.changed to failed repeats the report that caused it.
  return ev.kind !== 'state.changed';
}

function isSuccess(step, ev) {
  switch (step) {
    case 'dhcp': return ev.kind === 'dhcp.ack';
    case 'tftp': return ev.kind === 'tftp.done';
    case 'http':
      return (ev.kind === 'http.file' && ev.status === 'ok' && ev.data && ev.data.role === 'kernel') ||
        (ev.kind === 'http.script' && ev.status === 'ok' && ev.data && ['local', 'exit', 'sanboot', 'chain'].includes(ev.data.kind));
    case 'birth': return ev.kind === 'birth.accepted';
    case 'configuring': return ev.kind === 'report.ready' || (ev.kind === 'state.changed' && ev.data && ev.data.to === 'ready');
    case 'ready': return ev.kind === 'report.ready' || (ev.kind === 'state.changed' && ev.data && ev.data.to === 'ready');
    default: return false;
  }
}

function reasonOf(ev) {
  const d = ev.data || {};
  // A failure's words are data.error (docs/events.md); other kinds say why.
  return d.error || d.why || d.reason || ev.message;
}

// One attempt → the six steps: {id, title, status: 'ok'|'fail'|'running'|
// 'waiting'|'skipped', start, end, duration_ms, reason, summary, events}.
export function steps(attempt, now = Date.now()) {
  const by = Object.fromEntries(STEPS.map((s) => [s.id, []]));
  for (const ev of attempt.events) {
    const s = stepOf(ev);
    if (s) by[s].push(ev);
  }
  // Configuring also begins with the birth's end: the agent applies
  // the document from then on.
  const out = STEPS.map((s) => {
    const evs = by[s.id];
    const step = {id: s.id, title: s.title, status: 'waiting', start: null, end: null, duration_ms: null,
      reason: '', summary: '', events: evs};
    if (!evs.length) return step;
    step.start = evs[0].time;
    let lastOk = -1;
    let lastFail = -1;
    evs.forEach((e, i) => {
      if (isSuccess(s.id, e)) lastOk = i;
      if (isFailure(e)) lastFail = i;
    });
    if (lastFail > lastOk) {
      step.status = 'fail';
      step.end = evs[lastFail].time;
      step.reason = reasonOf(evs[lastFail]);
    } else if (lastOk >= 0) {
      step.status = 'ok';
      step.end = evs[lastOk].time;
    } else {
      step.status = 'running';
    }
    step.summary = evs[lastOk >= 0 && lastOk > lastFail ? lastOk : evs.length - 1].message;
    const end = step.end ? Date.parse(step.end) : now;
    step.duration_ms = end - Date.parse(step.start);
    return step;
  });
  // A later step that happened means an earlier one with no events was
  // not needed on this boot (UEFI HTTP Boot has no TFTP; iPXE in ROM).
  const latest = out.reduce((m, s, i) => (s.status !== 'waiting' ? i : m), -1);
  for (let i = 0; i < latest; i++) {
    if (out[i].status === 'waiting') out[i].status = 'skipped';
    // An earlier step still "running" while a later one went on is done.
    // Configuring ends when ready comes; the others at their last event.
    if (out[i].status === 'running' && out[i + 1] && out[i + 1].start) {
      out[i].status = 'ok';
      out[i].end = out[i].id === 'configuring' ? out[i + 1].start : out[i].events[out[i].events.length - 1].time;
      out[i].duration_ms = Date.parse(out[i].end) - Date.parse(out[i].start);
    }
  }
  // The configuring step's duration runs from the birth to ready.
  const birth = out[3];
  const conf = out[4];
  if (birth.status === 'ok' && conf.start && Date.parse(birth.end) < Date.parse(conf.start)) {
    conf.start = birth.end;
    const end = conf.end ? Date.parse(conf.end) : now;
    conf.duration_ms = end - Date.parse(conf.start);
  }
  return out;
}
