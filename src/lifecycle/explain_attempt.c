/* The reading half of explain (explain_attempt.h): one client's events
 * cut into boot attempts, and what the latest one holds.
 *
 * Boot attempts. Only the latest attempt counts, so an old failure does
 * not hide a good boot that followed it. An attempt starts at a boot-start
 * event — a DISCOVER (or an ignored one) from a client that is not a plain
 * DHCP client, a tftp.start, an http.program, an http.script or a
 * token.issued — when
 *   - ATTEMPT_GAP_MS passed since the event before it (a quiet gap), or
 *   - the attempt so far already reached the kernel (the host rebooted);
 * and at a token.issued for another boot than the one the attempt already
 * holds a token for (the attempt then starts at the first DISCOVER after
 * the earlier script, if any, so the new boot keeps its DHCP and TFTP).
 * A DISCOVER between a script and its kernel does not cut: the script's
 * `ifconf` for a VLAN makes one. An iPXE chainload loop (DHCP, boot
 * program, DHCP, boot program ...) never reaches a script, so it stays one
 * attempt, which is what lets it be counted. A plain client's DHCP (the
 * installed system renewing its lease) never starts one.
 *
 * Stages. DHCP (ack) → boot program → script → kernel → born → ready.
 * Within the attempt a failure stands only when nothing at its stage or
 * beyond succeeded after it (attempt_standing): a TFTP timeout followed by
 * a complete transfer, a NAK followed by an ACK, are over. */
#include "lifecycle/explain_attempt.h"

#include <stdio.h>
#include <string.h>

#include "util/log.h"

#define ATTEMPT_GAP_MS (5 * 60 * 1000LL)

/* ---- reading events ---- */

bool ev_kind_is(const struct event *ev, const char *kind)
{
    return strncmp(ev->kind, kind, EVENT_KIND_MAX) == 0;
}

bool ev_room_is(const struct event *ev, const char *prefix)
{
    return strncmp(ev->kind, prefix, strlen(prefix)) == 0;
}

/* The event's data object, or NULL (no data, not JSON, not an object). */
static json_t *data_of(const struct event *ev)
{
    if (!ev->data || !ev->data[0])
        return NULL;
    /* JSON_ALLOW_NUL: a client's string may hold \u0000; lengths are kept. */
    json_t *d = json_loads(ev->data, JSON_ALLOW_NUL, NULL);
    if (d && !json_is_object(d)) {
        json_decref(d);
        d = NULL;
    }
    return d;
}

static const char *jstr(json_t *d, const char *key, size_t *len)
{
    json_t *v = d ? json_object_get(d, key) : NULL;
    if (!json_is_string(v))
        return NULL;
    if (len)
        *len = json_string_length(v);
    return json_string_value(v);
}

static bool jstr_is(json_t *d, const char *key, const char *want)
{
    const char *s = jstr(d, key, NULL);
    return s && strcmp(s, want) == 0;
}

static bool jbool(json_t *d, const char *key)
{
    json_t *v = d ? json_object_get(d, key) : NULL;
    return json_is_true(v);
}

static bool jint(json_t *d, const char *key, long long *out)
{
    json_t *v = d ? json_object_get(d, key) : NULL;
    if (!json_is_integer(v))
        return false;
    *out = (long long)json_integer_value(v);
    return true;
}

/* A data string of one event, escaped and cut to fit out; dflt (trusted
 * text) when the event has no such string. */
const char *ev_field(const struct event *ev, const char *key, const char *dflt, char *out, size_t cap)
{
    json_t *d = data_of(ev);
    size_t len = 0;
    const char *s = jstr(d, key, &len);
    if (s && len > 0)
        log_escape(out, cap, s, len);
    else
        snprintf(out, cap, "%s", dflt);
    json_decref(d);
    return out;
}

bool ev_int_field(const struct event *ev, const char *key, long long *out)
{
    json_t *d = data_of(ev);
    bool ok = jint(d, key, out);
    json_decref(d);
    return ok;
}

bool ev_field_is(const struct event *ev, const char *key, const char *want)
{
    json_t *d = data_of(ev);
    bool b = jstr_is(d, key, want);
    json_decref(d);
    return b;
}

