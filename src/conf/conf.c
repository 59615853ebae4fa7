#include "conf/conf.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/addr.h"
#include "util/strnum.h"

/* Defaults follow Debian's iPXE builds (package ipxe, /usr/lib/ipxe): the
 * UNDI chainloader for BIOS, the SNP-only EFI build for UEFI so iPXE drives
 * the NIC through the firmware's own driver. */
static const struct conf_arch_boot default_arch_boot[] = {
    {0, "undionly.kpxe"},   /* x86 BIOS */
    {6, "ipxe-ia32.efi"},   /* EFI IA32 */
    {7, "snponly.efi"},     /* EFI BC (x86-64) */
    {9, "snponly.efi"},     /* EFI x86-64 */
    {11, "snponly-arm64.efi"}, /* EFI ARM64 */
};

enum section_kind {
    SEC_NONE, SEC_SERVER, SEC_DHCP, SEC_SUBNET, SEC_RESERVATION, SEC_PXE, SEC_TFTP, SEC_HTTP, SEC_BOOT,
    SEC_LIFECYCLE, SEC_HOOKS
};

/* The transitions a hook can follow, in the order of the lifecycle. */
static const char *const transitions[] = {"discovered", "booting", "born", "ready", "failed", "retired"};
#define N_TRANSITIONS (sizeof transitions / sizeof transitions[0])
#define ALL_TRANSITIONS ((1u << N_TRANSITIONS) - 1)

/* A webhook URL as written; it becomes one conf_hook per transition in
 * webhook_events once the whole [hooks] section is read. */
struct pending_webhook {
    char url[CONF_URL_MAX];
    int line;
};

struct parse_state {
    struct conf *conf;
    FILE *file;
    int line;            /* lines read so far = line of the current key */
    int header_line;     /* line of the latest [section] header */
    int header_seq;      /* bumps on every header line */
    int section_line;    /* header line of the section being filled */
    int seen_seq;        /* header_seq when the handler last saw a section */
    enum section_kind kind;
    char *err;
    size_t errlen;
    int err_line; /* line of the error in err */
    /* which required keys of the current section were set */
    bool subnet_has_network;
    int dhcp_mode_line; /* of [dhcp] mode, 0 = not set */
    bool reservation_has_mac, reservation_has_address;
    bool arch_boot_defaults; /* still the built-in map */
    bool ipxe_script_set;    /* else the default follows [http] enabled */
    struct pending_webhook *webhooks;
    size_t n_webhooks;
    unsigned webhook_events; /* bit i: transitions[i] */
};

static int fail(struct parse_state *ps, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parse_state *ps, const char *fmt, ...)
{
    /* Debian's libinih keeps calling the handler after an error
     * (INI_STOP_ON_FIRST_ERROR is 0): the first error is the one to report. */
    if (ps->err[0])
        return 0;
    ps->err_line = ps->line;
    int n = snprintf(ps->err, ps->errlen, "%s:%d: ", ps->conf->path, ps->line);
    if (n < 0 || (size_t)n >= ps->errlen)
        return 0;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->err + n, ps->errlen - (size_t)n, fmt, ap);
    va_end(ap);
    return 0; /* inih: stop parsing */
}

/* inih hands us lines through this reader so we know the line number of
 * every key (Debian's libinih is built without INI_HANDLER_LINENO). */
static char *counting_reader(char *str, int num, void *stream)
{
    struct parse_state *ps = stream;
    char *r = fgets(str, num, ps->file);
    if (r) {
        ps->line++;
        const char *p = r;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '[') {
            ps->header_line = ps->line;
            ps->header_seq++;
        }
    }
    return r;
}

static int copy_str(struct parse_state *ps, const char *key, char *dst, size_t dstlen, const char *v)
{
    size_t n = strlen(v);
    if (n == 0)
        return fail(ps, "%s: empty value", key);
    if (n >= dstlen)
        return fail(ps, "%s: too long (at most %zu characters)", key, dstlen - 1);
    memcpy(dst, v, n + 1);
    return 1;
}

static int get_u32(struct parse_state *ps, const char *key, const char *v, uint64_t min, uint64_t max,
                   uint32_t *out)
{
    uint64_t x;
    const char *e;
    if (parse_u64(v, min, max, &x, &e) < 0)
        return fail(ps, "%s: %s number '%s' (expected %llu..%llu)", key, e, v,
                    (unsigned long long)min, (unsigned long long)max);
    *out = (uint32_t)x;
    return 1;
}

static int get_duration(struct parse_state *ps, const char *key, const char *v, uint64_t min,
                        uint64_t max, uint32_t *out)
{
    uint64_t x;
    const char *e;
    if (parse_duration(v, min, max, &x, &e) < 0)
        return fail(ps, "%s: %s duration '%s' (expected %llus..%llus; suffix s, m, h or d)", key, e,
                    v, (unsigned long long)min, (unsigned long long)max);
    *out = (uint32_t)x;
    return 1;
}

static int get_bool(struct parse_state *ps, const char *key, const char *v, bool *out)
{
    int b;
    if (parse_bool(v, &b) < 0)
        return fail(ps, "%s: expected yes or no, got '%s'", key, v);
    *out = b;
    return 1;
}

static int get_ipv4(struct parse_state *ps, const char *key, const char *v, uint32_t *out)
{
    if (parse_ipv4(v, out) < 0)
        return fail(ps, "%s: '%s' is not an IPv4 address", key, v);
    return 1;
}

static int get_u64(struct parse_state *ps, const char *key, const char *v, uint64_t min, uint64_t max,
                   uint64_t *out)
{
    const char *e;
    if (parse_u64(v, min, max, out, &e) < 0)
        return fail(ps, "%s: %s number '%s' (expected %llu..%llu)", key, e, v,
                    (unsigned long long)min, (unsigned long long)max);
    return 1;
}

