/* Fuzzes the explain diagnosis (explain.c, explain_attempt.c) over one
 * client's events built from the bytes: kinds from docs/events.md (and a
 * few near misses), statuses, timestamps rising by chosen steps, boot ids,
 * and data that is NULL, garbage, JSON that is not an object, or an
 * object of the documented fields holding meaningful or hostile values.
 * Layout: max findings (1 byte), birth timeout (2), first time (4), now's
 * step from the last event (2: top bit set = before it), then per event
 * kind, status/mac/boot bits, time step (1 or 2) and data (see
 * event_data()).
 *
 * Checked: at least one finding when max >= 1 and never more than max;
 * each finding's name is a stable one and its own code's; summary and
 * advice non-empty, NUL-terminated inside their buffers, printable ASCII
 * only; at_ms 0 or the time of an event; at most one finding tells where
 * the boot stands, after any hook failure and beside nothing else; the
 * same input gives the same findings again, and a short list is the start
 * of a long one. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "lifecycle/explain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_EVENTS 160
#define LONG_FINDINGS 32

struct cursor {
    const uint8_t *p;
    size_t left;
};

static uint8_t u8(struct cursor *c)
{
    if (!c->left)
        return 0;
    c->left--;
    return *c->p++;
}

static uint16_t u16(struct cursor *c)
{
    uint16_t hi = u8(c);
    return (uint16_t)(hi << 8 | u8(c));
}

/* Up to n bytes of the input, as they are. */
static size_t bytes(struct cursor *c, size_t n, const uint8_t **out)
{
    if (n > c->left)
        n = c->left;
    *out = c->p;
    c->p += n;
    c->left -= n;
    return n;
}

static const char *const kinds[] = {
    "dhcp.discover", "dhcp.offer", "dhcp.request", "dhcp.ack", "dhcp.nak", "dhcp.decline", "dhcp.release",
    "dhcp.inform", "dhcp.ignored", "tftp.start", "tftp.done", "tftp.abort", "tftp.error", "http.script",
    "http.file", "http.program", "http.error", "token.issued", "token.refused", "birth.accepted",
    "birth.refused", "birth.cleanup", "report.step", "report.ready", "report.failed", "state.changed",
    "state.uploaded", "state.served", "hook.started", "hook.done", "hook.failed", "hook.timeout",
    "webhook.done", "webhook.failed",
    /* near misses: a reader matching prefixes loosely would take them */
    "", "dhcp", "dhcp.", "dhcp.ackx", "webhook.", "http.files", "report.ready.x",
    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", /* EVENT_KIND_MAX - 1 bytes */
};

static const char *const keys[] = {
    "client", "arch", "why", "in", "role", "after_probe", "error", "file", "address", "server",
    "subnet", "giaddr", "detail", "end", "code", "status", "route", "build", "kind", "token",
    "name", "step", "message", "log", "transition", "target", "exit", "signal", "ms", "output",
    "holds", "to", "from", "reason", "boot_id", "tsize", "path", "version", "bytes", "phase",
    "call", "peer", "range", "vendor", "sha256", "revoked",
};

static const char *const words[] = {
    "plain", "pxe", "ipxe", "http", "program", "script", "file", "kernel", "module", "bootcfg",
    "discover", "request", "other_server", "unknown_client", "no_subnet", "pool_exhausted",
    "not_authoritative", "backlog", "timeout", "client_error", "read_error", "aborted", "replayed",
    "expired", "unknown", "revoked", "foreign", "missing", "ready", "failed", "running", "ok",
    "born", "exit", "local", "sanboot", "linux", "esxi", "http://192.0.2.1/s.ipxe", "snponly.efi",
    "file not found", "access violation", "", "10.1.0.50", "network: ",
};

static const long long numbers[] = {
    0, 1, -1, 2, 7, 9, 16, 200, 404, 500, 65535, 65536, 2147483647LL, -2147483648LL,
    9223372036854775807LL, (-9223372036854775807LL - 1),
};

/* A string of the input's bytes: jansson wants UTF-8, so bytes that are
 * not are taken as Latin-1 code points (C1 controls included). */
