/* The diagnosis half of `midwife explain MAC` (explain.h): what the
 * latest boot attempt holds (explain_attempt.c cuts and reads it), put
 * into findings in plain words. A failure that still stands (nothing at
 * its stage or beyond succeeded after it) is a finding; what the furthest
 * stage reached says (in progress, lost, stuck, ready) is added only when
 * no failure stands. docs/events.md lists the fields read. */
#include "lifecycle/explain.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "boot/boot.h"
#include "lifecycle/explain_attempt.h"

/* An early stage (DHCP answered, program fetched, script served) with
 * nothing after it for this long has stopped: each normally follows the
 * one before within seconds. */
#define STALL_MS (60 * 1000LL)
/* UEFI firmware asks the size and comes back for the file at once. */
#define PROBE_GRACE_MS (10 * 1000LL)
#define LOOP_FETCHES 3   /* boot program fetches with no script between: a loop */
#define REPEAT_NAKS 2
#define MANY_OFFERS 3    /* PXE firmware resends DISCOVER at 4, 8, 16 s */
#define FIELD_SHOWN 84   /* one data string in a sentence, escaped, cut */
#define EXCERPT_SHOWN 200 /* hook output and agent log excerpts */
#define MAX_CANDIDATES 16

static const char *const finding_names[] = {
    [FIND_NEVER_SEEN] = "never-seen",
    [FIND_IGNORED] = "ignored",
    [FIND_OFFER_NO_REQUEST] = "offer-no-request",
    [FIND_NAK_LOOP] = "nak-loop",
    [FIND_CHAINLOAD_LOOP] = "chainload-loop",
    [FIND_TFTP_PROBE_ABORT] = "tftp-probe-abort",
    [FIND_TFTP_FAILED] = "tftp-failed",
    [FIND_SCRIPT_ERROR] = "script-error",
    [FIND_NO_KERNEL] = "no-kernel",
    [FIND_NO_BIRTH] = "no-birth",
    [FIND_BIRTH_REFUSED] = "birth-refused",
    [FIND_AGENT_FAILED] = "agent-failed",
    [FIND_HOOK_FAILED] = "hook-failed",
    [FIND_STUCK_CONFIGURING] = "stuck-configuring",
    [FIND_READY] = "ready",
    [FIND_IN_PROGRESS] = "in-progress",
    [FIND_STALLED] = "stalled",
    [FIND_NOT_NETBOOTING] = "not-netbooting",
    [FIND_HANDED_OFF] = "handed-off",
};

const char *finding_name(enum finding_code code)
{
    if ((size_t)code < sizeof finding_names / sizeof finding_names[0] && finding_names[code])
        return finding_names[code];
    return "unknown";
}

/* Most important first: the failure furthest along the boot is the one
 * that stopped it; a hook that holds the host blocks it like a failure; a
 * hook that merely failed is worth knowing but does not stop the boot. */
static int rank_of(enum finding_code code, bool holds)
{
    switch (code) {
    case FIND_AGENT_FAILED: return 1;
    case FIND_HOOK_FAILED: return holds ? 2 : 30;
    case FIND_BIRTH_REFUSED: return 3;
    case FIND_NO_BIRTH: return 4;
    case FIND_STUCK_CONFIGURING: return 5;
    case FIND_NO_KERNEL: return 6;
    case FIND_SCRIPT_ERROR: return 7;
    case FIND_CHAINLOAD_LOOP: return 8;
    case FIND_TFTP_FAILED: return 9;
    case FIND_TFTP_PROBE_ABORT: return 10;
    case FIND_STALLED: return 11;
    case FIND_NAK_LOOP: return 12;
    case FIND_OFFER_NO_REQUEST: return 13;
    case FIND_IGNORED: return 14;
    case FIND_NOT_NETBOOTING: return 15;
    case FIND_NEVER_SEEN: return 16;
    case FIND_HANDED_OFF: return 40;
    case FIND_READY: return 41;
    case FIND_IN_PROGRESS: return 42;
    }
    return 50;
}

/* ---- words ---- */

struct text {
    char *s;
    size_t cap, len;
};

static void text_start(struct text *t, char *buf, size_t cap)
{
    t->s = buf;
    t->cap = cap;
    t->len = 0;
    buf[0] = '\0';
}

/* Appends; a sentence that does not fit ends in "..." and stays
 * NUL-terminated. */
__attribute__((format(printf, 2, 3))) static void text_add(struct text *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (r < 0) {
        t->s[t->len] = '\0';
        return;
    }
    if ((size_t)r >= t->cap - t->len) {
        t->len = t->cap - 1;
        if (t->cap >= 4)
            memcpy(t->s + t->cap - 4, "...", 4);
        return;
    }
    t->len += (size_t)r;
}

/* "850 ms", "40 s", "12 min", "3 h", "2 days". */
static const char *span(char *out, size_t cap, int64_t ms)
{
    if (ms < 0)
        ms = 0;
    int64_t s = ms / 1000, m = s / 60, h = m / 60;
    if (ms < 1000)
        snprintf(out, cap, "%lld ms", (long long)ms);
    else if (s < 90)
        snprintf(out, cap, "%lld s", (long long)s);
    else if (m < 90)
        snprintf(out, cap, "%lld min", (long long)m);
    else if (h < 48)
        snprintf(out, cap, "%lld h", (long long)h);
    else
        snprintf(out, cap, "%lld days", (long long)(h / 24));
    return out;
}

