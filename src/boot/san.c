#include "boot/san.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "boot/template.h"
#include "util/errmsg.h"

static bool refuse(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static bool refuse(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    return false;
}

static bool is_digit(char c) { return c >= '0' && c <= '9'; }
static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || is_digit(c); }
static bool is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static bool all_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!is_hex(s[i]))
            return false;
    return true;
}

/* RFC 3720 §3.2.6.3.1: "iqn." then the date (yyyy-mm) the naming
 * authority took ownership of its domain, a dot, the reversed domain name
 * and, optionally, ':' and a name the authority chooses. */
static bool iqn_valid(const char *s, char *why, size_t whylen)
{
    const char *p = s + 4;
    if (!(is_digit(p[0]) && is_digit(p[1]) && is_digit(p[2]) && is_digit(p[3]) && p[4] == '-' &&
          is_digit(p[5]) && is_digit(p[6]) && p[7] == '.'))
        return refuse(why, whylen, "'%.64s' does not start iqn.YYYY-MM. (RFC 3720 §3.2.6.3.1)", s);
    int month = (p[5] - '0') * 10 + (p[6] - '0');
    if (month < 1 || month > 12)
        return refuse(why, whylen, "'%.64s': month %02d is not 01..12", s, month);
    p += 8;
    /* The naming authority: a reversed domain name, labels of [a-z0-9-]
     * neither starting nor ending with '-' (RFC 1035 §2.3.1). */
    for (;;) {
        const char *label = p;
        while (is_lower_alnum(*p) || *p == '-')
            p++;
        if (p == label || *label == '-' || p[-1] == '-')
            return refuse(why, whylen, "'%.64s': the naming authority is not a reversed domain name of [a-z0-9-]",
                          s);
        if (*p != '.')
            break;
        p++;
    }
    if (*p == '\0')
        return true;
    if (*p != ':' || p[1] == '\0')
        return refuse(why, whylen, "'%.64s': after the naming authority comes ':' and a name, or nothing", s);
    for (p++; *p; p++)
        if (!is_lower_alnum(*p) && !strchr(".:-", *p))
            return refuse(why, whylen, "'%.64s': character '%c' is not allowed (lowercase letters, digits, '.', ':', '-')",
                          s, *p >= 0x20 && *p < 0x7f ? *p : '?');
    return true;
}

bool boot_iscsi_name_valid(const char *s, char *why, size_t whylen)
{
    size_t n = strlen(s);
    if (n == 0 || n > BOOT_ISCSI_NAME_MAX - 1)
        return refuse(why, whylen, "an iSCSI name is 1..%d bytes, this one %zu", BOOT_ISCSI_NAME_MAX - 1, n);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f)
            return refuse(why, whylen, "byte 0x%02x is not allowed in an iSCSI name", (unsigned char)s[i]);
    if (strncmp(s, "iqn.", 4) == 0)
        return iqn_valid(s, why, whylen);
    /* RFC 3720 §3.2.6.3.2: "eui." and an EUI-64 as 16 hex digits. */
    if (strncmp(s, "eui.", 4) == 0) {
        if (n != 20 || !all_hex(s + 4, 16))
            return refuse(why, whylen, "'%.64s': eui. is followed by exactly 16 hex digits", s);
        return true;
    }
    /* RFC 3980 §2: "naa." and a 64- or 128-bit NAA identifier in hex. */
    if (strncmp(s, "naa.", 4) == 0) {
        if ((n != 20 && n != 36) || !all_hex(s + 4, n - 4))
            return refuse(why, whylen, "'%.64s': naa. is followed by 16 or 32 hex digits", s);
        return true;
    }
    return refuse(why, whylen, "'%.64s' is not an iSCSI name (iqn., eui. or naa.)", s);
}

/* Where the target name starts in an RFC 4173 URI
 * (iscsi:server:protocol:port:lun:target; server may be [IPv6]), or -1. */
static long iscsi_target_offset(const char *uri)
{
    const char *p = uri + 6;
    if (*p == '[') {
        p = strchr(p, ']');
        if (!p)
            return -1;
        p++;
    } else {
        p = strchr(p, ':');
        if (!p)
            return -1;
    }
    for (int field = 0; field < 4; field++) { /* the ':' before protocol, port, lun and target */
        if (*p != ':')
            return -1;
        if (field < 3) {
            p = strchr(p + 1, ':');
            if (!p)
                return -1;
        } else {
            p++;
        }
    }
    return p - uri;
}

/* One string var of host, NULL when not set. */
static int host_var(const struct host *host, json_t *vars, const char *key, const char **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    json_t *v = vars ? json_object_get(vars, key) : NULL;
    if (!v)
        return 0;
    if (!json_is_string(v))
        return errf(err, errlen, -EINVAL, "host %s: var %s is not a string", host->name, key);
    *out = json_string_value(v);
    return 0;
}

