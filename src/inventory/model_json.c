/* Hosts, profiles and rules ↔ JSON (inventory/model_json.h). Decoding
 * builds the new values aside and writes them into the struct only when
 * every field passed, so a refused body leaves the object as it was. */
#include "inventory/model_json.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory/inv_text.h"
#include "inventory/profile.h"
#include "inventory/rules.h"
#include "util/addr.h"

#define KV_MAX 64         /* labels or vars per object */
#define KV_VALUE_MAX 1024 /* bytes of one label or var value */

json_t *json_time_ms(int64_t ms)
{
    if (ms == 0)
        return json_null();
    int64_t secs = ms / 1000, rem = ms % 1000;
    if (rem < 0) {
        secs--;
        rem += 1000;
    }
    time_t t = (time_t)secs;
    struct tm tm;
    char buf[64];
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return json_null();
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
             tm.tm_hour, tm.tm_min, tm.tm_sec, (int)rem);
    return json_string(buf);
}

static json_t *object_or_empty(const char *text)
{
    json_t *j = text ? json_loads(text, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        j = json_object();
    }
    return j;
}

static json_t *build_ref(const char *name, int version)
{
    char buf[BUILD_NAME_MAX + 16];
    if (name[0] && version > 0)
        snprintf(buf, sizeof buf, "%s@%d", name, version);
    else
        snprintf(buf, sizeof buf, "%s", name);
    return json_string(buf);
}

/* json_object_set_new() that remembers a failure, so a long list of
 * fields needs one check at the end. */
static void put(json_t *o, const char *key, json_t *v, int *failed)
{
    if (json_object_set_new(o, key, v) < 0)
        *failed = 1;
}

