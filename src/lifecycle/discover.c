/* Script requests: rules for unknown machines, boot tokens for known ones
 * (see discover.h). */
#include "lifecycle/discover.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/script.h"
#include "inventory/rules.h"
#include "lifecycle/birth.h"
#include "lifecycle/lifecycle_internal.h"
#include "lifecycle/seen.h"
#include "util/addr.h"
#include "util/log.h"

#define RULES_MAX 4096

struct rules_acc {
    struct rule *v;
    size_t n, cap;
};

static int take_rule(const struct rule *r, void *arg)
{
    struct rules_acc *a = arg;
    if (a->n == RULES_MAX)
        return 1;
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 16;
        struct rule *v = realloc(a->v, cap * sizeof *v);
        if (!v)
            return -ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    struct rule *c = &a->v[a->n];
    *c = *r;
    c->match = strdup(r->match ? r->match : "{}");
    c->labels = strdup(r->labels ? r->labels : "{}");
    if (!c->match || !c->labels) {
        rule_clear(c);
        return -ENOMEM;
    }
    a->n++;
    return 0;
}

int lifecycle_rules_load(struct lifecycle *lc, struct rule **rules, size_t *n)
{
    struct rules_acc a = {0};
    int r = store_rule_list(lifecycle_store(lc), take_rule, &a);
    if (r < 0) {
        lifecycle_rules_free(a.v, a.n);
        return r;
    }
    *rules = a.v;
    *n = a.n;
    return 0;
}

void lifecycle_rules_free(struct rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        rule_clear(&rules[i]);
    free(rules);
}

/* Option 82 sub-option code's value inside the raw option, or NULL. */
static const uint8_t *relay_sub(const uint8_t *p, size_t len, uint8_t code, size_t *sub_len)
{
    size_t i = 0;
    while (i + 2 <= len) {
        uint8_t c = p[i], l = p[i + 1];
        if (i + 2 + l > len)
            return NULL;
        if (c == code) {
            *sub_len = l;
            return p + i + 2;
        }
        i += 2u + l;
    }
    return NULL;
}

static void uuid_text(const uint8_t u[16], char out[HOST_UUID_LEN + 1])
{
    snprintf(out, HOST_UUID_LEN + 1,
             "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0], u[1], u[2], u[3], u[4],
             u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13], u[14], u[15]);
}

void lifecycle_subject_for(struct lifecycle *lc, const uint8_t mac[6], const char *uuid, const char *serial,
                           const char *vendor, const char *model, struct rule_subject *s, struct subject_keep *keep)
{
    memset(s, 0, sizeof *s);
    memset(keep, 0, sizeof *keep);
    s->has_mac = true;
    memcpy(s->mac, mac, 6);
    s->arch = -1;
    s->serial = serial && *serial ? serial : NULL;
    s->vendor = vendor && *vendor ? vendor : NULL;
    s->model = model && *model ? model : NULL;
    if (uuid && *uuid) {
        for (size_t i = 0; i < HOST_UUID_LEN && uuid[i]; i++)
            keep->uuid[i] = (char)tolower((unsigned char)uuid[i]);
        s->uuid = keep->uuid;
    }
    struct store_lease l;
    if (store_lease_by_mac(lifecycle_store(lc), mac, &l) == 0) {
        s->arch = l.arch;
        snprintf(keep->subnet, sizeof keep->subnet, "%s", l.subnet);
        s->subnet = keep->subnet[0] ? keep->subnet : NULL;
        if (!s->uuid && l.has_uuid) {
            uuid_text(l.uuid, keep->uuid);
            s->uuid = keep->uuid;
        }
        keep->relay_len = l.relay_info_len;
        memcpy(keep->relay, l.relay_info, l.relay_info_len);
        s->circuit_id = relay_sub(keep->relay, keep->relay_len, 1, &s->circuit_id_len);
        s->remote_id = relay_sub(keep->relay, keep->relay_len, 2, &s->remote_id_len);
    }
}