/* A success that moves the boot to a stage, or ST_NONE. */
static int success_stage(const struct event *ev, json_t *d)
{
    bool failed = ev->status == EVENT_FAIL || jstr(d, "error", NULL);
    /* In proxy mode midwife's whole DHCP answer is an offer. */
    if (ev_kind_is(ev, "dhcp.ack") || (ev_kind_is(ev, "dhcp.offer") && jbool(d, "proxy")))
        return ST_DHCP;
    if (ev_kind_is(ev, "tftp.done")) {
        if (jstr_is(d, "role", "script"))
            return ST_SCRIPT;
        return jstr_is(d, "role", "file") ? ST_NONE : ST_PROGRAM;
    }
    if (ev_kind_is(ev, "http.program"))
        return failed ? ST_NONE : ST_PROGRAM;
    if (ev_kind_is(ev, "http.script"))
        return failed ? ST_NONE : ST_SCRIPT;
    if (ev_kind_is(ev, "http.file"))
        return !failed && jstr_is(d, "role", "kernel") ? ST_KERNEL : ST_NONE;
    if (ev_kind_is(ev, "birth.accepted"))
        return ST_BORN;
    if (ev_kind_is(ev, "report.ready"))
        return ST_READY;
    if (ev_kind_is(ev, "state.changed") && jstr_is(d, "to", "ready"))
        return ST_READY;
    return ST_NONE;
}

static bool is_program_fetch(const struct event *ev, json_t *d)
{
    return success_stage(ev, d) == ST_PROGRAM;
}

static bool plain_client(json_t *d)
{
    return jstr_is(d, "client", "plain");
}

static bool is_boot_discover(const struct event *ev, json_t *d)
{
    if (ev_kind_is(ev, "dhcp.discover"))
        return !plain_client(d);
    if (ev_kind_is(ev, "dhcp.ignored"))
        return jstr_is(d, "in", "discover") && !plain_client(d);
    return false;
}

static bool is_boot_start(const struct event *ev, json_t *d)
{
    return is_boot_discover(ev, d) || ev_kind_is(ev, "tftp.start") || ev_kind_is(ev, "http.program") ||
           ev_kind_is(ev, "http.script") || ev_kind_is(ev, "token.issued");
}

static bool is_network_event(const struct event *ev)
{
    static const char *const rooms[] = {"dhcp.", "tftp.", "http.", "token.", "birth.", "report."};
    for (size_t i = 0; i < sizeof rooms / sizeof rooms[0]; i++)
        if (ev_room_is(ev, rooms[i]))
            return true;
    return false;
}

static int64_t token_boot(const struct event *ev, json_t *d)
{
    long long b = 0;
    if (jint(d, "boot_id", &b) && b != 0)
        return (int64_t)b;
    return ev->boot_id;
}

/* ---- cutting into attempts ---- */

struct cutter {
    int reached;
    int64_t boot;              /* the boot whose token this attempt holds, 0 = none */
    long discover_after_script; /* first boot DISCOVER after the last script, -1 = none */
};

static void cutter_reset(struct cutter *c)
{
    c->reached = ST_NONE;
    c->boot = 0;
    c->discover_after_script = -1;
}

static void cutter_track(struct cutter *c, const struct event *ev, json_t *d, size_t i)
{
    int s = success_stage(ev, d);
    if (s > c->reached)
        c->reached = s;
    if (s == ST_SCRIPT)
        c->discover_after_script = -1;
    else if (is_boot_discover(ev, d) && c->reached >= ST_SCRIPT && c->discover_after_script < 0)
        c->discover_after_script = (long)i;
    if (ev_kind_is(ev, "token.issued"))
        c->boot = token_boot(ev, d);
}

/* Where the latest attempt starts; *network says whether any event at all
 * came from the boot path (rather than only the lifecycle or hooks). */
static size_t latest_attempt(const struct explain_input *in, bool *network)
{
    struct cutter c;
    size_t first = 0;
    cutter_reset(&c);
    *network = false;
    for (size_t i = 0; i < in->n_events; i++) {
        const struct event *ev = &in->events[i];
        json_t *d = data_of(ev);
        long cut = -1;
        *network = *network || is_network_event(ev);
        if (i > first && is_boot_start(ev, d)) {
            bool gap = ev->ts_ms - in->events[i - 1].ts_ms >= ATTEMPT_GAP_MS;
            if (gap || c.reached >= ST_KERNEL)
                cut = (long)i;
        }
        if (cut < 0 && ev_kind_is(ev, "token.issued")) {
            int64_t b = token_boot(ev, d);
            if (b != 0 && c.boot != 0 && b != c.boot)
                cut = c.discover_after_script >= 0 ? c.discover_after_script : (long)i;
        }
        if (cut >= 0) {
            /* Replay what the new attempt already holds before i. */
            first = (size_t)cut;
            cutter_reset(&c);
            for (size_t j = first; j < i; j++) {
                json_t *dj = data_of(&in->events[j]);
                cutter_track(&c, &in->events[j], dj, j);
                json_decref(dj);
            }
        }
        cutter_track(&c, ev, d, i);
        json_decref(d);
    }
    return first;
}

