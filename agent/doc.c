/* The configuration document's check (doc.h). The shape is
 * docs/profiles.md, "The configuration document", written down here as a
 * table so each key's type, range and string shape are one line each.
 * Absent keys are fine (the server always sends them, but the agent
 * applies nothing for a key that is not there); present ones must fit. */
#include "doc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "path.h"
#include "util/log.h"

#define DOC_STRING_MAX 4096 /* no string in the document is longer */
#define DOC_DEPTH_MAX 16    /* the document nests 4 deep; more is not ours */

enum kind { K_STR, K_INT, K_BOOL, K_LIST, K_OBJ };

enum shape {
    S_TEXT,      /* anything without control characters (checked for all) */
    S_HOSTNAME,  /* labels of [A-Za-z0-9_-], not starting or ending with '-', dots between */
    S_IFNAME,    /* [A-Za-z0-9_.:-]{1,15}, not "." or ".." */
    S_MAC,       /* aa:bb:cc:dd:ee:ff or with '-' */
    S_ADDRESS,   /* a.b.c.d[/prefix] */
    S_NETWORK,   /* a.b.c.d[/prefix], host bits zero */
    S_IPV4,      /* a.b.c.d */
    S_SERVER,    /* a.b.c.d or a host name */
    S_PORTAL,    /* server[:port] */
    S_ISCSI,     /* iqn./eui./naa. name */
    S_ABS_PATH,  /* starts with '/' */
    S_SAFE_PATH, /* absolute; no ".", ".." or empty component; no trailing '/' */
    S_MOUNT_OPT, /* [A-Za-z0-9,=._:/+-]* */
    S_BOND_MODE,
    S_HTTP_URL,
};

struct key;

struct spec {
    enum kind kind;
    enum shape shape;        /* K_STR */
    long long lo, hi;        /* K_INT: value; K_STR: bytes; K_LIST: entries */
    const struct spec *elem; /* K_LIST */
    const struct key *keys;  /* K_OBJ, ends with {NULL} */
};

struct key {
    const char *name;
    const struct spec *spec;
    bool required;
};

#define STR(sh, min, max) {.kind = K_STR, .shape = (sh), .lo = (min), .hi = (max)}
#define INT(min, max) {.kind = K_INT, .lo = (min), .hi = (max)}
#define LIST(min, max, e) {.kind = K_LIST, .lo = (min), .hi = (max), .elem = (e)}
#define OBJ(k) {.kind = K_OBJ, .keys = (k)}

static const struct spec ifname = STR(S_IFNAME, 1, 15);
static const struct spec ifnames = LIST(0, 64, &ifname);
static const struct spec mac = STR(S_MAC, 17, 17);
static const struct spec mtu = INT(68, 65535);
static const struct spec boolean = {.kind = K_BOOL};
static const struct spec address = STR(S_ADDRESS, 7, 18);
static const struct spec addresses = LIST(0, 32, &address);
static const struct spec ipv4 = STR(S_IPV4, 7, 15);
static const struct spec server = STR(S_SERVER, 1, 253);
static const struct spec hostname = STR(S_HOSTNAME, 1, 253);