/* An unknown machine: the first matching rule creates its record. 1 when
 * a record was created into *h, 0 when no rule matched. */
static int discover(struct lifecycle *lc, const struct script_ask *ask, struct host *h)
{
    struct rule_subject s;
    struct subject_keep keep;
    lifecycle_subject_for(lc, ask->mac, ask->uuid, ask->serial, ask->vendor, ask->model, &s, &keep);
    struct rule *rules = NULL;
    size_t n = 0;
    if (lifecycle_rules_load(lc, &rules, &n) < 0)
        return -EIO;
    /* First match wins; its line is the reason the record exists. */
    char why[RULE_WHY_MAX];
    int at = -1;
    for (size_t i = 0; i < n && at < 0; i++)
        if (rule_matches(&rules[i], &s, why, sizeof why))
            at = (int)i;
    int ret = 0;
    if (at >= 0) {
        const struct rule *r = &rules[at];
        int e = host_init(h);
        if (e < 0) {
            ret = e;
            goto out;
        }
        char hexmac[13];
        snprintf(hexmac, sizeof hexmac, "%02x%02x%02x%02x%02x%02x", ask->mac[0], ask->mac[1], ask->mac[2],
                 ask->mac[3], ask->mac[4], ask->mac[5]);
        snprintf(h->name, sizeof h->name, "host-%s", hexmac);
        memcpy(h->macs[0], ask->mac, 6);
        h->n_macs = 1;
        if (s.uuid && host_uuid_valid(s.uuid))
            snprintf(h->uuid, sizeof h->uuid, "%s", s.uuid);
        snprintf(h->build, sizeof h->build, "%s", r->build);
        h->build_version = r->build_version;
        snprintf(h->profile, sizeof h->profile, "%s", r->profile);
        if (r->mode >= 0)
            h->mode = (enum host_mode)r->mode;
        free(h->labels);
        h->labels = strdup(r->labels);
        const char *where = NULL;
        if (!h->labels || (e = store_host_put(lifecycle_store(lc), h, &where)) < 0) {
            if (h->labels && store_txn_read_only(lifecycle_store(lc))) {
                host_clear(h); /* the read could not become a write: run again (lifecycle_script_for) */
                ret = -EAGAIN;
                goto out;
            }
            char m[18];
            log_warn("lifecycle", "rule %s matched %s but its record could not be created (%s%s)", r->name,
                     format_mac(ask->mac, m), where ? "conflict on " : "", where ? where : strerror(-e));
            host_clear(h);
            ret = -EIO;
            goto out;
        }
        char reason[HOST_REASON_MAX];
        snprintf(reason, sizeof reason, "rule %s matched: %.160s", r->name, why);
        lifecycle_transition(lc, h, HOST_DISCOVERED, reason);
        ret = 1;
    }
out:
    lifecycle_rules_free(rules, n);
    return ret;
}

/* Any rule at all? One row is enough to know. */
static int any_rule(const struct rule *r, void *arg)
{
    (void)r;
    *(bool *)arg = true;
    return 1;
}

/* The identity script (discover.h). Only the MAC, already checked to be a
 * MAC, and the base URL, checked like every URL, go into it. */
static int identity_script(struct lifecycle *lc, const struct script_ask *ask, char **out, size_t *outlen)
{
    char m[18];
    snprintf(m, sizeof m, "%02x-%02x-%02x-%02x-%02x-%02x", ask->mac[0], ask->mac[1], ask->mac[2], ask->mac[3],
             ask->mac[4], ask->mac[5]);
    for (const char *p = ask->base_url; *p; p++)
        if (!(*p > ' ' && *p < 127) || strchr("$`#;{}\\\"'|&<>", *p))
            return -EINVAL;
    int n = asprintf(out,
                     "#!ipxe\n"
                     "# midwife: unknown machine %s: asking again with its identity, for the rules\n"
                     "chain %s/boot/ipxe?mac=%s&asked=1&uuid=${uuid}&serial=${serial:uristring}"
                     "&vendor=${manufacturer:uristring}&model=${product:uristring}\n",
                     m, ask->base_url, m);
    if (n < 0)
        return -ENOMEM;
    *outlen = (size_t)n;
    char a[IPV4_STRLEN];
    lifecycle_recordf(lc, "http.script", EVENT_INFO, ask->mac, "{\"kind\":\"identity\",\"known\":false}",
                      "identity script served to %s: an unknown machine, the rules may need its UUID or serial",
                      format_ipv4(ask->peer, a));
    return 0;
}