/* ---- what the attempt holds ---- */

static void attempt_init(struct attempt *a, size_t first, size_t end)
{
    memset(a, 0, sizeof *a);
    a->first = first;
    a->end = end;
    for (int s = 0; s < ST_COUNT; s++)
        a->last_ok[s] = -1;
    a->arch = -1;
    a->last_network = a->last_discover = a->first_unanswered_offer = a->last_offer = a->last_answer = -1;
    a->other_server = a->last_ignored = a->last_nak = a->last_ipxe_ack = a->last_boot_ack = -1;
    a->last_tftp_start = a->last_probe = a->last_tftp_fail = a->first_fetch = a->last_fetch = -1;
    a->last_http_error = a->last_script = a->last_script_fail = a->last_file_fail = -1;
    a->last_birth_refused = a->last_report = a->last_step = a->last_agent_fail = a->last_token_refused = -1;
}

static void copy_key(char *dst, size_t cap, json_t *d, const char *key)
{
    size_t len = 0;
    const char *s = jstr(d, key, &len);
    if (!s)
        len = 0;
    if (len >= cap)
        len = cap - 1;
    if (len)
        memcpy(dst, s, len);
    dst[len] = '\0';
}

/* Hook failures are matched to later successes by transition and target
 * (cut to the table's width: two targets alike that far are one here). */
static void track_hook(struct attempt *a, const struct event *ev, json_t *d, size_t i)
{
    bool failed = ev_kind_is(ev, "hook.failed") || ev_kind_is(ev, "hook.timeout") || ev_kind_is(ev, "webhook.failed");
    bool done = ev_kind_is(ev, "hook.done") || ev_kind_is(ev, "webhook.done");
    if (!failed && !done)
        return;
    struct open_hook h = {.idx = (long)i, .holds = jbool(d, "holds")};
    copy_key(h.transition, sizeof h.transition, d, "transition");
    copy_key(h.target, sizeof h.target, d, "target");
    size_t k = 0;
    while (k < a->n_hooks &&
           !(strcmp(a->hooks[k].transition, h.transition) == 0 && strcmp(a->hooks[k].target, h.target) == 0))
        k++;
    if (done) {
        if (k < a->n_hooks)
            a->hooks[k] = a->hooks[--a->n_hooks];
        return;
    }
    a->hook_fails++;
    if (k < a->n_hooks) {
        a->hooks[k] = h;
    } else if (a->n_hooks < OPEN_HOOKS) {
        a->hooks[a->n_hooks++] = h;
    } else {
        /* Full: the oldest open failure makes room for the newest. */
        size_t oldest = 0;
        for (size_t j = 1; j < a->n_hooks; j++)
            if (a->hooks[j].idx < a->hooks[oldest].idx)
                oldest = j;
        a->hooks[oldest] = h;
    }
}

static void track_dhcp(struct attempt *a, const struct event *ev, json_t *d, long i)
{
    long long arch;
    /* A client that does not say what it is may be booting: only a plain
     * one is surely not. */
    if (!plain_client(d) && (ev_kind_is(ev, "dhcp.discover") || ev_kind_is(ev, "dhcp.request") ||
                             ev_kind_is(ev, "dhcp.offer") || ev_kind_is(ev, "dhcp.ack")))
        a->netboot = true;
    if (jint(d, "arch", &arch))
        a->arch = arch;
    if (ev_kind_is(ev, "dhcp.discover")) {
        a->last_discover = i;
    } else if (ev_kind_is(ev, "dhcp.offer") && !jbool(d, "proxy")) {
        if (a->unanswered_offers++ == 0)
            a->first_unanswered_offer = i;
        a->last_offer = i;
    } else if (ev_kind_is(ev, "dhcp.ack") || ev_kind_is(ev, "dhcp.offer")) {
        /* A proxy offer (proxy mode) is the whole of midwife's answer: the
         * client takes its address from the other server and asks us no
         * more, so it counts as an ACK does. */
        a->last_answer = i;
        a->unanswered_offers = 0;
        a->naks_since_ack = 0;
        if (!plain_client(d))
            a->last_boot_ack = i;
        if (jstr_is(d, "client", "ipxe"))
            a->last_ipxe_ack = i;
    } else if (ev_kind_is(ev, "dhcp.nak")) {
        a->last_answer = i;
        a->unanswered_offers = 0;
        a->naks_since_ack++;
        a->last_nak = i;
    } else if (ev_kind_is(ev, "dhcp.ignored")) {
        if (jstr_is(d, "why", "other_server")) {
            a->other_server = i;
        } else {
            a->ignored++;
            a->last_ignored = i;
        }
    }
}

