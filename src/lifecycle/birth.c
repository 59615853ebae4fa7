/* Boot tokens, the birth transaction and reports (see birth.h). */
#include "lifecycle/birth.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "inventory/profile.h"
#include "lifecycle/lifecycle_internal.h"
#include "util/addr.h"
#include "util/log.h"

#define FACT_MACS_MAX 32

static void sha256_hex(const char *s, char out[SHA256_HEX_LEN + 1])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static const char *const verdict_names[] = {
    [TOKEN_OK] = "ok",           [TOKEN_MISSING] = "missing", [TOKEN_UNKNOWN] = "unknown",
    [TOKEN_EXPIRED] = "expired", [TOKEN_REVOKED] = "revoked", [TOKEN_REPLAYED] = "replayed",
    [TOKEN_UNBORN] = "unborn",   [TOKEN_FOREIGN] = "foreign",
};

const char *token_verdict_name(enum token_verdict v)
{
    return (unsigned)v < sizeof verdict_names / sizeof verdict_names[0] ? verdict_names[v] : "unknown";
}

void lifecycle_set_lease_cleaner(struct lifecycle *lc,
                                 unsigned (*fn)(void *arg, const uint8_t mac[6], uint32_t keep_address), void *arg)
{
    lc->lease_cleaner = fn;
    lc->lease_cleaner_arg = arg;
}

/* ---- boots and tokens ---- */

int lifecycle_boot_begin(struct lifecycle *lc, struct host *h, char token[BOOT_TOKEN_LEN + 1], const char *why)
{
    unsigned char raw[BOOT_TOKEN_LEN / 2];
    if (RAND_bytes(raw, sizeof raw) != 1)
        return -EIO;
    for (size_t i = 0; i < sizeof raw; i++)
        snprintf(token + 2 * i, 3, "%02x", raw[i]);

    int64_t now = lifecycle_now_ms();
    struct boot_token t = {.host_id = h->id, .created = now,
                           .expires = now + (int64_t)lc->conf->token_ttl * 1000};
    sha256_hex(token, t.hash);
    int r;
    if ((r = store_begin(lc->st)) < 0)
        return r;
    int64_t boot_id = 0;
    unsigned revoked = 0;
    if ((r = store_host_next_boot(lc->st, h->id, &boot_id)) < 0 ||
        (r = store_token_revoke_host(lc->st, h->id, 0, &revoked)) < 0)
        goto fail;
    t.boot_id = boot_id;
    if ((r = store_token_put(lc->st, &t)) < 0)
        goto fail;
    if ((r = store_commit(lc->st)) < 0)
        goto fail;
    h->boot_id = boot_id;
    char data[96];
    snprintf(data, sizeof data, "{\"boot_id\":%lld,\"revoked\":%u}", (long long)boot_id, revoked);
    lifecycle_record_host(lc, h, "token.issued", EVENT_INFO, data, "boot %lld: token issued (%s)",
                          (long long)boot_id, why);
    return lifecycle_transition(lc, h, HOST_BOOTING, why);
fail:
    store_rollback(lc->st);
    return r;
}

static void refuse(struct lifecycle *lc, bool for_birth, enum token_verdict v, const struct boot_token *t,
                   uint32_t peer)
{
    char a[IPV4_STRLEN], data[96];
    snprintf(data, sizeof data, "{\"why\":\"%s\",\"peer\":\"%s\"}", token_verdict_name(v), format_ipv4(peer, a));
    struct event ev = {.status = EVENT_FAIL, .data = data};
    snprintf(ev.kind, sizeof ev.kind, "%s", for_birth ? "birth.refused" : "token.refused");
    if (t && t->host_id) {
        struct host h;
        if (store_host_get(lc->st, t->host_id, &h) == 0) {
            ev.host_id = h.id;
            ev.boot_id = t->boot_id;
            snprintf(ev.host, sizeof ev.host, "%s", h.name);
            if (h.n_macs)
                format_mac(h.macs[0], ev.mac);
            host_clear(&h);
        }
    }
    snprintf(ev.message, sizeof ev.message, "%s from %s refused: %s token", for_birth ? "birth" : "host call", a,
             token_verdict_name(v));
    lifecycle_record(lc, &ev);
}