/* The same machine asking for its script again and again without a boot
 * starting (no token: not from its lease, retired, no record) is one
 * event per SEEN_SCRIPT_REPEAT_MS with the count of the ones folded into
 * it, not one per request: a script storm from a misrouted subnet would
 * otherwise flood the recorder with copies (seen.h). */

void lifecycle_proxy_answered(struct lifecycle *lc, const uint8_t mac[6])
{
    seen_proxy_answer(lc->seen, mac, lifecycle_now_ms());
}

int lifecycle_proxy_mac_at(struct lifecycle *lc, uint32_t addr, uint8_t mac[6])
{
    return seen_proxy_mac_at(lc->seen, addr, lifecycle_now_ms(), (int64_t)LIFECYCLE_PROXY_BOOT_S * 1000, mac);
}

void lifecycle_proxy_recall(struct lifecycle *lc)
{
    unsigned answers = 0, bound = 0;
    if (seen_recall_proxy(lc->seen, lc->st, lifecycle_now_ms(), (int64_t)LIFECYCLE_PROXY_SEEN_S * 1000,
                          (int64_t)LIFECYCLE_PROXY_BOOT_S * 1000, &answers, &bound) < 0) {
        log_warn("lifecycle", "proxy mode: reading the recent proxy answers back failed: %s", store_errmsg(lc->st));
        return;
    }
    if (answers || bound)
        log_info("lifecycle", "proxy mode: %u proxy answer(s) of the last %d s and %u bound boot(s) recalled from "
                 "the flight recorder", answers, LIFECYCLE_PROXY_SEEN_S, bound);
}

/* The [subnet] whose network holds addr as a host address, or NULL. */
static const struct conf_subnet *subnet_of_host(const struct conf *conf, uint32_t addr)
{
    for (size_t i = 0; i < conf->n_subnets; i++) {
        const struct conf_subnet *s = &conf->subnets[i];
        if ((addr & s->netmask) == s->network && addr != s->network && addr != (s->network | ~s->netmask))
            return s;
    }
    return NULL;
}

/* Why a script request may or may not start a boot of a known host, kept
 * as its parts: the words are only written when an event is recorded,
 * which the script-storm folding makes rare. */
enum boot_verdict { BOOT_LEASED, BOOT_PROXY_BOUND, BOOT_OFF_SUBNET, BOOT_NO_PROXY_ANSWER, BOOT_NOT_LEASED,
                    BOOT_LEASE_NOT_BOUND };

struct boot_why {
    enum boot_verdict verdict;
    uint32_t peer, lease;
    const char *subnet;
    int64_t ago_ms;
};

