#include "dhcp/dhcp_packet.h"

#include <errno.h>
#include <string.h>

/* Offsets of the fixed BOOTP fields (RFC 2131 §2, figure 1). */
enum {
    OFF_OP = 0,
    OFF_HTYPE = 1,
    OFF_HLEN = 2,
    OFF_HOPS = 3,
    OFF_XID = 4,
    OFF_SECS = 8,
    OFF_FLAGS = 10,
    OFF_CIADDR = 12,
    OFF_YIADDR = 16,
    OFF_SIADDR = 20,
    OFF_GIADDR = 24,
    OFF_CHADDR = 28,
    OFF_SNAME = 44,
    OFF_FILE = 108,
    OFF_COOKIE = 236,
    OFF_OPTIONS = 240,
};
#define SNAME_LEN 64
#define FILE_LEN 128

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

const char *dhcp_parse_error_name(enum dhcp_parse_error e)
{
    switch (e) {
    case DHCP_PARSE_OK: return "ok";
    case DHCP_PARSE_TRUNCATED: return "truncated";
    case DHCP_PARSE_BAD_COOKIE: return "bad_cookie";
    case DHCP_PARSE_OVERSIZED: return "oversized";
    case DHCP_PARSE_NOT_REQUEST: return "not_request";
    case DHCP_PARSE_BAD_HWADDR: return "bad_hwaddr";
    case DHCP_PARSE_OPTION_OVERRUN: return "option_overrun";
    case DHCP_PARSE_NO_MSG_TYPE: return "no_msg_type";
    case DHCP_PARSE_BAD_MSG_TYPE: return "bad_msg_type";
    }
    return "unknown";
}

/* One option area (the options field, or file/sname when overloaded) walked
 * with a cursor that knows where the area ends. */
struct opt_cursor {
    const uint8_t *data;
    size_t pos, end;
};

/* Reads the next option. Returns 1 with the option set, 0 at the end
 * of the area, or -EBADMSG if the option's length runs past the end.
 *
 * A missing End option is tolerated when the last option ends exactly at
 * the end of the area: nothing is ambiguous then, and some embedded
 * stacks and relays that trim trailing padding omit it. An option whose
 * length would take it past the end is refused outright: its bytes would
 * be someone else's. */
static int opt_next(struct opt_cursor *c, uint8_t *code, const uint8_t **val, uint8_t *len)
{
    for (;;) {
        if (c->pos >= c->end)
            return 0;
        uint8_t k = c->data[c->pos];
        if (k == OPT_END)
            return 0;
        if (k == OPT_PAD) {
            c->pos++;
            continue;
        }
        if (c->end - c->pos < 2)
            return -EBADMSG;
        uint8_t n = c->data[c->pos + 1];
        if (c->end - c->pos - 2 < n)
            return -EBADMSG;
        *code = k;
        *len = n;
        *val = c->data + c->pos + 2;
        c->pos += 2 + (size_t)n;
        return 1;
    }
}

struct area {
    size_t start, end;
};

/* RFC 3396 §7: "the aggregate option buffer is made up of the optional
 * parameters field, the file field, and the sname field, in that order."
 * The overload option itself is only honoured in the options field. */
static size_t option_areas(const uint8_t *data, size_t len, struct area areas[3], int *err)
{
    size_t n = 0;
    areas[n++] = (struct area){OFF_OPTIONS, len};
    struct opt_cursor c = {data, OFF_OPTIONS, len};
    uint8_t code, olen;
    const uint8_t *val;
    int r;
    uint8_t overload = 0;
    while ((r = opt_next(&c, &code, &val, &olen)) > 0)
        if (code == OPT_OVERLOAD && olen == 1)
            overload = val[0];
    if (r < 0) {
        *err = r;
        return 0;
    }
    if (overload & 1)
        areas[n++] = (struct area){OFF_FILE, OFF_FILE + FILE_LEN};
    if (overload & 2)
        areas[n++] = (struct area){OFF_SNAME, OFF_SNAME + SNAME_LEN};
    *err = 0;
    return n;
}

/* Two passes: the first sums each option's length over all its instances,
 * the second copies the instances, in order, into one contiguous run. */
static enum dhcp_parse_error parse_options(const uint8_t *data, size_t len, struct dhcp_packet *p)
{
    struct area areas[3];
    int err;
    size_t n_areas = option_areas(data, len, areas, &err);
    if (err < 0)
        return DHCP_PARSE_OPTION_OVERRUN;