enum token_verdict lifecycle_token_check(struct lifecycle *lc, const char *bearer, bool for_birth, uint32_t peer,
                                         struct boot_token *t, struct host *h)
{
    enum token_verdict v;
    memset(t, 0, sizeof *t);
    h->labels = h->vars = h->facts = NULL;
    if (!bearer || !*bearer) {
        v = TOKEN_MISSING;
        goto refused;
    }
    char hash[SHA256_HEX_LEN + 1];
    sha256_hex(bearer, hash);
    if (store_token_get(lc->st, hash, t) < 0) {
        v = TOKEN_UNKNOWN;
        goto refused;
    }
    if (t->revoked)
        v = TOKEN_REVOKED;
    else if (t->expires <= lifecycle_now_ms())
        v = TOKEN_EXPIRED;
    else if (for_birth && t->birth_used)
        v = TOKEN_REPLAYED;
    else if (!for_birth && !t->birth_used)
        v = TOKEN_UNBORN;
    else if (store_host_get(lc->st, t->host_id, h) < 0)
        v = TOKEN_UNKNOWN;
    else
        return TOKEN_OK;
refused:
    refuse(lc, for_birth, v, t->host_id ? t : NULL, peer);
    return v;
}

int lifecycle_token_peek(struct lifecycle *lc, const char *token, const uint8_t mac[6], struct host *h)
{
    struct boot_token t;
    char hash[SHA256_HEX_LEN + 1];
    h->labels = h->vars = h->facts = NULL;
    if (!token || !*token)
        return -ENOENT;
    sha256_hex(token, hash);
    if (store_token_get(lc->st, hash, &t) < 0 || t.revoked || t.birth_used || t.expires <= lifecycle_now_ms())
        return -ENOENT;
    if (store_host_get(lc->st, t.host_id, h) < 0)
        return -ENOENT;
    for (size_t i = 0; i < h->n_macs; i++)
        if (memcmp(h->macs[i], mac, 6) == 0)
            return 0;
    host_clear(h);
    return -ENOENT;
}

/* ---- facts ---- */

struct facts {
    uint8_t macs[FACT_MACS_MAX][6];
    size_t n_macs;
    bool has_boot_mac;
    uint8_t boot_mac[6];
    char uuid[HOST_UUID_LEN + 1];
    char serial[HOST_SERIAL_MAX];
};

static bool bad(struct birth_outcome *out, const char *field, const char *msg)
{
    out->status = 400;
    snprintf(out->field, sizeof out->field, "%s", field);
    snprintf(out->error, sizeof out->error, "%.60s: %.180s", field, msg);
    return false;
}

/* Reads what the birth acts on; the rest of the facts is stored as sent
 * (it is JSON, so it cannot hurt anything that reads it as JSON). */
static bool facts_read(const json_t *j, struct facts *f, struct birth_outcome *out)
{
    memset(f, 0, sizeof *f);
    if (!json_is_object(j))
        return bad(out, "facts", "expected a JSON object");
    const json_t *macs = json_object_get(j, "macs");
    if (macs) {
        if (!json_is_array(macs))
            return bad(out, "macs", "expected an array of MAC addresses");
        if (json_array_size(macs) > FACT_MACS_MAX)
            return bad(out, "macs", "more than 32 MAC addresses");
        size_t i;
        const json_t *m;
        json_array_foreach(macs, i, m) {
            char field[32];
            snprintf(field, sizeof field, "macs[%zu]", i);
            if (!json_is_string(m) || parse_mac(json_string_value(m), f->macs[f->n_macs]) < 0)
                return bad(out, field, "not a MAC address");
            f->n_macs++;
        }
    }
    const json_t *bm = json_object_get(j, "boot_mac");
    if (bm) {
        if (!json_is_string(bm) || parse_mac(json_string_value(bm), f->boot_mac) < 0)
            return bad(out, "boot_mac", "not a MAC address");
        f->has_boot_mac = true;
    }
    if (f->n_macs == 0 && !f->has_boot_mac)
        return bad(out, "macs", "the facts name no MAC address");
    const json_t *u = json_object_get(j, "uuid");
    if (u && !json_is_null(u) && !(json_is_string(u) && json_string_length(u) == 0)) {
        if (!json_is_string(u) || json_string_length(u) != HOST_UUID_LEN)
            return bad(out, "uuid", "not a UUID");
        for (size_t i = 0; i < HOST_UUID_LEN; i++)
            f->uuid[i] = (char)tolower((unsigned char)json_string_value(u)[i]);
        /* All-zero and all-F UUIDs are what boards without one report:
         * they identify nothing, so they must not fold hosts together. */
        if (strcmp(f->uuid, "00000000-0000-0000-0000-000000000000") == 0 ||
            strcmp(f->uuid, "ffffffff-ffff-ffff-ffff-ffffffffffff") == 0)
            f->uuid[0] = '\0';
        else if (!host_uuid_valid(f->uuid))
            return bad(out, "uuid", "not a UUID");
    }
    const json_t *s = json_object_get(j, "serial");
    if (s && json_is_string(s) && json_string_length(s) > 0) {
        /* Serials are whatever the vendor burnt in; one midwife cannot
         * store as an identity is kept in the facts only. */
        if (host_serial_valid(json_string_value(s)))
            snprintf(f->serial, sizeof f->serial, "%s", json_string_value(s));
    } else if (s && !json_is_string(s) && !json_is_null(s)) {
        return bad(out, "serial", "expected a string");
    }
    return true;
}