/* A byte count with an optional suffix k (KiB), M (MiB) or G (GiB). */
static int get_size(struct parse_state *ps, const char *key, const char *v, uint64_t min, uint64_t max,
                    uint64_t *out)
{
    char buf[32];
    size_t n = strlen(v);
    const char *e = "invalid";
    uint64_t mult = 1, x;
    if (n > 0 && n < sizeof buf) {
        memcpy(buf, v, n + 1);
        switch (buf[n - 1]) {
        case 'k': case 'K': mult = 1ull << 10; break;
        case 'M': mult = 1ull << 20; break;
        case 'G': mult = 1ull << 30; break;
        default: break;
        }
        if (mult != 1)
            buf[n - 1] = '\0';
        if (parse_u64(buf, 0, UINT64_MAX / mult, &x, &e) == 0) {
            x *= mult;
            if (x > max)
                e = "too large";
            else if (x < min)
                e = "too small";
            else {
                *out = x;
                return 1;
            }
        }
    }
    return fail(ps, "%s: %s size '%s' (expected %llu..%llu bytes; suffix k, M or G)", key, e, v,
                (unsigned long long)min, (unsigned long long)max);
}

/* Splits a list value into tokens at any byte of seps; calls add for each. */
static int split_items(struct parse_state *ps, const char *key, const char *v, const char *seps,
                       int (*add)(struct parse_state *, const char *, const char *, void *), void *arg)
{
    char buf[1024];
    if (strlen(v) >= sizeof buf)
        return fail(ps, "%s: list too long", key);
    strcpy(buf, v);
    int count = 0;
    for (char *save, *tok = strtok_r(buf, seps, &save); tok; tok = strtok_r(NULL, seps, &save)) {
        if (!add(ps, key, tok, arg))
            return 0;
        count++;
    }
    if (count == 0)
        return fail(ps, "%s: empty list", key);
    return 1;
}

/* A list value ("a, b c"). */
static int for_each_item(struct parse_state *ps, const char *key, const char *v,
                         int (*add)(struct parse_state *, const char *, const char *, void *), void *arg)
{
    return split_items(ps, key, v, ", \t", add, arg);
}

/* Paths and URLs may hold commas: only blanks separate them. */
static int for_each_word(struct parse_state *ps, const char *key, const char *v,
                         int (*add)(struct parse_state *, const char *, const char *, void *), void *arg)
{
    return split_items(ps, key, v, " \t", add, arg);
}

static int add_interface(struct parse_state *ps, const char *key, const char *tok, void *arg)
{
    (void)arg;
    struct conf *c = ps->conf;
    size_t n = strlen(tok);
    if (n >= IF_NAMESIZE)
        return fail(ps, "%s: interface name '%s' too long", key, tok);
    for (size_t i = 0; i < c->n_dhcp_interfaces; i++)
        if (strcmp(c->dhcp_interfaces[i], tok) == 0)
            return fail(ps, "%s: interface '%s' listed twice", key, tok);
    void *p = realloc(c->dhcp_interfaces, (c->n_dhcp_interfaces + 1) * sizeof *c->dhcp_interfaces);
    if (!p)
        return fail(ps, "out of memory");
    c->dhcp_interfaces = p;
    memcpy(c->dhcp_interfaces[c->n_dhcp_interfaces++], tok, n + 1);
    return 1;
}

struct addr_list {
    uint32_t *items;
    size_t *n;
    size_t max;
};

static int add_addr(struct parse_state *ps, const char *key, const char *tok, void *arg)
{
    struct addr_list *l = arg;
    if (*l->n >= l->max)
        return fail(ps, "%s: at most %zu addresses", key, l->max);
    if (parse_ipv4(tok, &l->items[*l->n]) < 0)
        return fail(ps, "%s: '%s' is not an IPv4 address", key, tok);
    (*l->n)++;
    return 1;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '-' && *s != '_' && *s != '.')
            return false;
    return true;
}

