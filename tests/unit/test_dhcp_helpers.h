/* Helpers shared by the DHCP unit tests: a request builder, a reply option
 * finder and a config written to a temp file. Header-only, test code. */
#ifndef MIDWIFE_TESTS_TEST_DHCP_HELPERS_H
#define MIDWIFE_TESTS_TEST_DHCP_HELPERS_H

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf/conf.h"
#include "dhcp/dhcp_packet.h"

struct req {
    uint8_t b[2048];
    size_t len;
};

static inline void put32be(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* A BOOTREQUEST from an Ethernet client with option 53 = type. */
static inline void req_begin(struct req *r, uint8_t type, const uint8_t mac[6], uint32_t xid)
{
    memset(r, 0, sizeof *r);
    r->b[0] = BOOTREQUEST;
    r->b[1] = 1;
    r->b[2] = 6;
    put32be(r->b + 4, xid);
    memcpy(r->b + 28, mac, 6);
    put32be(r->b + 236, DHCP_MAGIC);
    r->len = 240;
    r->b[r->len++] = OPT_MSG_TYPE;
    r->b[r->len++] = 1;
    r->b[r->len++] = type;
}

static inline void req_opt(struct req *r, uint8_t code, const void *data, uint8_t len)
{
    r->b[r->len++] = code;
    r->b[r->len++] = len;
    memcpy(r->b + r->len, data, len);
    r->len += len;
}

static inline void req_opt_addr(struct req *r, uint8_t code, uint32_t a)
{
    uint8_t v[4];
    put32be(v, a);
    req_opt(r, code, v, 4);
}

static inline void req_end(struct req *r)
{
    r->b[r->len++] = OPT_END;
    while (r->len < 300)
        r->b[r->len++] = 0;
}

static inline void req_set_ciaddr(struct req *r, uint32_t a) { put32be(r->b + 12, a); }
static inline void req_set_giaddr(struct req *r, uint32_t a) { put32be(r->b + 24, a); }
static inline void req_set_broadcast(struct req *r) { r->b[10] = 0x80; }

/* NULL (an option the test expected but the reply lacks) reads as a value
 * no assertion expects. */
static inline uint32_t get32be(const uint8_t *p)
{
    if (!p)
        return 0xdeadbeefu;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Finds option code in a reply we built (no overload): its bytes or NULL. */
static inline const uint8_t *reply_opt(const uint8_t *pkt, size_t len, uint8_t code, size_t *olen)
{
    for (size_t i = 240; i < len;) {
        if (pkt[i] == OPT_PAD) {
            i++;
            continue;
        }
        if (pkt[i] == OPT_END || i + 2 > len)
            return NULL;
        if (pkt[i] == code) {
            *olen = pkt[i + 1];
            return pkt + i + 2;
        }
        i += 2 + (size_t)pkt[i + 1];
    }
    return NULL;
}

/* The order in which option codes appear in a reply, up to max. */
static inline size_t reply_opt_order(const uint8_t *pkt, size_t len, uint8_t *codes, size_t max)
{
    size_t n = 0;
    for (size_t i = 240; i < len && n < max;) {
        if (pkt[i] == OPT_PAD) {
            i++;
            continue;
        }
        if (pkt[i] == OPT_END)
            break;
        codes[n++] = pkt[i];
        i += 2 + (size_t)pkt[i + 1];
    }
    return n;
}

static inline uint32_t ip(const char *s)
{
    unsigned a, b, c, d;
    if (sscanf(s, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
        abort();
    return a << 24 | b << 16 | c << 8 | d;
}

/* Loads conf text from a temp file; state_dir gets dir. */
static inline struct conf *conf_from_text(const char *text)
{
    char path[] = "/tmp/mw-dhcp-test-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        abort();
    size_t n = strlen(text);
    if (write(fd, text, n) != (ssize_t)n)
        abort();
    close(fd);
    struct conf *c = NULL;
    char err[512];
    if (conf_load(path, &c, err, sizeof err) < 0) {
        fprintf(stderr, "conf: %s\n", err);
        abort();
    }
    unlink(path);
    return c;
}

#define TEST_CONF                                  \
    "[server]\n"                                   \
    "state_dir = /tmp/mw-dhcp-test-state\n"        \
    "log_level = error\n"                          \
    "[dhcp]\n"                                     \
    "interfaces = eth0\n"                          \
    "[subnet lan]\n"                               \
    "network = 10.213.0.0/24\n"                    \
    "range = 10.213.0.100-10.213.0.199\n"          \
    "router = 10.213.0.1\n"                        \
    "dns = 10.213.0.1, 10.213.0.2\n"               \
    "domain = lab.example\n"                       \
    "lease_time = 1h\n"                            \
    "[subnet far]\n"                               \
    "network = 10.214.0.0/24\n"                    \
    "range = 10.214.0.10-10.214.0.20\n"            \
    "router = 10.214.0.1\n"                        \
    "[reservation node1]\n"                        \
    "mac = 52:54:00:00:00:01\n"                    \
    "address = 10.213.0.50\n"                      \
    "hostname = node1\n"                           \
    "[pxe]\n"                                      \
    "ipxe_script = http://10.213.0.1/boot/{mac}.ipxe\n" \
    "[tftp]\n"                                     \
    "enabled = no\n"

#endif