static const struct key interface_keys[] = {
    {"name", &ifname, true}, {"mac", &mac, false},       {"mtu", &mtu, false},
    {"dhcp", &boolean, false}, {"addresses", &addresses, false}, {NULL, NULL, false},
};
static const struct key bond_keys[] = {
    {"name", &ifname, true},
    {"mode", &(const struct spec)STR(S_BOND_MODE, 1, 32), false},
    {"members", &(const struct spec)LIST(1, 64, &ifname), true},
    {"mtu", &mtu, false},
    {"dhcp", &boolean, false},
    {"addresses", &addresses, false},
    {NULL, NULL, false},
};
static const struct key vlan_keys[] = {
    {"name", &ifname, true},
    {"link", &ifname, true},
    {"id", &(const struct spec)INT(1, 4094), true},
    {"mtu", &mtu, false},
    {"dhcp", &boolean, false},
    {"addresses", &addresses, false},
    {NULL, NULL, false},
};
static const struct key port_group_keys[] = {
    {"name", &(const struct spec)STR(S_TEXT, 1, 63), true},
    {"vlan", &(const struct spec)INT(0, 4095), false},
    {NULL, NULL, false},
};
static const struct spec port_group = OBJ(port_group_keys);
static const struct key bridge_keys[] = {
    {"name", &ifname, true},
    {"uplinks", &ifnames, false},
    {"mtu", &mtu, false},
    {"dhcp", &boolean, false},
    {"addresses", &addresses, false},
    {"port_groups", &(const struct spec)LIST(0, 256, &port_group), false},
    {NULL, NULL, false},
};
static const struct key route_keys[] = {
    {"to", &(const struct spec)STR(S_NETWORK, 7, 18), true},
    {"via", &ipv4, false},
    {"dev", &ifname, false},
    {"metric", &(const struct spec)INT(0, 4294967295LL), false},
    {NULL, NULL, false},
};
static const struct key dns_keys[] = {
    {"servers", &(const struct spec)LIST(0, 8, &ipv4), false},
    {"search", &(const struct spec)LIST(0, 16, &hostname), false},
    {NULL, NULL, false},
};
static const struct key nfs_keys[] = {
    {"server", &server, true},
    {"export", &(const struct spec)STR(S_ABS_PATH, 1, 1024), true},
    {"mount", &(const struct spec)STR(S_SAFE_PATH, 2, 1024), true},
    {"options", &(const struct spec)STR(S_MOUNT_OPT, 0, 255), false},
    {NULL, NULL, false},
};
static const struct key iscsi_keys[] = {
    {"portal", &(const struct spec)STR(S_PORTAL, 1, 259), true},
    {"target", &(const struct spec)STR(S_ISCSI, 5, 223), true},
    {"lun", &(const struct spec)INT(0, 65535), false},
    {NULL, NULL, false},
};
static const struct key storage_keys[] = {
    {"nfs", &(const struct spec)LIST(0, 32, &(const struct spec)OBJ(nfs_keys)), false},
    {"iscsi", &(const struct spec)LIST(0, 32, &(const struct spec)OBJ(iscsi_keys)), false},
    {NULL, NULL, false},
};
static const struct spec http_url = STR(S_HTTP_URL, 8, 2048);

static const struct key top_keys[] = {
    {"version", &(const struct spec)INT(1, 1), true},
    {"host", &(const struct spec)STR(S_TEXT, 0, 253), false},
    {"host_id", &(const struct spec)INT(0, INT64_MAX), false},
    {"boot_id", &(const struct spec)INT(0, INT64_MAX), false},
    {"hostname", &hostname, false},
    {"interfaces", &(const struct spec)LIST(0, 64, &(const struct spec)OBJ(interface_keys)), false},
    {"bonds", &(const struct spec)LIST(0, 64, &(const struct spec)OBJ(bond_keys)), false},
    {"vlans", &(const struct spec)LIST(0, 256, &(const struct spec)OBJ(vlan_keys)), false},
    {"bridges", &(const struct spec)LIST(0, 64, &(const struct spec)OBJ(bridge_keys)), false},
    {"routes", &(const struct spec)LIST(0, 256, &(const struct spec)OBJ(route_keys)), false},
    {"dns", &(const struct spec)OBJ(dns_keys), false},
    {"ntp", &(const struct spec)LIST(0, 16, &server), false},
    {"storage", &(const struct spec)OBJ(storage_keys), false},
    {"cluster", &(const struct spec)STR(S_TEXT, 0, 63), false},
    {"persist", &(const struct spec)LIST(0, 256, &(const struct spec)STR(S_SAFE_PATH, 2, 1024)), false},
    {"persist_interval", &(const struct spec)INT(0, 604800), false},
    {"commands", &(const struct spec)LIST(0, 256, &(const struct spec)STR(S_TEXT, 1, DOC_STRING_MAX)), false},
    {"mgmt_vlan", &(const struct spec)INT(0, 4094), false},
    {"report_url", &http_url, true},
    {"state_url", &http_url, true},
    {NULL, NULL, false},
};
static const struct spec document = OBJ(top_keys);

/* ---- shapes ---- */