/* A DNS name: labels of letters, digits and hyphens. */
static bool valid_domain(const char *s)
{
    size_t label = 0;
    for (; *s; s++) {
        if (*s == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum((unsigned char)*s) || *s == '-') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

static int server_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    if (strcmp(k, "state_dir") == 0)
        return copy_str(ps, k, c->state_dir, sizeof c->state_dir, v);
    if (strcmp(k, "log_format") == 0) {
        if (strcmp(v, "text") == 0)
            c->log_format = LOG_FORMAT_TEXT;
        else if (strcmp(v, "json") == 0)
            c->log_format = LOG_FORMAT_JSON;
        else
            return fail(ps, "log_format: expected text or json, got '%s'", v);
        return 1;
    }
    if (strcmp(k, "log_level") == 0) {
        static const char *const names[] = {"error", "warn", "info", "debug"};
        for (int i = 0; i < 4; i++)
            if (strcmp(v, names[i]) == 0) {
                c->log_level = (enum log_level)i;
                return 1;
            }
        return fail(ps, "log_level: expected error, warn, info or debug, got '%s'", v);
    }
    if (strcmp(k, "server_address") == 0)
        return get_ipv4(ps, k, v, &c->server_address);
    if (strcmp(k, "sync") == 0) {
        if (strcmp(v, "normal") == 0)
            c->sync = STORE_SYNC_NORMAL;
        else if (strcmp(v, "full") == 0)
            c->sync = STORE_SYNC_FULL;
        else
            return fail(ps, "sync: expected normal or full, got '%s'", v);
        return 1;
    }
    return fail(ps, "unknown key '%s' in [server]", k);
}

static int dhcp_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    uint32_t x = 0;
    if (strcmp(k, "enabled") == 0)
        return get_bool(ps, k, v, &c->dhcp_enabled);
    if (strcmp(k, "interfaces") == 0) {
        c->n_dhcp_interfaces = 0;
        return for_each_item(ps, k, v, add_interface, NULL);
    }
    if (strcmp(k, "port") == 0) {
        if (!get_u32(ps, k, v, 1, 65534, &x))
            return 0;
        c->dhcp_port = (uint16_t)x;
        return 1;
    }
    if (strcmp(k, "mode") == 0) {
        if (strcmp(v, "full") == 0)
            c->dhcp_mode = DHCP_MODE_FULL;
        else if (strcmp(v, "proxy") == 0)
            c->dhcp_mode = DHCP_MODE_PROXY;
        else
            return fail(ps, "mode: expected full or proxy, got '%s'", v);
        ps->dhcp_mode_line = ps->line;
        return 1;
    }
    if (strcmp(k, "pxe_port") == 0) {
        if (!get_u32(ps, k, v, 1, 65535, &x))
            return 0;
        c->dhcp_pxe_port = (uint16_t)x;
        return 1;
    }
    if (strcmp(k, "authoritative") == 0)
        return get_bool(ps, k, v, &c->authoritative);
    if (strcmp(k, "unknown_clients") == 0) {
        if (strcmp(v, "boot") == 0)
            c->unknown_clients = UNKNOWN_BOOT;
        else if (strcmp(v, "ignore") == 0)
            c->unknown_clients = UNKNOWN_IGNORE;
        else
            return fail(ps, "unknown_clients: expected boot or ignore, got '%s'", v);
        return 1;
    }
    if (strcmp(k, "offer_hold") == 0)
        return get_duration(ps, k, v, 1, 3600, &c->offer_hold);
    if (strcmp(k, "decline_quarantine") == 0)
        return get_duration(ps, k, v, 0, 7 * 86400, &c->decline_quarantine);
    return fail(ps, "unknown key '%s' in [dhcp]", k);
}

static int add_range(struct parse_state *ps, struct conf_subnet *s, const char *v)
{
    char a[32], b[32];
    const char *dash = strchr(v, '-');
    if (!dash || (size_t)(dash - v) >= sizeof a || strlen(dash + 1) >= sizeof b)
        return fail(ps, "range: expected FIRST-LAST, got '%s'", v);
    memcpy(a, v, (size_t)(dash - v));
    a[dash - v] = '\0';
    strcpy(b, dash + 1);
    /* tolerate spaces around the dash */
    for (char *p = a + strlen(a); p > a && isspace((unsigned char)p[-1]); *--p = '\0') {}
    char *bp = b;
    while (isspace((unsigned char)*bp))
        bp++;
    struct conf_range r;
    if (parse_ipv4(a, &r.first) < 0 || parse_ipv4(bp, &r.last) < 0)
        return fail(ps, "range: expected FIRST-LAST IPv4 addresses, got '%s'", v);
    if (r.first > r.last)
        return fail(ps, "range: first address is after the last");
    void *p = realloc(s->ranges, (s->n_ranges + 1) * sizeof *s->ranges);
    if (!p)
        return fail(ps, "out of memory");
    s->ranges = p;
    s->ranges[s->n_ranges++] = r;
    return 1;
}

static int subnet_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf_subnet *s = &ps->conf->subnets[ps->conf->n_subnets - 1];
    if (strcmp(k, "network") == 0) {
        if (parse_cidr(v, &s->network, &s->prefix) < 0 || s->prefix < 1 || s->prefix > 30)
            return fail(ps, "network: expected ADDRESS/PREFIX with prefix 1..30 and no host bits, got '%s'", v);
        s->netmask = prefix_to_mask(s->prefix);
        ps->subnet_has_network = true;
        return 1;
    }
    if (strcmp(k, "range") == 0)
        return add_range(ps, s, v);
    if (strcmp(k, "router") == 0)
        return get_ipv4(ps, k, v, &s->router);
    if (strcmp(k, "dns") == 0) {
        s->n_dns = 0;
        struct addr_list l = {s->dns, &s->n_dns, CONF_MAX_DNS};
        return for_each_item(ps, k, v, add_addr, &l);
    }
    if (strcmp(k, "ntp") == 0) {
        s->n_ntp = 0;
        struct addr_list l = {s->ntp, &s->n_ntp, CONF_MAX_NTP};
        return for_each_item(ps, k, v, add_addr, &l);
    }
    if (strcmp(k, "domain") == 0) {
        if (!valid_domain(v) || strlen(v) > CONF_DOMAIN_MAX)
            return fail(ps, "domain: '%s' is not a valid DNS domain", v);
        strcpy(s->domain, v);
        return 1;
    }
    if (strcmp(k, "lease_time") == 0)
        return get_duration(ps, k, v, 60, 365 * 86400, &s->lease_time);
    if (strcmp(k, "next_server") == 0)
        return get_ipv4(ps, k, v, &s->next_server);
    if (strcmp(k, "interface") == 0)
        return copy_str(ps, k, s->interface, sizeof s->interface, v);
    return fail(ps, "unknown key '%s' in [subnet %s]", k, s->name);
}

static int reservation_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf_reservation *r = &ps->conf->reservations[ps->conf->n_reservations - 1];
    if (strcmp(k, "mac") == 0) {
        if (parse_mac(v, r->mac) < 0)
            return fail(ps, "mac: '%s' is not a MAC address (aa:bb:cc:dd:ee:ff)", v);
        ps->reservation_has_mac = true;
        return 1;
    }
    if (strcmp(k, "address") == 0) {
        ps->reservation_has_address = true;
        return get_ipv4(ps, k, v, &r->address);
    }
    if (strcmp(k, "hostname") == 0) {
        if (!valid_domain(v) || strchr(v, '.') || strlen(v) >= sizeof r->hostname)
            return fail(ps, "hostname: '%s' is not a valid host name", v);
        strcpy(r->hostname, v);
        return 1;
    }
    return fail(ps, "unknown key '%s' in [reservation %s]", k, r->name);
}