static int host_iscsi_vars(const struct host *host, struct boot_san *out, const char *build_uri, const char *what,
                           char *err, size_t errlen)
{
    json_t *vars = NULL;
    if (host->vars && host->vars[0]) {
        vars = json_loads(host->vars, 0, NULL);
        if (!json_is_object(vars)) {
            json_decref(vars);
            return errf(err, errlen, -EINVAL, "host %s: vars are not a JSON object", host->name);
        }
    }
    const char *target, *initiator;
    char why[160];
    int r = host_var(host, vars, "iscsi_target", &target, err, errlen);
    if (r == 0)
        r = host_var(host, vars, "iscsi_initiator", &initiator, err, errlen);
    if (r < 0)
        goto out;
    if (!out->iscsi) {
        if (target || initiator)
            r = errf(err, errlen, -EINVAL, "host %s: var %s needs an iscsi: SAN URI, and %s has %.100s", host->name,
                      target ? "iscsi_target" : "iscsi_initiator", what, build_uri);
        goto out;
    }
    long at = iscsi_target_offset(build_uri);
    if (target) {
        if (!boot_iscsi_name_valid(target, why, sizeof why)) {
            r = errf(err, errlen, -EINVAL, "host %s: var iscsi_target refused: %s", host->name, why);
            goto out;
        }
        if (at < 0) {
            r = errf(err, errlen, -EINVAL, "%s: san_uri is not of the form iscsi:SERVER:[6]:[PORT]:[LUN]:TARGET",
                      what);
            goto out;
        }
        if (snprintf(out->uri, sizeof out->uri, "%.*s%s", (int)at, build_uri, target) >= (int)sizeof out->uri) {
            r = errf(err, errlen, -EINVAL, "host %s: the SAN URI with its iscsi_target is too long", host->name);
            goto out;
        }
    } else if (at >= 0 && build_uri[at] == '\0') {
        r = errf(err, errlen, -EINVAL, "%s: its san_uri names no target and host %s has no iscsi_target var", what,
                  host->name);
        goto out;
    }
    if (initiator) {
        if (!boot_iscsi_name_valid(initiator, why, sizeof why)) {
            r = errf(err, errlen, -EINVAL, "host %s: var iscsi_initiator refused: %s", host->name, why);
            goto out;
        }
        snprintf(out->initiator, sizeof out->initiator, "%s", initiator);
    } else {
        /* Host names are [A-Za-z0-9._-]: lowercase them, and '_' (not in
         * an iSCSI name) becomes '-'. */
        size_t n = strlen(BOOT_ISCSI_INITIATOR_PREFIX);
        memcpy(out->initiator, BOOT_ISCSI_INITIATOR_PREFIX, n);
        for (const char *p = host->name; *p && n < sizeof out->initiator - 1; p++)
            out->initiator[n++] = *p == '_' ? '-' : (*p >= 'A' && *p <= 'Z') ? (char)(*p - 'A' + 'a') : *p;
        out->initiator[n] = '\0';
        if (!boot_iscsi_name_valid(out->initiator, why, sizeof why)) {
            r = errf(err, errlen, -EINVAL, "host %s: no usable default initiator name (%s): set var iscsi_initiator",
                      host->name, why);
            goto out;
        }
    }
out:
    json_decref(vars);
    if (r < 0)
        out->initiator[0] = '\0';
    return r;
}

int boot_san_for(const struct host *host, const struct build *build, struct boot_san *out, char *err,
                 size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!build || build->kind != BUILD_SANBOOT)
        return errf(err, errlen, -EINVAL, "not a sanboot build");
    char what[BUILD_NAME_MAX + 32];
    snprintf(what, sizeof what, "build %s v%d", build->name, build->version);
    if (!build->san_uri[0])
        return errf(err, errlen, -EINVAL, "%s (sanboot) has no SAN URI", what);
    /* The URI as the build has it; the template's san_uri class checks
     * it when the script is rendered (and boot_san_dhcp before DHCP). */
    snprintf(out->uri, sizeof out->uri, "%s", build->san_uri);
    out->iscsi = strncmp(build->san_uri, "iscsi:", 6) == 0;
    if (!host)
        return 0;
    return host_iscsi_vars(host, out, build->san_uri, what, err, errlen);
}

int boot_san_dhcp(const struct conf *conf, struct store *st, const struct host *host, struct boot_san *out,
                  char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (host->mode != HOST_MODE_SANBOOT || host->state == HOST_RETIRED)
        return 0;
    const char *name = host->build[0] ? host->build : conf->boot_default_build;
    int version = host->build[0] ? host->build_version : 0;
    if (!name[0])
        return 0;
    struct build b;
    memset(&b, 0, sizeof b);
    int r = store_build_get(st, name, version, &b);
    if (r == -ENOENT)
        return errf(err, errlen, -ENOENT, "build %s does not exist", name);
    if (r < 0)
        return errf(err, errlen, r, "build %s: %s", name, strerror(-r));
    if (b.kind == BUILD_SANBOOT)
        r = boot_san_for(host, &b, out, err, errlen);
    else
        r = 1; /* not a sanboot build: nothing for DHCP */
    build_clear(&b);
    if (r != 0 || !out->iscsi) {
        memset(out, 0, sizeof *out);
        return r < 0 ? r : 0;
    }
    char why[160];
    if (!tmpl_value_ok(TMPL_SAN_URI, out->uri, why, sizeof why))
        r = errf(err, errlen, -EINVAL, "SAN URI refused: %s", why);
    else if (strlen(out->uri) >= BOOT_ROOT_PATH_MAX)
        r = errf(err, errlen, -E2BIG, "the SAN URI is longer than the %d bytes option 17 holds",
                  BOOT_ROOT_PATH_MAX - 1);
    if (r < 0) {
        memset(out, 0, sizeof *out);
        return r;
    }
    return 1;
}