    uint16_t total[256] = {0};
    uint8_t code, olen;
    const uint8_t *val;
    int r;
    for (size_t a = 0; a < n_areas; a++) {
        struct opt_cursor c = {data, areas[a].start, areas[a].end};
        while ((r = opt_next(&c, &code, &val, &olen)) > 0)
            total[code] = (uint16_t)(total[code] + olen);
        if (r < 0)
            return DHCP_PARSE_OPTION_OVERRUN;
    }
    size_t off = 0;
    for (int k = 0; k < 256; k++) {
        p->opts[k].off = (uint16_t)off;
        p->opts[k].len = 0;
        off += total[k];
    }
    /* Every byte of option data is a distinct packet byte, so this cannot
     * trigger; it keeps the copy below provably in bounds. */
    if (off > sizeof p->optbuf)
        return DHCP_PARSE_OVERSIZED;
    p->optbuf_len = (uint16_t)off;
    for (size_t a = 0; a < n_areas; a++) {
        struct opt_cursor c = {data, areas[a].start, areas[a].end};
        while (opt_next(&c, &code, &val, &olen) > 0) {
            struct dhcp_opt *o = &p->opts[code];
            memcpy(p->optbuf + o->off + o->len, val, olen);
            o->len = (uint16_t)(o->len + olen);
            o->present = true;
        }
    }
    return DHCP_PARSE_OK;
}

enum dhcp_parse_error dhcp_parse(const uint8_t *data, size_t len, struct dhcp_packet *p)
{
    memset(p, 0, offsetof(struct dhcp_packet, optbuf));
    if (len > DHCP_PACKET_MAX)
        return DHCP_PARSE_OVERSIZED;
    if (len < DHCP_MIN_LEN)
        return DHCP_PARSE_TRUNCATED;
    /* Plain BOOTP (RFC 951) has no cookie or a vendor cookie: midwife only
     * speaks DHCP, which every PXE ROM does. */
    if (get32(data + OFF_COOKIE) != DHCP_MAGIC)
        return DHCP_PARSE_BAD_COOKIE;
    p->op = data[OFF_OP];
    p->htype = data[OFF_HTYPE];
    p->hlen = data[OFF_HLEN];
    p->hops = data[OFF_HOPS];
    if (p->op != BOOTREQUEST)
        return DHCP_PARSE_NOT_REQUEST;
    /* chaddr is 16 bytes; an Ethernet (htype 1) address is exactly 6. A
     * zero-length address would leave us nothing to deliver a reply to. */
    if (p->hlen == 0 || p->hlen > 16 || (p->htype == 1 && p->hlen != 6))
        return DHCP_PARSE_BAD_HWADDR;
    p->xid = get32(data + OFF_XID);
    p->secs = get16(data + OFF_SECS);
    p->flags = get16(data + OFF_FLAGS);
    p->ciaddr = get32(data + OFF_CIADDR);
    p->yiaddr = get32(data + OFF_YIADDR);
    p->siaddr = get32(data + OFF_SIADDR);
    p->giaddr = get32(data + OFF_GIADDR);
    memcpy(p->chaddr, data + OFF_CHADDR, p->hlen);

    enum dhcp_parse_error e = parse_options(data, len, p);
    if (e != DHCP_PARSE_OK)
        return e;
    size_t n;
    const uint8_t *t = dhcp_opt(p, OPT_MSG_TYPE, &n);
    if (!t)
        return DHCP_PARSE_NO_MSG_TYPE;
    if (n != 1)
        return DHCP_PARSE_BAD_MSG_TYPE;
    switch (t[0]) {
    case DHCPDISCOVER:
    case DHCPREQUEST:
    case DHCPDECLINE:
    case DHCPRELEASE:
    case DHCPINFORM:
        p->msg_type = t[0];
        return DHCP_PARSE_OK;
    default: /* server messages or garbage */
        return DHCP_PARSE_BAD_MSG_TYPE;
    }
}

const uint8_t *dhcp_opt(const struct dhcp_packet *p, uint8_t code, size_t *len)
{
    const struct dhcp_opt *o = &p->opts[code];
    if (!o->present)
        return NULL;
    *len = o->len;
    return p->optbuf + o->off;
}

bool dhcp_opt_addr(const struct dhcp_packet *p, uint8_t code, uint32_t *out)
{
    size_t n;
    const uint8_t *v = dhcp_opt(p, code, &n);
    if (!v || n != 4)
        return false;
    *out = get32(v);
    return true;
}

bool dhcp_opt_u16(const struct dhcp_packet *p, uint8_t code, uint16_t *out)
{
    size_t n;
    const uint8_t *v = dhcp_opt(p, code, &n);
    if (!v || n != 2)
        return false;
    *out = get16(v);
    return true;
}