static void track_boot_files(struct attempt *a, const struct event *ev, json_t *d, long i)
{
    if (ev_kind_is(ev, "tftp.start")) {
        a->last_tftp_start = i;
    } else if (ev_kind_is(ev, "tftp.abort")) {
        if (jbool(d, "after_probe")) {
            a->probes++;
            a->last_probe = i;
        } else {
            a->tftp_fails++;
            a->last_tftp_fail = i;
        }
    } else if (ev_kind_is(ev, "tftp.error")) {
        a->tftp_fails++;
        a->last_tftp_fail = i;
    } else if (ev_kind_is(ev, "http.script") && success_stage(ev, d) == ST_NONE) {
        a->script_fails++;
        a->last_script_fail = i;
    } else if (ev_kind_is(ev, "http.file") && success_stage(ev, d) == ST_NONE &&
               (ev->status == EVENT_FAIL || jstr(d, "error", NULL))) {
        a->last_file_fail = i;
    } else if (ev_kind_is(ev, "http.error")) {
        a->last_http_error = i;
        if (jstr_is(d, "route", "script") || jstr_is(d, "route", "bootcfg")) {
            a->script_fails++;
            a->last_script_fail = i;
        } else if (jstr_is(d, "route", "file")) {
            a->last_file_fail = i;
        }
    }
    if (is_program_fetch(ev, d)) {
        if (a->fetches_since_script++ == 0)
            a->first_fetch = i;
        a->last_fetch = i;
    }
}

static void track_host(struct attempt *a, const struct event *ev, json_t *d, long i)
{
    if (ev_kind_is(ev, "birth.refused")) {
        a->last_birth_refused = i;
    } else if (ev_kind_is(ev, "report.step")) {
        a->last_report = a->last_step = i;
        if (jstr_is(d, "status", "failed") || ev->status == EVENT_FAIL)
            a->last_agent_fail = i;
    } else if (ev_kind_is(ev, "report.failed")) {
        a->last_report = a->last_agent_fail = i;
    } else if (ev_kind_is(ev, "report.ready")) {
        a->last_report = i;
    } else if (ev_kind_is(ev, "token.refused")) {
        a->token_refused++;
        a->last_token_refused = i;
    }
}

static void attempt_walk(struct attempt *a, const struct explain_input *in)
{
    for (size_t u = a->first; u < a->end; u++) {
        const struct event *ev = &in->events[u];
        long i = (long)u;
        json_t *d = data_of(ev);
        int s = success_stage(ev, d);
        if (is_network_event(ev))
            a->last_network = i;
        if (is_network_event(ev) && !ev_room_is(ev, "dhcp."))
            a->netboot = true;
        if (ev_room_is(ev, "dhcp."))
            track_dhcp(a, ev, d, i);
        track_boot_files(a, ev, d, i);
        track_host(a, ev, d, i);
        track_hook(a, ev, d, u);
        if (s != ST_NONE) {
            a->last_ok[s] = i;
            if (s > a->reached)
                a->reached = s;
            /* Failures before a success at their stage are over. */
            if (s >= ST_PROGRAM)
                a->probes = a->tftp_fails = 0;
            if (s >= ST_SCRIPT) {
                a->fetches_since_script = 0;
                a->script_fails = 0;
            }
        }
        json_decref(d);
    }
}

/* The latest success at stage or beyond, -1 = none. */
static long beyond(const struct attempt *a, int stage)
{
    long m = -1;
    for (int s = stage; s < ST_COUNT; s++)
        if (a->last_ok[s] > m)
            m = a->last_ok[s];
    return m;
}

bool attempt_standing(const struct attempt *a, long idx, int stage)
{
    return idx >= 0 && beyond(a, stage) < idx;
}

void attempt_read(const struct explain_input *in, struct attempt *a, bool *network)
{
    size_t first = in->n_events ? latest_attempt(in, network) : 0;
    if (!in->n_events)
        *network = false;
    attempt_init(a, first, in->n_events);
    attempt_walk(a, in);
}

bool ev_field_false(const struct event *ev, const char *key)
{
    json_t *d = data_of(ev);
    bool b = json_is_false(d ? json_object_get(d, key) : NULL);
    json_decref(d);
    return b;
}