static bool host_has_mac(const struct host *h, const uint8_t mac[6])
{
    for (size_t i = 0; i < h->n_macs; i++)
        if (memcmp(h->macs[i], mac, 6) == 0)
            return true;
    return false;
}

/* Removes host other (a duplicate record of h), keeping nothing of it but
 * its events; returns 1 when removed. */
static int fold_duplicate(struct lifecycle *lc, struct host *h, struct host *other, const char *why)
{
    if (other->id == h->id)
        return 0;
    char data[160];
    snprintf(data, sizeof data, "{\"removed\":\"%s\",\"removed_id\":%lld,\"why\":\"%s\"}", other->name,
             (long long)other->id, why);
    if (store_host_delete(lc->st, other->id) < 0)
        return -1;
    lifecycle_record_host(lc, h, "birth.cleanup", EVENT_INFO, data, "duplicate record %s (same %s) folded into %s",
                          other->name, why, h->name);
    return 1;
}

struct op_done {
    struct lifecycle *lc;
    int64_t boot_id, now;
    int64_t ids[16];
    size_t n;
};

static int collect_reinstall(const struct operation *op, void *arg)
{
    struct op_done *d = arg;
    if (op->boot_id == d->boot_id && strcmp(op->kind, "reinstall") == 0 && strcmp(op->status, "pending") == 0 &&
        d->n < sizeof d->ids / sizeof d->ids[0])
        d->ids[d->n++] = op->id;
    return 0;
}

/* The cleanup of the birth transaction; -1 on a store error. */
static int cleanup(struct lifecycle *lc, struct host *h, const struct facts *f, uint32_t peer,
                   struct birth_outcome *out)
{
    /* Duplicate records: another host carrying one of these MACs, this
     * UUID or this serial is this machine's earlier life. */
    for (size_t i = 0; i < f->n_macs + (f->has_boot_mac ? 1 : 0); i++) {
        const uint8_t *mac = i < f->n_macs ? f->macs[i] : f->boot_mac;
        struct host other;
        if (store_host_by_mac(lc->st, mac, &other) == 0) {
            int r = fold_duplicate(lc, h, &other, "mac");
            host_clear(&other);
            if (r < 0)
                return -1;
            out->duplicates += (unsigned)r;
        }
    }
    struct host other;
    if (f->uuid[0] && store_host_by_uuid(lc->st, f->uuid, &other) == 0) {
        int r = fold_duplicate(lc, h, &other, "uuid");
        host_clear(&other);
        if (r < 0)
            return -1;
        out->duplicates += (unsigned)r;
    }
    if (f->serial[0] && store_host_by_serial(lc->st, f->serial, &other) == 0) {
        int r = fold_duplicate(lc, h, &other, "serial");
        host_clear(&other);
        if (r < 0)
            return -1;
        out->duplicates += (unsigned)r;
    }

    /* Identities the facts prove, now that nobody else holds them. */
    for (size_t i = 0; i < f->n_macs + (f->has_boot_mac ? 1 : 0) && h->n_macs < HOST_MAX_MACS; i++) {
        const uint8_t *mac = i < f->n_macs ? f->macs[i] : f->boot_mac;
        if (!host_has_mac(h, mac))
            memcpy(h->macs[h->n_macs++], mac, 6);
    }
    if (f->uuid[0])
        memcpy(h->uuid, f->uuid, sizeof h->uuid);
    if (f->serial[0])
        snprintf(h->serial, sizeof h->serial, "%s", f->serial);
    const char *where = NULL;
    if (store_host_put(lc->st, h, &where) < 0)
        return -1;