size_t dhcp_reply_cap(const struct dhcp_packet *req)
{
    uint16_t max;
    size_t ip = DHCP_DEFAULT_MAX_MSG;
    /* RFC 2132 §9.10: the minimum legal value is 576. Larger values let us
     * send more, never beyond what one Ethernet frame carries. */
    if (dhcp_opt_u16(req, OPT_MAX_MSG_SIZE, &max) && max > DHCP_DEFAULT_MAX_MSG)
        ip = max;
    size_t cap = ip - DHCP_IP_UDP_HDR;
    return cap > DHCP_PACKET_MAX ? DHCP_PACKET_MAX : cap;
}

int dhcp_build_begin(struct dhcp_builder *b, uint8_t *buf, size_t cap, const struct dhcp_packet *req,
                     uint8_t msg_type)
{
    b->buf = buf;
    b->cap = cap;
    b->len = 0;
    b->overflow = false;
    if (cap < DHCP_MIN_LEN + 4) {
        b->overflow = true;
        return -ENOSPC;
    }
    memset(buf, 0, DHCP_MIN_LEN);
    buf[OFF_OP] = BOOTREPLY;
    buf[OFF_HTYPE] = req->htype;
    buf[OFF_HLEN] = req->hlen;
    put32(buf + OFF_XID, req->xid);
    buf[OFF_FLAGS] = (uint8_t)(req->flags >> 8);
    buf[OFF_FLAGS + 1] = (uint8_t)req->flags;
    put32(buf + OFF_GIADDR, req->giaddr);
    memcpy(buf + OFF_CHADDR, req->chaddr, req->hlen <= 16 ? req->hlen : 16);
    put32(buf + OFF_COOKIE, DHCP_MAGIC);
    b->len = DHCP_MIN_LEN;
    return dhcp_build_option(b, OPT_MSG_TYPE, &msg_type, 1);
}

void dhcp_build_set_ciaddr(struct dhcp_builder *b, uint32_t addr) { put32(b->buf + OFF_CIADDR, addr); }
void dhcp_build_set_yiaddr(struct dhcp_builder *b, uint32_t addr) { put32(b->buf + OFF_YIADDR, addr); }
void dhcp_build_set_siaddr(struct dhcp_builder *b, uint32_t addr) { put32(b->buf + OFF_SIADDR, addr); }

void dhcp_build_set_flags(struct dhcp_builder *b, uint16_t flags)
{
    b->buf[OFF_FLAGS] = (uint8_t)(flags >> 8);
    b->buf[OFF_FLAGS + 1] = (uint8_t)flags;
}

int dhcp_build_set_file(struct dhcp_builder *b, const char *file)
{
    size_t n = strlen(file);
    memset(b->buf + OFF_FILE, 0, FILE_LEN);
    if (n >= FILE_LEN)
        return -ENOSPC;
    memcpy(b->buf + OFF_FILE, file, n);
    return 0;
}

int dhcp_build_option(struct dhcp_builder *b, uint8_t code, const void *data, size_t len)
{
    const uint8_t *d = data;
    /* The instances this option needs, and one byte kept for End. */
    size_t instances = len == 0 ? 1 : (len + 254) / 255;
    if (b->len >= b->cap || b->cap - b->len < instances * 2 + len + 1) {
        b->overflow = true;
        return -ENOSPC;
    }
    do {
        size_t chunk = len > 255 ? 255 : len;
        b->buf[b->len++] = code;
        b->buf[b->len++] = (uint8_t)chunk;
        if (chunk)
            memcpy(b->buf + b->len, d, chunk);
        b->len += chunk;
        d += chunk;
        len -= chunk;
    } while (len > 0);
    return 0;
}

int dhcp_build_option_u32(struct dhcp_builder *b, uint8_t code, uint32_t v)
{
    uint8_t x[4];
    put32(x, v);
    return dhcp_build_option(b, code, x, 4);
}

size_t dhcp_build_finish(struct dhcp_builder *b)
{
    /* dhcp_build_option always leaves a byte for End. */
    if (b->len >= b->cap)
        return b->len;
    b->buf[b->len++] = OPT_END;
    if (b->len < DHCP_BOOTP_MIN_LEN && b->cap >= DHCP_BOOTP_MIN_LEN) {
        memset(b->buf + b->len, 0, DHCP_BOOTP_MIN_LEN - b->len);
        b->len = DHCP_BOOTP_MIN_LEN;
    }
    return b->len;
}

const char *dhcp_msg_type_name(uint8_t type)
{
    static const char *const names[] = {"?", "DISCOVER", "OFFER", "REQUEST", "DECLINE",
                                        "ACK", "NAK", "RELEASE", "INFORM"};
    return type < sizeof names / sizeof names[0] ? names[type] : "?";
}
