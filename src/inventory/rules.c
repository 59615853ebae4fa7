/* Rule matching (inventory/rules.h): validation of a match document, the
 * verdict for one host with the reason, and first-match over a rule list.
 * Pure: no store, no clock. */
#include "inventory/rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "inventory/inv_text.h"
#include "util/addr.h"

#define MATCH_MAX_BYTES (64 * 1024)
#define MATCH_LIST_MAX 256  /* entries in one key's list */
#define MATCH_STR_MAX 255   /* bytes in one string pattern */
#define MATCH_LABELS_MAX 64

int mac_parse(const char *s, uint8_t mac[6])
{
    if (!s || strlen(s) != 17)
        return -EINVAL;
    return parse_mac(s, mac);
}

char *mac_format(const uint8_t mac[6], char out[18])
{
    format_mac(mac, out);
    return out;
}

/* ---- the keys a match may hold ---- */

enum key_kind {
    KEY_MAC,    /* list of MAC, MAC prefix or MAC range */
    KEY_UUID,   /* list of UUIDs, case-insensitive */
    KEY_GLOB,   /* list of "exact" or "prefix*", case-sensitive */
    KEY_EXACT,  /* list of exact names */
    KEY_ARCH,   /* list of integers */
    KEY_LABELS, /* object of strings, "*" = any value */
};

enum subject_field { F_MAC, F_UUID, F_SERIAL, F_VENDOR, F_MODEL, F_CIRCUIT, F_REMOTE, F_ARCH, F_SUBNET, F_LABELS };

/* The order in which keys are checked and explained: cheapest and most
 * telling first, independent of the order the operator wrote them in. */
static const struct match_key {
    const char *name;
    enum key_kind kind;
    enum subject_field field;
} match_keys[] = {
    {"mac", KEY_MAC, F_MAC},
    {"uuid", KEY_UUID, F_UUID},
    {"serial", KEY_GLOB, F_SERIAL},
    {"vendor", KEY_GLOB, F_VENDOR},
    {"model", KEY_GLOB, F_MODEL},
    {"circuit_id", KEY_GLOB, F_CIRCUIT},
    {"remote_id", KEY_GLOB, F_REMOTE},
    {"arch", KEY_ARCH, F_ARCH},
    {"subnet", KEY_EXACT, F_SUBNET},
    {"labels", KEY_LABELS, F_LABELS},
};
#define N_MATCH_KEYS (sizeof match_keys / sizeof match_keys[0])

static const struct match_key *match_key_find(const char *name)
{
    for (size_t i = 0; i < N_MATCH_KEYS; i++)
        if (strcmp(match_keys[i].name, name) == 0)
            return &match_keys[i];
    return NULL;
}

/* ---- MAC patterns ---- */

enum mac_pat_kind { MAC_PAT_EXACT, MAC_PAT_PREFIX, MAC_PAT_RANGE };

struct mac_pat {
    enum mac_pat_kind kind;
    uint8_t lo[6], hi[6]; /* exact: lo; prefix: lo[0..n); range: lo..hi */
    size_t n_prefix;
};

static int hex_octet(const char *s, uint8_t *out)
{
    uint8_t v = 0;
    for (int i = 0; i < 2; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            return -EINVAL;
        v = (uint8_t)(v << 4 | d);
    }
    *out = v;
    return 0;
}

/* -EINVAL: not a pattern; -ERANGE: a range whose ends are reversed. */
static int mac_pat_parse(const char *s, struct mac_pat *p)
{
    size_t n = strlen(s);
    memset(p, 0, sizeof *p);
    if (n == 17) {
        p->kind = MAC_PAT_EXACT;
        return mac_parse(s, p->lo);
    }
    if (n == 35 && s[17] == '-') {
        char a[18], b[18];
        memcpy(a, s, 17), a[17] = '\0';
        memcpy(b, s + 18, 17), b[17] = '\0';
        p->kind = MAC_PAT_RANGE;
        if (mac_parse(a, p->lo) < 0 || mac_parse(b, p->hi) < 0)
            return -EINVAL;
        return memcmp(p->lo, p->hi, 6) > 0 ? -ERANGE : 0;
    }
    /* "52:54:00:*": one to five whole octets, each followed by a separator. */
    if (n < 4 || n > 16 || s[n - 1] != '*' || (n - 1) % 3 != 0)
        return -EINVAL;
    p->kind = MAC_PAT_PREFIX;
    p->n_prefix = (n - 1) / 3;
    for (size_t i = 0; i < p->n_prefix; i++) {
        const char *o = s + 3 * i;
        if (hex_octet(o, &p->lo[i]) < 0 || (o[2] != ':' && o[2] != '-'))
            return -EINVAL;
    }
    return 0;
}