json_t *host_to_json(const struct host *h)
{
    json_t *o = json_object(), *macs = json_array();
    int failed = !o || !macs;
    char buf[MAC_STRLEN > IPV4_STRLEN ? MAC_STRLEN : IPV4_STRLEN];
    for (size_t i = 0; !failed && i < h->n_macs && i < HOST_MAX_MACS; i++)
        if (json_array_append_new(macs, json_string(mac_format(h->macs[i], buf))) < 0)
            failed = 1;
    if (failed) {
        json_decref(o);
        json_decref(macs);
        return NULL;
    }
    put(o, "name", json_string(h->name), &failed);
    put(o, "macs", macs, &failed);
    put(o, "uuid", json_string(h->uuid), &failed);
    put(o, "serial", json_string(h->serial), &failed);
    put(o, "build", build_ref(h->build, h->build_version), &failed);
    put(o, "profile", json_string(h->profile), &failed);
    put(o, "mode", json_string(host_mode_name(h->mode)), &failed);
    put(o, "address", json_string(h->address ? format_ipv4(h->address, buf) : ""), &failed);
    put(o, "vlan", json_integer(h->vlan), &failed);
    put(o, "labels", object_or_empty(h->labels), &failed);
    put(o, "vars", object_or_empty(h->vars), &failed);
    put(o, "state", json_string(host_state_name(h->state)), &failed);
    put(o, "state_reason", json_string(h->state_reason), &failed);
    put(o, "state_since", json_time_ms(h->state_since), &failed);
    put(o, "last_seen", json_time_ms(h->last_seen), &failed);
    put(o, "boot_id", json_integer(h->boot_id), &failed);
    put(o, "facts", object_or_empty(h->facts), &failed);
    put(o, "created", json_time_ms(h->created), &failed);
    put(o, "updated", json_time_ms(h->updated), &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- decoding helpers ---- */

static bool key_in(const char *key, const char *const *keys)
{
    for (; *keys; keys++)
        if (strcmp(*keys, key) == 0)
            return true;
    return false;
}

/* Every key of j is writable, or read-only with the value current holds. */
static int check_keys(const json_t *j, const char *const *writable, const char *const *read_only,
                      const json_t *current, char *err, size_t errlen)
{
    const char *key;
    const json_t *val;
    char q[INV_QUOTE_SIZE];
    json_object_foreach((json_t *)j, key, val) {
        if (key_in(key, writable))
            continue;
        if (!key_in(key, read_only))
            return inv_fail(err, errlen, "%s: unknown field", inv_quote(q, sizeof q, key, strlen(key)));
        if (!json_equal((json_t *)val, json_object_get(current, key)))
            return inv_fail(err, errlen, "%s: read-only (set by midwife, not by a request)", key);
    }
    return 0;
}

/* A string field; NULL counts as "" so a PATCH can clear it. */
static int get_string(const json_t *j, const char *key, const char **out, char *err, size_t errlen)
{
    const json_t *v = json_object_get(j, key);
    if (json_is_null(v)) {
        *out = "";
        return 0;
    }
    size_t n;
    const char *s = inv_json_str(v, &n);
    if (!s)
        return inv_fail(err, errlen, "%s: expected a string", key);
    *out = s;
    return 0;
}

static int copy_name(const char *key, const char *s, bool allow_empty, char *dst, size_t dstlen, char *err,
                     size_t errlen)
{
    char q[INV_QUOTE_SIZE];
    if (!(allow_empty && !s[0]) && (!build_name_valid(s) || strlen(s) >= dstlen))
        return inv_fail(err, errlen, "%s: '%s' is not a name (1..63 of letters, digits, '-', '_', '.'; not starting with '.')",
                        key, inv_quote(q, sizeof q, s, strlen(s)));
    snprintf(dst, dstlen, "%s", s);
    return 0;
}

/* "NAME" or "NAME@V" (V >= 1), or "" for the default build. */
static int parse_build_ref(const char *key, const char *s, char name[BUILD_NAME_MAX], int *version, char *err,
                           size_t errlen)
{
    char q[INV_QUOTE_SIZE];
    const char *at = strchr(s, '@');
    size_t n = at ? (size_t)(at - s) : strlen(s);
    long v = 0;
    bool ok = n < BUILD_NAME_MAX;
    if (ok && at) {
        const char *d = at + 1;
        ok = *d >= '1' && *d <= '9' && strlen(d) <= 9;
        for (; ok && *d; d++)
            ok = isdigit((unsigned char)*d);
        if (ok)
            v = strtol(at + 1, NULL, 10);
    }
    if (ok) {
        memcpy(name, s, n);
        name[n] = '\0';
        ok = (n == 0 && !at) || build_name_valid(name);
    }
    if (!ok)
        return inv_fail(err, errlen, "%s: '%s' is not a build (NAME or NAME@VERSION)", key,
                        inv_quote(q, sizeof q, s, strlen(s)));
    *version = (int)v;
    return 0;
}

static int parse_mode(const char *key, const char *s, enum host_mode *out, char *err, size_t errlen)
{
    if (host_mode_parse(s, out) < 0)
        return inv_fail(err, errlen, "%s: expected one of stateless, stateful, sanboot, local", key);
    return 0;
}

/* labels, vars: an object of up to 64 strings, keys [A-Za-z0-9_.-]{1,63},
 * values without control bytes. *out: malloc'd compact JSON. */
static int kv_object(const char *key, const json_t *v, char **out, char *err, size_t errlen)
{
    if (!json_is_object(v))
        return inv_fail(err, errlen, "%s: expected an object of strings", key);
    if (json_object_size(v) > KV_MAX)
        return inv_fail(err, errlen, "%s: %zu entries, more than %d", key, json_object_size(v), KV_MAX);
    const char *k;
    const json_t *val;
    char q[INV_QUOTE_SIZE];
    json_object_foreach((json_t *)v, k, val) {
        if (!inv_key_valid(k))
            return inv_fail(err, errlen, "%s: key '%s' is not [A-Za-z0-9_.-]{1,63}", key,
                            inv_quote(q, sizeof q, k, strlen(k)));
        size_t n;
        const char *s = inv_json_str(val, &n);
        if (!s)
            return inv_fail(err, errlen, "%s.%s: expected a string", key, k);
        if (n > KV_VALUE_MAX)
            return inv_fail(err, errlen, "%s.%s: longer than %d bytes", key, k, KV_VALUE_MAX);
        if (!inv_text_clean(s, n))
            return inv_fail(err, errlen, "%s.%s: holds a control character", key, k);
    }
    *out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
    return *out ? 0 : -ENOMEM;
}

static int kv_field(const json_t *j, const char *key, bool partial, const char *current, char **out, char *err,
                    size_t errlen)
{
    const json_t *v = json_object_get(j, key);
    if (!v) {
        *out = strdup(partial && current ? current : "{}");
        return *out ? 0 : -ENOMEM;
    }
    return kv_object(key, v, out, err, errlen);
}

/* ---- hosts ---- */

static const char *const host_writable[] = {
    "name", "macs", "uuid", "serial", "build", "profile", "mode", "address", "vlan", "labels", "vars", NULL,
};
static const char *const host_read_only[] = {
    "state", "state_reason", "state_since", "last_seen", "boot_id", "facts", "created", "updated", NULL,
};

/* The writable fields, decoded aside. */
struct host_fields {
    char name[HOST_NAME_MAX_LEN];
    uint8_t macs[HOST_MAX_MACS][6];
    size_t n_macs;
    char uuid[HOST_UUID_LEN + 1];
    char serial[HOST_SERIAL_MAX];
    char build[BUILD_NAME_MAX];
    int build_version;
    char profile[PROFILE_NAME_MAX];
    enum host_mode mode;
    uint32_t address;
    int vlan;
    char *labels, *vars;
};

static int decode_macs(const json_t *v, struct host_fields *f, char *err, size_t errlen)
{
    if (!json_is_array(v))
        return inv_fail(err, errlen, "macs: expected a list of MAC addresses");
    if (json_array_size(v) > HOST_MAX_MACS)
        return inv_fail(err, errlen, "macs: %zu entries, more than %d", json_array_size(v), HOST_MAX_MACS);
    f->n_macs = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        const char *s = inv_json_str(json_array_get(v, i), NULL);
        if (!s || mac_parse(s, f->macs[i]) < 0)
            return inv_fail(err, errlen, "macs[%zu]: not a MAC address", i);
        for (size_t k = 0; k < i; k++)
            if (memcmp(f->macs[k], f->macs[i], 6) == 0)
                return inv_fail(err, errlen, "macs[%zu]: the same MAC as macs[%zu]", i, k);
        f->n_macs = i + 1;
    }
    return 0;
}

static int decode_uuid(const char *s, char out[HOST_UUID_LEN + 1], char *err, size_t errlen)
{
    char low[HOST_UUID_LEN + 1];
    size_t n = strlen(s);
    if (n == 0) {
        out[0] = '\0';
        return 0;
    }
    for (size_t i = 0; i < n && i < HOST_UUID_LEN; i++)
        low[i] = (char)tolower((unsigned char)s[i]);
    low[n < HOST_UUID_LEN ? n : HOST_UUID_LEN] = '\0';
    if (n != HOST_UUID_LEN || !host_uuid_valid(low))
        return inv_fail(err, errlen, "uuid: not a UUID (8-4-4-4-12 hex digits)");
    memcpy(out, low, sizeof low);
    return 0;
}

static int decode_address(const char *s, uint32_t *out, char *err, size_t errlen)
{
    char q[INV_QUOTE_SIZE];
    *out = 0;
    if (!s[0])
        return 0;
    if (parse_ipv4(s, out) < 0 || *out == 0 || *out == 0xffffffffu)
        return inv_fail(err, errlen, "address: '%s' is not an IPv4 host address (a.b.c.d, or \"\" for DHCP)",
                        inv_quote(q, sizeof q, s, strlen(s)));
    return 0;
}

static int decode_host(const json_t *j, const struct host *h, bool partial, struct host_fields *f, char *err,
                       size_t errlen)
{
    const char *s = "";
    const json_t *v;
    int r;
    /* Start from h (PATCH) or from the defaults (the name is the one
     * exception: a PUT names the host in its path). */
    memset(f, 0, sizeof *f);
    snprintf(f->name, sizeof f->name, "%s", h->name);
    if (partial) {
        memcpy(f->macs, h->macs, sizeof f->macs);
        f->n_macs = h->n_macs <= HOST_MAX_MACS ? h->n_macs : HOST_MAX_MACS;
        snprintf(f->uuid, sizeof f->uuid, "%s", h->uuid);
        snprintf(f->serial, sizeof f->serial, "%s", h->serial);
        snprintf(f->build, sizeof f->build, "%s", h->build);
        f->build_version = h->build_version;
        snprintf(f->profile, sizeof f->profile, "%s", h->profile);
        f->mode = h->mode;
        f->address = h->address;
        f->vlan = h->vlan;
    }
    if (json_object_get(j, "name")) {
        if ((r = get_string(j, "name", &s, err, errlen)) < 0 || (r = copy_name("name", s, false, f->name, sizeof f->name, err, errlen)) < 0)
            return r;
    } else if (!f->name[0]) {
        return inv_fail(err, errlen, "name: missing");
    }
    if ((v = json_object_get(j, "macs")) && (r = decode_macs(v, f, err, errlen)) < 0)
        return r;
    if (json_object_get(j, "uuid") &&
        ((r = get_string(j, "uuid", &s, err, errlen)) < 0 || (r = decode_uuid(s, f->uuid, err, errlen)) < 0))
        return r;
    if (json_object_get(j, "serial")) {
        if ((r = get_string(j, "serial", &s, err, errlen)) < 0)
            return r;
        if (s[0] && !host_serial_valid(s))
            return inv_fail(err, errlen, "serial: not a serial number (1..64 of letters, digits, space and ._:/+-)");
        snprintf(f->serial, sizeof f->serial, "%s", s);
    }
    if (json_object_get(j, "build") &&
        ((r = get_string(j, "build", &s, err, errlen)) < 0 ||
         (r = parse_build_ref("build", s, f->build, &f->build_version, err, errlen)) < 0))
        return r;
    if (json_object_get(j, "profile") &&
        ((r = get_string(j, "profile", &s, err, errlen)) < 0 ||
         (r = copy_name("profile", s, true, f->profile, sizeof f->profile, err, errlen)) < 0))
        return r;
    if ((v = json_object_get(j, "mode"))) {
        if (!json_is_string(v))
            return inv_fail(err, errlen, "mode: expected one of stateless, stateful, sanboot, local");
        if ((r = parse_mode("mode", json_string_value(v), &f->mode, err, errlen)) < 0)
            return r;
    }
    if (json_object_get(j, "address") &&
        ((r = get_string(j, "address", &s, err, errlen)) < 0 || (r = decode_address(s, &f->address, err, errlen)) < 0))
        return r;
    if ((v = json_object_get(j, "vlan"))) {
        json_int_t x = json_is_integer(v) ? json_integer_value(v) : -1;
        if (x < 0 || x > 4094)
            return inv_fail(err, errlen, "vlan: expected an integer 0..4094 (0: none)");
        f->vlan = (int)x;
    }
    if ((r = kv_field(j, "labels", partial, h->labels, &f->labels, err, errlen)) < 0)
        return r;
    return kv_field(j, "vars", partial, h->vars, &f->vars, err, errlen);
}

int host_from_json(const json_t *j, struct host *h, bool partial, char *err, size_t errlen)
{
    if (!json_is_object(j))
        return inv_fail(err, errlen, "host: expected an object");
    json_t *current = host_to_json(h);
    if (!current)
        return -ENOMEM;
    int r = check_keys(j, host_writable, host_read_only, current, err, errlen);
    json_decref(current);
    if (r < 0)
        return r;
    struct host_fields f;
    r = decode_host(j, h, partial, &f, err, errlen);
    if (r < 0) {
        free(f.labels);
        free(f.vars);
        return r;
    }
    memcpy(h->name, f.name, sizeof h->name);
    memcpy(h->macs, f.macs, sizeof h->macs);
    h->n_macs = f.n_macs;
    memcpy(h->uuid, f.uuid, sizeof h->uuid);
    memcpy(h->serial, f.serial, sizeof h->serial);
    memcpy(h->build, f.build, sizeof h->build);
    h->build_version = f.build_version;
    memcpy(h->profile, f.profile, sizeof h->profile);
    h->mode = f.mode;
    h->address = f.address;
    h->vlan = f.vlan;
    free(h->labels);
    free(h->vars);
    h->labels = f.labels;
    h->vars = f.vars;
    return 0;
}

/* ---- profiles ---- */

json_t *profile_to_json(const struct profile *p)
{
    json_t *doc = p->doc ? json_loads(p->doc, JSON_REJECT_DUPLICATES, NULL) : NULL;
    if (!json_is_object(doc)) {
        json_decref(doc);
        doc = json_object();
    }
    return json_pack("{s:s, s:o, s:o, s:o}", "name", p->name, "doc", doc, "created", json_time_ms(p->created),
                     "updated", json_time_ms(p->updated));
}

static const char *const profile_writable[] = {"name", "doc", NULL};
static const char *const stamps[] = {"created", "updated", NULL};

int profile_from_json(const json_t *j, struct profile *p, char *err, size_t errlen)
{
    if (!json_is_object(j))
        return inv_fail(err, errlen, "profile: expected an object");
    json_t *current = profile_to_json(p);
    if (!current)
        return -ENOMEM;
    int r = check_keys(j, profile_writable, stamps, current, err, errlen);
    json_decref(current);
    if (r < 0)
        return r;
    char name[PROFILE_NAME_MAX];
    const char *s = "";
    if (!json_object_get(j, "name"))
        return inv_fail(err, errlen, "name: missing");
    if ((r = get_string(j, "name", &s, err, errlen)) < 0 || (r = copy_name("name", s, false, name, sizeof name, err, errlen)) < 0)
        return r;
    const json_t *doc = json_object_get(j, "doc");
    if (!doc)
        return inv_fail(err, errlen, "doc: missing");
    if (!json_is_object(doc))
        return inv_fail(err, errlen, "doc: expected an object");
    char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    if (!text)
        return -ENOMEM;
    char verr[256];
    if (profile_validate(text, verr, sizeof verr) < 0) {
        free(text);
        return inv_fail(err, errlen, "doc.%s", verr);
    }
    memcpy(p->name, name, sizeof p->name);
    free(p->doc);
    p->doc = text;
    return 0;
}

/* ---- rules ---- */

json_t *rule_to_json(const struct rule *r)
{
    json_t *o = json_object();
    int failed = !o;
    if (failed)
        return NULL;
    put(o, "name", json_string(r->name), &failed);
    put(o, "rank", json_integer(r->rank), &failed);
    put(o, "match", object_or_empty(r->match), &failed);
    put(o, "build", build_ref(r->build, r->build_version), &failed);
    put(o, "profile", json_string(r->profile), &failed);
    put(o, "mode", r->mode >= 0 ? json_string(host_mode_name((enum host_mode)r->mode)) : json_null(), &failed);
    put(o, "labels", object_or_empty(r->labels), &failed);
    put(o, "created", json_time_ms(r->created), &failed);
    put(o, "updated", json_time_ms(r->updated), &failed);
    if (failed) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static const char *const rule_writable[] = {"name", "rank", "match", "build", "profile", "mode", "labels", NULL};

int rule_from_json(const json_t *j, struct rule *r, char *err, size_t errlen)
{
    if (!json_is_object(j))
        return inv_fail(err, errlen, "rule: expected an object");
    json_t *current = rule_to_json(r);
    if (!current)
        return -ENOMEM;
    int rc = check_keys(j, rule_writable, stamps, current, err, errlen);
    json_decref(current);
    if (rc < 0)
        return rc;

    char name[RULE_NAME_MAX], build[BUILD_NAME_MAX] = "", profile[PROFILE_NAME_MAX] = "";
    int build_version = 0, mode = -1;
    const char *s = "";
    const json_t *v;
    char *match = NULL, *labels = NULL;

    if (!json_object_get(j, "name"))
        return inv_fail(err, errlen, "name: missing");
    if ((rc = get_string(j, "name", &s, err, errlen)) < 0 || (rc = copy_name("name", s, false, name, sizeof name, err, errlen)) < 0)
        return rc;
    v = json_object_get(j, "rank");
    if (!v)
        return inv_fail(err, errlen, "rank: missing");
    if (!json_is_integer(v) || json_integer_value(v) < -1000000 || json_integer_value(v) > 1000000)
        return inv_fail(err, errlen, "rank: expected an integer -1000000..1000000");
    int rank = (int)json_integer_value(v);
    if (json_object_get(j, "build") &&
        ((rc = get_string(j, "build", &s, err, errlen)) < 0 ||
         (rc = parse_build_ref("build", s, build, &build_version, err, errlen)) < 0))
        return rc;
    if (json_object_get(j, "profile") &&
        ((rc = get_string(j, "profile", &s, err, errlen)) < 0 ||
         (rc = copy_name("profile", s, true, profile, sizeof profile, err, errlen)) < 0))
        return rc;
    if ((v = json_object_get(j, "mode")) && !json_is_null(v)) {
        enum host_mode m;
        if (!json_is_string(v))
            return inv_fail(err, errlen, "mode: expected one of stateless, stateful, sanboot, local, or null");
        if ((rc = parse_mode("mode", json_string_value(v), &m, err, errlen)) < 0)
            return rc;
        mode = (int)m;
    }
    v = json_object_get(j, "match");
    if (v && !json_is_object(v))
        return inv_fail(err, errlen, "match: expected an object");
    match = v ? json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER) : strdup("{}");
    if (!match)
        return -ENOMEM;
    if ((rc = rule_match_validate(match, err, errlen)) < 0 ||
        (rc = kv_field(j, "labels", false, NULL, &labels, err, errlen)) < 0) {
        free(match);
        return rc;
    }
    memcpy(r->name, name, sizeof r->name);
    r->rank = rank;
    memcpy(r->build, build, sizeof r->build);
    r->build_version = build_version;
    memcpy(r->profile, profile, sizeof r->profile);
    r->mode = mode;
    free(r->match);
    free(r->labels);
    r->match = match;
    r->labels = labels;
    return 0;
}