/* A boot filename goes into the BOOTP file field and is later asked for by
 * the client over TFTP: printable, no spaces or quotes. */
static bool valid_boot_filename(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f || *s == '"' || *s == '\\')
            return false;
    return true;
}

static int pxe_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    if (strncmp(k, "arch.", 5) == 0) {
        uint32_t arch = 0;
        if (!get_u32(ps, k, k + 5, 0, 65535, &arch))
            return 0;
        if (strlen(v) >= CONF_FILENAME_MAX || !valid_boot_filename(v) || !*v)
            return fail(ps, "%s: '%s' is not a usable boot filename (printable, no spaces, < %d bytes)",
                        k, v, CONF_FILENAME_MAX);
        if (ps->arch_boot_defaults) {
            /* The first arch.N replaces nothing: defaults stay unless overridden. */
            ps->arch_boot_defaults = false;
        }
        for (size_t i = 0; i < c->n_arch_boot; i++)
            if (c->arch_boot[i].arch == arch) {
                strcpy(c->arch_boot[i].filename, v);
                return 1;
            }
        void *p = realloc(c->arch_boot, (c->n_arch_boot + 1) * sizeof *c->arch_boot);
        if (!p)
            return fail(ps, "out of memory");
        c->arch_boot = p;
        c->arch_boot[c->n_arch_boot].arch = (uint16_t)arch;
        strcpy(c->arch_boot[c->n_arch_boot].filename, v);
        c->n_arch_boot++;
        return 1;
    }
    if (strcmp(k, "ipxe_script") == 0) {
        if (!valid_boot_filename(v))
            return fail(ps, "ipxe_script: '%s' must be printable with no spaces", v);
        ps->ipxe_script_set = true;
        return copy_str(ps, k, c->ipxe_script, sizeof c->ipxe_script, v);
    }
    return fail(ps, "unknown key '%s' in [pxe]", k);
}

static int tftp_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    uint32_t x = 0;
    if (strcmp(k, "enabled") == 0)
        return get_bool(ps, k, v, &c->tftp_enabled);
    if (strcmp(k, "root") == 0)
        return copy_str(ps, k, c->tftp_root, sizeof c->tftp_root, v);
    if (strcmp(k, "address") == 0)
        return get_ipv4(ps, k, v, &c->tftp_address);
    if (strcmp(k, "port") == 0) {
        if (!get_u32(ps, k, v, 1, 65535, &x))
            return 0;
        c->tftp_port = (uint16_t)x;
        return 1;
    }
    if (strcmp(k, "max_transfers") == 0)
        return get_u32(ps, k, v, 1, 100000, &c->tftp_max_transfers);
    if (strcmp(k, "timeout_ms") == 0)
        return get_u32(ps, k, v, 10, 60000, &c->tftp_timeout_ms);
    if (strcmp(k, "retries") == 0)
        return get_u32(ps, k, v, 0, 20, &c->tftp_retries);
    /* RFC 2348: blksize 8..65464 */
    if (strcmp(k, "max_blksize") == 0)
        return get_u32(ps, k, v, 512, 65464, &c->tftp_max_blksize);
    /* RFC 7440: windowsize 1..65535 */
    if (strcmp(k, "max_windowsize") == 0)
        return get_u32(ps, k, v, 1, 65535, &c->tftp_max_windowsize);
    return fail(ps, "unknown key '%s' in [tftp]", k);
}

static int http_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    uint32_t x = 0;
    if (strcmp(k, "enabled") == 0)
        return get_bool(ps, k, v, &c->http_enabled);
    if (strcmp(k, "address") == 0)
        return get_ipv4(ps, k, v, &c->http_address);
    if (strcmp(k, "port") == 0) {
        if (!get_u32(ps, k, v, 1, 65535, &x))
            return 0;
        c->http_port = (uint16_t)x;
        return 1;
    }
    if (strcmp(k, "public_url") == 0) {
        /* It ends up in scripts and kernel command lines: plain http(s)
         * URL characters only, no trailing slash. */
        size_t n = strlen(v);
        if ((strncmp(v, "http://", 7) != 0 && strncmp(v, "https://", 8) != 0) || v[n - 1] == '/' ||
            !valid_boot_filename(v) || strpbrk(v, "'`$;&|<>{}") != NULL)
            return fail(ps, "public_url: expected http://HOST[:PORT][/PATH] without a trailing '/' or "
                            "shell/iPXE metacharacters, got '%s'", v);
        return copy_str(ps, k, c->http_public_url, sizeof c->http_public_url, v);
    }
    if (strcmp(k, "max_header_bytes") == 0)
        return get_u32(ps, k, v, 1024, 1 << 20, &c->http_max_header_bytes);
    if (strcmp(k, "max_body_bytes") == 0)
        return get_u32(ps, k, v, 0, 1u << 30, &c->http_max_body_bytes);
    if (strcmp(k, "idle_timeout") == 0)
        return get_duration(ps, k, v, 1, 3600, &c->http_idle_timeout);
    if (strcmp(k, "max_connections") == 0)
        return get_u32(ps, k, v, 1, 1000000, &c->http_max_connections);
    return fail(ps, "unknown key '%s' in [http]", k);
}