static bool mac_pat_matches(const struct mac_pat *p, const uint8_t mac[6])
{
    switch (p->kind) {
    case MAC_PAT_EXACT: return memcmp(p->lo, mac, 6) == 0;
    case MAC_PAT_PREFIX: return memcmp(p->lo, mac, p->n_prefix) == 0;
    case MAC_PAT_RANGE: return memcmp(p->lo, mac, 6) <= 0 && memcmp(mac, p->hi, 6) <= 0;
    }
    return false;
}

/* ---- validation ---- */

static bool uuid_shaped(const char *s)
{
    char low[HOST_UUID_LEN + 1];
    size_t n = strlen(s);
    if (n != HOST_UUID_LEN)
        return false;
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)(s[i] >= 'A' && s[i] <= 'F' ? s[i] - 'A' + 'a' : s[i]);
    return host_uuid_valid(low);
}

static int check_string_entry(const struct match_key *k, size_t i, const json_t *v, char *err, size_t errlen)
{
    size_t n;
    const char *s = inv_json_str(v, &n);
    if (!s)
        return inv_fail(err, errlen, "match.%s[%zu]: expected a string", k->name, i);
    switch (k->kind) {
    case KEY_MAC: {
        struct mac_pat p;
        int r = mac_pat_parse(s, &p);
        if (r == -ERANGE)
            return inv_fail(err, errlen, "match.%s[%zu]: range ends are reversed (the first is above the last)",
                            k->name, i);
        if (r < 0)
            return inv_fail(err, errlen, "match.%s[%zu]: not a MAC, MAC prefix or MAC range", k->name, i);
        return 0;
    }
    case KEY_UUID:
        if (!uuid_shaped(s))
            return inv_fail(err, errlen, "match.%s[%zu]: not a UUID (8-4-4-4-12 hex digits)", k->name, i);
        return 0;
    case KEY_GLOB:
    case KEY_EXACT:
        if (n == 0)
            return inv_fail(err, errlen, "match.%s[%zu]: empty string", k->name, i);
        if (n > MATCH_STR_MAX)
            return inv_fail(err, errlen, "match.%s[%zu]: longer than %d bytes", k->name, i, MATCH_STR_MAX);
        if (!inv_text_clean(s, n))
            return inv_fail(err, errlen, "match.%s[%zu]: control characters are not allowed", k->name, i);
        {
            const char *star = strchr(s, '*');
            if (star && k->kind == KEY_EXACT)
                return inv_fail(err, errlen, "match.%s[%zu]: '*' is not allowed here (exact names only)", k->name, i);
            if (star && star != s + n - 1)
                return inv_fail(err, errlen, "match.%s[%zu]: '*' is allowed only at the end", k->name, i);
        }
        return 0;
    default:
        return -EINVAL;
    }
}

static int check_list(const struct match_key *k, const json_t *v, char *err, size_t errlen)
{
    bool numbers = k->kind == KEY_ARCH;
    if (!json_is_array(v))
        return inv_fail(err, errlen, "match.%s: expected a list of %s", k->name, numbers ? "numbers" : "strings");
    size_t n = json_array_size(v);
    if (n == 0)
        return inv_fail(err, errlen, "match.%s: empty list (it would never match; leave the key out)", k->name);
    if (n > MATCH_LIST_MAX)
        return inv_fail(err, errlen, "match.%s: %zu entries, more than %d", k->name, n, MATCH_LIST_MAX);
    for (size_t i = 0; i < n; i++) {
        const json_t *e = json_array_get(v, i);
        if (numbers) {
            json_int_t a = json_is_integer(e) ? json_integer_value(e) : -1;
            if (a < 0 || a > 65535)
                return inv_fail(err, errlen, "match.%s[%zu]: expected an integer 0..65535", k->name, i);
        } else {
            int r = check_string_entry(k, i, e, err, errlen);
            if (r < 0)
                return r;
        }
    }
    return 0;
}

static int check_labels(const json_t *v, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return inv_fail(err, errlen, "match.labels: expected an object of strings");
    size_t n = json_object_size(v);
    if (n == 0)
        return inv_fail(err, errlen, "match.labels: empty object (leave the key out)");
    if (n > MATCH_LABELS_MAX)
        return inv_fail(err, errlen, "match.labels: %zu labels, more than %d", n, MATCH_LABELS_MAX);
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        char q[INV_QUOTE_SIZE];
        if (!inv_key_valid(key))
            return inv_fail(err, errlen, "match.labels: key '%s' is not [A-Za-z0-9_.-]{1,63}",
                            inv_quote(q, sizeof q, key, strlen(key)));
        size_t len;
        const char *s = inv_json_str(val, &len);
        if (!s)
            return inv_fail(err, errlen, "match.labels.%s: expected a string", key);
        if (len > MATCH_STR_MAX || !inv_text_clean(s, len))
            return inv_fail(err, errlen, "match.labels.%s: at most %d bytes, no control characters", key,
                            MATCH_STR_MAX);
    }
    return 0;
}