static void boot_why_text(const struct boot_why *w, char *out, size_t len)
{
    char a[IPV4_STRLEN];
    switch (w->verdict) {
    case BOOT_LEASED: snprintf(out, len, "boot script served to its leased address"); break;
    case BOOT_PROXY_BOUND:
        snprintf(out, len, "boot script served to %s on subnet %s (proxy mode, PXE DHCP answered %lld s ago)",
                 format_ipv4(w->peer, a), w->subnet, (long long)(w->ago_ms / 1000));
        break;
    case BOOT_OFF_SUBNET:
        snprintf(out, len, "asked from %s, which is on no [subnet] midwife serves: no boot token",
                 format_ipv4(w->peer, a));
        break;
    case BOOT_NO_PROXY_ANSWER:
        snprintf(out, len, "proxy mode: midwife answered no PXE DHCP of this MAC in the last %d s: no boot token",
                 LIFECYCLE_PROXY_SEEN_S);
        break;
    case BOOT_NOT_LEASED:
        snprintf(out, len, "asked from %s, which midwife did not lease to this MAC: no boot token",
                 format_ipv4(w->peer, a));
        break;
    case BOOT_LEASE_NOT_BOUND:
        snprintf(out, len, "the lease of %s is not bound: no boot token", format_ipv4(w->lease, a));
        break;
    }
}

/* Whether a script request may start a boot of a known host; *w says why
 * (or, in proxy mode, what the boot was bound to). */
static bool may_start_boot(struct lifecycle *lc, const struct script_ask *ask, struct boot_why *w)
{
    const struct conf *conf = lifecycle_conf(lc);
    *w = (struct boot_why){.peer = ask->peer};
    if (conf->dhcp_mode == DHCP_MODE_PROXY) {
        const struct conf_subnet *s = subnet_of_host(conf, ask->peer);
        int64_t ago = seen_proxy_answer_ago(lc->seen, ask->mac, lifecycle_now_ms());
        if (!s) {
            w->verdict = BOOT_OFF_SUBNET;
            return false;
        }
        if (ago < 0 || ago > (int64_t)LIFECYCLE_PROXY_SEEN_S * 1000) {
            w->verdict = BOOT_NO_PROXY_ANSWER;
            return false;
        }
        *w = (struct boot_why){.verdict = BOOT_PROXY_BOUND, .peer = ask->peer, .subnet = s->name, .ago_ms = ago};
        seen_proxy_bound(lc->seen, ask->peer, ask->mac, lifecycle_now_ms());
        return true;
    }
    /* The lease at the asking address must be this MAC's: a machine may
     * hold stale leases elsewhere, but it speaks from this one. */
    struct store_lease l;
    struct store *st = lifecycle_store(lc);
    int64_t now_s = lifecycle_now_ms() / 1000;
    bool at_peer = store_lease_get(st, ask->peer, &l) == 0 && l.hwtype == 1 && l.hwaddr_len == 6 &&
                   memcmp(l.hwaddr, ask->mac, 6) == 0;
    if (!at_peer) {
        w->verdict = BOOT_NOT_LEASED;
        return false;
    }
    if (l.state != LEASE_BOUND || l.expires <= now_s) {
        w->verdict = BOOT_LEASE_NOT_BOUND;
        w->lease = l.address;
        return false;
    }
    w->verdict = BOOT_LEASED;
    return true;
}

struct install_seen {
    int64_t boot_id;
    bool seen;
};

static int find_install(const struct operation *op, void *arg)
{
    struct install_seen *s = arg;
    if (op->boot_id == s->boot_id && strcmp(op->kind, "install") == 0)
        s->seen = true;
    return 0;
}

/* A stateful host's build is on its disk once it was born, or once its
 * installer fetched the kickstart of this boot (the installer reboots
 * into the installed system, whose first boot sends the birth; netbooting
 * the installer again would install again and revoke the kickstart's
 * token). It boots from the disk until `reinstall`. A local host always
 * does. */
static bool boots_from_disk(struct store *st, const struct host *h)
{
    if (h->mode == HOST_MODE_LOCAL)
        return true;
    if (h->mode != HOST_MODE_STATEFUL)
        return false;
    if (h->state == HOST_BORN || h->state == HOST_CONFIGURING || h->state == HOST_READY)
        return true;
    if (h->state != HOST_BOOTING)
        return false; /* discovered again: `reinstall` */
    struct install_seen s = {.boot_id = h->boot_id};
    store_op_list(st, h->id, find_install, &s);
    return s.seen;
}