static int boot_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    if (strcmp(k, "default_build") == 0) {
        if (!valid_name(v) || strlen(v) >= sizeof c->boot_default_build)
            return fail(ps, "default_build: '%s' is not a build name (letters, digits, '-', '_', '.')", v);
        strcpy(c->boot_default_build, v);
        return 1;
    }
    if (strcmp(k, "extra_cmdline") == 0) {
        /* Printable, and nothing an iPXE script line would interpret. */
        for (const char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f || strchr("$`\\\"'#;&|<>{}", *p))
                return fail(ps, "extra_cmdline: character '%c' is not allowed", *p);
        return copy_str(ps, k, c->boot_extra_cmdline, sizeof c->boot_extra_cmdline, v);
    }
    if (strcmp(k, "templates") == 0) {
        /* Read when a script is rendered, so edits apply without a restart;
         * a missing directory is caught here rather than at the first boot. */
        struct stat sb;
        if (!*v || stat(v, &sb) < 0 || !S_ISDIR(sb.st_mode))
            return fail(ps, "templates: '%s' is not a directory", v);
        return copy_str(ps, k, c->boot_templates, sizeof c->boot_templates, v);
    }
    if (strcmp(k, "agent") == 0) {
        if (strcmp(v, "none") == 0) {
            c->boot_agent_off = true;
            c->boot_agent[0] = '\0';
            return 1;
        }
        /* Packed at startup: a wrong directory is a config error here. */
        char bin[PATH_MAX];
        struct stat sb;
        if (!*v || (size_t)snprintf(bin, sizeof bin, "%s/midwife-agent", v) >= sizeof bin || stat(bin, &sb) < 0 ||
            !S_ISREG(sb.st_mode))
            return fail(ps, "agent: '%s' has no midwife-agent (a directory with midwife-agent, "
                            "midwife-agent.init and midwife-agent.service, or 'none')", v);
        c->boot_agent_off = false;
        return copy_str(ps, k, c->boot_agent, sizeof c->boot_agent, v);
    }
    return fail(ps, "unknown key '%s' in [boot]", k);
}

static int lifecycle_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    if (strcmp(k, "token_ttl") == 0)
        return get_duration(ps, k, v, 60, 30 * 86400, &c->token_ttl);
    if (strcmp(k, "events_keep") == 0)
        return get_u64(ps, k, v, 1000, 100000000, &c->events_keep);
    if (strcmp(k, "events_max_age") == 0)
        return get_duration(ps, k, v, 0, 3650 * 86400, &c->events_max_age);
    if (strcmp(k, "birth_timeout") == 0)
        return get_duration(ps, k, v, 30, 86400, &c->birth_timeout);
    if (strcmp(k, "state_max_bytes") == 0)
        return get_size(ps, k, v, 1ull << 10, 16ull << 30, &c->state_max_bytes);
    if (strcmp(k, "born_hook_holds") == 0)
        return get_bool(ps, k, v, &c->born_hook_holds);
    return fail(ps, "unknown key '%s' in [lifecycle]", k);
}

static int transition_index(const char *s)
{
    for (size_t i = 0; i < N_TRANSITIONS; i++)
        if (strcmp(s, transitions[i]) == 0)
            return (int)i;
    return -1;
}

static int add_hook(struct parse_state *ps, const char *key, const char *transition, enum conf_hook_kind kind,
                    const char *target, int line)
{
    struct conf *c = ps->conf;
    for (size_t i = 0; i < c->n_hooks; i++)
        if (c->hooks[i].kind == kind && strcmp(c->hooks[i].transition, transition) == 0 &&
            strcmp(c->hooks[i].target, target) == 0)
            return fail(ps, "%s: %s listed twice for %s", key, target, transition);
    if (c->n_hooks >= CONF_MAX_HOOKS)
        return fail(ps, "%s: at most %d hooks in all", key, CONF_MAX_HOOKS);
    void *p = realloc(c->hooks, (c->n_hooks + 1) * sizeof *c->hooks);
    if (!p)
        return fail(ps, "out of memory");
    c->hooks = p;
    struct conf_hook *h = &c->hooks[c->n_hooks++];
    memset(h, 0, sizeof *h);
    strcpy(h->transition, transition); /* one of transitions[]: fits */
    h->kind = kind;
    strcpy(h->target, target);         /* length checked by the callers */
    h->line = line;
    return 1;
}

/* Checked now, so a typo stops startup instead of failing every host
 * later; hooks.c reports the file vanishing at run time. */
static int add_exec_hook(struct parse_state *ps, const char *key, const char *tok, void *arg)
{
    (void)arg;
    struct stat sb;
    if (tok[0] != '/')
        return fail(ps, "%s: %s: not an absolute path", key, tok);
    if (strlen(tok) >= PATH_MAX)
        return fail(ps, "%s: path too long", key);
    if (stat(tok, &sb) < 0 || !S_ISREG(sb.st_mode) || !(sb.st_mode & 0111) || access(tok, X_OK) < 0)
        return fail(ps, "%s: %s: not an executable file", key, tok);
    return add_hook(ps, key, key, CONF_HOOK_EXEC, tok, ps->line);
}

/* http://HOST[:PORT][/PATH]: HOST a DNS name or an IPv4 address, PATH
 * made of URL characters (RFC 3986 unreserved, reserved but '#', and
 * percent escapes). Plain HTTP only: there is no TLS client yet. */
