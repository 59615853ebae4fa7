#include "inventory/shapes.h"

#include <ctype.h>
#include <errno.h>
#include <string.h>

#include "inventory/inv_text.h"
#include "inventory/rules.h"
#include "util/addr.h"

static const char *const bond_modes[] = {
    "802.3ad", "active-backup", "balance-rr", "balance-xor", "broadcast", "balance-tlb", "balance-alb",
};

/* s[0..n) holds no NUL (the caller checked), so it can be copied to a
 * bounded C string for the parsers in util/. */
static bool copy_short(const char *s, size_t n, char *buf, size_t buflen)
{
    if (n >= buflen)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return true;
}

static bool ipv4_ok(const char *s, size_t n, uint32_t *out)
{
    char buf[IPV4_STRLEN];
    uint32_t a;
    if (!copy_short(s, n, buf, sizeof buf) || parse_ipv4(buf, &a) < 0)
        return false;
    if (out)
        *out = a;
    return true;
}

/* "a.b.c.d/p": p is 0..32 written without leading zeros. */
static bool ipv4_prefix_ok(const char *s, size_t n, uint32_t *addr, unsigned *prefix)
{
    const char *slash = memchr(s, '/', n);
    if (!slash)
        return false;
    size_t an = (size_t)(slash - s), pn = n - an - 1;
    if (pn == 0 || pn > 2 || (pn == 2 && slash[1] == '0'))
        return false;
    unsigned p = 0;
    for (size_t i = 0; i < pn; i++) {
        if (!isdigit((unsigned char)slash[1 + i]))
            return false;
        p = p * 10 + (unsigned)(slash[1 + i] - '0');
    }
    if (p > 32 || !ipv4_ok(s, an, addr))
        return false;
    *prefix = p;
    return true;
}

static bool hostname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    bool digits_only = true; /* "10.0.0.300" is a broken address, not a name */
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        if (!isalnum((unsigned char)c) && c != '-' && c != '_')
            return false;
        if (label == 0 && c == '-')
            return false;
        if (!isdigit((unsigned char)c))
            digits_only = false;
        label++;
    }
    return !digits_only;
}

static bool ifname_ok(const char *s, size_t n)
{
    if (n == 0 || n > 15 || (n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.'))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.:-", s[i]))
            return false;
    return true;
}

static bool safe_path_ok(const char *s, size_t n)
{
    if (n < 2 || s[0] != '/' || s[n - 1] == '/')
        return false;
    for (size_t i = 1, start = 1; i <= n; i++) {
        if (i < n && s[i] != '/')
            continue;
        size_t len = i - start;
        const char *c = s + start;
        if (len == 0 || (len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
            return false;
        start = i + 1;
    }
    return true;
}

static bool portal_ok(const char *s, size_t n)
{
    const char *colon = memchr(s, ':', n);
    size_t hn = colon ? (size_t)(colon - s) : n;
    if (!ipv4_ok(s, hn, NULL) && !hostname_ok(s, hn))
        return false;
    if (!colon)
        return true;
    size_t pn = n - hn - 1;
    unsigned port = 0;
    if (pn == 0 || pn > 5 || colon[1] == '0')
        return false;
    for (size_t i = 0; i < pn; i++) {
        if (!isdigit((unsigned char)colon[1 + i]))
            return false;
        port = port * 10 + (unsigned)(colon[1 + i] - '0');
    }
    return port >= 1 && port <= 65535;
}

/* RFC 3720 §3.2.6: iSCSI names are at most 223 bytes, "iqn.", "eui." or
 * "naa." typed. */
static bool iscsi_name_ok(const char *s, size_t n)
{
    if (n < 5 || n > 223 || (strncmp(s, "iqn.", 4) && strncmp(s, "eui.", 4) && strncmp(s, "naa.", 4)))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".:-", s[i]))
            return false;
    return true;
}

static bool charset_ok(const char *s, size_t n, const char *extra)
{
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(extra, s[i]))
            return false;
    return true;
}

const char *shape_problem(enum shape sh, const char *s, size_t n, bool *quote)
{
    uint32_t a;
    unsigned p;
    *quote = true;
    if (memchr(s, '\0', n) || !inv_text_clean(s, n))
        return "holds a control character";
    switch (sh) {
    case SHAPE_TEXT: return NULL;
    case SHAPE_HOSTNAME:
        return hostname_ok(s, n) ? NULL : "is not a host name (labels of letters, digits, '-' and '_' between dots)";
    case SHAPE_IFNAME: return ifname_ok(s, n) ? NULL : "is not an interface name ([A-Za-z0-9_.:-]{1,15})";
    case SHAPE_MAC: {
        char buf[18];
        return copy_short(s, n, buf, sizeof buf) && mac_parse(buf, (uint8_t[6]){0}) == 0 ? NULL
                                                                                        : "is not a MAC address";
    }
    case SHAPE_ADDRESS:
        if (memchr(s, '/', n))
            return ipv4_prefix_ok(s, n, &a, &p) ? NULL : "is not an IPv4 address with prefix";
        return ipv4_ok(s, n, NULL) ? NULL : "is not an IPv4 address";
    case SHAPE_NETWORK:
        if (!memchr(s, '/', n))
            return ipv4_ok(s, n, NULL) ? NULL : "is not an IPv4 address";
        if (!ipv4_prefix_ok(s, n, &a, &p))
            return "is not an IPv4 network with prefix";
        return a & ~prefix_to_mask(p) ? "has host bits set (not a network)" : NULL;
    case SHAPE_IPV4: return ipv4_ok(s, n, NULL) ? NULL : "is not an IPv4 address";
    case SHAPE_SERVER:
        return ipv4_ok(s, n, NULL) || hostname_ok(s, n) ? NULL : "is not an IPv4 address or a host name";
    case SHAPE_PORTAL: return portal_ok(s, n) ? NULL : "is not an iSCSI portal (address or name, optional :port)";
    case SHAPE_ISCSI_NAME:
        return iscsi_name_ok(s, n) ? NULL : "is not an iSCSI name (iqn., eui. or naa., at most 223 bytes)";
    case SHAPE_ABS_PATH: return n > 0 && s[0] == '/' ? NULL : "is not an absolute path";
    case SHAPE_SAFE_PATH:
        return safe_path_ok(s, n) ? NULL : "is not an absolute path without '.', '..', '//' or a trailing '/'";
    case SHAPE_MOUNT_OPTIONS:
        return charset_ok(s, n, ",=._:/+-") ? NULL : "is not a list of mount options ([A-Za-z0-9,=._:/+-])";
    case SHAPE_BOND_MODE:
        for (size_t i = 0; i < sizeof bond_modes / sizeof bond_modes[0]; i++)
            if (strlen(bond_modes[i]) == n && memcmp(bond_modes[i], s, n) == 0)
                return NULL;
        *quote = false;
        return "expected one of 802.3ad, active-backup, balance-rr, balance-xor, broadcast, balance-tlb, "
               "balance-alb";
    }
    return "has an unknown shape";
}

int shape_mac_normal(const char *s, char out[18])
{
    uint8_t mac[6];
    if (mac_parse(s, mac) < 0)
        return -EINVAL;
    mac_format(mac, out);
    return 0;
}