/* "once", "twice", "3 times". */
static const char *times(char *out, size_t cap, unsigned n)
{
    if (n == 1)
        snprintf(out, cap, "once");
    else if (n == 2)
        snprintf(out, cap, "twice");
    else
        snprintf(out, cap, "%u times", n);
    return out;
}

/* "12 min ago", "just now" (and for a clock that stepped back). */
static const char *ago(char *out, size_t cap, int64_t now, int64_t at)
{
    char s[32];
    if (now - at < 1000)
        snprintf(out, cap, "just now");
    else
        snprintf(out, cap, "%s ago", span(s, sizeof s, now - at));
    return out;
}

/* "2026-12-01 21:30:05 UTC", to match against a console or another log. */
static const char *wall(char *out, size_t cap, int64_t ms)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(out, cap, "an unknown time");
    return out;
}

struct diag {
    const struct explain_input *in;
    struct attempt a;
    struct finding f[MAX_CANDIDATES];
    int rank[MAX_CANDIDATES];
    size_t n;
    bool blocked; /* a failure that stops the boot stands */
    char sink[2][EXPLAIN_TEXT_MAX]; /* where text goes when the list is full */
};

static const struct event *at(const struct diag *g, long idx)
{
    return &g->in->events[idx];
}

static int64_t age_of(const struct diag *g, long idx)
{
    return g->in->now_ms - at(g, idx)->ts_ms;
}

/* A new finding to fill in, or NULL when the list is full. */
static struct finding *add(struct diag *g, enum finding_code code, long idx, bool holds, struct text *summary,
                           struct text *advice)
{
    if (g->n == MAX_CANDIDATES) {
        text_start(summary, g->sink[0], sizeof g->sink[0]);
        text_start(advice, g->sink[1], sizeof g->sink[1]);
        return NULL;
    }
    struct finding *f = &g->f[g->n];
    g->rank[g->n++] = rank_of(code, holds);
    memset(f, 0, sizeof *f);
    f->code = code;
    f->name = finding_name(code);
    f->at_ms = idx >= 0 ? at(g, idx)->ts_ms : 0;
    text_start(summary, f->summary, sizeof f->summary);
    text_start(advice, f->advice, sizeof f->advice);
    if (rank_of(code, holds) < 30)
        g->blocked = true;
    return f;
}

static const char *arch_words(char *out, size_t cap, long long arch)
{
    if (arch < 0 || arch > 0xffff)
        snprintf(out, cap, "its architecture");
    else
        snprintf(out, cap, "arch %lld (%s)", arch, boot_arch_name((int32_t)arch));
    return out;
}

/* ---- findings, one function each ---- */

static void find_never_seen(struct diag *g)
{
    struct text s, v;
    add(g, FIND_NEVER_SEEN, -1, false, &s, &v);
    text_add(&s, "No DHCP, TFTP or HTTP request from this client is recorded");
    if (g->in->n_events)
        text_add(&s, " among its %zu recorded event%s", g->in->n_events, g->in->n_events == 1 ? "" : "s");
    text_add(&s, ".");
    text_add(&v, "Check that it is powered on and set to boot from the network (NIC first in the boot order), that its "
                 "DHCP requests reach midwife (the same link, or a relay with midwife as its helper address), and "
                 "that [dhcp] listens on that interface. Old events may also have been pruned ([lifecycle] "
                 "events_max_age).");
}

static void find_ignored(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_ignored, ST_DHCP) || a->last_offer > a->last_ignored)
        return;
    const struct event *ev = at(g, a->last_ignored);
    char t[40], n_s[32], why[FIELD_SHOWN], detail[FIELD_SHOWN], subnet[FIELD_SHOWN], relay[FIELD_SHOWN];
    ev_field(ev, "why", "no reason given", why, sizeof why);
    ev_field(ev, "detail", "", detail, sizeof detail);
    ev_field(ev, "subnet", "its subnet", subnet, sizeof subnet);
    ev_field(ev, "giaddr", "", relay, sizeof relay);
    static const struct { const char *why, *words; } reasons[] = {
        {"unknown_client", "an unknown client"},
        {"no_subnet", "no subnet serves its network"},
        {"pool_exhausted", "no free address"},
        {"not_authoritative", "no record of its address"},
        {"bad_request", "a request missing a field it needs"},
        {"no_lease", "a lease that is not its own"},
        {"backlog", "too many lease writes waiting"},
        {"reply_too_big", "the reply would not fit"},
    };
    for (size_t k = 0; k < sizeof reasons / sizeof reasons[0]; k++)
        if (ev_field_is(ev, "why", reasons[k].why))
            snprintf(why, sizeof why, "%s", reasons[k].words);
    struct text s, v;
    add(g, FIND_IGNORED, a->last_ignored, false, &s, &v);
    text_add(&s, "DHCP ignored it %s, last %s: %s", times(n_s, sizeof n_s, a->ignored),
             ago(t, sizeof t, g->in->now_ms, ev->ts_ms), why);
    if (detail[0])
        text_add(&s, " (%s)", detail);
    text_add(&s, ".");
    if (ev_field_is(ev, "why", "unknown_client"))
        text_add(&v, "midwife has no host record for this MAC and [dhcp] unknown_clients = ignore: add the host "
                     "(midwife host set NAME --mac MAC) or set unknown_clients = boot.");
    else if (ev_field_is(ev, "why", "no_subnet"))
        text_add(&v, "No [subnet] serves the network it asks from%s%s%s: add one for that network, or fix the "
                     "relay's giaddr.", relay[0] ? " (relay " : "", relay, relay[0] ? ")" : "");
    else if (ev_field_is(ev, "why", "pool_exhausted"))
        text_add(&v, "%s has no free address: widen its range or shorten the lease time.", subnet);
    else if (ev_field_is(ev, "why", "not_authoritative"))
        text_add(&v, "It asked for an address midwife has no record of and %s is not authoritative: the client "
                     "should fall back to DISCOVER; set authoritative = yes if midwife owns this network.", subnet);
    else if (ev_field_is(ev, "why", "backlog"))
        text_add(&v, "midwife had too many lease writes waiting: the disk under state_dir may be too slow.");
    else
        text_add(&v, "See its DHCP events (midwife events --mac MAC --kind dhcp) for the packets midwife dropped.");
    if (relay[0] && !ev_field_is(ev, "why", "no_subnet"))
        text_add(&v, " It came through the relay %s.", relay);
}