static bool valid_webhook_url(const char *v)
{
    if (strncmp(v, "http://", 7) != 0 || strlen(v) >= CONF_URL_MAX)
        return false;
    const char *p = v + 7;
    size_t hl = strcspn(p, ":/");
    char host[CONF_DOMAIN_MAX + 1];
    if (hl == 0 || hl > CONF_DOMAIN_MAX)
        return false;
    memcpy(host, p, hl);
    host[hl] = '\0';
    if (!valid_domain(host))
        return false;
    p += hl;
    if (*p == ':') {
        size_t dl = strspn(++p, "0123456789");
        char port[6];
        uint64_t x;
        const char *e;
        if (dl == 0 || dl >= sizeof port)
            return false;
        memcpy(port, p, dl);
        port[dl] = '\0';
        if (parse_u64(port, 1, 65535, &x, &e) < 0)
            return false;
        p += dl;
    }
    if (*p != '\0' && *p != '/')
        return false;
    for (; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("-._~:/?[]@!$&'()*+,;=%", *p))
            return false;
    return true;
}

static int add_webhook(struct parse_state *ps, const char *key, const char *tok, void *arg)
{
    (void)arg;
    if (!valid_webhook_url(tok))
        return fail(ps, "%s: expected http://HOST[:PORT][/PATH] (plain http, at most %d characters), got '%s'",
                    key, CONF_URL_MAX - 1, tok);
    for (size_t i = 0; i < ps->n_webhooks; i++)
        if (strcmp(ps->webhooks[i].url, tok) == 0)
            return fail(ps, "%s: %s listed twice", key, tok);
    if (ps->n_webhooks >= CONF_MAX_HOOKS)
        return fail(ps, "%s: at most %d hooks in all", key, CONF_MAX_HOOKS);
    void *p = realloc(ps->webhooks, (ps->n_webhooks + 1) * sizeof *ps->webhooks);
    if (!p)
        return fail(ps, "out of memory");
    ps->webhooks = p;
    strcpy(ps->webhooks[ps->n_webhooks].url, tok);
    ps->webhooks[ps->n_webhooks++].line = ps->line;
    return 1;
}

static int add_webhook_event(struct parse_state *ps, const char *key, const char *tok, void *arg)
{
    (void)arg;
    int t = transition_index(tok);
    if (t < 0)
        return fail(ps, "%s: '%s' is not a transition (expected discovered, booting, born, ready, failed or retired)",
                    key, tok);
    ps->webhook_events |= 1u << t;
    return 1;
}

static int hooks_key(struct parse_state *ps, const char *k, const char *v)
{
    struct conf *c = ps->conf;
    /* A repeated (or continued) transition or webhook key adds to the list. */
    if (transition_index(k) >= 0)
        return for_each_word(ps, k, v, add_exec_hook, NULL);
    if (strcmp(k, "webhook") == 0)
        return for_each_word(ps, k, v, add_webhook, NULL);
    if (strcmp(k, "webhook_events") == 0) {
        ps->webhook_events = 0;
        return for_each_item(ps, k, v, add_webhook_event, NULL);
    }
    if (strcmp(k, "timeout") == 0)
        return get_duration(ps, k, v, 1, 3600, &c->hook_timeout);
    return fail(ps, "unknown key '%s' in [hooks]", k);
}

/* Each webhook becomes one hook per transition of webhook_events, which
 * may be written after it. */
static int expand_webhooks(struct parse_state *ps)
{
    for (size_t i = 0; i < ps->n_webhooks; i++) {
        ps->line = ps->webhooks[i].line;
        for (size_t t = 0; t < N_TRANSITIONS; t++)
            if ((ps->webhook_events & (1u << t)) &&
                !add_hook(ps, "webhook", transitions[t], CONF_HOOK_WEBHOOK, ps->webhooks[i].url, ps->line))
                return 0;
    }
    return 1;
}

/* Checks a finished [subnet]/[reservation] before the next section starts. */
static int close_section(struct parse_state *ps)
{
    int saved = ps->line;
    ps->line = ps->section_line;
    int ok = 1;
    if (ps->kind == SEC_SUBNET) {
        struct conf_subnet *s = &ps->conf->subnets[ps->conf->n_subnets - 1];
        /* 'range' is checked once the file is read: [dhcp] mode, which
         * decides whether one is needed, may come after the subnet. */
        if (!ps->subnet_has_network)
            ok = fail(ps, "[subnet %s] is missing required key 'network'", s->name);
        for (size_t i = 0; ok && i < s->n_ranges; i++)
            if ((s->ranges[i].first & s->netmask) != s->network ||
                (s->ranges[i].last & s->netmask) != s->network)
                ok = fail(ps, "[subnet %s] range %zu lies outside network", s->name, i + 1);
        if (ok && s->router && (s->router & s->netmask) != s->network)
            ok = fail(ps, "[subnet %s] router lies outside network", s->name);
    } else if (ps->kind == SEC_RESERVATION) {
        struct conf_reservation *r = &ps->conf->reservations[ps->conf->n_reservations - 1];
        if (!ps->reservation_has_mac)
            ok = fail(ps, "[reservation %s] is missing required key 'mac'", r->name);
        else if (!ps->reservation_has_address)
            ok = fail(ps, "[reservation %s] is missing required key 'address'", r->name);
    }
    ps->line = saved;
    return ok;
}