    /* Stale leases: every lease of its MACs but the one it speaks from. */
    for (size_t i = 0; i < h->n_macs; i++) {
        if (lc->lease_cleaner) {
            out->leases += lc->lease_cleaner(lc->lease_cleaner_arg, h->macs[i], peer);
        } else {
            unsigned n = 0;
            if (store_lease_delete_mac_except(lc->st, h->macs[i], peer, &n) < 0)
                return -1;
            out->leases += n;
        }
    }
    int64_t now = lifecycle_now_ms();
    if (store_token_revoke_host(lc->st, h->id, h->boot_id, &out->tokens) < 0 ||
        store_op_abandon_stale(lc->st, h->id, h->boot_id, now, &out->operations) < 0)
        return -1;
    /* A reinstall the operator asked for is done once this boot is born. */
    struct op_done d = {.lc = lc, .boot_id = h->boot_id, .now = now};
    store_op_list(lc->st, h->id, collect_reinstall, &d);
    for (size_t i = 0; i < d.n; i++)
        if (store_op_set_status(lc->st, d.ids[i], "done", "carried out by this boot's birth", now) < 0)
            return -1;
    return 0;
}

static char *render_doc(struct lifecycle *lc, const struct host *h, const char *base_url,
                        struct birth_outcome *out)
{
    struct profile p = {0};
    if (h->profile[0] && store_profile_get(lc->st, h->profile, &p) < 0) {
        out->status = 422;
        snprintf(out->error, sizeof out->error, "host %s names profile '%s', which does not exist", h->name,
                 h->profile);
        return NULL;
    }
    struct configdoc_ctx ctx = {.base_url = base_url, .now_ms = lifecycle_now_ms()};
    char *doc = NULL, err[200];
    int r = configdoc_render(h->profile[0] ? p.doc : NULL, h, &ctx, &doc, err, sizeof err);
    profile_clear(&p);
    if (r < 0) {
        out->status = r == -ENOMEM ? 500 : 422;
        snprintf(out->error, sizeof out->error, "profile %s: %.180s", h->profile, err);
        return NULL;
    }
    return doc;
}

void lifecycle_birth(struct lifecycle *lc, const char *bearer, const json_t *facts, uint32_t peer,
                     const char *base_url, struct birth_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct boot_token t;
    struct host h;
    enum token_verdict v = lifecycle_token_check(lc, bearer, true, peer, &t, &h);
    if (v != TOKEN_OK) {
        out->status = 401;
        snprintf(out->error, sizeof out->error, "birth refused: %s boot token", token_verdict_name(v));
        return;
    }
    struct facts f;
    if (!facts_read(facts, &f, out))
        goto refused;
    /* The token belongs to one machine: the facts must name one of its
     * MACs, else it was taken to another host. */
    bool mine = f.has_boot_mac && host_has_mac(&h, f.boot_mac);
    for (size_t i = 0; !mine && i < f.n_macs; i++)
        mine = host_has_mac(&h, f.macs[i]);
    if (!mine) {
        refuse(lc, true, TOKEN_FOREIGN, &t, peer);
        out->status = 401;
        snprintf(out->error, sizeof out->error, "birth refused: %s boot token (it was issued to host %s)",
                 token_verdict_name(TOKEN_FOREIGN), h.name);
        goto done;
    }
    /* The document is rendered before anything changes: a profile that
     * cannot be rendered leaves the token unspent for a retry once fixed. */
    h.boot_id = t.boot_id;
    char *doc = render_doc(lc, &h, base_url, out);
    if (!doc)
        goto refused;

    char *facts_text = json_dumps(facts, JSON_COMPACT);
    if (!facts_text || strlen(facts_text) > BIRTH_FACTS_MAX) {
        free(doc);
        free(facts_text);
        bad(out, "facts", "over 256 KiB");
        goto refused;
    }
    int64_t now = lifecycle_now_ms();
    bool ok = store_begin(lc->st) == 0;
    int used = ok ? store_token_use_birth(lc->st, t.hash) : -1;
    ok = ok && used == 0 && cleanup(lc, &h, &f, peer, out) == 0 &&
         store_host_set_facts(lc->st, h.id, facts_text, now) == 0 && store_commit(lc->st) == 0;
    free(facts_text);
    if (!ok) {
        store_rollback(lc->st);
        free(doc);
        if (used == -EALREADY) {
            refuse(lc, true, TOKEN_REPLAYED, &t, peer);
            out->status = 401;
            snprintf(out->error, sizeof out->error, "birth refused: replayed boot token");
        } else {
            out->status = 500;
            snprintf(out->error, sizeof out->error, "the birth could not be stored: %s", store_errmsg(lc->st));
            log_error("lifecycle", "birth of %s: %s", h.name, out->error);
        }
        goto done;
    }
    char a[IPV4_STRLEN], data[200];
    snprintf(data, sizeof data,
             "{\"boot_id\":%lld,\"peer\":\"%s\",\"leases\":%u,\"duplicates\":%u,\"tokens\":%u,\"operations\":%u}",
             (long long)t.boot_id, format_ipv4(peer, a), out->leases, out->duplicates, out->tokens, out->operations);
    lifecycle_record_host(lc, &h, "birth.accepted", EVENT_OK, data,
                          "birth from %s accepted; cleaned %u stale leases, %u duplicate records, %u old tokens, "
                          "%u operations",
                          a, out->leases, out->duplicates, out->tokens, out->operations);
    lifecycle_transition(lc, &h, HOST_BORN, "birth message accepted");
    out->status = 200;
    out->doc = doc;
    goto done;
refused:
    {
        /* The data names the class; the message carries the text, escaped. */
        char rdata[64], e[200];
        snprintf(rdata, sizeof rdata, "{\"why\":\"%s\",\"status\":%d}", out->status == 400 ? "invalid" : "config",
                 out->status);
        lifecycle_record_host(lc, &h, "birth.refused", EVENT_FAIL, rdata, "birth refused: %s",
                              log_escape(e, sizeof e, out->error, strlen(out->error)));
    }
done:
    host_clear(&h);
}