static bool all_of(const char *s, const char *set)
{
    for (; *s; s++)
        if (!(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')) ||
              strchr(set, *s)))
            return false;
    return true;
}

/* a.b.c.d, each 0..255 in decimal without leading zeros (an octal
 * reading of "010" would differ from a decimal one). n: bytes of s. */
static bool ipv4_n(const char *s, size_t n, uint32_t *out)
{
    uint32_t a = 0;
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.')
                return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255 || (i - start > 1 && s[start] == '0'))
            return false;
        a = a << 8 | v;
    }
    if (i != n)
        return false;
    if (out)
        *out = a;
    return true;
}

static bool address_ok(const char *s, bool network)
{
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    uint32_t a;
    if (!ipv4_n(s, n, &a))
        return false;
    if (!slash)
        return true;
    const char *p = slash + 1;
    if (!*p || strlen(p) > 2 || !all_of(p, "") || (p[0] == '0' && p[1]))
        return false;
    unsigned prefix = (unsigned)(p[0] - '0');
    if (p[1])
        prefix = prefix * 10 + (unsigned)(p[1] - '0');
    if (prefix > 32)
        return false;
    uint32_t mask = prefix == 0 ? 0 : 0xffffffffu << (32 - prefix);
    return !network || (a & ~mask) == 0;
}

static bool hostname_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 253)
        return false;
    const char *label = s;
    for (const char *p = s;; p++) {
        if (*p == '.' || *p == '\0') {
            size_t len = (size_t)(p - label);
            if (len == 0 || len > 63 || label[0] == '-' || p[-1] == '-')
                return false;
            if (*p == '\0')
                return true;
            label = p + 1;
        } else if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                     *p == '-' || *p == '_')) {
            return false;
        }
    }
}

static bool mac_ok(const char *s)
{
    if (strlen(s) != 17)
        return false;
    char sep = s[2];
    if (sep != ':' && sep != '-')
        return false;
    for (int i = 0; i < 17; i++) {
        if (i % 3 == 2) {
            if (s[i] != sep)
                return false;
        } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))) {
            return false;
        }
    }
    return true;
}


static bool portal_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    if (!colon)
        return ipv4_n(s, strlen(s), NULL) || hostname_ok(s);
    char host[254];
    size_t n = (size_t)(colon - s);
    if (n == 0 || n >= sizeof host)
        return false;
    memcpy(host, s, n);
    host[n] = '\0';
    const char *p = colon + 1;
    size_t plen = strlen(p);
    if (plen == 0 || plen > 5 || !all_of(p, "") || strspn(p, "0123456789") != plen)
        return false;
    unsigned long port = 0;
    for (; *p; p++)
        port = port * 10 + (unsigned long)(*p - '0');
    return port >= 1 && port <= 65535 && (ipv4_n(host, n, NULL) || hostname_ok(host));
}