static int open_section(struct parse_state *ps, const char *section)
{
    struct conf *c = ps->conf;
    char kind[32], name[CONF_NAME_MAX + 1];
    int save_line = ps->line;
    ps->line = ps->header_line;
    ps->section_line = ps->header_line;
    name[0] = '\0';
    int n = sscanf(section, "%31s %64s", kind, name);
    int r = 1;
    if (n < 1) {
        r = fail(ps, "empty section name");
    } else if (strcmp(kind, "subnet") == 0 || strcmp(kind, "reservation") == 0) {
        bool subnet = kind[0] == 's';
        if (n < 2 || !valid_name(name) || strlen(name) >= CONF_NAME_MAX) {
            r = fail(ps, "[%s NAME]: a name of letters, digits, '-', '_' or '.' is required", kind);
        } else if (subnet) {
            for (size_t i = 0; r && i < c->n_subnets; i++)
                if (strcmp(c->subnets[i].name, name) == 0)
                    r = fail(ps, "[subnet %s] defined twice (first at line %d)", name, c->subnets[i].line);
            void *p = r ? realloc(c->subnets, (c->n_subnets + 1) * sizeof *c->subnets) : NULL;
            if (r && !p)
                r = fail(ps, "out of memory");
            if (r) {
                c->subnets = p;
                struct conf_subnet *s = &c->subnets[c->n_subnets++];
                memset(s, 0, sizeof *s);
                strcpy(s->name, name);
                s->line = ps->header_line;
                s->lease_time = 3600;
                ps->kind = SEC_SUBNET;
                ps->subnet_has_network = false;
            }
        } else {
            for (size_t i = 0; r && i < c->n_reservations; i++)
                if (strcmp(c->reservations[i].name, name) == 0)
                    r = fail(ps, "[reservation %s] defined twice (first at line %d)", name,
                             c->reservations[i].line);
            void *p = r ? realloc(c->reservations, (c->n_reservations + 1) * sizeof *c->reservations) : NULL;
            if (r && !p)
                r = fail(ps, "out of memory");
            if (r) {
                c->reservations = p;
                struct conf_reservation *rv = &c->reservations[c->n_reservations++];
                memset(rv, 0, sizeof *rv);
                strcpy(rv->name, name);
                rv->line = ps->header_line;
                ps->kind = SEC_RESERVATION;
                ps->reservation_has_mac = ps->reservation_has_address = false;
            }
        }
    } else if (n == 1 && strcmp(kind, "server") == 0) {
        ps->kind = SEC_SERVER;
    } else if (n == 1 && strcmp(kind, "dhcp") == 0) {
        ps->kind = SEC_DHCP;
    } else if (n == 1 && strcmp(kind, "pxe") == 0) {
        ps->kind = SEC_PXE;
    } else if (n == 1 && strcmp(kind, "tftp") == 0) {
        ps->kind = SEC_TFTP;
    } else if (n == 1 && strcmp(kind, "http") == 0) {
        ps->kind = SEC_HTTP;
    } else if (n == 1 && strcmp(kind, "boot") == 0) {
        ps->kind = SEC_BOOT;
    } else if (n == 1 && strcmp(kind, "lifecycle") == 0) {
        ps->kind = SEC_LIFECYCLE;
    } else if (n == 1 && strcmp(kind, "hooks") == 0) {
        ps->kind = SEC_HOOKS;
    } else {
        r = fail(ps, "unknown section [%s] (expected server, dhcp, subnet NAME, reservation NAME, pxe, tftp, http, "
                     "boot, lifecycle or hooks)",
                 section);
    }
    ps->line = save_line;
    return r;
}

static int on_key(void *user, const char *section, const char *key, const char *value)
{
    struct parse_state *ps = user;
    if (ps->seen_seq != ps->header_seq) {
        if (!close_section(ps))
            return 0;
        ps->seen_seq = ps->header_seq;
        if (!open_section(ps, section))
            return 0;
    }
    if (ps->kind == SEC_NONE)
        return fail(ps, "key '%s' outside any section", key);
    if (!key || !*key)
        return fail(ps, "missing key name");
    switch (ps->kind) {
    case SEC_SERVER: return server_key(ps, key, value);
    case SEC_DHCP: return dhcp_key(ps, key, value);
    case SEC_SUBNET: return subnet_key(ps, key, value);
    case SEC_RESERVATION: return reservation_key(ps, key, value);
    case SEC_PXE: return pxe_key(ps, key, value);
    case SEC_TFTP: return tftp_key(ps, key, value);
    case SEC_HTTP: return http_key(ps, key, value);
    case SEC_BOOT: return boot_key(ps, key, value);
    case SEC_LIFECYCLE: return lifecycle_key(ps, key, value);
    case SEC_HOOKS: return hooks_key(ps, key, value);
    default: return fail(ps, "internal: no section");
    }
}

static void set_defaults(struct conf *c)
{
    c->log_format = LOG_FORMAT_TEXT;
    c->log_level = LOG_INFO;
    c->sync = STORE_SYNC_NORMAL;
    c->dhcp_enabled = true;
    c->dhcp_port = 67;
    c->dhcp_mode = DHCP_MODE_FULL;
    c->dhcp_pxe_port = 4011;
    c->authoritative = true;
    c->unknown_clients = UNKNOWN_BOOT;
    c->offer_hold = 30;
    c->decline_quarantine = 600;
    strcpy(c->ipxe_script, "boot.ipxe");
    c->tftp_enabled = true;
    c->tftp_port = 69;
    c->tftp_max_transfers = 2048;
    c->tftp_timeout_ms = 1000;
    c->tftp_retries = 5;
    c->tftp_max_blksize = 1468;
    c->tftp_max_windowsize = 64;
    c->http_enabled = true;
    c->http_port = 80;
    c->http_max_header_bytes = 16384;
    c->http_max_body_bytes = 64u << 20;
    c->http_idle_timeout = 30;
    c->http_max_connections = 4096;
    c->token_ttl = 3600;
    c->events_keep = 200000;
    c->events_max_age = 30 * 86400;
    c->birth_timeout = 600;
    c->state_max_bytes = 64ull << 20;
    c->born_hook_holds = true;
    c->hook_timeout = 30;
}