/* ---- reports ---- */

static bool report_bad(struct report_outcome *out, const char *field, const char *msg)
{
    out->status = 400;
    snprintf(out->field, sizeof out->field, "%s", field);
    snprintf(out->error, sizeof out->error, "%s: %s", field, msg);
    return false;
}

static bool text_field(const json_t *body, const char *key, size_t max, const char **val, struct report_outcome *out)
{
    const json_t *v = json_object_get(body, key);
    *val = NULL;
    if (!v || json_is_null(v))
        return true;
    if (!json_is_string(v))
        return report_bad(out, key, "expected a string");
    if (json_string_length(v) > max) {
        char m[64];
        snprintf(m, sizeof m, "longer than %zu bytes", max);
        return report_bad(out, key, m);
    }
    *val = json_string_value(v);
    return true;
}

struct ready_check {
    int64_t boot_id;
    bool failed, running;
    char failure[256];
};

static int check_born_hooks(const struct operation *op, void *arg)
{
    struct ready_check *c = arg;
    if (op->boot_id != c->boot_id || strcmp(op->kind, "hook:born") != 0)
        return 0;
    if (strcmp(op->status, "failed") == 0) {
        c->failed = true;
        snprintf(c->failure, sizeof c->failure, "%s", op->detail);
    } else if (strcmp(op->status, "running") == 0) {
        c->running = true;
    }
    return 0;
}

