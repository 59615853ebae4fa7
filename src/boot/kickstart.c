/* The ESXi kickstart (see kickstart.h). The esxcli lines follow the
 * ESXi 7/8 esxcli reference; `system ntp set` needs 7.0 U1 or later. */
#include "boot/kickstart.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "inventory/profile.h"
#include "util/addr.h"
#include "util/file.h"

#define PREAMBLE_MAX (64 * 1024)
#define MSG_VALUE_MAX 80 /* bytes of a value shown in a report message */
#define MGMT_PORTGROUP "Management Network" /* the installer's port group for vmk0 */

struct ks {
    char *p;
    size_t len, cap, line_start;
    int rc; /* the first error; everything after it is a no-op */
    char *err;
    size_t errlen;
    char step[64];          /* the step being written */
    int vmk;                /* the next vmkernel NIC number */
    const json_t *bonds;
    const json_t *bridges;
    int mgmt;               /* index of the management bridge, -1: none */
    const char *gateway_to; /* the default route the network line carries, NULL: none */
};

static void failf(struct ks *k, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void failf(struct ks *k, int code, const char *fmt, ...)
{
    if (k->rc)
        return;
    k->rc = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(k->err, k->errlen, fmt, ap);
    va_end(ap);
}

/* ---- output: capped, line by line ---- */

static void put(struct ks *k, const char *s, size_t n)
{
    if (k->rc)
        return;
    if (n > KS_OUT_MAX - k->len) {
        failf(k, -E2BIG, "the kickstart would be larger than %d bytes", KS_OUT_MAX);
        return;
    }
    if (k->len + n + 1 > k->cap) {
        size_t cap = k->cap ? k->cap : 8192;
        while (cap < k->len + n + 1)
            cap *= 2;
        if (cap > KS_OUT_MAX + 1)
            cap = KS_OUT_MAX + 1;
        char *p = realloc(k->p, cap);
        if (!p) {
            failf(k, -ENOMEM, "out of memory");
            return;
        }
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
    k->p[k->len] = '\0';
}

static void w(struct ks *k, const char *s)
{
    put(k, s, strlen(s));
}

/* Numbers only: midwife's own, or ones range-checked from the document. */
static void wnum(struct ks *k, long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    w(k, b);
}

static void nl(struct ks *k)
{
    if (!k->rc && k->len - k->line_start > KS_LINE_MAX) {
        failf(k, -E2BIG, "a line of the kickstart would be longer than %d bytes", KS_LINE_MAX);
        return;
    }
    put(k, "\n", 1);
    k->line_start = k->len;
}

static void line(struct ks *k, const char *s)
{
    w(k, s);
    nl(k);
}

/* A control byte (C0, DEL, a UTF-8 encoded C1) could end a line, and a
 * line starting with % would start a new kickstart section. */
static bool has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return true;
    return false;
}

/* The one way a value enters the script: 'value', each ' as '\''. */
static void q(struct ks *k, const char *v)
{
    if (has_control(v)) {
        failf(k, -EINVAL, "a value holds a control byte");
        return;
    }
    put(k, "'", 1);
    for (const char *s = v;;) {
        const char *e = strchr(s, '\'');
        if (!e) {
            w(k, s);
            break;
        }
        put(k, s, (size_t)(e - s));
        put(k, "'\\''", 4);
        s = e + 1;
    }
    put(k, "'", 1);
}

static void qnum(struct ks *k, long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    q(k, b);
}

/* ---- reading the document: every field checked, errors name it ---- */

static const json_t *field(struct ks *k, const json_t *o, const char *key, json_type type, const char *where,
                           bool required)
{
    static const char *const type_names[] = {
        [JSON_OBJECT] = "an object", [JSON_ARRAY] = "an array", [JSON_STRING] = "a string",
        [JSON_INTEGER] = "an integer", [JSON_REAL] = "a number", [JSON_TRUE] = "a boolean",
        [JSON_FALSE] = "a boolean", [JSON_NULL] = "null",
    };
    const json_t *v = json_object_get(o, key);
    if (!v && !required)
        return NULL;
    bool ok = v && (json_typeof(v) == type || (type == JSON_TRUE && json_is_boolean(v)));
    if (!ok) {
        failf(k, -EINVAL, "%s%s%s: %s %s", where, *where ? "." : "", key, v ? "expected" : "missing, expected",
              type_names[type]);
        return NULL;
    }
    if (type == JSON_STRING && has_control(json_string_value(v))) {
        failf(k, -EINVAL, "%s%s%s: holds a control byte", where, *where ? "." : "", key);
        return NULL;
    }
    return v;
}

static const char *str(struct ks *k, const json_t *o, const char *key, const char *where, bool required)
{
    const json_t *v = field(k, o, key, JSON_STRING, where, required);
    return v ? json_string_value(v) : NULL;
}

/* An array element that must be a string. */
static const char *str_at(struct ks *k, const json_t *a, size_t i, const char *where)
{
    const json_t *v = json_array_get(a, i);
    if (!json_is_string(v) || has_control(json_string_value(v))) {
        failf(k, -EINVAL, "%s[%zu]: expected a string without control bytes", where, i);
        return NULL;
    }
    return json_string_value(v);
}

static bool num(struct ks *k, const json_t *o, const char *key, const char *where, long long lo, long long hi,
                long long *out)
{
    const json_t *v = field(k, o, key, JSON_INTEGER, where, false);
    if (!v)
        return false;
    long long n = (long long)json_integer_value(v);
    if (n < lo || n > hi) {
        failf(k, -EINVAL, "%s%s%s: %lld is outside %lld..%lld", where, *where ? "." : "", key, n, lo, hi);
        return false;
    }
    *out = n;
    return true;
}

static const json_t *list(struct ks *k, const json_t *o, const char *key, const char *where)
{
    return field(k, o, key, JSON_ARRAY, where, false);
}

/* "a.b.c.d/prefix" or "a.b.c.d" (a /32) into address and netmask text. */
static bool address(struct ks *k, const char *s, const char *where, char ip[IPV4_STRLEN], char mask[IPV4_STRLEN])
{
    char a[IPV4_STRLEN];
    const char *slash = strchr(s, '/');
    size_t n = slash ? (size_t)(slash - s) : strlen(s);
    unsigned prefix = 32;
    uint32_t v;
    bool ok = n < sizeof a;
    if (ok) {
        memcpy(a, s, n);
        a[n] = '\0';
        ok = parse_ipv4(a, &v) == 0;
    }
    if (ok && slash) {
        const char *p = slash + 1;
        ok = *p && strlen(p) <= 2;
        for (prefix = 0; ok && *p; p++) {
            ok = *p >= '0' && *p <= '9';
            prefix = prefix * 10 + (unsigned)(*p - '0');
        }
        ok = ok && prefix <= 32;
    }
    if (!ok) {
        failf(k, -EINVAL, "%s: not an IPv4 address with an optional prefix", where);
        return false;
    }
    format_ipv4(v, ip);
    format_ipv4(prefix_to_mask(prefix), mask);
    return true;
}

/* ---- report bodies: JSON made here, quoted as a whole ---- */

/* At most MSG_VALUE_MAX bytes of s, cut at a UTF-8 character boundary. */
static const char *clip(const char *s, char *buf, size_t buflen)
{
    size_t n = strlen(s);
    if (n < buflen && n <= MSG_VALUE_MAX)
        return s;
    n = MSG_VALUE_MAX < buflen - 4 ? MSG_VALUE_MAX : buflen - 4;
    while (n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
        n--;
    memcpy(buf, s, n);
    memcpy(buf + n, "...", 4);
    return buf;
}

static void body(struct ks *k, json_t *j)
{
    if (!j) {
        failf(k, -EINVAL, "a report body could not be made (text that is not UTF-8?)");
        return;
    }
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!t) {
        failf(k, -ENOMEM, "out of memory");
        return;
    }
    q(k, t);
    free(t);
}

/* A step: reported running, its failure body kept by the script for
 * `|| mw_fail`, then step_end reports ok. */
static void step_begin(struct ks *k, const char *step, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void step_begin(struct ks *k, const char *step, const char *fmt, ...)
{
    char msg[400], failed[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(k->step, sizeof k->step, "%s", step);
    snprintf(failed, sizeof failed, "%s: failed", msg);
    w(k, "mw_begin ");
    body(k, json_pack("{s:s, s:s, s:s}", "step", step, "status", "running", "message", msg));
    w(k, " ");
    body(k, json_pack("{s:s, s:s}", "failed", failed, "step", step));
    nl(k);
}

static void step_end(struct ks *k)
{
    w(k, "mw_end ");
    body(k, json_pack("{s:s, s:s}", "step", k->step, "status", "ok"));
    nl(k);
}

static void step_skipped(struct ks *k, const char *step, const char *msg)
{
    w(k, "mw_post ");
    body(k, json_pack("{s:s, s:s, s:s}", "step", step, "status", "skipped", "message", msg));
    nl(k);
}

static void or_fail(struct ks *k)
{
    w(k, " || mw_fail");
    nl(k);
}

/* ---- the preamble ---- */

static void management(struct ks *k, const json_t *doc)
{
    k->mgmt = -1;
    for (size_t i = 0; k->mgmt < 0 && i < json_array_size(k->bridges); i++) {
        const json_t *pgs = json_object_get(json_array_get(k->bridges, i), "port_groups");
        for (size_t j = 0; j < json_array_size(pgs); j++) {
            const json_t *name = json_object_get(json_array_get(pgs, j), "name");
            if (json_is_string(name) && strcmp(json_string_value(name), MGMT_PORTGROUP) == 0)
                k->mgmt = (int)i;
        }
    }
    k->gateway_to = NULL;
    const json_t *routes = json_object_get(doc, "routes");
    for (size_t i = 0; !k->gateway_to && i < json_array_size(routes); i++) {
        const json_t *r = json_array_get(routes, i);
        const char *to = json_string_value(json_object_get(r, "to"));
        const char *via = json_string_value(json_object_get(r, "via"));
        uint32_t v;
        if (to && via && (strcmp(to, "0.0.0.0/0") == 0 || strcmp(to, "0.0.0.0") == 0) && parse_ipv4(via, &v) == 0)
            k->gateway_to = to;
    }
}

static void preamble_builtin(struct ks *k, const json_t *doc, const char *mac)
{
    line(k, "# midwife: ESXi kickstart (docs/boot-templates.md, \"ESXi kickstart\").");
    line(k, "# No rootpw here: the root password is not midwife's to choose, and the");
    line(k, "# installer stops without one. [boot] templates DIR/" KS_PREAMBLE_FILE " replaces");
    line(k, "# everything above %firstboot: put rootpw --iscrypted HASH and the install");
    line(k, "# options you want there.");
    line(k, "vmaccepteula");
    line(k, "install --firstdisk --overwritevmfs");

    /* Every value here is an address, a MAC or a number midwife formatted
     * itself: nothing that needs quoting in the installer's syntax. */
    w(k, "network --device=");
    w(k, mac);
    const json_t *addrs = k->mgmt >= 0 ? json_object_get(json_array_get(k->bridges, (size_t)k->mgmt), "addresses")
                                       : NULL;
    const char *first = json_string_value(json_array_get(addrs, 0));
    char ip[IPV4_STRLEN], mask[IPV4_STRLEN], where[64];
    snprintf(where, sizeof where, "bridges[%d].addresses[0]", k->mgmt);
    if (first && address(k, first, where, ip, mask)) {
        w(k, " --bootproto=static --ip=");
        w(k, ip);
        w(k, " --netmask=");
        w(k, mask);
        if (k->gateway_to) {
            const json_t *routes = json_object_get(doc, "routes");
            for (size_t i = 0; i < json_array_size(routes); i++) {
                const json_t *r = json_array_get(routes, i);
                if (json_string_value(json_object_get(r, "to")) == k->gateway_to) {
                    uint32_t v;
                    parse_ipv4(json_string_value(json_object_get(r, "via")), &v);
                    char g[IPV4_STRLEN];
                    w(k, " --gateway=");
                    w(k, format_ipv4(v, g));
                }
            }
        }
    } else {
        w(k, " --bootproto=dhcp");
        k->gateway_to = NULL; /* DHCP brings its own; the profile's is added later */
    }
    long long vlan;
    if (num(k, doc, "mgmt_vlan", "", 1, 4094, &vlan)) {
        w(k, " --vlanid=");
        wnum(k, vlan);
    }
    nl(k);
    line(k, "reboot");
}

/* ---- the script ---- */

static const char helpers[] =
    "# midwife: the birth, the reports and the configuration of this host,\n"
    "# as midwife-agent does them on Linux. Every value below is single-quoted\n"
    "# and every report body was made by midwife. A failed step is reported\n"
    "# and stops the script; its output is in ESXi's own log.\n"
    "mw_post() {\n"
    "    wget -q -O /dev/null --header \"Authorization: Bearer $MW_TOKEN\" --header \"Content-Type: application/json\""
    " --post-data \"$1\" \"$MW_URL/api/v1/report\" || echo \"midwife: a report did not reach $MW_URL\" >&2\n"
    "}\n"
    "mw_begin() {\n"
    "    MW_FAILED=\"$2\"\n"
    "    mw_post \"$1\"\n"
    "}\n"
    "mw_end() {\n"
    "    mw_post \"$1\"\n"
    "}\n"
    "mw_fail() {\n"
    "    mw_post \"$MW_FAILED\"\n"
    "    echo \"midwife: configuration stopped at a failed step\" >&2\n"
    "    exit 1\n"
    "}\n"
    "# Adding what the installer made already (vSwitch0, its first uplink, the\n"
    "# Management Network port group) is no failure.\n"
    "mw_add() {\n"
    "    mw_out=$(\"$@\" 2>&1) && return 0\n"
    "    case \"$mw_out\" in\n"
    "    *\"already exist\"*) return 0 ;;\n"
    "    esac\n"
    "    printf '%s\\n' \"$mw_out\" >&2\n"
    "    return 1\n"
    "}\n"
    "# The profile's commands are shell commands: each runs as one sh -c.\n"
    "mw_sh() {\n"
    "    /bin/sh -c \"$1\"\n"
    "}\n"
    "# The software iSCSI adapter's name (vmhbaNN), once it is enabled.\n"
    "mw_iscsi_hba() {\n"
    "    MW_HBA=$(esxcli iscsi adapter list 2>/dev/null | awk '$2 == \"iscsi_vmk\" { print $1; exit }' |"
    " tr -cd 'A-Za-z0-9')\n"
    "    [ -n \"$MW_HBA\" ]\n"
    "}\n"
    "# What the host tells at birth, cut down to characters that need no\n"
    "# escaping inside a JSON string.\n"
    "mw_platform() {\n"
    "    printf '%s\\n' \"$MW_PLATFORM\" | sed -n \"s/^ *$1: *//p\" | head -n 1 | tr -cd 'A-Za-z0-9 ._,:()+-' |"
    " cut -c1-96\n"
    "}\n"
    "mw_facts() {\n"
    "    mw_macs=''\n"
    "    for mw_m in $(esxcli network nic list 2>/dev/null | grep -o -E '([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}' |"
    " tr 'A-F' 'a-f' | head -n 32); do\n"
    "        mw_macs=\"$mw_macs${mw_macs:+,}\\\"$mw_m\\\"\"\n"
    "    done\n"
    "    MW_PLATFORM=$(esxcli hardware platform get 2>/dev/null)\n"
    "    printf '{\"macs\":[%s],\"boot_mac\":\"%s\",\"vendor\":\"%s\",\"model\":\"%s\",\"serial\":\"%s\","
    "\"os\":\"esxi\"}' \"$mw_macs\" \"$MW_BOOT_MAC\" \"$(mw_platform 'Vendor Name')\""
    " \"$(mw_platform 'Product Name')\" \"$(mw_platform 'Serial Number')\"\n"
    "}\n"
    "# The birth spends the token and answers with the configuration document\n"
    "# (kept in /tmp/midwife-doc.json for the profile's commands). A refusal is\n"
    "# final; the tries are for a network still coming up.\n"
    "mw_birth() {\n"
    "    mw_try=0\n"
    "    while [ \"$mw_try\" -lt 6 ]; do\n"
    "        wget -q -O /tmp/midwife-doc.json --header \"Authorization: Bearer $MW_TOKEN\""
    " --header \"Content-Type: application/json\" --post-data \"$(mw_facts)\" \"$MW_URL/api/v1/birth\" && return 0\n"
    "        mw_try=$((mw_try + 1))\n"
    "        sleep 10\n"
    "    done\n"
    "    echo \"midwife: no birth (refused, or $MW_URL unreachable): nothing configured\" >&2\n"
    "    exit 1\n"
    "}\n";

static void do_hostname(struct ks *k, const json_t *doc)
{
    const char *hn = str(k, doc, "hostname", "", false);
    if (!hn || !*hn)
        return;
    char c[MSG_VALUE_MAX + 8];
    step_begin(k, "hostname", "hostname %s", clip(hn, c, sizeof c));
    /* A name with a dot is a FQDN; esxcli sets host and domain from it. */
    w(k, strchr(hn, '.') ? "esxcli system hostname set --fqdn=" : "esxcli system hostname set --host=");
    q(k, hn);
    or_fail(k);
    step_end(k);
}

/* A bond named as an uplink stands for its members: a vSwitch teams its
 * uplinks itself. */
static void uplink(struct ks *k, const char *name, const char *bridge)
{
    for (size_t i = 0; i < json_array_size(k->bonds); i++) {
        const json_t *b = json_array_get(k->bonds, i);
        const char *bn = json_string_value(json_object_get(b, "name"));
        const json_t *members = json_object_get(b, "members");
        if (bn && strcmp(bn, name) == 0 && json_is_array(members)) {
            char where[48];
            snprintf(where, sizeof where, "bonds[%zu].members", i);
            for (size_t m = 0; m < json_array_size(members); m++) {
                const char *mn = str_at(k, members, m, where);
                if (!mn)
                    return;
                w(k, "mw_add esxcli network vswitch standard uplink add --uplink-name=");
                q(k, mn);
                w(k, " --vswitch-name=");
                q(k, bridge);
                or_fail(k);
            }
            return;
        }
    }
    w(k, "mw_add esxcli network vswitch standard uplink add --uplink-name=");
    q(k, name);
    w(k, " --vswitch-name=");
    q(k, bridge);
    or_fail(k);
}

static void portgroup_add(struct ks *k, const char *pg, const char *bridge, long long vlan)
{
    w(k, "mw_add esxcli network vswitch standard portgroup add --portgroup-name=");
    q(k, pg);
    w(k, " --vswitch-name=");
    q(k, bridge);
    or_fail(k);
    w(k, "esxcli network vswitch standard portgroup set --portgroup-name=");
    q(k, pg);
    w(k, " --vlan-id=");
    qnum(k, vlan);
    or_fail(k);
}

/* A vmkernel NIC on port group pg for an item (a bridge or a VLAN) with
 * an address or DHCP; new_pg: the port group is made here too. */
static void vmknic(struct ks *k, const json_t *item, const char *where, const char *pg, const char *new_pg_bridge)
{
    const json_t *addrs = list(k, item, "addresses", where);
    const json_t *dhcp = field(k, item, "dhcp", JSON_TRUE, where, false);
    const char *first = NULL;
    char aw[96];
    snprintf(aw, sizeof aw, "%s.addresses", where);
    if (json_array_size(addrs))
        first = str_at(k, addrs, 0, aw);
    if (k->rc || (!first && !json_is_true(dhcp)))
        return;
    char ip[IPV4_STRLEN], mask[IPV4_STRLEN];
    snprintf(aw, sizeof aw, "%s.addresses[0]", where);
    if (first && !address(k, first, aw, ip, mask))
        return;
    int n = k->vmk++;
    char step[64], c[MSG_VALUE_MAX + 8];
    snprintf(step, sizeof step, "vmk.%d", n);
    step_begin(k, step, "vmk%d on port group %s", n, clip(pg, c, sizeof c));
    if (new_pg_bridge)
        portgroup_add(k, pg, new_pg_bridge, 0);
    w(k, "mw_add esxcli network ip interface add --interface-name=vmk");
    wnum(k, n);
    w(k, " --portgroup-name=");
    q(k, pg);
    or_fail(k);
    w(k, "esxcli network ip interface ipv4 set --interface-name=vmk");
    wnum(k, n);
    if (first) {
        w(k, " --ipv4=");
        q(k, ip);
        w(k, " --netmask=");
        q(k, mask);
        w(k, " --type=static");
    } else {
        w(k, " --type=dhcp");
    }
    or_fail(k);
    long long mtu;
    if (num(k, item, "mtu", where, 68, 65535, &mtu)) {
        w(k, "esxcli network ip interface set --interface-name=vmk");
        wnum(k, n);
        w(k, " --mtu=");
        qnum(k, mtu);
        or_fail(k);
    }
    step_end(k);
}

static void do_bridges(struct ks *k)
{
    for (size_t i = 0; !k->rc && i < json_array_size(k->bridges); i++) {
        const json_t *b = json_array_get(k->bridges, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "bridges[%zu]", i);
        if (!json_is_object(b)) {
            failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *name = str(k, b, "name", where, true);
        const json_t *uplinks = list(k, b, "uplinks", where);
        const json_t *pgs = list(k, b, "port_groups", where);
        if (!name)
            return;
        snprintf(step, sizeof step, "bridge.%zu", i);
        step_begin(k, step, "vSwitch %s", clip(name, c, sizeof c));
        w(k, "mw_add esxcli network vswitch standard add --vswitch-name=");
        q(k, name);
        or_fail(k);
        long long mtu;
        if (num(k, b, "mtu", where, 68, 65535, &mtu)) {
            w(k, "esxcli network vswitch standard set --vswitch-name=");
            q(k, name);
            w(k, " --mtu=");
            qnum(k, mtu);
            or_fail(k);
        }
        char uw[96];
        snprintf(uw, sizeof uw, "%s.uplinks", where);
        for (size_t u = 0; !k->rc && u < json_array_size(uplinks); u++) {
            const char *un = str_at(k, uplinks, u, uw);
            if (un)
                uplink(k, un, name);
        }
        step_end(k);

        for (size_t j = 0; !k->rc && j < json_array_size(pgs); j++) {
            const json_t *pg = json_array_get(pgs, j);
            char pw[128];
            snprintf(pw, sizeof pw, "%s.port_groups[%zu]", where, j);
            if (!json_is_object(pg)) {
                failf(k, -EINVAL, "%s: expected an object", pw);
                return;
            }
            const char *pn = str(k, pg, "name", pw, true);
            long long vlan = 0;
            num(k, pg, "vlan", pw, 0, 4095, &vlan);
            if (!pn || k->rc)
                return;
            char c2[MSG_VALUE_MAX + 8];
            snprintf(step, sizeof step, "portgroup.%zu.%zu", i, j);
            step_begin(k, step, "port group %s on %s, VLAN %lld", clip(pn, c, sizeof c), clip(name, c2, sizeof c2),
                       vlan);
            portgroup_add(k, pn, name, vlan);
            step_end(k);
        }
        /* vmk0, made by the installer from the network line, is the
         * management bridge's address. */
        if ((int)i == k->mgmt)
            continue;
        const char *first_pg = json_array_size(pgs) ? json_string_value(json_object_get(json_array_get(pgs, 0), "name"))
                                                    : NULL;
        vmknic(k, b, where, first_pg ? first_pg : name, first_pg ? NULL : name);
    }
}

static bool is_bridge(struct ks *k, const char *name)
{
    for (size_t i = 0; i < json_array_size(k->bridges); i++) {
        const char *bn = json_string_value(json_object_get(json_array_get(k->bridges, i), "name"));
        if (bn && strcmp(bn, name) == 0)
            return true;
    }
    return false;
}

/* A VLAN on a vSwitch is a port group with its id (named after the VLAN)
 * and, with an address, a vmkernel NIC on it. ESXi has no VLAN on a bare
 * NIC or a bond: those are reported skipped. */
static void do_vlans(struct ks *k, const json_t *doc)
{
    const json_t *vlans = list(k, doc, "vlans", "");
    for (size_t i = 0; !k->rc && i < json_array_size(vlans); i++) {
        const json_t *v = json_array_get(vlans, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8], c2[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "vlans[%zu]", i);
        if (!json_is_object(v)) {
            failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *name = str(k, v, "name", where, true);
        const char *link = str(k, v, "link", where, true);
        long long id = 0;
        if (!num(k, v, "id", where, 1, 4094, &id) && !k->rc)
            failf(k, -EINVAL, "%s.id: missing, expected an integer", where);
        if (k->rc)
            return;
        snprintf(step, sizeof step, "vlan.%zu", i);
        if (!is_bridge(k, link)) {
            step_skipped(k, step, "ESXi puts VLANs on vSwitch port groups; this one is not on a vSwitch");
            continue;
        }
        step_begin(k, step, "VLAN %lld as port group %s on %s", id, clip(name, c, sizeof c), clip(link, c2, sizeof c2));
        portgroup_add(k, name, link, id);
        step_end(k);
        vmknic(k, v, where, name, NULL);
    }
}

static void do_routes(struct ks *k, const json_t *doc)
{
    const json_t *routes = list(k, doc, "routes", "");
    for (size_t i = 0; !k->rc && i < json_array_size(routes); i++) {
        const json_t *r = json_array_get(routes, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "routes[%zu]", i);
        if (!json_is_object(r)) {
            failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *to = str(k, r, "to", where, true);
        const char *via = str(k, r, "via", where, false);
        if (k->rc)
            return;
        snprintf(step, sizeof step, "route.%zu", i);
        if (to == k->gateway_to)
            continue; /* the network line's --gateway */
        if (!via) {
            step_skipped(k, step, "ESXi routes need a gateway (via)");
            continue;
        }
        step_begin(k, step, "route to %s", clip(to, c, sizeof c));
        w(k, "mw_add esxcli network ip route ipv4 add --network=");
        if (strchr(to, '/')) {
            q(k, to);
        } else {
            char net[300];
            snprintf(net, sizeof net, "%.280s/32", to);
            q(k, net);
        }
        w(k, " --gateway=");
        q(k, via);
        or_fail(k);
        step_end(k);
    }
}

static void do_dns(struct ks *k, const json_t *doc)
{
    const json_t *dns = field(k, doc, "dns", JSON_OBJECT, "", false);
    const json_t *servers = dns ? list(k, dns, "servers", "dns") : NULL;
    const json_t *search = dns ? list(k, dns, "search", "dns") : NULL;
    if (k->rc || (!json_array_size(servers) && !json_array_size(search)))
        return;
    step_begin(k, "dns", "DNS servers and search domains");
    for (size_t i = 0; i < json_array_size(servers); i++) {
        const char *s = str_at(k, servers, i, "dns.servers");
        if (!s)
            return;
        w(k, "mw_add esxcli network ip dns server add --server=");
        q(k, s);
        or_fail(k);
    }
    for (size_t i = 0; i < json_array_size(search); i++) {
        const char *s = str_at(k, search, i, "dns.search");
        if (!s)
            return;
        w(k, "mw_add esxcli network ip dns search add --domain=");
        q(k, s);
        or_fail(k);
    }
    step_end(k);
}

static void do_ntp(struct ks *k, const json_t *doc)
{
    const json_t *ntp = list(k, doc, "ntp", "");
    if (!json_array_size(ntp))
        return;
    step_begin(k, "ntp", "NTP servers");
    w(k, "esxcli system ntp set");
    for (size_t i = 0; i < json_array_size(ntp); i++) {
        const char *s = str_at(k, ntp, i, "ntp");
        if (!s)
            return;
        w(k, " --server=");
        q(k, s);
    }
    w(k, " --enabled=true");
    or_fail(k);
    step_end(k);
}

/* Does the comma-separated options list hold opt (or opt=...)? */
static bool has_option(const char *opts, const char *opt)
{
    size_t n = strlen(opt);
    for (const char *p = opts; p && *p;) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len >= n && strncmp(p, opt, n) == 0 && (len == n || opt[n - 1] == '='))
            return true;
        p = e ? e + 1 : NULL;
    }
    return false;
}

/* NFS exports as datastores named after the last part of their mount
 * path; "vers=4"/"vers=4.1" mounts with NFS 4.1 (ESXi has no 4.0), "ro"
 * read-only; other options have no ESXi counterpart. */
static void do_nfs(struct ks *k, const json_t *storage)
{
    const json_t *nfs = storage ? list(k, storage, "nfs", "storage") : NULL;
    for (size_t i = 0; !k->rc && i < json_array_size(nfs); i++) {
        const json_t *e = json_array_get(nfs, i);
        char where[64], step[64], c[MSG_VALUE_MAX + 8], c2[MSG_VALUE_MAX + 8];
        snprintf(where, sizeof where, "storage.nfs[%zu]", i);
        if (!json_is_object(e)) {
            failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        const char *server = str(k, e, "server", where, true);
        const char *export = str(k, e, "export", where, true);
        const char *mount = str(k, e, "mount", where, true);
        const char *opts = str(k, e, "options", where, false);
        if (k->rc)
            return;
        const char *vol = strrchr(mount, '/');
        vol = vol ? vol + 1 : mount;
        char fallback[32];
        if (!*vol) {
            snprintf(fallback, sizeof fallback, "nfs%zu", i);
            vol = fallback;
        }
        bool v41 = has_option(opts, "vers=4") || has_option(opts, "vers=4.1") || has_option(opts, "nfsvers=4") ||
                   has_option(opts, "nfsvers=4.1");
        snprintf(step, sizeof step, "nfs.%zu", i);
        step_begin(k, step, "NFS datastore %s from %s", clip(vol, c, sizeof c), clip(server, c2, sizeof c2));
        w(k, v41 ? "mw_add esxcli storage nfs41 add --hosts=" : "mw_add esxcli storage nfs add --host=");
        q(k, server);
        w(k, " --share=");
        q(k, export);
        w(k, " --volume-name=");
        q(k, vol);
        if (has_option(opts, "ro"))
            w(k, " --readonly");
        or_fail(k);
        step_end(k);
    }
}

/* Software iSCSI: the adapter enabled, each portal added for SendTargets
 * discovery (once), then a rescan finds the targets' LUNs. */
static void do_iscsi(struct ks *k, const json_t *storage)
{
    const json_t *iscsi = storage ? list(k, storage, "iscsi", "storage") : NULL;
    if (!json_array_size(iscsi))
        return;
    for (size_t i = 0; i < json_array_size(iscsi); i++) {
        char where[64];
        snprintf(where, sizeof where, "storage.iscsi[%zu]", i);
        if (!json_is_object(json_array_get(iscsi, i))) {
            failf(k, -EINVAL, "%s: expected an object", where);
            return;
        }
        str(k, json_array_get(iscsi, i), "portal", where, true);
        str(k, json_array_get(iscsi, i), "target", where, false);
    }
    if (k->rc)
        return;
    step_begin(k, "iscsi", "software iSCSI");
    line(k, "esxcli iscsi software set --enabled=true || mw_fail");
    line(k, "mw_iscsi_hba || mw_fail");
    for (size_t i = 0; i < json_array_size(iscsi); i++) {
        const char *portal = json_string_value(json_object_get(json_array_get(iscsi, i), "portal"));
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(portal, json_string_value(json_object_get(json_array_get(iscsi, j), "portal"))) == 0;
        if (seen)
            continue;
        w(k, "mw_add esxcli iscsi adapter discovery sendtarget add --adapter=\"$MW_HBA\" --address=");
        q(k, portal);
        or_fail(k);
    }
    line(k, "esxcli storage core adapter rescan --adapter=\"$MW_HBA\" || mw_fail");
    step_end(k);
}

static void do_commands(struct ks *k, const json_t *doc)
{
    const json_t *cmds = list(k, doc, "commands", "");
    for (size_t i = 0; !k->rc && i < json_array_size(cmds); i++) {
        const char *cmd = str_at(k, cmds, i, "commands");
        if (!cmd)
            return;
        char step[64];
        snprintf(step, sizeof step, "command.%zu", i);
        step_begin(k, step, "commands[%zu]", i);
        w(k, "mw_sh ");
        q(k, cmd);
        or_fail(k);
        step_end(k);
    }
}

static bool token_ok(const char *t)
{
    if (!t || !*t || strlen(t) > 128)
        return false;
    for (; *t; t++)
        if (!((*t >= 'a' && *t <= 'z') || (*t >= 'A' && *t <= 'Z') || (*t >= '0' && *t <= '9') || strchr("._:-", *t)))
            return false;
    return true;
}

int boot_kickstart_render_with(const char *preamble, size_t preamble_len, const json_t *doc, const char *mac,
                               const char *token, const char *base_url, char **out, size_t *outlen, char *err,
                               size_t errlen)
{
    struct ks k = {.err = err, .errlen = errlen, .vmk = 1};
    uint8_t m[6];
    char macs[MAC_STRLEN];
    *out = NULL;
    if (errlen)
        err[0] = '\0';
    if (!json_is_object(doc))
        failf(&k, -EINVAL, "document: expected a JSON object");
    else if (!mac || parse_mac(mac, m) < 0)
        failf(&k, -EINVAL, "not a MAC address");
    else if (!token_ok(token))
        failf(&k, -EINVAL, "not a boot token");
    else if (!base_url || (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)) ||
             has_control(base_url))
        failf(&k, -EINVAL, "not an http(s) base URL");
    else if (preamble && memchr(preamble, '\0', preamble_len))
        failf(&k, -EINVAL, KS_PREAMBLE_FILE ": holds a NUL byte");
    if (k.rc)
        return k.rc;
    format_mac(m, macs);
    k.bonds = list(&k, doc, "bonds", "");
    k.bridges = list(&k, doc, "bridges", "");
    management(&k, doc);

    if (preamble) {
        put(&k, preamble, preamble_len);
        if (preamble_len && preamble[preamble_len - 1] != '\n')
            put(&k, "\n", 1);
        k.line_start = k.len;
        k.gateway_to = NULL; /* the operator's network line; the profile's routes are added */
    } else {
        preamble_builtin(&k, doc, macs);
    }
    nl(&k);
    line(&k, KS_FIRSTBOOT_LINE);
    w(&k, helpers);
    k.line_start = k.len;
    line(&k, KS_STEPS_LINE);
    w(&k, "MW_URL=");
    q(&k, base_url);
    nl(&k);
    w(&k, "MW_TOKEN=");
    q(&k, token);
    nl(&k);
    w(&k, "MW_BOOT_MAC=");
    q(&k, macs);
    nl(&k);
    line(&k, "mw_birth");

    const json_t *storage = field(&k, doc, "storage", JSON_OBJECT, "", false);
    do_hostname(&k, doc);
    do_bridges(&k);
    do_vlans(&k, doc);
    do_routes(&k, doc);
    do_dns(&k, doc);
    do_ntp(&k, doc);
    do_nfs(&k, storage);
    do_iscsi(&k, storage);
    do_commands(&k, doc);
    w(&k, "mw_post ");
    body(&k, json_pack("{s:b}", "ready", 1));
    nl(&k);
    if (k.rc) {
        free(k.p);
        return k.rc;
    }
    *out = k.p;
    if (outlen)
        *outlen = k.len;
    return 0;
}

int boot_kickstart_render(const json_t *doc, const char *mac, const char *token, const char *base_url, char **out,
                          size_t *outlen, char *err, size_t errlen)
{
    return boot_kickstart_render_with(NULL, 0, doc, mac, token, base_url, out, outlen, err, errlen);
}

/* DIR/esxi-ks.cfg into *text (NULL when there is none). */
static int load_preamble(const struct conf *conf, char **text, size_t *len, char *err, size_t errlen)
{
    *text = NULL;
    *len = 0;
    if (!conf->boot_templates[0])
        return 0;
    char path[PATH_MAX];
    if (snprintf(path, sizeof path, "%s/%s", conf->boot_templates, KS_PREAMBLE_FILE) >= (int)sizeof path) {
        snprintf(err, errlen, "%s/%s: path too long", conf->boot_templates, KS_PREAMBLE_FILE);
        return -ENAMETOOLONG;
    }
    char *buf;
    size_t n;
    int r = file_read_capped(path, PREAMBLE_MAX, &buf, &n);
    if (r == -ENOENT)
        return 0;
    if (r < 0) {
        if (r == -E2BIG)
            snprintf(err, errlen, "%s: larger than %d bytes", path, PREAMBLE_MAX);
        else
            snprintf(err, errlen, "%s: %s", path, strerror(-r));
        return r == -E2BIG || r == -ENOMEM ? r : -EIO;
    }
    *text = buf;
    *len = n;
    return 0;
}

int boot_kickstart_for(const struct conf *conf, struct store *st, const struct host *h, const uint8_t mac[6],
                       const char *token, const char *base_url, char **out, size_t *outlen, char *err,
                       size_t errlen)
{
    *out = NULL;
    const char *bname = h->build[0] ? h->build : conf->boot_default_build;
    int bver = h->build[0] ? h->build_version : 0;
    if (!bname[0]) {
        snprintf(err, errlen, "host %s has no build: no kickstart", h->name);
        return -ENOENT;
    }
    struct build b = {0};
    int r = store_build_get(st, bname, bver, &b);
    if (r < 0) {
        snprintf(err, errlen, "host %s: build %s: %s", h->name, bname, strerror(-r));
        return r == -ENOENT ? -ENOENT : -EIO;
    }
    bool esxi = b.kind == BUILD_ESXI;
    build_clear(&b);
    if (!esxi) {
        snprintf(err, errlen, "host %s: build %s is not an esxi build: no kickstart", h->name, bname);
        return -ENOENT;
    }
    struct profile p = {0};
    if (h->profile[0] && (r = store_profile_get(st, h->profile, &p)) < 0) {
        snprintf(err, errlen, "host %s names profile %s: %s", h->name, h->profile, strerror(-r));
        return r == -ENOENT ? -ENOENT : -EIO;
    }
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct configdoc_ctx ctx = {.base_url = base_url, .now_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000};
    char *text = NULL, derr[200];
    r = configdoc_render(h->profile[0] ? p.doc : NULL, h, &ctx, &text, derr, sizeof derr);
    profile_clear(&p);
    if (r < 0) {
        snprintf(err, errlen, "profile %s does not render for host %s: %s", h->profile, h->name, derr);
        return r;
    }
    json_error_t jerr;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    if (!doc) {
        snprintf(err, errlen, "the configuration document is not JSON: %s", jerr.text);
        return -EINVAL;
    }
    char *pre = NULL;
    size_t pre_len = 0;
    r = load_preamble(conf, &pre, &pre_len, err, errlen);
    char macs[MAC_STRLEN];
    if (r == 0)
        r = boot_kickstart_render_with(pre, pre_len, doc, format_mac(mac, macs), token, base_url, out, outlen, err,
                                       errlen);
    free(pre);
    json_decref(doc);
    return r;
}