void lifecycle_install_started(struct lifecycle *lc, const struct host *h, const char *what)
{
    struct operation op = {.host_id = h->id, .boot_id = h->boot_id, .created = lifecycle_now_ms()};
    struct install_seen s = {.boot_id = h->boot_id};
    store_op_list(lifecycle_store(lc), h->id, find_install, &s);
    if (!s.seen) {
        snprintf(op.kind, sizeof op.kind, "install");
        snprintf(op.status, sizeof op.status, "running");
        snprintf(op.detail, sizeof op.detail, "%s", what);
        op.updated = op.created;
        store_op_add(lifecycle_store(lc), &op);
    }
    lifecycle_record_host(lc, h, "install.started", EVENT_INFO, "{}", "%s; the next netboot boots from disk", what);
}

static int script_for(struct lifecycle *lc, const struct script_ask *ask, char **out, size_t *outlen, char *err,
                      size_t errlen)
{
    struct store *st = lifecycle_store(lc);
    const struct conf *conf = lifecycle_conf(lc);
    struct host h;
    bool have = store_host_by_mac(st, ask->mac, &h) == 0;
    if (!have && !ask->asked && !ask->uuid && !ask->serial) {
        bool rules = false;
        store_rule_list(st, any_rule, &rules);
        if (rules)
            return identity_script(lc, ask, out, outlen);
    }
    if (!have) {
        int r = discover(lc, ask, &h);
        if (r < 0)
            return r == -ENOMEM || r == -EAGAIN ? r : -EIO;
        have = r == 1;
    }
    char token[BOOT_TOKEN_LEN + 1] = "";
    /* Why the script is what it is: a fixed text, or a boot verdict
     * written out only when an event needs it. */
    const char *why_fixed = NULL;
    struct boot_why boot_why;
    bool have_verdict = false;
    char a[IPV4_STRLEN];
    bool on_disk = have && boots_from_disk(st, &h);
    if (have && h.state == HOST_RETIRED) {
        why_fixed = "host is retired";
    } else if (on_disk) {
        why_fixed = h.mode == HOST_MODE_LOCAL ? "mode local: boots from its disk"
                                              : "installed: boots from its disk until reinstall";
    } else if (have) {
        /* A refusal is the why; a boot started says nothing more. */
        have_verdict = !may_start_boot(lc, ask, &boot_why);
        if (!have_verdict) {
            char bound[HOST_REASON_MAX];
            boot_why_text(&boot_why, bound, sizeof bound);
            if (lifecycle_boot_begin(lc, &h, token, bound) < 0) {
                if (store_txn_read_only(st)) {
                    host_clear(&h); /* the read could not become a write: run again (lifecycle_script_for) */
                    return -EAGAIN;
                }
                why_fixed = "the boot token could not be made";
            }
        }
    }

    struct build build = {0};
    const char *bname = have ? h.build : "";
    int bver = have ? h.build_version : 0;
    if (!bname[0])
        bname = conf->boot_default_build;
    bool retired = have && h.state == HOST_RETIRED;
    int r = 0;
    if (on_disk && !retired) {
        build.kind = BUILD_LOCAL;
        snprintf(build.name, sizeof build.name, "local");
    } else if (bname[0] && !retired && (r = store_build_get(st, bname, bver, &build)) < 0) {
        snprintf(err, errlen, "build %s%s: not found", bname, bver ? "@version" : "");
        char nf[200];
        snprintf(nf, sizeof nf, "{\"build\":\"%s\",\"kind\":\"\",\"token\":false,\"error\":\"build not found\"}",
                 bname);
        lifecycle_recordf(lc, "http.script", EVENT_FAIL, ask->mac, nf, "script could not be rendered: build %s not found",
                          bname);
        if (have)
            host_clear(&h);
        return -ENOENT;
    }
    struct script_request req = {.mac = ask->mac, .base_url = ask->base_url, .token = token[0] ? token : NULL,
                                 .agent_sha256 = lifecycle_agent_module(lc)};
    /* A stateless host gets its saved state back as its last module. */
    struct state_archive sa;
    if (have && h.mode == HOST_MODE_STATELESS && store_state_get(st, h.id, &sa) == 0)
        req.state_sha256 = sa.sha256;
    bool has_build = bname[0] && !retired;
    r = boot_script_render(conf, have ? &h : NULL, has_build ? &build : NULL, &req, out, outlen, err, errlen);

    unsigned folded = 0;
    if (r == 0 && !token[0] && !seen_script_event_due(lc->seen, ask->mac, lifecycle_now_ms(), &folded))
        goto out;
    char data[300], peer[IPV4_STRLEN];
    snprintf(data, sizeof data,
             "{\"build\":\"%s\",\"version\":%d,\"kind\":\"%s\",\"token\":%s,\"known\":%s,\"repeats\":%u,"
             "\"peer\":\"%s\"}",
             has_build ? build.name : "", has_build ? build.version : 0,
             has_build ? build_kind_name(build.kind) : "exit", token[0] ? "true" : "false", have ? "true" : "false",
             folded, format_ipv4(ask->peer, peer));
    if (r < 0) {
        char e[200], fdata[sizeof data + 220];
        log_escape(e, sizeof e, err, strlen(err));
        log_json_safe(e, '\'');
        snprintf(fdata, sizeof fdata, "%.*s,\"error\":\"%s\"}", (int)strlen(data) - 1, data, e);
        lifecycle_recordf(lc, "http.script", EVENT_FAIL, ask->mac, fdata, "script could not be rendered: %s", e);
    } else if (have) {
        char why[HOST_REASON_MAX] = "";
        if (why_fixed)
            snprintf(why, sizeof why, "%s", why_fixed);
        else if (have_verdict)
            boot_why_text(&boot_why, why, sizeof why);
        lifecycle_record_host(lc, &h, "http.script", EVENT_OK, data, "script served to %s: %s%s%s",
                              format_ipv4(ask->peer, a), has_build ? build.name : "exit", why[0] ? "; " : "", why);
    } else {
        lifecycle_recordf(lc, "http.script", EVENT_OK, ask->mac, data,
                          "script served to %s: unknown machine, no rule matched: %s", format_ipv4(ask->peer, a),
                          has_build ? build.name : "exit to the next boot device");
    }
out:
    build_clear(&build);
    if (have)
        host_clear(&h);
    return r;
}