void lifecycle_report(struct lifecycle *lc, const char *bearer, const json_t *body, uint32_t peer,
                      struct report_outcome *out)
{
    memset(out, 0, sizeof *out);
    struct boot_token t;
    struct host h;
    if (lifecycle_token_check(lc, bearer, false, peer, &t, &h) != TOKEN_OK) {
        out->status = 401;
        snprintf(out->error, sizeof out->error, "report refused: boot token not valid for reports");
        return;
    }
    const char *step = NULL, *status = NULL, *message = NULL, *log = NULL, *failed = NULL;
    char *facts_text = NULL;
    const json_t *ready = json_object_get(body, "ready");
    if (!text_field(body, "step", 64, &step, out) || !text_field(body, "status", 16, &status, out) ||
        !text_field(body, "message", 400, &message, out) || !text_field(body, "log", 8192, &log, out) ||
        !text_field(body, "failed", 400, &failed, out))
        goto done;
    if (ready && !json_is_boolean(ready)) {
        report_bad(out, "ready", "expected true");
        goto done;
    }
    /* Steps are names; anything else in them would only confuse people. */
    for (const char *p = step; p && *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("._:-/", *p)) {
            report_bad(out, "step", "use letters, digits and . _ : - /");
            goto done;
        }
    /* Facts the agent sends after applying (the interfaces, addresses and
     * host name as they now are) replace the birth's: last seen wins. */
    const json_t *facts = json_object_get(body, "facts");
    if (facts) {
        facts_text = json_is_object(facts) ? json_dumps(facts, JSON_COMPACT) : NULL;
        if (!facts_text || strlen(facts_text) > BIRTH_FACTS_MAX) {
            free(facts_text);
            report_bad(out, "facts", json_is_object(facts) ? "over 256 KiB" : "expected a JSON object");
            goto done;
        }
    }
    h.boot_id = t.boot_id;
    /* The event keeps the report, not the facts (the host record has them). */
    json_t *d = json_deep_copy(body);
    if (d && facts)
        json_object_set_new(d, "facts", json_true());
    /* docs/events.md: a failure's words are its "error", as in every
     * other failing event (explain and the UI read that field). */
    if (d && failed) {
        json_object_set_new(d, "error", json_string(failed));
        json_object_del(d, "failed");
    }
    char *data = d ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);

    char m[200] = "", l[120] = "";
    if (message)
        log_escape(m, sizeof m, message, strlen(message));

    if (ready && json_is_true(ready)) {
        lifecycle_record_host(lc, &h, "report.ready", EVENT_OK, data, "agent reported ready");
        struct ready_check c = {.boot_id = t.boot_id};
        store_op_list(lc->st, h.id, check_born_hooks, &c);
        if (c.failed) {
            char reason[HOST_REASON_MAX];
            snprintf(reason, sizeof reason, "held: agent ready, but a born hook failed (%.180s)", c.failure);
            lifecycle_transition(lc, &h, HOST_CONFIGURING, reason);
        } else if (c.running) {
            struct operation op = {.host_id = h.id, .boot_id = t.boot_id, .created = lifecycle_now_ms()};
            snprintf(op.kind, sizeof op.kind, "ready-waiting");
            snprintf(op.status, sizeof op.status, "pending");
            snprintf(op.detail, sizeof op.detail, "agent ready; waiting for the born hooks");
            op.updated = op.created;
            store_op_add(lc->st, &op);
            lifecycle_transition(lc, &h, HOST_CONFIGURING, "agent reported ready; waiting for the born hooks");
        } else {
            lifecycle_transition(lc, &h, HOST_READY, "agent reported ready");
        }
    } else if (failed) {
        char f[200];
        log_escape(f, sizeof f, failed, strlen(failed));
        if (log)
            log_escape(l, sizeof l, log, strlen(log));
        lifecycle_record_host(lc, &h, "report.failed", EVENT_FAIL, data, "agent failed%s%s: %s", step ? " at " : "",
                              step ? step : "", f);
        char reason[HOST_REASON_MAX];
        snprintf(reason, sizeof reason, "agent failed%s%s: %s", step ? " at " : "", step ? step : "", f);
        lifecycle_transition(lc, &h, HOST_FAILED, reason);
    } else if (step) {
        const char *st = status ? status : "running";
        if (strcmp(st, "running") && strcmp(st, "ok") && strcmp(st, "skipped") && strcmp(st, "failed")) {
            free(data);
            report_bad(out, "status", "expected running, ok, skipped or failed");
            goto done;
        }
        lifecycle_record_host(lc, &h, "report.step", strcmp(st, "failed") == 0 ? EVENT_FAIL : EVENT_INFO, data,
                              "%s: %s%s%s", step, st, m[0] ? ": " : "", m);
        if (h.state == HOST_BORN)
            lifecycle_transition(lc, &h, HOST_CONFIGURING, "agent applying the configuration");
    } else {
        free(data);
        report_bad(out, "step", "a report needs step, ready or failed");
        goto done;
    }
    free(data);
    if (facts_text && store_host_set_facts(lc->st, h.id, facts_text, lifecycle_now_ms()) < 0)
        log_warn("lifecycle", "host %s: cannot store the reported facts", h.name);
    out->status = 200;
    snprintf(out->state, sizeof out->state, "%s", host_state_name(h.state));
    snprintf(out->reason, sizeof out->reason, "%s", h.state_reason);
done:
    free(facts_text);
    host_clear(&h);
}