static bool iscsi_ok(const char *s)
{
    if (strncasecmp(s, "iqn.", 4) && strncasecmp(s, "eui.", 4) && strncasecmp(s, "naa.", 4))
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

static bool bond_mode_ok(const char *s)
{
    static const char *const modes[] = {"802.3ad",   "active-backup", "balance-rr", "balance-xor",
                                        "broadcast", "balance-tlb",   "balance-alb"};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        if (strcmp(s, modes[i]) == 0)
            return true;
    return false;
}

/* What s is not, or NULL when it fits. */
static const char *shape_problem(enum shape sh, const char *s)
{
    switch (sh) {
    case S_TEXT:
        return NULL;
    case S_HOSTNAME:
        return hostname_ok(s) ? NULL : "is not a host name (labels of [A-Za-z0-9_-] between dots)";
    case S_IFNAME:
        return all_of(s, "_.:-") && strcmp(s, ".") && strcmp(s, "..") && strlen(s) >= 1 && strlen(s) <= 15
                   ? NULL
                   : "is not an interface name ([A-Za-z0-9_.:-]{1,15}, not . or ..)";
    case S_MAC:
        return mac_ok(s) ? NULL : "is not a MAC address";
    case S_ADDRESS:
        return address_ok(s, false) ? NULL : "is not an IPv4 address with an optional /prefix";
    case S_NETWORK:
        return address_ok(s, true) ? NULL : "is not an IPv4 network (a.b.c.d/prefix, host bits zero)";
    case S_IPV4:
        return ipv4_n(s, strlen(s), NULL) ? NULL : "is not an IPv4 address";
    case S_SERVER:
        return ipv4_n(s, strlen(s), NULL) || hostname_ok(s) ? NULL : "is not an IPv4 address or a host name";
    case S_PORTAL:
        return portal_ok(s) ? NULL : "is not ADDRESS[:PORT]";
    case S_ISCSI:
        return iscsi_ok(s) ? NULL : "is not an iqn./eui./naa. name";
    case S_ABS_PATH:
        return s[0] == '/' ? NULL : "is not an absolute path";
    case S_SAFE_PATH:
        return path_clean(s) ? NULL : "is not an absolute path without ., .., // or a trailing /";
    case S_MOUNT_OPT:
        return all_of(s, ",=._:/+-") ? NULL : "has characters outside [A-Za-z0-9,=._:/+-]";
    case S_BOND_MODE:
        return bond_mode_ok(s) ? NULL
                               : "is not one of 802.3ad, active-backup, balance-rr, balance-xor, broadcast, "
                                 "balance-tlb, balance-alb";
    case S_HTTP_URL: {
        struct http_url u;
        char e[80];
        return http_url_parse(s, &u, e, sizeof e) == 0 ? NULL : "is not an http:// URL";
    }
    }
    return "has an unknown shape";
}

/* ---- the walk ---- */

struct ck {
    char *err;
    size_t errlen;
};

static int fail(struct ck *c, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct ck *c, const char *path, const char *fmt, ...)
{
    if (c->errlen == 0)
        return -1;
    int n = snprintf(c->err, c->errlen, "%s: ", path[0] ? path : "document");
    if (n >= 0 && (size_t)n < c->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err + n, c->errlen - (size_t)n, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* A C0 control, DEL, or a C1 control in UTF-8 (0xC2 0x80..0x9F). The
 * bytes are valid UTF-8 already: jansson refuses anything else. */
static bool has_control(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch < 0x20 || ch == 0x7f)
            return true;
        if (ch == 0xc2 && i + 1 < n && (unsigned char)s[i + 1] >= 0x80 && (unsigned char)s[i + 1] <= 0x9f)
            return true;
    }
    return false;
}

static void child_path(char *out, size_t outlen, const char *path, const char *key)
{
    char esc[48];
    snprintf(out, outlen, "%s%s%s", path, path[0] ? "." : "", log_escape(esc, sizeof esc, key, strlen(key)));
}

/* Every string and every key, known or not: no control characters, no
 * string over DOC_STRING_MAX, nothing nested deeper than a document can. */
static int check_strings(struct ck *c, const json_t *v, const char *path, int depth)
{
    char sub[256];
    if (depth > DOC_DEPTH_MAX)
        return fail(c, path, "nested deeper than %d levels", DOC_DEPTH_MAX);
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n > DOC_STRING_MAX)
            return fail(c, path, "a string of %zu bytes (at most %d)", n, DOC_STRING_MAX);
        if (has_control(json_string_value(v), n))
            return fail(c, path, "holds a control character");
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (check_strings(c, e, sub, depth + 1) < 0)
                return -1;
        }
    } else if (json_is_object(v)) {
        const char *k;
        const json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            size_t kn = strlen(k);
            if (kn > 64 || has_control(k, kn))
                return fail(c, path, "a key that is over 64 bytes or holds a control character");
            child_path(sub, sizeof sub, path, k);
            if (check_strings(c, e, sub, depth + 1) < 0)
                return -1;
        }
    }
    return 0;
}

static const char *kind_name(enum kind k)
{
    switch (k) {
    case K_STR: return "a string";
    case K_INT: return "an integer";
    case K_BOOL: return "true or false";
    case K_LIST: return "a list";
    case K_OBJ: return "an object";
    }
    return "?";
}

static int check_value(struct ck *c, const json_t *v, const struct spec *s, const char *path);