/* Cross-section checks after the whole file is read. */
static int validate(struct parse_state *ps)
{
    struct conf *c = ps->conf;
    ps->line = 0;
    if (!c->state_dir[0])
        return snprintf(ps->err, ps->errlen, "%s: [server] is missing required key 'state_dir'", c->path), 0;
    if (c->dhcp_enabled) {
        if (c->n_dhcp_interfaces == 0)
            return snprintf(ps->err, ps->errlen, "%s: [dhcp] is missing required key 'interfaces'", c->path), 0;
        if (c->n_subnets == 0)
            return snprintf(ps->err, ps->errlen, "%s: dhcp is enabled but no [subnet NAME] is defined", c->path), 0;
    }
    /* In proxy mode the [subnet] networks still say where the booting
     * hosts live (which link a request is from, and whose script requests
     * may start a boot), but the addresses are another server's. */
    for (size_t i = 0; i < c->n_subnets; i++) {
        struct conf_subnet *s = &c->subnets[i];
        if (c->dhcp_mode == DHCP_MODE_FULL && s->n_ranges == 0) {
            ps->line = s->line;
            return fail(ps, "[subnet %s] is missing required key 'range'", s->name);
        }
        if (c->dhcp_mode == DHCP_MODE_PROXY && s->n_ranges > 0) {
            ps->line = s->line;
            return fail(ps, "[subnet %s] has a range, but [dhcp] mode = proxy (line %d) hands out no addresses",
                        s->name, ps->dhcp_mode_line);
        }
    }
    if (c->dhcp_mode == DHCP_MODE_PROXY && c->dhcp_pxe_port == c->dhcp_port) {
        ps->line = ps->dhcp_mode_line;
        return fail(ps, "[dhcp] pxe_port must differ from port");
    }
    if (!expand_webhooks(ps))
        return 0;
    if (!ps->ipxe_script_set && c->http_enabled)
        strcpy(c->ipxe_script, "{http}/boot/ipxe?mac={mac}");
    if (c->tftp_enabled && !c->tftp_root[0])
        return snprintf(ps->err, ps->errlen, "%s: [tftp] is missing required key 'root'", c->path), 0;
    /* Overlapping subnets would make the choice of pool ambiguous. */
    for (size_t i = 0; i < c->n_subnets; i++)
        for (size_t j = i + 1; j < c->n_subnets; j++) {
            struct conf_subnet *a = &c->subnets[i], *b = &c->subnets[j];
            uint32_t m = a->netmask & b->netmask;
            if ((a->network & m) == (b->network & m)) {
                ps->line = b->line;
                return fail(ps, "[subnet %s] overlaps [subnet %s] (line %d)", b->name, a->name, a->line);
            }
        }
    for (size_t i = 0; i < c->n_reservations; i++) {
        struct conf_reservation *r = &c->reservations[i];
        ps->line = r->line;
        bool inside = false;
        for (size_t s = 0; s < c->n_subnets; s++)
            if ((r->address & c->subnets[s].netmask) == c->subnets[s].network)
                inside = true;
        if (!inside)
            return fail(ps, "[reservation %s] address is in no [subnet]", r->name);
        for (size_t j = 0; j < i; j++) {
            if (memcmp(c->reservations[j].mac, r->mac, 6) == 0)
                return fail(ps, "[reservation %s] has the same mac as [reservation %s]", r->name,
                            c->reservations[j].name);
            if (c->reservations[j].address == r->address)
                return fail(ps, "[reservation %s] has the same address as [reservation %s]", r->name,
                            c->reservations[j].name);
        }
    }
    return 1;
}

int conf_load(const char *path, struct conf **out, char *err, size_t errlen)
{
    struct conf *c = calloc(1, sizeof *c);
    if (!c) {
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    if (strlen(path) >= sizeof c->path) {
        snprintf(err, errlen, "config path too long");
        free(c);
        return -ENAMETOOLONG;
    }
    strcpy(c->path, path);
    set_defaults(c);
    c->arch_boot = malloc(sizeof default_arch_boot);
    if (!c->arch_boot) {
        free(c);
        snprintf(err, errlen, "%s: out of memory", path);
        return -ENOMEM;
    }
    memcpy(c->arch_boot, default_arch_boot, sizeof default_arch_boot);
    c->n_arch_boot = sizeof default_arch_boot / sizeof default_arch_boot[0];

    FILE *f = fopen(path, "r");
    if (!f) {
        int e = errno;
        snprintf(err, errlen, "%s: %s", path, strerror(e));
        conf_free(c);
        return -e;
    }
    struct parse_state ps = {.conf = c, .file = f, .err = err, .errlen = errlen, .arch_boot_defaults = true,
                             .webhook_events = ALL_TRANSITIONS};
    err[0] = '\0';
    int r = ini_parse_stream(counting_reader, &ps, on_key, &ps);
    fclose(f);
    if (r == 0 && !err[0]) {
        if (!close_section(&ps))
            r = -1;
        else if (!validate(&ps))
            r = -1;
    }
    free(ps.webhooks);
    if (r != 0) {
        /* inih's own syntax error (r is its line) unless a handler error
         * came first. */
        if (r > 0 && (!err[0] || r < ps.err_line))
            snprintf(err, errlen, "%s:%d: syntax error (expected [section] or key = value)", path, r);
        else if (!err[0])
            snprintf(err, errlen, "%s: cannot parse (error %d)", path, r);
        conf_free(c);
        return -EINVAL;
    }
    *out = c;
    return 0;
}

void conf_free(struct conf *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_subnets; i++)
        free(c->subnets[i].ranges);
    free(c->subnets);
    free(c->reservations);
    free(c->dhcp_interfaces);
    free(c->arch_boot);
    free(c->hooks);
    free(c);
}

const char *conf_boot_program(const struct conf *c, uint16_t arch)
{
    for (size_t i = 0; i < c->n_arch_boot; i++)
        if (c->arch_boot[i].arch == arch)
            return c->arch_boot[i].filename;
    return NULL;
}
