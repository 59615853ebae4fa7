/* The ESXi kickstart (see kickstart.h): the output, the reading of the
 * document, the reports, the preamble and the whole. The esxcli steps are
 * in kickstart_esxcli.c. */
#include "boot/kickstart.h"
#include "boot/kickstart_write.h"

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
#define MGMT_PORTGROUP "Management Network" /* the installer's port group for vmk0 */

void ks_failf(struct ks *k, int code, const char *fmt, ...)
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

static void ks_put(struct ks *k, const char *s, size_t n)
{
    if (k->rc)
        return;
    if (n > KS_OUT_MAX - k->len) {
        ks_failf(k, -E2BIG, "the kickstart would be larger than %d bytes", KS_OUT_MAX);
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
            ks_failf(k, -ENOMEM, "out of memory");
            return;
        }
        k->p = p;
        k->cap = cap;
    }
    memcpy(k->p + k->len, s, n);
    k->len += n;
    k->p[k->len] = '\0';
}

void ks_w(struct ks *k, const char *s)
{
    ks_put(k, s, strlen(s));
}

/* Numbers only: midwife's own, or ones range-checked from the document. */
void ks_wnum(struct ks *k, long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    ks_w(k, b);
}

static void ks_nl(struct ks *k)
{
    if (!k->rc && k->len - k->line_start > KS_LINE_MAX) {
        ks_failf(k, -E2BIG, "a line of the kickstart would be longer than %d bytes", KS_LINE_MAX);
        return;
    }
    ks_put(k, "\n", 1);
    k->line_start = k->len;
}

void ks_line(struct ks *k, const char *s)
{
    ks_w(k, s);
    ks_nl(k);
}

/* A control byte (C0, DEL, a UTF-8 encoded C1) could end a line, and a
 * line starting with % would start a new kickstart section. */
static bool ks_has_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f || (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))
            return true;
    return false;
}

/* The one way a value enters the script: 'value', each ' as '\''. */
void ks_q(struct ks *k, const char *v)
{
    if (ks_has_control(v)) {
        ks_failf(k, -EINVAL, "a value holds a control byte");
        return;
    }
    ks_put(k, "'", 1);
    for (const char *s = v;;) {
        const char *e = strchr(s, '\'');
        if (!e) {
            ks_w(k, s);
            break;
        }
        ks_put(k, s, (size_t)(e - s));
        ks_put(k, "'\\''", 4);
        s = e + 1;
    }
    ks_put(k, "'", 1);
}

void ks_qnum(struct ks *k, long long v)
{
    char b[24];
    snprintf(b, sizeof b, "%lld", v);
    ks_q(k, b);
}

/* ---- reading the document: every field checked, errors name it ---- */

const json_t *ks_field(struct ks *k, const json_t *o, const char *key, json_type type, const char *where,
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
        ks_failf(k, -EINVAL, "%s%s%s: %s %s", where, *where ? "." : "", key, v ? "expected" : "missing, expected",
              type_names[type]);
        return NULL;
    }
    if (type == JSON_STRING && ks_has_control(json_string_value(v))) {
        ks_failf(k, -EINVAL, "%s%s%s: holds a control byte", where, *where ? "." : "", key);
        return NULL;
    }
    return v;
}

const char *ks_str(struct ks *k, const json_t *o, const char *key, const char *where, bool required)
{
    const json_t *v = ks_field(k, o, key, JSON_STRING, where, required);
    return v ? json_string_value(v) : NULL;
}

/* An array element that must be a string. */
const char *ks_str_at(struct ks *k, const json_t *a, size_t i, const char *where)
{
    const json_t *v = json_array_get(a, i);
    if (!json_is_string(v) || ks_has_control(json_string_value(v))) {
        ks_failf(k, -EINVAL, "%s[%zu]: expected a string without control bytes", where, i);
        return NULL;
    }
    return json_string_value(v);
}

bool ks_num(struct ks *k, const json_t *o, const char *key, const char *where, long long lo, long long hi,
                long long *out)
{
    const json_t *v = ks_field(k, o, key, JSON_INTEGER, where, false);
    if (!v)
        return false;
    long long n = (long long)json_integer_value(v);
    if (n < lo || n > hi) {
        ks_failf(k, -EINVAL, "%s%s%s: %lld is outside %lld..%lld", where, *where ? "." : "", key, n, lo, hi);
        return false;
    }
    *out = n;
    return true;
}

const json_t *ks_list(struct ks *k, const json_t *o, const char *key, const char *where)
{
    return ks_field(k, o, key, JSON_ARRAY, where, false);
}

/* "a.b.c.d/prefix" or "a.b.c.d" (a /32) into address and netmask text. */
bool ks_address(struct ks *k, const char *s, const char *where, char ip[IPV4_STRLEN], char mask[IPV4_STRLEN])
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
        ks_failf(k, -EINVAL, "%s: not an IPv4 address with an optional prefix", where);
        return false;
    }
    format_ipv4(v, ip);
    format_ipv4(prefix_to_mask(prefix), mask);
    return true;
}

/* ---- report bodies: JSON made here, quoted as a whole ---- */

/* At most MSG_VALUE_MAX bytes of s, cut at a UTF-8 character boundary. */
const char *ks_clip(const char *s, char *buf, size_t buflen)
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

static void ks_body(struct ks *k, json_t *j)
{
    if (!j) {
        ks_failf(k, -EINVAL, "a report body could not be made (text that is not UTF-8?)");
        return;
    }
    char *t = json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(j);
    if (!t) {
        ks_failf(k, -ENOMEM, "out of memory");
        return;
    }
    ks_q(k, t);
    free(t);
}