static void find_offer_no_request(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (a->unanswered_offers == 0 || !attempt_standing(a, a->last_offer, ST_DHCP))
        return;
    bool other = a->other_server > a->first_unanswered_offer;
    if (!other && a->unanswered_offers < MANY_OFFERS && age_of(g, a->first_unanswered_offer) < STALL_MS)
        return;
    const struct event *ev = at(g, a->last_offer);
    char t[40], n_s[32], addr[FIELD_SHOWN], server[FIELD_SHOWN];
    ev_field(ev, "address", "an address", addr, sizeof addr);
    struct text s, v;
    add(g, FIND_OFFER_NO_REQUEST, a->last_offer, false, &s, &v);
    text_add(&s, "midwife offered %s %s (last %s) and the client never requested it", addr,
             times(n_s, sizeof n_s, a->unanswered_offers), ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (other) {
        ev_field(at(g, a->other_server), "server", "", server, sizeof server);
        text_add(&s, ": it took another DHCP server's offer%s%s%s", server[0] ? " (server " : "", server,
                 server[0] ? ")" : "");
    }
    text_add(&s, ".");
    text_add(&v, "Another DHCP server may be answering faster, or the offers don't reach the client: check for a "
                 "second DHCP server on that network, the relay, the VLAN.");
}

static void find_nak_loop(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (a->naks_since_ack < REPEAT_NAKS || !attempt_standing(a, a->last_nak, ST_DHCP))
        return;
    const struct event *ev = at(g, a->last_nak);
    char t[40], n_s[32], addr[FIELD_SHOWN], why[FIELD_SHOWN], subnet[FIELD_SHOWN];
    ev_field(ev, "address", "its address", addr, sizeof addr);
    ev_field(ev, "why", "", why, sizeof why);
    /* The DHCP room's reasons lead into the address ("...network: 10.7.0.4"). */
    for (size_t l = strlen(why); l > 0 && (why[l - 1] == ':' || why[l - 1] == ' '); l--)
        why[l - 1] = '\0';
    ev_field(ev, "subnet", "", subnet, sizeof subnet);
    struct text s, v;
    add(g, FIND_NAK_LOOP, a->last_nak, false, &s, &v);
    text_add(&s, "midwife NAKed its request for %s %s, last %s", addr, times(n_s, sizeof n_s, a->naks_since_ack),
             ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (why[0])
        text_add(&s, ": %s", why);
    if (subnet[0])
        text_add(&s, " (subnet %s)", subnet);
    text_add(&s, ".");
    text_add(&v, "The client keeps asking for an address midwife will not give it here (one from another network or "
                 "another server, or a relay giving the wrong giaddr): check the relay's giaddr and the [subnet] "
                 "ranges; if another DHCP server owns this network, only one of them should be authoritative.");
}

static void find_chainload_loop(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (a->fetches_since_script < LOOP_FETCHES || !attempt_standing(a, a->last_fetch, ST_SCRIPT))
        return;
    const struct event *ev = at(g, a->last_fetch);
    char t[40], span_s[32], file[FIELD_SHOWN], handed[FIELD_SHOWN];
    ev_field(ev, "file", "the boot program", file, sizeof file);
    struct text s, v;
    add(g, FIND_CHAINLOAD_LOOP, a->last_fetch, false, &s, &v);
    text_add(&s, "The boot program %s was fetched %u times in %s with no script request in between (last %s, over "
                 "%s): an iPXE chainload loop.",
             file, a->fetches_since_script, span(span_s, sizeof span_s, ev->ts_ms - at(g, a->first_fetch)->ts_ms),
             ago(t, sizeof t, g->in->now_ms, ev->ts_ms), ev_room_is(ev, "tftp.") ? "TFTP" : "HTTP");
    if (a->last_ipxe_ack >= 0) {
        const struct event *ack = at(g, a->last_ipxe_ack);
        ev_field(ack, "file", "", handed, sizeof handed);
        if (strncmp(handed, "http", 4) == 0)
            text_add(&v, "iPXE got the script URL %s but never fetched it, so it fell back and the firmware booted "
                         "the program again: check that it reaches midwife's HTTP listener ([http] address, "
                         "public_url, a firewall).",
                     handed);
        else
            text_add(&v, "iPXE's own DHCP request was answered with %s, a boot program, instead of the script: "
                         "check [pxe] ipxe_script, and that iPXE identifies itself (user class \"iPXE\", option 175).",
                     handed[0] ? handed : "no file");
    } else {
        text_add(&v, "The loaded iPXE never asked midwife for its script: if its DHCP request is answered by another "
                     "server, that server hands it the boot program again; check for a second DHCP server and "
                     "[pxe] ipxe_script.");
    }
}

static void find_probe_abort(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_probe, ST_PROGRAM) || a->last_tftp_start > a->last_probe ||
        a->last_tftp_fail > a->last_probe || age_of(g, a->last_probe) < PROBE_GRACE_MS)
        return;
    const struct event *ev = at(g, a->last_probe);
    char t[40], file[FIELD_SHOWN], err[FIELD_SHOWN], arch[64];
    ev_field(ev, "file", "the boot program", file, sizeof file);
    ev_field(ev, "error", "", err, sizeof err);
    struct text s, v;
    add(g, FIND_TFTP_PROBE_ABORT, a->last_probe, false, &s, &v);
    text_add(&s, "The firmware asked for the size of %s over TFTP", file);
    if (a->probes > 1)
        text_add(&s, " %u times and ended each transfer there", a->probes);
    else
        text_add(&s, " and ended the transfer there");
    text_add(&s, " (%s", ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (err[0])
        text_add(&s, ", \"%s\"", err);
    text_add(&s, "); it never fetched the file.");
    text_add(&v, "Typical of UEFI firmware refusing what it was offered: check that %s is an EFI program built "
                 "for %s (for EFI x86-64 snponly.efi or ipxe.efi, never the BIOS undionly.kpxe; [pxe] arch.N), that "
                 "Secure Boot is off or the program is signed, and that nothing in between drops TFTP data from "
                 "the transfer's port.",
             file, arch_words(arch, sizeof arch, a->arch));
}

static void find_tftp_failed(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_tftp_fail, ST_PROGRAM) || a->last_tftp_start > a->last_tftp_fail ||
        a->last_probe > a->last_tftp_fail)
        return;
    const struct event *ev = at(g, a->last_tftp_fail);
    char t[40], file[FIELD_SHOWN], err[FIELD_SHOWN], end[FIELD_SHOWN], arch[64];
    ev_field(ev, "file", "the boot program", file, sizeof file);
    ev_field(ev, "error", "", err, sizeof err);
    ev_field(ev, "end", ev_kind_is(ev, "tftp.error") ? "refused" : "failed", end, sizeof end);
    struct text s, v;
    add(g, FIND_TFTP_FAILED, a->last_tftp_fail, false, &s, &v);
    text_add(&s, "%u TFTP transfer%s of %s failed, last %s: %s", a->tftp_fails, a->tftp_fails == 1 ? "" : "s", file,
             ago(t, sizeof t, g->in->now_ms, ev->ts_ms), end);
    if (err[0])
        text_add(&s, " (%s)", err);
    text_add(&s, ".");
    long long code = -1;
    ev_int_field(ev, "code", &code);
    if (ev_field_is(ev, "end", "timeout"))
        text_add(&v, "The client stopped acknowledging %s: a firewall or NAT dropping UDP from midwife's transfer "
                     "port, or blocks the path cannot carry (lower [tftp] max_blksize, e.g. 1428 over a VLAN or "
                     "tunnel, or max_windowsize).",
                 file);
    else if (code == 1 || strstr(err, "not found"))
        text_add(&v, "%s is not in [tftp] root: check the [pxe] program name for %s and that the file is there.", file,
                 arch_words(arch, sizeof arch, a->arch));
    else if (code == 2 || strstr(err, "access"))
        text_add(&v, "%s is outside [tftp] root or a symlink leading out of it; midwife refuses both.", file);
    else if (ev_field_is(ev, "end", "read_error"))
        text_add(&v, "midwife could not read %s: check the file and the disk under [tftp] root.", file);
    else if (ev_field_is(ev, "end", "client_error"))
        text_add(&v, "The client ended the transfer with an error: check that %s is the right program for %s.", file,
                 arch_words(arch, sizeof arch, a->arch));
    else
        text_add(&v, "See its TFTP events (midwife events --mac MAC --kind tftp) for each attempt.");
}