static int validate_object(const json_t *m, char *err, size_t errlen)
{
    const char *key;
    const json_t *val;
    json_object_foreach((json_t *)m, key, val) {
        const struct match_key *k = match_key_find(key);
        if (!k) {
            char q[INV_QUOTE_SIZE];
            return inv_fail(err, errlen,
                            "match.%s: unknown key (expected mac, uuid, serial, vendor, model, circuit_id, "
                            "remote_id, arch, subnet or labels)",
                            inv_quote(q, sizeof q, key, strlen(key)));
        }
        int r = k->kind == KEY_LABELS ? check_labels(val, err, errlen) : check_list(k, val, err, errlen);
        if (r < 0)
            return r;
    }
    return 0;
}

int rule_match_validate(const char *match_json, char *err, size_t errlen)
{
    json_t *m = inv_load_object(match_json, MATCH_MAX_BYTES, "match", err, errlen);
    if (!m)
        return -EINVAL;
    int r = validate_object(m, err, errlen);
    json_decref(m);
    return r;
}

/* ---- the verdict and its one line ---- */

struct why {
    char *buf;
    size_t cap, len;
};

static void why_add(struct why *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void why_add(struct why *w, const char *fmt, ...)
{
    if (!w->buf || w->cap == 0 || w->len >= w->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(w->buf + w->len, w->cap - w->len, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= w->cap - w->len) {
        w->len = w->cap - 1;
        /* Cut lines say so, rather than ending mid-word without a trace. */
        if (w->cap >= 4)
            memcpy(w->buf + w->cap - 4, "...", 4);
    } else {
        w->len += (size_t)n;
    }
}

/* "[a, b*, c]", the list as written (validated: no control bytes). */
static void why_list(struct why *w, const json_t *list)
{
    why_add(w, "[");
    for (size_t i = 0; i < json_array_size(list); i++) {
        const json_t *e = json_array_get(list, i);
        if (json_is_integer(e))
            why_add(w, "%s%lld", i ? ", " : "", (long long)json_integer_value(e));
        else
            why_add(w, "%s%s", i ? ", " : "", json_string_value(e));
    }
    why_add(w, "]");
}

struct raw {
    const uint8_t *p;
    size_t n;
};

static struct raw subject_raw(const struct rule_subject *s, enum subject_field f)
{
    const char *t = NULL;
    switch (f) {
    case F_UUID: t = s->uuid; break;
    case F_SERIAL: t = s->serial; break;
    case F_VENDOR: t = s->vendor; break;
    case F_MODEL: t = s->model; break;
    case F_SUBNET: t = s->subnet; break;
    case F_CIRCUIT: return (struct raw){s->circuit_id, s->circuit_id ? s->circuit_id_len : 0};
    case F_REMOTE: return (struct raw){s->remote_id, s->remote_id ? s->remote_id_len : 0};
    default: break;
    }
    return (struct raw){(const uint8_t *)t, t ? strlen(t) : 0};
}

static bool glob_matches(const char *pat, struct raw v, bool exact_only)
{
    size_t m = strlen(pat);
    if (!exact_only && m > 0 && pat[m - 1] == '*')
        return v.n >= m - 1 && memcmp(v.p, pat, m - 1) == 0;
    return v.n == m && memcmp(v.p, pat, m) == 0;
}

static bool uuid_equal(const char *pat, struct raw v)
{
    return v.n == strlen(pat) && strncasecmp((const char *)v.p, pat, v.n) == 0;
}

/* One key: true when it holds; the clause goes to w (success) or fail
 * (the reason the whole rule does not match). */
static bool key_holds(const struct match_key *k, const json_t *val, const struct rule_subject *s, struct why *w,
                      struct why *fail)
{
    char q[INV_QUOTE_SIZE];
    if (k->kind == KEY_MAC) {
        char mac[18];
        if (!s->has_mac) {
            why_add(fail, "mac: not known, needs one of ");
            why_list(fail, val);
            return false;
        }
        mac_format(s->mac, mac);
        for (size_t i = 0; i < json_array_size(val); i++) {
            const char *pat = json_string_value(json_array_get(val, i));
            struct mac_pat p;
            if (mac_pat_parse(pat, &p) == 0 && mac_pat_matches(&p, s->mac)) {
                why_add(w, "mac %s matches %s", mac, pat);
                return true;
            }
        }
        why_add(fail, "mac: %s matches none of ", mac);
        why_list(fail, val);
        return false;
    }
    if (k->kind == KEY_ARCH) {
        if (s->arch < 0) {
            why_add(fail, "arch: not known, needs one of ");
            why_list(fail, val);
            return false;
        }
        for (size_t i = 0; i < json_array_size(val); i++)
            if (json_integer_value(json_array_get(val, i)) == s->arch) {
                why_add(w, "arch %d matches ", (int)s->arch);
                why_list(w, val);
                return true;
            }
        why_add(fail, "arch: %d matches none of ", (int)s->arch);
        why_list(fail, val);
        return false;
    }
    struct raw v = subject_raw(s, k->field);
    if (!v.p || v.n == 0) {
        why_add(fail, "%s: not known, needs one of ", k->name);
        why_list(fail, val);
        return false;
    }
    inv_quote(q, sizeof q, (const char *)v.p, v.n);
    for (size_t i = 0; i < json_array_size(val); i++) {
        const char *pat = json_string_value(json_array_get(val, i));
        bool ok = k->kind == KEY_UUID ? uuid_equal(pat, v) : glob_matches(pat, v, k->kind == KEY_EXACT);
        if (ok) {
            why_add(w, "%s '%s' matches %s", k->name, q, pat);
            return true;
        }
    }
    why_add(fail, "%s: '%s' matches none of ", k->name, q);
    why_list(fail, val);
    return false;
}

static bool labels_hold(const json_t *want, const struct rule_subject *s, struct why *w, struct why *fail)
{
    json_t *have = NULL;
    if (s->labels) {
        json_error_t je;
        have = json_loads(s->labels, JSON_REJECT_DUPLICATES, &je);
        if (have && !json_is_object(have)) {
            json_decref(have);
            have = NULL;
        }
    }
    if (!have) {
        why_add(fail, "labels: not known (no host record)");
        return false;
    }
    const char *key;
    const json_t *pat;
    bool ok = true;
    size_t i = 0;
    json_object_foreach((json_t *)want, key, pat) {
        const char *p = json_string_value(pat);
        size_t n;
        const char *v = inv_json_str(json_object_get(have, key), &n);
        char q[INV_QUOTE_SIZE];
        if (!v) {
            why_add(fail, "labels.%s: not set, needs %s", key, p);
            ok = false;
            break;
        }
        inv_quote(q, sizeof q, v, n);
        if (strcmp(p, "*") != 0 && strcmp(p, v) != 0) {
            why_add(fail, "labels.%s: '%s' is not %s", key, q, p);
            ok = false;
            break;
        }
        why_add(w, "%slabel %s '%s' matches %s", i++ ? ", " : "", key, q, p);
    }
    json_decref(have);
    return ok;
}

bool rule_matches(const struct rule *r, const struct rule_subject *s, char *why, size_t whylen)
{
    char err[RULE_WHY_MAX];
    struct why w = {why, whylen, 0};
    if (why && whylen)
        why[0] = '\0';
    json_t *m = r ? inv_load_object(r->match, MATCH_MAX_BYTES, "match", err, sizeof err) : NULL;
    if (!m || validate_object(m, err, sizeof err) < 0) {
        why_add(&w, "invalid match: %s", r ? err : "no rule");
        json_decref(m);
        return false;
    }
    if (json_object_size(m) == 0) {
        why_add(&w, "{} matches every host");
        json_decref(m);
        return true;
    }
    char okbuf[RULE_WHY_MAX], failbuf[RULE_WHY_MAX];
    struct why ok = {okbuf, sizeof okbuf, 0}, fail = {failbuf, sizeof failbuf, 0};
    okbuf[0] = failbuf[0] = '\0';
    bool holds = true;
    for (size_t i = 0; holds && i < N_MATCH_KEYS; i++) {
        const json_t *val = json_object_get(m, match_keys[i].name);
        if (!val)
            continue;
        if (ok.len)
            why_add(&ok, ", ");
        holds = match_keys[i].kind == KEY_LABELS ? labels_hold(val, s, &ok, &fail)
                                                 : key_holds(&match_keys[i], val, s, &ok, &fail);
    }
    why_add(&w, "%s", holds ? okbuf : failbuf);
    json_decref(m);
    return holds;
}

int rules_first_match(const struct rule *rules, size_t n_rules, const struct rule_subject *s,
                      struct rule_trace *trace, size_t max_trace, size_t *n_trace)
{
    size_t written = 0;
    int found = -1;
    for (size_t i = 0; i < n_rules && found < 0; i++) {
        char why[RULE_WHY_MAX];
        bool m = rule_matches(&rules[i], s, why, sizeof why);
        if (trace && written < max_trace) {
            trace[written].rule = rules[i].name;
            trace[written].matched = m;
            snprintf(trace[written].why, sizeof trace[written].why, "%s", why);
            written++;
        }
        if (m)
            found = (int)i;
    }
    if (n_trace)
        *n_trace = written;
    return found;
}
