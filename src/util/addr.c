#include "util/addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "util/strnum.h"

int parse_ipv4(const char *s, uint32_t *out)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *out = ntohl(a.s_addr);
    return 0;
}

uint32_t prefix_to_mask(unsigned prefix)
{
    return prefix == 0 ? 0 : (uint32_t)(0xffffffffu << (32 - prefix));
}

int parse_cidr(const char *s, uint32_t *network, unsigned *prefix)
{
    char buf[32];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    uint32_t addr;
    uint64_t p;
    const char *err;
    if (parse_ipv4(buf, &addr) < 0 || parse_u64(slash + 1, 0, 32, &p, &err) < 0)
        return -EINVAL;
    if (addr & ~prefix_to_mask((unsigned)p))
        return -EINVAL;
    *network = addr;
    *prefix = (unsigned)p;
    return 0;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int parse_mac(const char *s, uint8_t mac[6])
{
    for (int i = 0; i < 6; i++) {
        int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        mac[i] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (i < 5) {
            if (*s != ':' && *s != '-')
                return -EINVAL;
            s++;
        }
    }
    return *s == '\0' ? 0 : -EINVAL;
}

/* By hand, not snprintf: DHCP and the script path format addresses for
 * every packet and request, and a format parse cost more than the rest. */
const char *format_ipv4(uint32_t addr, char out[IPV4_STRLEN])
{
    char *p = out;
    for (int shift = 24; shift >= 0; shift -= 8) {
        unsigned o = (addr >> shift) & 255;
        if (o >= 100)
            *p++ = (char)('0' + o / 100);
        if (o >= 10)
            *p++ = (char)('0' + o / 10 % 10);
        *p++ = (char)('0' + o % 10);
        *p++ = shift ? '.' : '\0';
    }
    return out;
}

const char *format_mac(const uint8_t mac[6], char out[MAC_STRLEN])
{
    return format_hwaddr(mac, 6, out, MAC_STRLEN);
}

const char *format_hwaddr(const uint8_t *hw, size_t len, char *out, size_t outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    if (outlen == 0)
        return out;
    for (size_t i = 0; i < len && o + 3 <= outlen; i++) {
        if (i)
            out[o++] = ':';
        out[o++] = hex[hw[i] >> 4];
        out[o++] = hex[hw[i] & 15];
    }
    if (o >= outlen)
        o = outlen - 1;
    out[o] = '\0';
    return out;
}