int lifecycle_script_for(struct lifecycle *lc, const struct script_ask *ask, char **out, size_t *outlen, char *err,
                         size_t errlen)
{
    /* One transaction for the whole request: the host, its lease, its
     * build and its saved state are read in one snapshot, under one lock
     * instead of one per statement (a boot storm asks for thousands of
     * scripts); a boot it starts is a savepoint inside it. It begins as a
     * reader: most requests write nothing, and a reader takes no write
     * lock. One that starts a boot or creates a record becomes a writer
     * at its first write; when SQLite refuses that (another connection,
     * an import child, wrote since the reading began), nothing was done
     * yet and the request runs again under the write lock. */
    struct store *st = lifecycle_store(lc);
    for (int attempt = 0;; attempt++) {
        bool txn = (attempt == 0 ? store_begin_read(st) : store_begin(st)) == 0;
        int r = script_for(lc, ask, out, outlen, err, errlen);
        if (r == -EAGAIN) {
            if (txn)
                store_rollback(st);
            if (attempt == 0)
                continue;
            snprintf(err, errlen, "the store refused a write: %s", store_errmsg(st));
            return -EIO;
        }
        if (txn && store_commit(st) < 0) {
            store_rollback(st);
            free(*out);
            *out = NULL;
            snprintf(err, errlen, "the store could not commit: %s", store_errmsg(st));
            return -EIO;
        }
        return r;
    }
}