/* A step: reported running, its failure body kept by the script for
 * `|| mw_fail`, then step_end reports ok. */
void ks_step_begin(struct ks *k, const char *step, const char *fmt, ...)
{
    char msg[400], failed[440];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(k->step, sizeof k->step, "%s", step);
    snprintf(failed, sizeof failed, "%s: failed", msg);
    ks_w(k, "mw_begin ");
    ks_body(k, json_pack("{s:s, s:s, s:s}", "step", step, "status", "running", "message", msg));
    ks_w(k, " ");
    ks_body(k, json_pack("{s:s, s:s}", "failed", failed, "step", step));
    ks_nl(k);
}

void ks_step_end(struct ks *k)
{
    ks_w(k, "mw_end ");
    ks_body(k, json_pack("{s:s, s:s}", "step", k->step, "status", "ok"));
    ks_nl(k);
}

void ks_step_skipped(struct ks *k, const char *step, const char *msg)
{
    ks_w(k, "mw_post ");
    ks_body(k, json_pack("{s:s, s:s, s:s}", "step", step, "status", "skipped", "message", msg));
    ks_nl(k);
}

void ks_or_fail(struct ks *k)
{
    ks_w(k, " || mw_fail");
    ks_nl(k);
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
    ks_line(k, "# midwife: ESXi kickstart (docs/boot-templates.md, \"ESXi kickstart\").");
    ks_line(k, "# No rootpw here: the root password is not midwife's to choose, and the");
    ks_line(k, "# installer stops without one. [boot] templates DIR/" KS_PREAMBLE_FILE " replaces");
    ks_line(k, "# everything above %firstboot: put rootpw --iscrypted HASH and the install");
    ks_line(k, "# options you want there.");
    ks_line(k, "vmaccepteula");
    ks_line(k, "install --firstdisk --overwritevmfs");

    /* Every value here is an address, a MAC or a number midwife formatted
     * itself: nothing that needs quoting in the installer's syntax. */
    ks_w(k, "network --device=");
    ks_w(k, mac);
    const json_t *addrs = k->mgmt >= 0 ? json_object_get(json_array_get(k->bridges, (size_t)k->mgmt), "addresses")
                                       : NULL;
    const char *first = json_string_value(json_array_get(addrs, 0));
    char ip[IPV4_STRLEN], mask[IPV4_STRLEN], where[64];
    snprintf(where, sizeof where, "bridges[%d].addresses[0]", k->mgmt);
    if (first && ks_address(k, first, where, ip, mask)) {
        ks_w(k, " --bootproto=static --ip=");
        ks_w(k, ip);
        ks_w(k, " --netmask=");
        ks_w(k, mask);
        if (k->gateway_to) {
            const json_t *routes = json_object_get(doc, "routes");
            for (size_t i = 0; i < json_array_size(routes); i++) {
                const json_t *r = json_array_get(routes, i);
                if (json_string_value(json_object_get(r, "to")) == k->gateway_to) {
                    uint32_t v;
                    parse_ipv4(json_string_value(json_object_get(r, "via")), &v);
                    char g[IPV4_STRLEN];
                    ks_w(k, " --gateway=");
                    ks_w(k, format_ipv4(v, g));
                }
            }
        }
    } else {
        ks_w(k, " --bootproto=dhcp");
        k->gateway_to = NULL; /* DHCP brings its own; the profile's is added later */
    }
    long long vlan;
    if (ks_num(k, doc, "mgmt_vlan", "", 1, 4094, &vlan)) {
        ks_w(k, " --vlanid=");
        ks_wnum(k, vlan);
    }
    ks_nl(k);
    ks_line(k, "reboot");
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
        ks_failf(&k, -EINVAL, "document: expected a JSON object");
    else if (!mac || parse_mac(mac, m) < 0)
        ks_failf(&k, -EINVAL, "not a MAC address");
    else if (!token_ok(token))
        ks_failf(&k, -EINVAL, "not a boot token");
    else if (!base_url || (strncmp(base_url, "http://", 7) && strncmp(base_url, "https://", 8)) ||
             ks_has_control(base_url))
        ks_failf(&k, -EINVAL, "not an http(s) base URL");
    else if (preamble && memchr(preamble, '\0', preamble_len))
        ks_failf(&k, -EINVAL, KS_PREAMBLE_FILE ": holds a NUL byte");
    if (k.rc)
        return k.rc;
    format_mac(m, macs);
    k.bonds = ks_list(&k, doc, "bonds", "");
    k.bridges = ks_list(&k, doc, "bridges", "");
    management(&k, doc);

    if (preamble) {
        ks_put(&k, preamble, preamble_len);
        if (preamble_len && preamble[preamble_len - 1] != '\n')
            ks_put(&k, "\n", 1);
        k.line_start = k.len;
        k.gateway_to = NULL; /* the operator's network line; the profile's routes are added */
    } else {
        preamble_builtin(&k, doc, macs);
    }
    ks_nl(&k);
    ks_line(&k, KS_FIRSTBOOT_LINE);
    ks_w(&k, ks_esxcli_helpers);
    k.line_start = k.len;
    ks_line(&k, KS_STEPS_LINE);
    ks_w(&k, "MW_URL=");
    ks_q(&k, base_url);
    ks_nl(&k);
    ks_w(&k, "MW_TOKEN=");
    ks_q(&k, token);
    ks_nl(&k);
    ks_w(&k, "MW_BOOT_MAC=");
    ks_q(&k, macs);
    ks_nl(&k);
    ks_line(&k, "mw_birth");

    ks_esxcli_steps(&k, doc);
    ks_w(&k, "mw_post ");
    ks_body(&k, json_pack("{s:b}", "ready", 1));
    ks_nl(&k);
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