static void find_script_error(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_script_fail, ST_SCRIPT))
        return;
    const struct event *ev = at(g, a->last_script_fail);
    char t[40], build[FIELD_SHOWN], err[FIELD_SHOWN * 2];
    ev_field(ev, "build", "", build, sizeof build);
    ev_field(ev, "error", "no error given", err, sizeof err);
    bool bootcfg = ev_field_is(ev, "route", "bootcfg");
    long long status = 0;
    struct text s, v;
    add(g, FIND_SCRIPT_ERROR, a->last_script_fail, false, &s, &v);
    text_add(&s, "The %s", bootcfg ? "ESXi boot.cfg" : "boot script");
    if (build[0])
        text_add(&s, " for build %s", build);
    text_add(&s, " could not be served%s, last %s", a->script_fails > 1 ? " again and again" : "",
             ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (ev_int_field(ev, "status", &status))
        text_add(&s, " (HTTP %lld)", status);
    text_add(&s, ": %s.", err);
    text_add(&v, "Check the host's build (midwife build show NAME) and, if [boot] templates overrides it, the "
                 "template line named in the error; a host with no record needs [boot] default_build.");
}

static void find_birth_refused(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_birth_refused, ST_BORN))
        return;
    const struct event *ev = at(g, a->last_birth_refused);
    char t[40], why[FIELD_SHOWN], err[FIELD_SHOWN];
    ev_field(ev, "why", "no reason given", why, sizeof why);
    ev_field(ev, "error", "", err, sizeof err);
    struct text s, v;
    add(g, FIND_BIRTH_REFUSED, a->last_birth_refused, false, &s, &v);
    text_add(&s, "Its birth was refused %s: token %s", ago(t, sizeof t, g->in->now_ms, ev->ts_ms), why);
    if (err[0])
        text_add(&s, " (%s)", err);
    text_add(&s, ".");
    static const struct { const char *why, *advice; } advice[] = {
        {"replayed", "The boot token was already used: the agent sent its birth twice, or the host booted a kernel "
                     "command line from an earlier boot (cached or local). Boot it from the network again so it "
                     "gets a fresh token."},
        {"expired", "The token expired before the birth: the boot took longer than [lifecycle] token_ttl, or the "
                    "host's clock is far off. Boot it again, or raise token_ttl."},
        {"unknown", "midwife never issued that token (another midwife's, or a reset store): boot it from this "
                    "midwife again."},
        {"revoked", "A later boot or a reinstall replaced the token: let the newest boot finish."},
        {"foreign", "The token belongs to another host: the birth's MACs do not match the host it was issued for "
                    "(a duplicate MAC, or a cloned image)."},
        {"missing", "The birth carried no token: the kernel command line lacks midwife.token= (an override "
                    "template dropped it?)."},
    };
    for (size_t i = 0; i < sizeof advice / sizeof advice[0]; i++)
        if (ev_field_is(ev, "why", advice[i].why)) {
            text_add(&v, "%s", advice[i].advice);
            return;
        }
    text_add(&v, "See its birth events (midwife events --mac MAC --kind birth) for the details.");
}