static int check_object(struct ck *c, const json_t *v, const struct key *keys, const char *path)
{
    char sub[256];
    for (const struct key *k = keys; k->name; k++) {
        child_path(sub, sizeof sub, path, k->name);
        const json_t *e = json_object_get(v, k->name);
        if (!e) {
            if (k->required)
                return fail(c, sub, "missing");
            continue;
        }
        if (check_value(c, e, k->spec, sub) < 0)
            return -1;
    }
    /* A route must say where it goes (docs/profiles.md, route). */
    if (keys == route_keys && !json_object_get(v, "via") && !json_object_get(v, "dev"))
        return fail(c, path, "needs via or dev");
    return 0;
}

static int check_value(struct ck *c, const json_t *v, const struct spec *s, const char *path)
{
    char esc[80], sub[256];
    switch (s->kind) {
    case K_STR: {
        if (!json_is_string(v))
            return fail(c, path, "expected %s", kind_name(s->kind));
        const char *str = json_string_value(v);
        size_t n = json_string_length(v);
        if (strlen(str) != n)
            return fail(c, path, "holds a NUL byte");
        if ((long long)n < s->lo || (long long)n > s->hi)
            return fail(c, path, "%zu bytes, expected %lld..%lld", n, s->lo, s->hi);
        const char *why = shape_problem(s->shape, str);
        if (why)
            return fail(c, path, "'%s' %s", log_escape(esc, sizeof esc, str, n), why);
        return 0;
    }
    case K_INT:
        if (!json_is_integer(v))
            return fail(c, path, "expected %s", kind_name(s->kind));
        if (json_integer_value(v) < s->lo || json_integer_value(v) > s->hi)
            return fail(c, path, "%lld is outside %lld..%lld", (long long)json_integer_value(v), s->lo, s->hi);
        return 0;
    case K_BOOL:
        return json_is_boolean(v) ? 0 : fail(c, path, "expected %s", kind_name(s->kind));
    case K_LIST: {
        if (!json_is_array(v))
            return fail(c, path, "expected %s", kind_name(s->kind));
        size_t n = json_array_size(v);
        if ((long long)n < s->lo || (long long)n > s->hi)
            return fail(c, path, "%zu entries, expected %lld..%lld", n, s->lo, s->hi);
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            if (check_value(c, e, s->elem, sub) < 0)
                return -1;
        }
        return 0;
    }
    case K_OBJ:
        if (!json_is_object(v))
            return fail(c, path, "expected %s", kind_name(s->kind));
        return check_object(c, v, s->keys, path);
    }
    return fail(c, path, "unknown kind");
}

/* Interfaces, bonds, VLANs and bridges share one name space on the host:
 * one name twice would configure one link two ways. */
static int link_names_unique(struct ck *c, const json_t *doc)
{
    static const char *const lists[] = {"interfaces", "bonds", "vlans", "bridges"};
    struct seen {
        const char *name;
        size_t list, index;
    } seen[64 + 64 + 256 + 64];
    size_t n = 0;
    for (size_t l = 0; l < 4; l++) {
        const json_t *arr = json_object_get(doc, lists[l]);
        for (size_t i = 0; i < json_array_size(arr); i++) {
            const char *name = json_string_value(json_object_get(json_array_get(arr, i), "name"));
            for (size_t j = 0; j < n; j++)
                if (strcmp(seen[j].name, name) == 0) {
                    char path[64];
                    snprintf(path, sizeof path, "%s[%zu].name", lists[l], i);
                    return fail(c, path, "'%s' is already %s[%zu].name", name, lists[seen[j].list], seen[j].index);
                }
            seen[n++] = (struct seen){name, l, i};
        }
    }
    return 0;
}

int doc_check(const json_t *doc, char *err, size_t errlen)
{
    struct ck c = {.err = err, .errlen = errlen};
    if (errlen)
        err[0] = '\0';
    if (!json_is_object(doc))
        return fail(&c, "", "expected a JSON object");
    if (check_strings(&c, doc, "", 0) < 0 || check_value(&c, doc, &document, "") < 0 ||
        link_names_unique(&c, doc) < 0)
        return -1;
    return 0;
}