static json_t *hostile_string(struct cursor *c)
{
    const uint8_t *b;
    size_t n = bytes(c, u8(c) % 96, &b);
    json_t *s = json_stringn((const char *)b, n);
    if (s)
        return s;
    char *u = malloc(2 * n + 1);
    if (!u)
        return json_string("");
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (b[i] < 0x80) {
            u[o++] = (char)b[i];
        } else {
            u[o++] = (char)(0xc0 | b[i] >> 6);
            u[o++] = (char)(0x80 | (b[i] & 0x3f));
        }
    }
    s = json_stringn(u, o);
    free(u);
    return s ? s : json_string("");
}

static json_t *value(struct cursor *c, int depth)
{
    uint8_t t = u8(c);
    switch (t % 10) {
    case 0:
    case 1:
    case 2: return json_string(words[u8(c) % (sizeof words / sizeof words[0])]);
    case 3: return hostile_string(c);
    case 4: return json_integer(numbers[u8(c) % (sizeof numbers / sizeof numbers[0])]);
    case 5: return json_integer((json_int_t)(int16_t)u16(c));
    case 6: return json_true();
    case 7: return json_false();
    case 8: return t & 0x10 ? json_null() : json_real(1.5);
    default:
        if (depth > 1)
            return json_array();
        json_t *a = json_array();
        json_array_append_new(a, value(c, depth + 1));
        return a;
    }
}

/* The data text of one event, malloc'd, or NULL. */
static char *event_data(struct cursor *c)
{
    uint8_t mode = u8(c);
    switch (mode % 8) {
    case 0: return NULL;
    case 1: { /* garbage, sometimes almost JSON */
        const uint8_t *b;
        size_t n = bytes(c, u8(c) % 64, &b);
        char *s = malloc(n + 2);
        if (!s)
            return NULL;
        size_t o = 0;
        if (mode & 0x10)
            s[o++] = '{';
        memcpy(s + o, b, n);
        s[o + n] = '\0';
        return s;
    }
    case 2: { /* JSON, not an object */
        static const char *const other[] = {"[]", "[{\"role\":\"kernel\"}]", "\"kernel\"", "42", "null", "true",
                                            "", "{", "{\"role\":\"kernel\"} x"};
        return strdup(other[u8(c) % (sizeof other / sizeof other[0])]);
    }
    default: { /* an object of documented fields */
        json_t *o = json_object();
        size_t n = u8(c) % 8;
        for (size_t i = 0; i < n; i++)
            json_object_set_new(o, keys[u8(c) % (sizeof keys / sizeof keys[0])], value(c, 0));
        char *s = json_dumps(o, JSON_COMPACT);
        json_decref(o);
        return s;
    }
    }
}

static const char *const stable_names[] = {
    "never-seen", "ignored", "offer-no-request", "nak-loop", "chainload-loop", "tftp-probe-abort",
    "tftp-failed", "script-error", "no-kernel", "no-birth", "birth-refused", "agent-failed",
    "hook-failed", "stuck-configuring", "ready", "in-progress", "stalled", "not-netbooting", "handed-off",
};

static bool stable(const char *name)
{
    for (size_t i = 0; i < sizeof stable_names / sizeof stable_names[0]; i++)
        if (strcmp(name, stable_names[i]) == 0)
            return true;
    return false;
}

static void check_text(const char *s)
{
    size_t n = strnlen(s, EXPLAIN_TEXT_MAX);
    if (n == 0 || n >= EXPLAIN_TEXT_MAX)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            abort();
}

/* Findings that only tell where the boot stands or where it stopped:
 * what the furthest stage reached says, one per diagnosis. */
static bool frontier(enum finding_code c)
{
    switch (c) {
    case FIND_READY:
    case FIND_IN_PROGRESS:
    case FIND_HANDED_OFF:
    case FIND_STALLED:
    case FIND_NO_KERNEL:
    case FIND_NO_BIRTH:
    case FIND_STUCK_CONFIGURING:
    case FIND_NOT_NETBOOTING: return true;
    default: return false;
    }
}

static bool status_only(enum finding_code c)
{
    return c == FIND_READY || c == FIND_IN_PROGRESS || c == FIND_HANDED_OFF;
}