static void find_agent_failed(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (!attempt_standing(a, a->last_agent_fail, ST_READY))
        return;
    const struct event *ev = at(g, a->last_agent_fail);
    char t[40], step[FIELD_SHOWN], err[FIELD_SHOWN * 2], log[EXCERPT_SHOWN];
    ev_field(ev, "step", "an unnamed step", step, sizeof step);
    ev_field(ev, "error", "", err, sizeof err);
    if (!err[0])
        ev_field(ev, "message", "no error given", err, sizeof err);
    ev_field(ev, "log", "", log, sizeof log);
    struct text s, v;
    add(g, FIND_AGENT_FAILED, a->last_agent_fail, false, &s, &v);
    text_add(&s, "The agent failed at step %s %s: %s.", step, ago(t, sizeof t, g->in->now_ms, ev->ts_ms), err);
    text_add(&v, "Fix what step %s needs (the host's profile: midwife host config NAME) and boot it again.", step);
    if (log[0])
        text_add(&v, " Its log: %s", log);
}

static void find_hooks(struct diag *g)
{
    const struct attempt *a = &g->a;
    if (a->n_hooks == 0)
        return;
    /* The one to tell: one that holds the host, else the latest. */
    const struct open_hook *h = &a->hooks[0];
    for (size_t k = 1; k < a->n_hooks; k++) {
        const struct open_hook *c = &a->hooks[k];
        if ((c->holds && !h->holds) || (c->holds == h->holds && c->idx > h->idx))
            h = c;
    }
    const struct event *ev = at(g, h->idx);
    bool web = ev_room_is(ev, "webhook.");
    char t[40], d[32], tr[FIELD_SHOWN], target[FIELD_SHOWN], err[FIELD_SHOWN], out[EXCERPT_SHOWN];
    ev_field(ev, "transition", "a", tr, sizeof tr);
    ev_field(ev, "target", "(unnamed)", target, sizeof target);
    ev_field(ev, "error", "", err, sizeof err);
    ev_field(ev, "output", "", out, sizeof out);
    long long ms = -1, exit_code = 0, sig = 0, status = 0;
    bool has_ms = ev_int_field(ev, "ms", &ms);
    struct text s, v;
    add(g, FIND_HOOK_FAILED, h->idx, h->holds, &s, &v);
    text_add(&s, "The %s %s %s ", tr, web ? "webhook" : "hook", target);
    if (ev_kind_is(ev, "hook.timeout"))
        text_add(&s, "timed out");
    else if (err[0])
        text_add(&s, "could not run (%s)", err);
    else if (web && ev_int_field(ev, "status", &status) && status)
        text_add(&s, "answered %lld", status);
    else if (web)
        text_add(&s, "got no answer");
    else if (ev_int_field(ev, "signal", &sig) && sig)
        text_add(&s, "was killed by signal %lld", sig);
    else if (ev_int_field(ev, "exit", &exit_code))
        text_add(&s, "exited %lld", exit_code);
    else
        text_add(&s, "failed");
    if (has_ms)
        text_add(&s, " after %s", span(d, sizeof d, ms));
    text_add(&s, ", %s", ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (a->n_hooks > 1)
        text_add(&s, " (%zu hooks failing)", a->n_hooks);
    text_add(&s, "%s", h->holds ? "; it holds the host in configuring." : "; it does not hold the host.");
    if (h->holds)
        text_add(&v, "Fix the hook and boot the host again (a failing born hook holds it while [lifecycle] "
                     "born_hook_holds = yes). ");
    if (ev_kind_is(ev, "hook.timeout"))
        text_add(&v, "It ran longer than [hooks] timeout.");
    else if (web)
        text_add(&v, "Check that the webhook's URL answers 2xx.");
    else
        text_add(&v, "Run it by hand with the event on stdin to see why.");
    if (out[0])
        text_add(&v, " Its output: %s", out);
}

/* What the furthest stage says, when no failure stands. */
static void frontier_dhcp(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_ok[ST_DHCP];
    const struct event *ev = at(g, idx);
    char t[40], addr[FIELD_SHOWN], file[FIELD_SHOWN], arch[64];
    ev_field(ev, "address", "an address", addr, sizeof addr);
    if (ev_field_is(ev, "address", "0.0.0.0")) /* proxy mode: no address is ours to give */
        snprintf(addr, sizeof addr, "its boot information (a proxy offer; the address is another server's)");
    ago(t, sizeof t, g->in->now_ms, ev->ts_ms);
    struct text s, v;
    if (!a->netboot) {
        add(g, FIND_NOT_NETBOOTING, idx, false, &s, &v);
        text_add(&s, "Only ordinary DHCP from it (it got %s %s): it is not booting from the network.", addr, t);
        text_add(&v, "Enable network (PXE) boot in its firmware and put the NIC first in the boot order.");
        return;
    }
    long ack = a->last_boot_ack >= 0 ? a->last_boot_ack : idx;
    ev = at(g, ack);
    ev_field(ev, "file", "", file, sizeof file);
    if (age_of(g, ack) < STALL_MS) {
        add(g, FIND_IN_PROGRESS, ack, false, &s, &v);
        text_add(&s, "Booting: DHCP gave it %s %s%s%s; the boot program comes next.", addr, t,
                 file[0] ? ", boot file " : "", file);
        text_add(&v, "Nothing to do yet.");
        return;
    }
    add(g, FIND_STALLED, ack, false, &s, &v);
    if (!file[0]) {
        text_add(&s, "DHCP gave it %s %s but no boot file, and nothing followed.", addr, t);
        text_add(&v, "[pxe] has no boot program for %s: add arch.N for it.", arch_words(arch, sizeof arch, a->arch));
        return;
    }
    text_add(&s, "DHCP gave it %s and the boot file %s %s, and it never fetched the file.", addr, file, t);
    if (a->last_http_error > ack) {
        char err[FIELD_SHOWN];
        ev_field(at(g, a->last_http_error), "error", "an HTTP error", err, sizeof err);
        text_add(&v, "Its HTTP request failed: %s. ", err);
    }
    if (strncmp(file, "http", 4) == 0)
        text_add(&v, "Check that the client reaches that URL (midwife's [http] listener, public_url, a firewall).");
    else
        text_add(&v, "Check that the client reaches TFTP on the next-server (UDP 69, a firewall, [tftp] enabled), "
                     "and that the DHCP answer it used was midwife's.");
}

static void frontier_program(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_ok[ST_PROGRAM];
    const struct event *ev = at(g, idx);
    char t[40], file[FIELD_SHOWN];
    ev_field(ev, "file", "the boot program", file, sizeof file);
    ago(t, sizeof t, g->in->now_ms, ev->ts_ms);
    struct text s, v;
    if (age_of(g, idx) < STALL_MS) {
        add(g, FIND_IN_PROGRESS, idx, false, &s, &v);
        text_add(&s, "Booting: it fetched %s %s; iPXE's own DHCP and the script come next.", file, t);
        text_add(&v, "Nothing to do yet.");
        return;
    }
    add(g, FIND_STALLED, idx, false, &s, &v);
    text_add(&s, "It fetched the boot program %s %s and nothing followed.", file, t);
    text_add(&v, "The program did not start or got no answer to its own DHCP: look at the console; check that %s "
                 "suits its firmware and NIC (snponly.efi needs a UEFI network driver; undionly.kpxe is for BIOS).",
             file);
}

static void frontier_script(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_ok[ST_SCRIPT];
    const struct event *ev = at(g, idx);
    char t[40], build[FIELD_SHOWN], kind[FIELD_SHOWN];
    ev_field(ev, "build", "", build, sizeof build);
    ev_field(ev, "kind", "", kind, sizeof kind);
    ago(t, sizeof t, g->in->now_ms, ev->ts_ms);
    struct text s, v;
    static const struct { const char *kind, *where, *more, *advice; } off[] = {
        {"exit", "The script told it to leave network boot", ": midwife has no build for it.",
         "Give it a build (midwife host set NAME --build BUILD), or set [boot] default_build for unknown hosts."},
        {"local", "The script sent it to its local disk", " (build kind local).",
         "Nothing is wrong if it should boot its installed system; else change its build."},
        {"sanboot", "The script sent it to its SAN disk", " (sanboot): midwife sees nothing more of that boot.",
         "If it did not come up, look at the iPXE console for the sanboot error and check the build's san_uri."},
    };
    for (size_t i = 0; i < sizeof off / sizeof off[0]; i++)
        if (strcmp(kind, off[i].kind) == 0) {
            add(g, FIND_HANDED_OFF, idx, false, &s, &v);
            text_add(&s, "%s %s%s", off[i].where, t, off[i].more);
            text_add(&v, "%s", off[i].advice);
            return;
        }
    if (age_of(g, idx) < STALL_MS) {
        add(g, FIND_IN_PROGRESS, idx, false, &s, &v);
        text_add(&s, "Booting: the script%s%s was served %s; the kernel comes next.", build[0] ? " for build " : "",
                 build, t);
        text_add(&v, "Nothing to do yet.");
        return;
    }
    add(g, FIND_NO_KERNEL, idx, false, &s, &v);
    text_add(&s, "The script%s%s was served %s and the kernel was never fetched", build[0] ? " for build " : "",
             build, t);
    if (a->last_file_fail > idx) {
        const struct event *f = at(g, a->last_file_fail);
        char name[FIELD_SHOWN], err[FIELD_SHOWN];
        ev_field(f, "name", "", name, sizeof name);
        if (!name[0])
            ev_field(f, "path", "a file", name, sizeof name);
        ev_field(f, "error", "no error given", err, sizeof err);
        text_add(&s, "; fetching %s failed: %s", name, err);
    }
    text_add(&s, ".");
    text_add(&v, "iPXE could not fetch or boot the kernel: look at its console for the error; check that the build's "
                 "files are in the blob store (midwife build show %s) and that the host reaches [http] public_url.",
             build[0] ? build : "NAME");
}

static void frontier_kernel(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_ok[ST_KERNEL];
    const struct event *ev = at(g, idx);
    char t[40], lim[32], name[FIELD_SHOWN], build[FIELD_SHOWN];
    ev_field(ev, "name", "the kernel", name, sizeof name);
    ev_field(ev, "build", "", build, sizeof build);
    ago(t, sizeof t, g->in->now_ms, ev->ts_ms);
    int64_t timeout_ms = (int64_t)g->in->birth_timeout_s * 1000;
    span(lim, sizeof lim, timeout_ms);
    struct text s, v;
    if (a->last_ok[ST_SCRIPT] >= 0 && a->last_ok[ST_SCRIPT] < idx) {
        if (ev_field_false(at(g, a->last_ok[ST_SCRIPT]), "token")) {
            add(g, FIND_HANDED_OFF, idx, false, &s, &v);
            text_add(&s, "It fetched the kernel %s%s%s %s; the build has no agent, so midwife hears nothing after.",
                     name, build[0] ? " of build " : "", build, t);
            text_add(&v, "If it did not come up, look at its console.");
            return;
        }
    }
    if (age_of(g, idx) <= timeout_ms) {
        add(g, FIND_IN_PROGRESS, idx, false, &s, &v);
        text_add(&s, "Booting: it fetched the kernel %s%s%s %s; waiting for the birth (lost after %s).", name,
                 build[0] ? " of build " : "", build, t, lim);
        text_add(&v, "Nothing to do yet.");
        return;
    }
    add(g, FIND_NO_BIRTH, idx, false, &s, &v);
    char when[40];
    text_add(&s, "It fetched the kernel %s%s%s at %s, %s, and no birth followed within the birth timeout (%s).",
             name, build[0] ? " of build " : "", build, wall(when, sizeof when, ev->ts_ms), t, lim);
    text_add(&v, "The agent didn't start or can't reach midwife.url: look at the host's console for kernel and agent "
                 "messages; check that midwife.url on its kernel command line is reachable from its network "
                 "(VLAN, firewall, [http] public_url) and that the build carries the agent.");
}

static void frontier_born(struct diag *g)
{
    const struct attempt *a = &g->a;
    long born = a->last_ok[ST_BORN];
    long last = a->last_report > born ? a->last_report : born;
    char t[40], t2[40], step[FIELD_SHOWN], status[FIELD_SHOWN], why[FIELD_SHOWN];
    ago(t, sizeof t, g->in->now_ms, at(g, born)->ts_ms);
    struct text s, v;
    bool stuck = age_of(g, last) > (int64_t)g->in->birth_timeout_s * 1000;
    add(g, stuck ? FIND_STUCK_CONFIGURING : FIND_IN_PROGRESS, last, false, &s, &v);
    text_add(&s, stuck ? "Born %s and never ready" : "Born %s, configuring", t);
    if (a->last_step > born) {
        const struct event *ev = at(g, a->last_step);
        ev_field(ev, "step", "a step", step, sizeof step);
        ev_field(ev, "status", "running", status, sizeof status);
        text_add(&s, ": the agent's last report was step %s (%s) %s", step, status,
                 ago(t2, sizeof t2, g->in->now_ms, ev->ts_ms));
    } else if (stuck) {
        text_add(&s, ": no report from the agent since the birth");
    }
    if (a->token_refused && a->last_token_refused > born) {
        ev_field(at(g, a->last_token_refused), "why", "refused", why, sizeof why);
        text_add(&s, "; %u call%s from it refused (token %s)", a->token_refused, a->token_refused == 1 ? "" : "s",
                 why);
    }
    text_add(&s, ".");
    if (!stuck)
        text_add(&v, "Nothing to do yet.");
    else if (a->token_refused && a->last_token_refused > born)
        text_add(&v, "Its reports are refused: its boot token expired or was replaced ([lifecycle] token_ttl); "
                     "boot it again.");
    else
        text_add(&v, "The agent is stuck or lost its way back to midwife: look at the host's console and the "
                     "agent's log.");
}

static void frontier_ready(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_ok[ST_READY];
    const struct event *ev = at(g, idx);
    char t[40], build[FIELD_SHOWN] = "";
    struct text s, v;
    if (a->last_ok[ST_SCRIPT] >= 0)
        ev_field(at(g, a->last_ok[ST_SCRIPT]), "build", "", build, sizeof build);
    add(g, FIND_READY, idx, false, &s, &v);
    text_add(&s, "The last boot reached ready %s", ago(t, sizeof t, g->in->now_ms, ev->ts_ms));
    if (ev->boot_id)
        text_add(&s, " (boot %lld)", (long long)ev->boot_id);
    if (build[0])
        text_add(&s, " with build %s", build);
    text_add(&s, ".");
    text_add(&v, "Nothing to do.");
}

static void frontier_none(struct diag *g)
{
    const struct attempt *a = &g->a;
    long idx = a->last_network >= 0 ? a->last_network : (long)a->end - 1;
    char t[40];
    struct text s, v;
    add(g, FIND_IN_PROGRESS, idx, false, &s, &v);
    ago(t, sizeof t, g->in->now_ms, at(g, idx)->ts_ms);
    if (a->last_offer >= 0 && a->last_offer > a->last_answer)
        text_add(&s, "Booting: midwife offered it an address %s and waits for its request.", t);
    else if (a->last_discover >= 0)
        text_add(&s, "Booting: DHCP DISCOVER %s, not answered yet.", t);
    else
        text_add(&s, "Its last event was %s; no boot step has completed yet.", t);
    text_add(&v, "Nothing to do yet.");
}

static void diagnose(struct diag *g)
{
    find_agent_failed(g);
    find_birth_refused(g);
    find_script_error(g);
    find_chainload_loop(g);
    find_tftp_failed(g);
    find_probe_abort(g);
    find_nak_loop(g);
    find_offer_no_request(g);
    find_ignored(g);
    find_hooks(g);
    if (g->blocked)
        return;
    switch (g->a.reached) {
    case ST_READY: frontier_ready(g); break;
    case ST_BORN: frontier_born(g); break;
    case ST_KERNEL: frontier_kernel(g); break;
    case ST_SCRIPT: frontier_script(g); break;
    case ST_PROGRAM: frontier_program(g); break;
    case ST_DHCP: frontier_dhcp(g); break;
    default: frontier_none(g); break;
    }
}

void explain_diagnose(const struct explain_input *in, struct finding *out, size_t max, size_t *n)
{
    *n = 0;
    if (max == 0)
        return;
    struct diag *g = calloc(1, sizeof *g);
    struct finding fallback;
    if (!g) {
        /* Out of memory: still one honest finding. */
        memset(&fallback, 0, sizeof fallback);
        fallback.code = FIND_IN_PROGRESS;
        fallback.name = finding_name(FIND_IN_PROGRESS);
        snprintf(fallback.summary, sizeof fallback.summary, "No diagnosis: out of memory.");
        snprintf(fallback.advice, sizeof fallback.advice, "Try again.");
        out[0] = fallback;
        *n = 1;
        return;
    }
    g->in = in;
    bool network = false;
    attempt_read(in, &g->a, &network);
    if (!network) {
        find_never_seen(g);
        find_hooks(g);
    } else {
        diagnose(g);
    }
    /* Stable by rank: equal ranks keep the order they were found in. */
    for (size_t i = 1; i < g->n; i++)
        for (size_t j = i; j > 0 && g->rank[j - 1] > g->rank[j]; j--) {
            struct finding f = g->f[j];
            int r = g->rank[j];
            g->f[j] = g->f[j - 1];
            g->rank[j] = g->rank[j - 1];
            g->f[j - 1] = f;
            g->rank[j - 1] = r;
        }
    for (size_t i = 0; i < g->n && i < max; i++)
        out[(*n)++] = g->f[i];
    free(g);
}