static void check_findings(const struct explain_input *in, const struct finding *f, size_t n)
{
    size_t frontiers = 0, status = (size_t)-1, never = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        if (!f[i].name || !stable(f[i].name) || strcmp(f[i].name, finding_name(f[i].code)) != 0)
            abort();
        check_text(f[i].summary);
        check_text(f[i].advice);
        if (f[i].at_ms != 0) {
            bool found = false;
            for (size_t k = 0; k < in->n_events && !found; k++)
                found = in->events[k].ts_ms == f[i].at_ms;
            if (!found)
                abort();
        }
        if (frontier(f[i].code))
            frontiers++;
        if (status_only(f[i].code))
            status = i;
        if (f[i].code == FIND_NEVER_SEEN)
            never = i;
    }
    if (frontiers > 1)
        abort();
    for (size_t i = 0; i < n; i++) {
        /* Where the boot stands is said last, and only beside hook
         * failures that do not stop it. */
        if (status != (size_t)-1 && i != status && (f[i].code != FIND_HOOK_FAILED || i > status))
            abort();
        /* Never seen: nothing else but the lifecycle's own hooks. */
        if (never != (size_t)-1 && i != never && f[i].code != FIND_HOOK_FAILED)
            abort();
    }
}

static bool same(const struct finding *a, const struct finding *b)
{
    return a->code == b->code && a->name == b->name && a->at_ms == b->at_ms &&
           strcmp(a->summary, b->summary) == 0 && strcmp(a->advice, b->advice) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cursor c = {data, size};
    size_t max = u8(&c) % 10;
    unsigned birth_timeout = 30 + u16(&c) % 86371;
    /* Wall-clock milliseconds: a start anywhere from 1970 to ~2109. */
    int64_t ts = (int64_t)u16(&c) << 26 | (int64_t)u16(&c) << 10;
    /* Now: after the last event by a chosen step, or (a clock that
     * stepped back) before it. */
    uint16_t back = u16(&c);
    static const char *const macs[] = {"52:54:00:12:34:56", "52:54:00:12:34:57", ""};

    struct event *evs = calloc(MAX_EVENTS, sizeof *evs);
    if (!evs)
        return 0;
    size_t n = 0;
    while (c.left > 0 && n < MAX_EVENTS) {
        struct event *ev = &evs[n];
        ev->id = (int64_t)n + 1;
        snprintf(ev->kind, sizeof ev->kind, "%s", kinds[u8(&c) % (sizeof kinds / sizeof kinds[0])]);
        uint8_t st = u8(&c);
        ev->status = (enum event_status)((st & 3) % 3);
        /* Steps from none to ~9 h: quick exchanges, the 5 min attempt
         * gap, the 60 s stall and the birth timeout all within reach. */
        uint8_t d = u8(&c);
        ts += d < 0x80 ? (int64_t)d * 250 : ((int64_t)(d & 0x7f) << 8 | u8(&c)) * 1000;
        ev->ts_ms = ts;
        snprintf(ev->mac, sizeof ev->mac, "%s", macs[st >> 6 & 1 ? 2 : 0]);
        ev->boot_id = st >> 2 & 3;
        ev->host_id = st >> 4 & 1;
        if (st & 0x20)
            snprintf(ev->host, sizeof ev->host, "esx-01");
        snprintf(ev->message, sizeof ev->message, "%s", ev->kind);
        ev->data = event_data(&c);
        n++;
    }
    int64_t now = back & 0x8000 ? ts - (int64_t)(back & 0x7fff) * 100 : ts + (int64_t)back * 500;
    struct explain_input in = {.events = evs, .n_events = n, .now_ms = now, .birth_timeout_s = birth_timeout};

    /* Exactly max findings of room, so ASan sees a write past them. */
    struct finding *few = malloc((max ? max : 1) * sizeof *few);
    struct finding *all = malloc(LONG_FINDINGS * sizeof *all), *again = malloc(LONG_FINDINGS * sizeof *again);
    if (!few || !all || !again)
        abort();
    size_t n_few = 99, n_all = 99, n_again = 99;
    explain_diagnose(&in, few, max, &n_few);
    explain_diagnose(&in, all, LONG_FINDINGS, &n_all);
    explain_diagnose(&in, again, LONG_FINDINGS, &n_again);
    if (n_few > max || (max >= 1 && n_few < 1) || n_all < 1 || n_all >= LONG_FINDINGS)
        abort();
    if (n_few != (n_all < max ? n_all : max) || n_again != n_all)
        abort();
    check_findings(&in, all, n_all);
    for (size_t i = 0; i < n_all; i++)
        if (!same(&all[i], &again[i]) || (i < n_few && !same(&all[i], &few[i])))
            abort();

    free(few);
    free(all);
    free(again);
    for (size_t i = 0; i < n; i++)
        free(evs[i].data);
    free(evs);
    return 0;
}
